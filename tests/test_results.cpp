// The results file (written, read back, rerun with --from) and the CLI end
// to end, including every bad-input case of the foundation issue.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "cli_command.h"
#include "netsweep/results.h"
#include "netsweep/run.h"
#include "progress.h"

using namespace netsweep;
using netsweep::test::run_cli;
namespace fs = std::filesystem;

namespace {

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "netsweep_results_" + name; }

std::string write_file(const std::string& name, const std::string& content) {
  const std::string path = temp_path(name);
  std::ofstream(path) << content;
  return path;
}

SweepSpec small_spec() {
  SweepSpec s;
  s.layers = {1, 2};
  s.widths = {4};
  s.activations = {Activation::relu, Activation::tanh};
  s.optimizers = {Optimizer::adam};
  s.learning_rates = {1e-2f};
  s.batch_sizes = {16};
  s.epochs = 12;
  s.features = {"x1", "x2", "x1*x2"};
  s.snapshot_every = 5;
  s.grid = 10;
  return s;
}

Dataset small_data() {
  DataOptions o;
  o.datasets = {"xor"};
  o.generator.n_points = 80;
  o.test_fraction = 0.25f;
  return load_data(o);
}

}  // namespace

TEST(ResultsFile, RoundTripThroughHdf5) {
  const std::string path = temp_path("roundtrip.h5");
  RunOptions o;
  o.output = path;
  o.device = DeviceChoice::cpu;
  o.quiet = true;
  o.frame_type = FrameType::float32;
  const SweepSpec spec = small_spec();
  const Dataset data = small_data();
  run_sweep(spec, data, o);

  ResultsFile f(path);
  EXPECT_EQ(f.format_version(), kFormatVersion);
  EXPECT_EQ(f.attribute("spec"), spec_to_json(spec));
  const auto shape = f.frame_shape();
  EXPECT_EQ(shape, (std::array<int, 5>{4, 4, 10, 10, 2}));
  EXPECT_EQ(f.frame_epochs(), (std::vector<int>{0, 5, 10, 12}));
  const auto rows = f.networks();
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].hidden_shape, "4");
  EXPECT_EQ(rows[2].hidden_shape, "4-4");
  EXPECT_EQ(rows[1].activation, "tanh");
  EXPECT_EQ(rows[0].status, "trained");
  EXPECT_EQ(rows[0].epochs_trained, 12);
  EXPECT_EQ(rows[0].parameters, 3 * 4 + 4 + 4 * 2 + 2);
  for (const auto& r : rows) {
    EXPECT_TRUE(std::isfinite(r.final_test_loss));
    EXPECT_GE(r.final_test_accuracy, 0.0f);
  }
  const auto losses = f.epoch_losses(3);
  EXPECT_EQ(losses.size(), 12u);
  EXPECT_FLOAT_EQ(losses.back(), rows[3].final_epoch_loss);
  const auto frame = f.frame(2, 3);
  EXPECT_EQ(frame.size(), 200u);
  for (float v : frame) EXPECT_TRUE(v >= 0 && v <= 1) << v;  // sigmoid outputs (saturate to 1.0f far out)
  const Dataset back = f.dataset();
  EXPECT_EQ(back.train.coords, data.train.coords);
  EXPECT_EQ(back.test.labels, data.test.labels);
  EXPECT_EQ(back.classes, 2);
  const SweepSource& source = f.sweep_source();  // read once, then the same object
  EXPECT_EQ(&f.sweep_source(), &source);
  EXPECT_EQ(spec_to_json(source.spec), spec_to_json(spec));
  EXPECT_EQ(source.data.train.coords, data.train.coords);

  // --from reruns the stored sweep exactly.
  const std::string again = temp_path("again.h5");
  o.output = again;
  run_sweep(spec_from_json(f.attribute("spec")), f.dataset(), o);
  ResultsFile g(again);
  for (int n = 0; n < 4; ++n) {
    EXPECT_EQ(g.epoch_losses(n), f.epoch_losses(n));
    EXPECT_EQ(g.frame(n, 3), f.frame(n, 3));
  }

  // float16 frames round to within half precision of the float32 ones.
  const std::string half = temp_path("half.h5");
  o.output = half;
  o.frame_type = FrameType::float16;
  run_sweep(spec, data, o);
  ResultsFile h(half);
  const auto f16 = h.frame(2, 3);
  for (size_t k = 0; k < frame.size(); ++k) EXPECT_NEAR(f16[k], frame[k], 1e-3f);
  EXPECT_NE(f16, frame);
}

