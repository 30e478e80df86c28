// The checkpoint store when writing fails, the disk is short, or two runs
// share it: a state.h5 that cannot be written whole never replaces the last
// good one, a run that needs its frames twice is refused up front, and a
// second run of the same output is refused while the first holds the directory.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>

#include "cli_command.h"
#include "netsweep/checkpoint.h"
#include "netsweep/problem.h"
#include "netsweep/stop_signals.h"

using namespace netsweep;
using netsweep::test::run_cli;
namespace fs = std::filesystem;

namespace {

TrainingProblem small_problem() {
  SweepSpec s;
  s.layers = {1};
  s.widths = {256};  // a state.h5 of some size
  s.activations = {Activation::tanh};
  s.optimizers = {Optimizer::adam};
  s.learning_rates = {1e-2f};
  s.batch_sizes = {16};
  s.epochs = 10;
  s.features = {"x1", "x2"};
  s.snapshot_every = 5;
  s.grid = 4;
  s.neuron_maps = InsideRule::none;
  s.record_weights = InsideRule::none;
  DataOptions o;
  o.datasets = {"circle"};
  o.generator.n_points = 40;
  return build_problem(s, load_data(o));
}

// Network 0 after `epoch` epochs, its first frame written.
NetworkState state_at(const TrainingProblem& p, int epoch) {
  NetworkState s;
  s.epoch = epoch;
  s.step = 3 * epoch;  // 40 points in batches of 16
  s.result.epochs_trained = epoch;
  s.frames_done = 1;
  const int64_t count = p.layout.networks[0].count;
  s.params.assign(size_t(count), 0.5f + float(epoch));
  s.state1.assign(size_t(count), 0.0f);
  s.state2.assign(size_t(count), 0.0f);
  s.result.epoch_loss.assign(size_t(p.epochs), NAN);
  for (auto* v : {&s.result.snapshot_train_loss, &s.result.snapshot_test_loss, &s.result.snapshot_train_accuracy,
                  &s.result.snapshot_test_accuracy})
    v->assign(p.frame_epochs.size(), NAN);
  return s;
}

std::string fresh_dir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "netsweep_ckpt_" + name;
  fs::remove_all(dir);
  return dir;
}

}  // namespace

TEST(CheckpointStore, AStateThatCannotBeWrittenWholeKeepsTheLastGoodOne) {
  const TrainingProblem p = small_problem();
  const std::string dir = fresh_dir("short_write");
  const std::vector<float> frame(size_t(p.grid_h * p.grid_w * p.outputs), 0.25f);
  {
    CheckpointStore store(dir, p, "hash", "", FrameType::float32, 0);
    store.write_frame(0, 0, frame.data());
    store.snapshot_state(0, state_at(p, 2));  // written now (interval 0)
    const auto good = fs::file_size(dir + "/state.h5");
    ASSERT_GT(good, 8192u);

    // A disk that fills as the next state is written (here a file size limit
    // below the state's size; SIGXFSZ ignored as by netsweep's main).
    ignore_write_signals();
    rlimit old{};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
    rlimit small = old;
    small.rlim_cur = good / 2;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
    EXPECT_THROW(store.snapshot_state(0, state_at(p, 4)), ResultsError);
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
    EXPECT_FALSE(fs::exists(dir + "/state.h5.tmp"));
  }
  CheckpointStore again(dir, p, "hash", "", FrameType::float32, 0);
  const auto states = again.load();  // not "damaged": the state of epoch 2, whole
  ASSERT_TRUE(states[0].has_value());
  EXPECT_EQ(states[0]->epoch, 2);
  EXPECT_EQ(states[0]->params[0], 2.5f);
  fs::remove_all(dir);
}

TEST(CheckpointStore, ASecondRunOfTheSameOutputIsRefused) {
  const TrainingProblem p = small_problem();
  const std::string dir = fresh_dir("two_runs");
  {
    CheckpointStore first(dir, p, "hash", "", FrameType::float32, 0);
    first.write_frame(0, 0, std::vector<float>(size_t(p.grid_h * p.grid_w * p.outputs), 0.25f).data());
    first.snapshot_state(0, state_at(p, 2));
    // Locks are per process: the second run is a child process.
    const pid_t child = ::fork();
    if (child == 0) {
      if (checkpoint_holder(dir) != "process " + std::to_string(::getppid())) ::_exit(3);
      try {
        CheckpointStore second(dir, p, "hash", "", FrameType::float32, 0);
      } catch (const ResultsError& e) {
        const std::string what = e.what();
        ::_exit(what.find("in use by another run of the same output (process " + std::to_string(::getppid())) !=
                        std::string::npos
                    ? 0
                    : 1);
      }
      ::_exit(2);  // not refused
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: refused without naming the holder; 2: not refused; 3: holder not seen";
    EXPECT_TRUE(fs::exists(dir + "/state.h5")) << "the first run's checkpoint is untouched";
  }
  // Once the first has ended, the directory is free again.
  EXPECT_EQ(checkpoint_holder(dir), "");
  CheckpointStore later(dir, p, "hash", "", FrameType::float32, 0);
  EXPECT_EQ(later.load()[0]->epoch, 2);
  fs::remove_all(dir);
}

// A file system without locks (NFS without lockd: fcntl and flock say ENOLCK;
// here an LD_PRELOAD shim): the run goes on and its file is made and read
// back, and it says that a second run of the output would not be refused,
// even with -q.
TEST(CheckpointStore, AFileSystemWithoutLocksIsSaidAndTheRunGoesOn) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "an LD_PRELOAD shim and AddressSanitizer's runtime do not mix";
#endif
  const std::string dir = fresh_dir("no_locks");
  fs::create_directories(dir);
  const std::string args =
      "run --layers 1 --widths 4 --epochs 4 --snapshot-every 2 --grid 8 --dataset xor:n=40 "
      "--device cpu -q --checkpoint-every 0 -o " +
      dir + "/out.h5";
  ::setenv("LD_PRELOAD", NETSWEEP_ENOLCK_SHIM, 1);
  const auto without = run_cli(args);
  const auto info = run_cli("info " + dir + "/out.h5");
  ::unsetenv("LD_PRELOAD");
  EXPECT_EQ(without.exit_code, 0) << without.output;
  EXPECT_NE(without.output.find("out.h5.ckpt: its file system has no locks (ENOLCK): a second run of"),
            std::string::npos)
      << without.output;
  EXPECT_EQ(info.exit_code, 0) << info.output;
  fs::remove(dir + "/out.h5");
  const auto with = run_cli(args);  // the same without the shim: not said
  EXPECT_EQ(with.exit_code, 0) << with.output;
  EXPECT_EQ(with.output.find("no locks"), std::string::npos) << with.output;
  fs::remove_all(dir);
}

