// Output paths: what a process killed before it finished left of an output
// (OUT.partial-HOST-PID) is removed by the next process writing OUT, and
// nothing that may still be in use.
#include <gtest/gtest.h>
#include <signal.h>
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
  EXPECT_TRUE(any_line(lines, "removed " + dead_file + ", left by a process that is gone"));
  EXPECT_TRUE(fs::exists(dead_dir)) << "a results file's partial is a file: a directory is not one";
  EXPECT_TRUE(any_line(lines, live + " exists: another process is writing " + out + " now"));
  for (const auto& other : {other_host, odd})
    EXPECT_TRUE(any_line(lines, other + " exists: of another host, or not named as this host's")) << other;
  for (const auto& kept : {live, other_host, odd}) EXPECT_TRUE(fs::exists(kept)) << kept;
  EXPECT_TRUE(fs::exists(mine)) << "this process's own partial";
  EXPECT_FALSE(any_line(lines, mine));
  EXPECT_TRUE(fs::exists(unrelated));
  EXPECT_EQ(lines.size(), 4u);

  // A gallery's: directories, not files.
  const std::vector<std::string> gallery = clear_stale_partials(out, true);
  EXPECT_FALSE(fs::exists(dead_dir));
  EXPECT_TRUE(any_line(gallery, "removed " + dead_dir + ", left by a process that is gone"));
  EXPECT_EQ(gallery.size(), 1u);
  EXPECT_TRUE(fs::exists(live));
  fs::remove_all(dir);
}

// A partial whose writer holds its lock is being written now: a second writer
// of the output is refused, naming it, even where the pid in its name is not one
// of this PID namespace's (a container sharing the host name); the partial is kept.
TEST(OutputPath, ALockedPartialRefusesASecondWriterWhateverItsPid) {
  const fs::path dir = fs::path(::testing::TempDir()) / "netsweep_locked_partial";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string out = (dir / "sweep.h5").string();
  const std::string mine = partial_path(out);
  const pid_t elsewhere = gone_pid();
  const std::string other_namespace = mine.substr(0, mine.rfind('-') + 1) + std::to_string(elsewhere);
  std::ofstream(other_namespace) << "x";
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t writer = ::fork();  // another process holds the lock: locks are per open file description
  if (writer == 0) {
    const PartialLock lock(other_namespace);
    const char held = 1;
    if (::write(ready[1], &held, 1) != 1) ::_exit(1);
    ::pause();
    ::_exit(0);
  }
  char held = 0;
  const bool locked = ::read(ready[0], &held, 1) == 1;
  ::close(ready[0]);
  ::close(ready[1]);
  std::string refusal;
  try {
    clear_stale_partials(out);
  } catch (const ResultsError& e) {
    refusal = e.what();
  }
  ::kill(writer, SIGKILL);  // on every path: a writer left waiting would hold the test's output open
  ::waitpid(writer, nullptr, 0);
  ASSERT_TRUE(locked);
  EXPECT_TRUE(fs::exists(other_namespace));
  EXPECT_EQ(refusal, out + ": another run is writing it now (process " + std::to_string(elsewhere) + ", into " +
                         other_namespace + "); wait for it to end, or give another output");
  const std::vector<std::string> after = clear_stale_partials(out);  // the writer gone, its lock with it
  EXPECT_FALSE(fs::exists(other_namespace));
  EXPECT_TRUE(any_line(after, "removed " + other_namespace));
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