TEST(ResultsFile, RejectsOtherFiles) {
  EXPECT_THROW(ResultsFile(temp_path("missing.h5")), ResultsError);
  EXPECT_THROW(ResultsFile(write_file("text.h5", "not hdf5")), ResultsError);
}

TEST(Cli, RunThenInfoEndToEnd) {
  const std::string out = temp_path("cli.h5");
  fs::remove(out);
  const auto run = run_cli(
      "run --layers 1,2 --widths 3 --activations relu,sigmoid --epochs 4 --snapshot-every 2 "
      "--grid 8 --dataset moons:n=60 --test-fraction 0.2 --device cpu -o " +
      out);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("4 networks"), std::string::npos) << run.output;
  EXPECT_TRUE(fs::exists(out));
  for (const auto& entry : fs::directory_iterator(fs::path(out).parent_path()))
    EXPECT_EQ(entry.path().string().find("cli.h5.partial"), std::string::npos) << "left behind: " << entry.path();
  const auto info = run_cli("info " + out);
  ASSERT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("networks: 4, frames: 3 of 8x8"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("3-3"), std::string::npos) << info.output;
  const auto rerun = run_cli("run --from " + out + " -q -o " + temp_path("cli_rerun.h5"));
  EXPECT_EQ(rerun.exit_code, 0) << rerun.output;
  const auto mixed = run_cli("run --from " + out + " --epochs 3 -o " + temp_path("cli_bad.h5"));
  EXPECT_NE(mixed.exit_code, 0);
  EXPECT_NE(mixed.output.find("--from reruns the stored sweep exactly: drop --epochs"), std::string::npos)
      << mixed.output;
}

TEST(Cli, TomlConfigFile) {
  const std::string cfg = write_file("sweep.toml",
                                     "layers = [1]\nwidths = [5]\nactivations = [\"tanh\", \"elu\"]\nepochs = 3\n"
                                     "grid = 6\ndataset = [\"circle:n=40\"]\ndevice = \"cpu\"\n");
  const std::string out = temp_path("toml.h5");
  const auto run = run_cli("run --config " + cfg + " -q -o " + out);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ResultsFile f(out);
  const auto rows = f.networks();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].hidden_shape, "5");
  EXPECT_EQ(rows[1].activation, "elu");
  EXPECT_EQ(f.frame_shape()[2], 6);
}

TEST(Progress, LineMovesWithTheFirstNetworkEpochs) {
  // Before any network finishes, the line already counts network-epochs.
  Progress p;
  p.work_total = 1000;
  p.network_epochs_total = 72 * 500;
  ProgressReporter reporter(p, 72, false);
  EXPECT_NE(reporter.line(false).find("0/36000 network-epochs | 0/72 networks done"), std::string::npos)
      << reporter.line(false);
  p.network_epochs += 37;
  p.work_done += 10;
  const std::string line = reporter.line(false);
  EXPECT_NE(line.find("  1.0% | 37/36000 network-epochs | 0/72 networks done"), std::string::npos) << line;
  // Epochs a checkpoint had done count as done, not in the rate.
  p.network_epochs += 1000;
  p.network_epochs_resumed += 1000;
  EXPECT_NE(reporter.line(false).find("1037/36000 network-epochs"), std::string::npos) << reporter.line(false);
}

