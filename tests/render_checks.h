// Pixel checks shared by the renderer's tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "draw.h"
#include "image.h"

namespace netsweep::render::test {

inline void expect_color(Rgb got, Rgb want, int tolerance, const std::string& what) {
  for (int k = 0; k < 3; ++k)
    EXPECT_NEAR(got[size_t(k)], want[size_t(k)], tolerance)
        << what << ": got (" << int(got[0]) << "," << int(got[1]) << "," << int(got[2]) << "), want (" << int(want[0])
        << "," << int(want[1]) << "," << int(want[2]) << ")";
}

// The default font, loaded once per test process.
inline const Font& font() {
  static const Font f(Font::default_path());
  return f;
}

inline std::string temp_path(const std::string& name) { return ::testing::TempDir() + "netsweep_render_" + name; }

// A small results file from a real run, made once per test process by this build (a file left by
// an earlier build, or by another test process running at the same time, is not reused) and
// removed when the process ends.
inline std::string small_results(const std::string& name, const std::string& extra = "") {
  struct Made {
    std::vector<std::string> paths;
    ~Made() {
      for (const auto& p : paths) std::filesystem::remove(p);
    }
  };
  static Made made;
  const std::string path = temp_path(std::to_string(::getpid()) + "_" + name);
  if (std::find(made.paths.begin(), made.paths.end(), path) != made.paths.end()) return path;
  std::filesystem::remove(path);
  made.paths.push_back(path);
  const std::string cmd = std::string(NETSWEEP_BINARY) +
                          " run --layers 1,2 --widths 4,8 --activations relu,tanh --epochs 12 --snapshot-every 3 "
                          "--grid 20 --dataset circle:n=80 --test-fraction 0.25 --device cpu -q " +
                          extra + " -o " + path;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return path;
}

}  // namespace netsweep::render::test
