// Frames and neuron maps stored as float16 (the default): values beyond its
// +-65504 become +-inf, which the file counts and the run and info say.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>

#include "cli_command.h"
#include "netsweep/results.h"

using namespace netsweep;
using netsweep::test::run_cli;

namespace {

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "netsweep_storage_" + name; }

// Points far out (coordinates up to 1e5): a linear hidden layer's maps reach past 65504.
std::string far_points() {
  const std::string path = temp_path("far.csv");
  std::ofstream out(path);
  out << "x1,x2,label\n";
  for (int k = 0; k < 40; ++k) out << 2500.0 * k << ',' << 1e5 - 2400.0 * k << ',' << k % 2 << '\n';
  return path;
}

int64_t infinities(const std::vector<float>& values) {
  int64_t n = 0;
  for (float v : values) n += std::isinf(v);
  return n;
}

}  // namespace

TEST(FrameStorage, ValuesBeyondFloat16AreCountedAndSaid) {
  const std::string args =
      "run --layers 1 --widths 4 --activations linear,relu --epochs 3 --grid 8 --device cpu -q "
      "--csv " +
      far_points();
  const std::string half = temp_path("half.h5"), full = temp_path("full.h5");
  const auto run16 = run_cli(args + " -o " + half);
  ASSERT_EQ(run16.exit_code, 0) << run16.output;
  ResultsFile f(half);
  int64_t stored_inf = 0;
  const auto shape = f.frame_shape();
  for (int n = 0; n < shape[0]; ++n)
    for (int k = 0; k < shape[1]; ++k) stored_inf += infinities(f.frame(n, k)) + infinities(f.neuron_maps(n, k));
  ASSERT_GT(stored_inf, 0) << "the data no longer reaches past float16";
  EXPECT_EQ(f.int_attribute("values_beyond_f16"), stored_inf);
  EXPECT_NE(run16.output.find("warning: " + std::to_string(stored_inf) + " frame and neuron-map values of"),
            std::string::npos)
      << run16.output;
  const auto info = run_cli("info " + half);
  EXPECT_NE(info.output.find("warning: " + std::to_string(stored_inf) + " frame and neuron-map values are beyond"),
            std::string::npos)
      << info.output;

  // In float32 the same values are finite, and nothing is said.
  const auto run32 = run_cli(args + " --frame-dtype f32 -o " + full);
  ASSERT_EQ(run32.exit_code, 0) << run32.output;
  EXPECT_EQ(run32.output.find("warning"), std::string::npos) << run32.output;
  ResultsFile g(full);
  for (int n = 0; n < shape[0]; ++n)
    for (int k = 0; k < shape[1]; ++k) EXPECT_EQ(infinities(g.neuron_maps(n, k)), 0);
  EXPECT_FALSE(g.has_attribute("values_beyond_f16"));

  // Data in the unit square: none beyond, the count stored as 0.
  const std::string plain = temp_path("plain.h5");
  const auto ok = run_cli("run --layers 1 --widths 4 --epochs 3 --grid 8 --dataset moons --device cpu -q -o " + plain);
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_EQ(ok.output.find("warning"), std::string::npos) << ok.output;
  EXPECT_EQ(ResultsFile(plain).int_attribute("values_beyond_f16"), 0);
}