TEST(Cli, StoredOptionsRerunAsAConfigFile) {
  // The file records the options given (root attribute `options`, TOML); read
  // back with --config they make the same sweep on the same data.
  const std::string out = temp_path("options.h5");
  const auto run = run_cli(
      "run --dataset circle:n=50,noise=0.3 --layers 1,2 --widths 4 --activations relu,tanh --lr 0.01 --batch 0 "
      "--epochs 3 --grid 10 --extent -2,2,-2,2 --test-fraction 0.2 --frame-dtype f32 --device cpu -q -o " +
      out);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ResultsFile f(out);
  const std::string options = f.attribute("options");
  EXPECT_NE(options.find("activations=[\"relu\", \"tanh\"]"), std::string::npos) << options;
  EXPECT_NE(options.find("dataset=\"circle:n=50,noise=0.3\""), std::string::npos) << options;
  // The dataset attribute records what was generated, not the defaults.
  EXPECT_NE(f.attribute("dataset").find("\"n_points\":50"), std::string::npos) << f.attribute("dataset");
  EXPECT_NE(f.attribute("dataset").find("\"noise\":0.3"), std::string::npos) << f.attribute("dataset");
  const std::string again = temp_path("options_again.h5");
  const auto rerun = run_cli("run --config " + write_file("options.toml", options) + " -o " + again);
  ASSERT_EQ(rerun.exit_code, 0) << rerun.output;
  ResultsFile g(again);
  EXPECT_EQ(g.attribute("spec"), f.attribute("spec"));
  EXPECT_EQ(g.attribute("dataset"), f.attribute("dataset"));
  EXPECT_EQ(g.frame_type(), FrameType::float32);
  EXPECT_EQ(g.frame(1, 0), f.frame(1, 0));
}

// Non-ASCII text in a config (found by fuzz_config: toml++ 3.3 reaches
// undefined behaviour on some of it; src/toml_unicode.h): fine in strings
// and comments, a clear error elsewhere, and strings come back unchanged.
TEST(Cli, TomlConfigNonAsciiOnlyInStringsAndComments) {
  const std::string ok = write_file("unicode_ok.toml",
                                    "# r\xC3\xA9seau \xCE\xBA\n"
                                    "layers = [1]\nwidths = [2]\nactivations = ['relu']  # \xD0\x9D\n"
                                    "epochs = 1\ngrid = 4\ndataset = [\"xor:n=20\"]\ndevice = \"cpu\"\n"
                                    "frame-dtype = \"\"\"f\\\n  16\"\"\"\n");
  const auto run = run_cli("run --config " + ok + " -q -o " + temp_path("unicode.h5"));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  for (const auto& [text, where] : std::vector<std::pair<std::string, std::string>>{
           {"\xC3\xA9pochs = 3\n",
            ":1:1: Error while parsing root table: expected keys, tables, whitespace or "
            "comments, saw '\xC3\xA9'"},
           {"epochs = 3\nx = 1\xC3\xA9\n", ":2:6: Error while parsing decimal integer: expected digit, saw '\xC3\xA9'"},
           {"a\xD0\x9D.c = 2\n", ":1:2: Error while parsing key-value pair: expected '=', saw '\xD0\x9D'"},
           {"epochs = 1\"\xC2\xA1\"\n", ":1:11: Error while parsing decimal integer: expected digit, saw '\"'"},
           {"\"\xC3\xA9\" = 1\n", ":1:7: '\xC3\xA9' is not a run option"}}) {
    const std::string cfg = write_file("unicode_bad.toml", text);
    const auto r = run_cli("run --config " + cfg + " -q -o " + temp_path("unicode_bad.h5"));
    EXPECT_EQ(r.exit_code, 2) << text << "\n" << r.output;
    EXPECT_NE(r.output.find("unicode_bad.toml" + where), std::string::npos) << text << "\n" << r.output;
  }
  // A string's characters reach the option as written, through a line-ending backslash too.
  const auto value =
      run_cli("run --config " + write_file("unicode_value.toml", "device = \"\"\"\\\n \xC3\xA9\"\"\"\n") + " -q -o " +
              temp_path("unicode_bad.h5"));
  EXPECT_EQ(value.exit_code, 2) << value.output;
  EXPECT_NE(value.output.find("--device '\xC3\xA9'"), std::string::npos) << value.output;
}

