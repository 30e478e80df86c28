// The count shown while a long write goes on (run's write from a checkpoint,
// merge): the units done of the total, and nothing before `quiet_for`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "progress.h"

using namespace netsweep;

namespace {
// What `body` writes to stderr (here a file: not a terminal).
template <typename F>
std::string stderr_of(F body) {
  const std::string path = ::testing::TempDir() + "netsweep_progress_stderr";
  std::fflush(stderr);
  const int saved = ::dup(STDERR_FILENO);
  FILE* file = std::fopen(path.c_str(), "w");
  ::dup2(::fileno(file), STDERR_FILENO);
  body();
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::fclose(file);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}
}  // namespace

TEST(Progress, CountShowsUnitsDoneOfTheTotalAfterItsQuietTime) {
  const std::string shown = stderr_of([] {
    CountProgress writing("writing sweep.h5", 1080, true, std::chrono::milliseconds(0));
    writing.done(270);
    writing.done(540);  // within the 10 s between plain lines: not shown
  });
  EXPECT_NE(shown.find("netsweep: writing sweep.h5: 270/1080 networks (25%), "), std::string::npos) << shown;
  EXPECT_EQ(shown.find("540/1080"), std::string::npos) << shown;
  EXPECT_EQ(shown.find('\x1b'), std::string::npos) << "no terminal codes in a log: " << shown;

  const std::string quiet = stderr_of([] {
    CountProgress soon("writing sweep.h5", 10, true);  // done within its first seconds
    soon.done(5);
    CountProgress off("merging", 10, false, std::chrono::milliseconds(0));
    off.done(5);
  });
  EXPECT_EQ(quiet, "");
}
