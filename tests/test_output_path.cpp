// Output paths: what a process killed before it finished left of an output
// (OUT.partial-HOST-PID) is removed by the next process writing OUT, and
// nothing that may still be in use.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "netsweep/results.h"

using namespace netsweep;
namespace fs = std::filesystem;

namespace {

// The pid of a child that has exited and been reaped: no process has it.
pid_t gone_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  return child;
}

bool any_line(const std::vector<std::string>& lines, const std::string& text) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(text) != std::string::npos; });
}

}  // namespace

TEST(OutputPath, PartialNameCarriesHostAndPid) {
  const std::string name = partial_path("/tmp/x/sweep.h5");
  EXPECT_EQ(name.rfind("/tmp/x/sweep.h5.partial-", 0), 0u) << name;
  EXPECT_EQ(name.substr(name.rfind('-') + 1), std::to_string(::getpid()));
  EXPECT_GT(name.rfind('-'), std::string("/tmp/x/sweep.h5.partial-").size()) << "no host in " << name;
}

TEST(OutputPath, StalePartialsOfGoneProcessesAreRemovedOthersKept) {
  const fs::path dir = fs::path(::testing::TempDir()) / "netsweep_stale_partials";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string out = (dir / "sweep.h5").string();
  const std::string mine = partial_path(out), host_prefix = mine.substr(0, mine.rfind('-') + 1);
  const std::string dead_file = host_prefix + std::to_string(gone_pid());
  const std::string dead_dir = host_prefix + std::to_string(gone_pid());  // a gallery's partial directory
  const std::string live = host_prefix + std::to_string(::getppid());
  const std::string other_host = out + ".partial-elsewhere-1";
  const std::string odd = host_prefix + "12x";
  const std::string unrelated = (dir / "other.h5.partial-x-1").string();
  for (const auto& f : {dead_file, mine, live, other_host, odd, unrelated}) std::ofstream(f) << "x";
  fs::create_directories(fs::path(dead_dir) / "nets");
  std::ofstream(fs::path(dead_dir) / "nets" / "a.png") << "x";

  const std::vector<std::string> lines = clear_stale_partials(out);
  EXPECT_FALSE(fs::exists(dead_file));
  EXPECT_FALSE(fs::exists(dead_dir));
  EXPECT_TRUE(any_line(lines, "removed " + dead_file + ", left by a process that is gone"));
  EXPECT_TRUE(any_line(lines, "removed " + dead_dir + ", left by a process that is gone"));
  for (const auto& kept : {live, other_host, odd}) {
    EXPECT_TRUE(fs::exists(kept)) << kept;
    EXPECT_TRUE(any_line(lines, kept + " exists: another process is writing " + out)) << kept;
  }
  EXPECT_TRUE(fs::exists(mine)) << "this process's own partial";
  EXPECT_FALSE(any_line(lines, mine));
  EXPECT_TRUE(fs::exists(unrelated));
  EXPECT_EQ(lines.size(), 5u);
  fs::remove_all(dir);
}

// An unfinished output opened as a results file is named as such.
TEST(OutputPath, AnUnfinishedOutputIsSaidToBeOne) {
  const std::string path = ::testing::TempDir() + "netsweep_unfinished.h5.partial-host-1";
  std::ofstream(path) << "not yet an HDF5 file";
  try {
    ResultsFile f(path);
    ADD_FAILURE() << "opened";
  } catch (const ResultsError& e) {
    EXPECT_NE(std::string(e.what()).find("an unfinished output"), std::string::npos) << e.what();
  }
  fs::remove(path);
}