TEST(Cli, BadInputsFailWithAClearMessage) {
  const std::string good = write_file("good.json", R"([{"x":0.1,"y":0.2},{"x":0.3,"y":0.4}])");
  const std::string good1 = write_file("good1.json", R"([{"x":0.5,"y":0.6}])");
  const std::string broken = write_file("broken.json", R"([{"x":0.1,"y":)");
  const std::string badcsv = write_file("bad.csv", "x1,x2,label\n0.1,0.2,0\n0.3,nan,1\n");
  const std::string ragged = write_file("ragged.csv", "x1,x2,label\n0.1,0.2\n");
  const std::string out = " -o " + temp_path("bad.h5");
  const std::string small = " --epochs 1 --layers 1 --widths 2";
  struct Case {
    std::string args, message;
  } cases[] = {
      {"run --points /nonexistent/green.json:0 --points " + good + ":1", "/nonexistent/green.json: cannot open"},
      {"run --points " + fs::path(good).parent_path().string() + ":0", "cannot open"},
      {"run --points " + broken + ":0 --points " + good + ":1", "broken.json: malformed JSON"},
      {"run --csv " + badcsv, "bad.csv: line 3, field 'x2': 'nan' is not"},
      {"run --csv " + ragged, "ragged.csv: line 2: expected 3 fields"},
      {"run --points " + good + ":0 --points " + good1 + ":0", "only one class"},
      {"run --points " + good + " --points " + good1 + ":1", "expected FILE:LABEL"},
      {"run --widths 0 --layers 1", "--widths: a width must be >= 1"},
      {"run --config " + write_file("typo.toml", "layerz = [1]\n"), "layerz"},
      {"run --layers 0 --widths 4", "--layers: a layer count must be >= 1"},
      {"run --shape 3-0", "--shape '3-0': layer width must be >= 1"},
      {"run --activations relu,swish", "unknown activation 'swish'"},
      {"run --optimizers adagrad", "unknown optimizer 'adagrad'"},
      {"run --loss hinge", "unknown loss 'hinge'"},
      {"run --dataset nope", "unknown generator 'nope'"},
      {"run --dataset poly --loss bce", "1-D regression data needs --loss mse"},
      {"run --features x1,x3", "unknown feature 'x3'"},
      {"run --grid 300000", "--grid 300000: frames need about"},
      {"run --device tpu", "--device 'tpu'"},
      {"run --device cpu --gpu-path blocks", "--gpu-path 'blocks': expected auto, fused or gemm"},
      {"run --device cpu --precision fp16", "--precision 'fp16': expected fp32 or tf32"},
      {"run --device cpu --precision tf32", "--precision tf32: the GPU's GEMMs only; --device cpu trains in FP32"},
      {"run --device cpu --gpu-path gemm", "--gpu-path gemm: the GPU's only; --device cpu trains on the CPU"},
      {"run --optimizers sgd --momentum 0.9", "--momentum: only the momentum optimizer uses it"},
      {"run --points " + good + ":0 --points " + good1 + ":1 --noise 0.2", "--noise: the data are files"},
      {"run --dataset circle:noise=0.1+xor:noise=0 --noise 0.3", "every --dataset sets its own noise="},
      {"run --points " + good + ":0 --points " + good1 + ":1 --n-points 50", "--n-points: the data are files"},
      {"run --points " + good + ":0 --points " + good1 + ":1 --data-seed 3", "--data-seed: the data are files"},
      {"run --dataset moons:n=40 --data-seed 3", "--data-seed 3: every seed gives these points"},
      {"run --neuron-maps none --neuron-grid 8", "--neuron-grid: --neuron-maps none records no neuron maps"},
      {"run --config " + write_file("sgd.toml", "optimizers = [\"adam\", \"sgd\"]\nmomentum = [0.5]\n"),
       "add momentum to --optimizers"},
      {"bench --devices cuda-fast", "--devices: 'cuda-fast': unknown variant 'fast'"},
      {"run --neuron-grid 0", "--neuron-grid must be between 2 and 1024"},
      {"run --neuron-maps some", "--neuron-maps 'some': expected auto, all or none"},
      {"run --record-weights every", "--record-weights 'every': expected auto, all or none"},
      {"info /nonexistent/results.h5", "no such file"},
  };
  for (const auto& c : cases) {
    std::string args = c.args;
    if (args.rfind("run", 0) == 0) {
      if (args.find("--grid") == std::string::npos) args += " --grid 4";
      if (args.find("--layers") == std::string::npos && args.find("--shape") == std::string::npos)
        args += small;
      else
        args += " --epochs 1";
      args += out;
    }
    const auto r = run_cli(args);
    EXPECT_NE(r.exit_code, 0) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos)
        << args << "\nexpected: " << c.message << "\ngot: " << r.output;
    EXPECT_FALSE(fs::exists(temp_path("bad.h5"))) << args << " left an output file";
  }
}