// With checkpoints the frames are kept twice at the end (OUT.ckpt/frames.bin
// and the results file made from it): a sweep whose frames fit once is refused
// up front, not at the end of its training.
TEST(CheckpointStore, FramesThatDoNotFitTwiceOnDiskAreRefusedUpFront) {
  const std::string dir = ::testing::TempDir() + "netsweep_ckpt_tiny_fs";
  fs::create_directories(dir);
  if (std::system(("mount -t tmpfs -o size=2m tmpfs " + dir + " 2>/dev/null").c_str()) != 0)
    GTEST_SKIP() << "cannot mount a small tmpfs here (needs root)";
  // 1 network x 11 frames x 160^2 x 2 outputs x 2 bytes = 1.07 MiB: once fits in 2 MiB, twice not.
  const std::string args =
      "run --layers 1 --widths 4 --activations relu --epochs 10 --snapshot-every 1 --grid 160 --neuron-maps none "
      "--record-weights none "
      "--dataset xor:n=40 --device cpu -q";
  const auto once = run_cli(args + " -o " + dir + "/once.h5");
  fs::remove(dir + "/once.h5");
  const auto twice = run_cli(args + " --resume -o " + dir + "/twice.h5");
  std::system(("umount " + dir).c_str());
  EXPECT_EQ(once.exit_code, 0) << once.output;
  EXPECT_EQ(twice.exit_code, 2) << twice.output;
  EXPECT_NE(twice.output.find("with checkpoints (--resume, --checkpoint-every) the frames"), std::string::npos)
      << twice.output;
}

// A network still training resumes from its state as training left it: a state
// no training makes (an edit with the checksums redone) is refused by name. The
// same values are taken where the network is out (diverged, its last parameters).
TEST(CheckpointStore, AStateTrainingCannotMakeIsRefused) {
  const TrainingProblem p = small_problem();
  const std::string dir = fresh_dir("untrained_state");
  const std::vector<float> frame(size_t(p.grid_h * p.grid_w * p.outputs), 0.25f);
  const std::pair<const char*, std::function<void(NetworkState&)>> edits[] = {
      {"its status is not training's", [](NetworkState& s) { s.result.status = NetStatus::diverged; }},
      {"its epochs trained are not its epochs", [](NetworkState& s) { s.result.epochs_trained = 1; }},
      {"its next sample does not begin a batch", [](NetworkState& s) { s.next_sample = 5; }},
      {"its optimizer steps are not its batches", [](NetworkState& s) { s.step = 0; }},
      {"its parameters are not finite", [](NetworkState& s) { s.params[3] = NAN; }},
      {"its optimizer state is NaN", [](NetworkState& s) { s.state1[3] = NAN; }},
      {"its optimizer's second moments are negative or NaN", [](NetworkState& s) { s.state2[3] = -1; }}};
  for (const auto& [says, edit] : edits) {
    for (const bool active : {true, false}) {
      fs::remove_all(dir);
      NetworkState s = state_at(p, 2);
      s.next_sample = 16;  // mid-epoch: a batch in
      s.step += 1;
      edit(s);
      s.active = active;
      {
        CheckpointStore store(dir, p, "hash", "", FrameType::float32, 0);
        store.write_frame(0, 0, frame.data());
        store.snapshot_state(0, s);
      }
      CheckpointStore again(dir, p, "hash", "", FrameType::float32, 0);
      if (!active) {
        EXPECT_NO_THROW(again.load()) << says << ", out of training";
        continue;
      }
      try {
        again.load();
        ADD_FAILURE() << "not refused: " << says;
      } catch (const ResultsError& e) {
        EXPECT_NE(std::string(e.what()).find(std::string("network 0: ") + says), std::string::npos) << e.what();
      }
    }
  }
  fs::remove_all(dir);
}