TEST(Cli, RegressionFramesAreCurves) {
  const std::string out = temp_path("poly.h5");
  const auto run = run_cli(
      "run --dataset poly:n=64 --loss mse --layers 2 --widths 16 --activations tanh --lr 0.01 "
      "--epochs 30 --snapshot-every 10 --grid 50 --device cpu -q -o " +
      out);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ResultsFile f(out);
  EXPECT_EQ(f.frame_shape(), (std::array<int, 5>{1, 4, 1, 50, 1}));  // (networks, frames, H=1, W, outputs)
  const auto rows = f.networks();
  EXPECT_TRUE(std::isnan(rows[0].final_train_accuracy));  // no accuracy for regression
  const auto losses = f.epoch_losses(0);
  EXPECT_LT(losses.back(), losses.front());
  const Dataset d = f.dataset();
  EXPECT_TRUE(d.regression);
  EXPECT_EQ(d.train.values.size(), 64u);
}

TEST(Cli, ThreeClassSoftmaxFromCsv) {
  std::string csv = "x1,x2,label\n";
  for (int i = 0; i < 60; ++i) {
    const int c = i % 3;
    csv += std::to_string(c * 2.0 + 0.1 * (i % 7)) + "," + std::to_string(-c + 0.05 * (i % 5)) + "," +
           std::to_string(c) + "\n";
  }
  const std::string out = temp_path("softmax.h5");
  const auto run = run_cli("run --csv " + write_file("three.csv", csv) +
                           " --loss softmax --layers 1 --widths 8 "
                           "--activations relu --lr 0.05 --epochs 40 --snapshot-every 20 --grid 7 --device cpu -q -o " +
                           out);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ResultsFile f(out);
  EXPECT_EQ(f.frame_shape()[4], 3);
  const auto frame = f.frame(0, 2);
  for (size_t p = 0; p < frame.size(); p += 3) EXPECT_NEAR(frame[p] + frame[p + 1] + frame[p + 2], 1.0f, 2e-3f);
  EXPECT_GT(f.networks()[0].final_train_accuracy, 0.9f);
  const auto bad = run_cli("run --csv " + temp_path("three.csv") + " --outputs 2 --epochs 1 --grid 4 -o " + out + "x");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("3 classes need 3 outputs"), std::string::npos) << bad.output;
}

TEST(Cli, FramesThatDoNotFitOnDiskAreRefusedUpFront) {
  const std::string dir = temp_path("tiny_fs");
  fs::create_directories(dir);
  if (std::system(("mount -t tmpfs -o size=2m tmpfs " + dir + " 2>/dev/null").c_str()) != 0)
    GTEST_SKIP() << "cannot mount a small tmpfs here (needs root)";
  // 24 networks x 11 frames x 256^2 x 2 outputs x 2 bytes = 69 MiB > 2 MiB free.
  const auto r = run_cli(
      "run --layers 1,2,3 --widths 2,4,8,16 --epochs 10 --snapshot-every 1 --grid 256 "
      "--dataset xor:n=40 --device cpu -o " +
      dir + "/sweep.h5");
  std::system(("umount " + dir).c_str());
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("the frames could take up to"), std::string::npos) << r.output;
}

TEST(Cli, NeuronMapsThatDoNotFitOnDiskAreRefusedUpFront) {
  const std::string dir = temp_path("tiny_fs_maps");
  fs::create_directories(dir);
  if (std::system(("mount -t tmpfs -o size=2m tmpfs " + dir + " 2>/dev/null").c_str()) != 0)
    GTEST_SKIP() << "cannot mount a small tmpfs here (needs root)";
  // Small frames (8^2), but 2 networks x 64 units x 3 frames x 512^2 x 2 bytes = 192 MiB of maps.
  const auto r = run_cli(
      "run --layers 1 --widths 64 --epochs 10 --snapshot-every 5 --grid 8 --neuron-maps all --neuron-grid 512 "
      "--dataset xor:n=40 --device cpu -o " +
      dir + "/sweep.h5");
  std::system(("umount " + dir).c_str());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("neuron maps and parameter snapshots could take up to"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--neuron-grid"), std::string::npos) << r.output;
}

TEST(Cli, ShapeAloneTrainsJustThatShapeAndListsAreAxes) {
  // --shape alone: no slide grid added.
  const std::string shape = temp_path("shape.h5");
  auto r = run_cli("run --shape 3-1-3 --epochs 2 --grid 4 --dataset xor:n=40 --device cpu -q -o " + shape);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  {
    ResultsFile f(shape);
    ASSERT_EQ(f.networks().size(), 2u);  // sigmoid and relu
    for (const auto& row : f.networks()) EXPECT_EQ(row.hidden_shape, "3-1-3");
  }
  // --l1, --l2 and --momentum are axes; momentum only for the momentum optimizer.
  const std::string lists = temp_path("lists.h5");
  r = run_cli(
      "run --layers 1 --widths 4 --activations relu --optimizers adam,momentum --l1 0,0.0001 --l2 0,0.001 "
      "--momentum 0.5,0.9 --epochs 2 --grid 4 --dataset xor:n=40 --device cpu -q -o " +
      lists);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ResultsFile f(lists);
  const auto& rows = f.networks();
  ASSERT_EQ(rows.size(), 4u + 8u);  // adam: 2 x 2; momentum: 2 x 2 x 2
  std::set<std::tuple<std::string, float, float, float>> seen;
  for (const auto& row : rows) {
    EXPECT_EQ(std::isnan(row.momentum), row.optimizer == "adam") << row.optimizer;
    seen.insert({row.optimizer, row.l1, row.l2, std::isnan(row.momentum) ? -1.0f : row.momentum});
  }
  EXPECT_EQ(seen.size(), rows.size()) << "every network a distinct configuration";
  EXPECT_TRUE(seen.count({"momentum", 0.0001f, 0.001f, 0.5f}));
  // Each --dataset (and --noise level) is a part of its own, one results file each.
  const std::string parts = temp_path("parts.h5");
  r = run_cli(
      "run --layers 1 --widths 3 --epochs 2 --grid 4 --dataset circle:n=40 --dataset xor:n=40 "
      "--features x1,x2 --features x1,x2,x1*x2 --device cpu -q -o " +
      parts);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (int k = 0; k < 4; ++k) {
    ResultsFile p(temp_path("parts.part-" + std::to_string(k) + ".h5"));
    EXPECT_EQ(p.int_attribute("part_count"), 4);
    EXPECT_EQ(p.features().size(), k % 2 ? 3u : 2u);
    EXPECT_NE(p.attribute("part_label").find(k < 2 ? "circle" : "xor"), std::string::npos) << p.attribute("part_label");
  }
  EXPECT_FALSE(fs::exists(parts)) << "a sweep of several parts writes one file per part";
  // Bad values name the option.
  for (const auto& [args, message] : std::vector<std::pair<std::string, std::string>>{
           {"--l2 0,-1", "--l1/--l2: penalties must be >= 0"},
           {"--l1 abc", "--l1"},
           {"--optimizers momentum --momentum 0.9,nan", "--momentum: must be a finite number"},
           {"--layers 2", "--layers and --widths go together"},
           {"--features x1 --features bogus", "unknown feature 'bogus'"},
           {"--noise 0,-1", "noise"}}) {
    const auto b =
        run_cli("run " + args + " --epochs 1 --grid 4 --dataset xor:n=40 --device cpu -o " + temp_path("b.h5"));
    EXPECT_EQ(b.exit_code, 2) << args << "\n" << b.output;
    EXPECT_NE(b.output.find(message), std::string::npos) << args << "\n" << b.output;
  }
  const auto b = run_cli("bench --dataset circle --dataset xor --layers 1 --widths 2 --epochs 1 --grid 4");
  EXPECT_EQ(b.exit_code, 2);
  EXPECT_NE(b.output.find("bench takes one data source and one feature set"), std::string::npos) << b.output;
  EXPECT_EQ(run_cli("bench --epochs 1 --grid 4 -o " + temp_path("bench.h5")).exit_code, 2) << "bench writes no file";
  // Parts of both kinds: the render command printed is one per kind (a gallery holds one).
  const std::string mixed = temp_path("mixed.h5"), part = temp_path("mixed.part-");
  r = run_cli(
      "run --layers 1 --widths 3 --epochs 2 --grid 4 --dataset poly:n=40 --dataset circle:n=40 --device cpu -o " +
      mixed);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("two galleries, one per kind: netsweep-render " + part + "1.h5 -o gallery/ and " +
                          "netsweep-render " + part + "0.h5 -o gallery-regression/"),
            std::string::npos)
      << r.output;
}
