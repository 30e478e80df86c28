// The GPU backend's algorithm (device_train.h driven by device_schedule.h),
// run on host threads standing in for a CUDA block, against the CPU backend:
// the parity the GPU must show, checked in CI without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <random>

#include "device_emulator.h"
#include "netsweep/device_schedule.h"
#include "netsweep/run.h"
#include "parity.h"
#include "recording_checkpointer.h"
#include "sweeps.h"

using namespace netsweep;
using namespace netsweep::test;

namespace {

bool run_emulated(SweepRun& r, const SweepSpec& s, const Dataset& d, int threads, const TrainControl& c = {},
                  int group_budget = 0, int64_t macs_per_block = kMacsPerBlock, bool grid_gemm = false,
                  Progress* progress = nullptr) {
  start(r, s, d);
  Progress own;
  test::EmulatedExecutor exec(threads, group_budget, macs_per_block, grid_gemm);
  return run_device_schedule(r.problem, exec, r.params, r.results, r.frames, progress ? *progress : own, c);
}

}  // namespace

TEST(DeviceAlgorithm, MatchesCpuForEveryActivationLossAndOptimizer) {
  for (Loss loss : {Loss::bce, Loss::softmax, Loss::mse}) {
    const SweepSpec s = every_activation_and_optimizer(loss);
    SweepRun cpu, dev;
    run_cpu(cpu, s, data("moons"));
    run_emulated(dev, s, data("moons"), 8);
    expect_parity(cpu, dev, std::string("loss ") + to_string(loss));
  }
}

TEST(DeviceAlgorithm, MatchesCpuForBatchesThreadsAndRegression) {
  SweepSpec s = base_spec();
  s.batch_sizes = {0, 7, 64};  // full batch, a partial last batch, one batch larger than the data
  s.early_stop_loss = 0.3f;
  s.l2 = {0.0f, 1e-2f};  // the update in one pass over the block, and layer by layer (weights penalized)
  SweepRun cpu, dev, dev_wide;
  run_cpu(cpu, s, data("xor"));
  run_emulated(dev, s, data("xor"), 5);  // fewer threads than samples or units
  expect_parity(cpu, dev, "batches");
  run_emulated(dev_wide, s, data("xor"), 64);  // more threads than work
  expect_parity(cpu, dev_wide, "64 threads");

  const SweepSpec r = regression_spec();
  SweepRun cpu_r, dev_r;
  run_cpu(cpu_r, r, data("poly", 0.25f));
  run_emulated(dev_r, r, data("poly", 0.25f), 8);
  expect_parity(cpu_r, dev_r, "regression");
}

TEST(DeviceAlgorithm, DivergedNetworkIsFrozenAndIsolated) {
  // SGD at lr 1e3: the loss overflows; momentum at 1e38: the first update
  // overflows while its loss was finite. Either way the network is frozen.
  for (auto [optimizer, lr] : {std::pair{Optimizer::sgd, 1e3f}, std::pair{Optimizer::momentum, 1e38f}}) {
    SweepSpec s = base_spec();
    s.activations = {Activation::linear};
    s.optimizers = {optimizer};
    s.loss = Loss::mse;
    s.layers = {1};
    s.widths = {4};
    s.learning_rates = {1e-2f, lr};
    SweepRun cpu, dev;
    run_cpu(cpu, s, data("gauss"));
    run_emulated(dev, s, data("gauss"), 8);
    ASSERT_EQ(dev.results[1].status, NetStatus::diverged);
    expect_parity(cpu, dev, std::string("divergence, ") + to_string(optimizer));
  }
}

TEST(DeviceAlgorithm, ResumesFromCheckpointsOfEitherBackend) {
  // Stop the device schedule between frames, then resume it on the CPU backend
  // (and the other way round): the result is the uninterrupted one.
  SweepSpec s = base_spec();
  s.activations = {Activation::tanh, Activation::relu};
  // Seed 1: at seed 0 a pre-activation of the 10-10 relu network meets the kink within
  // an ulp at epoch 7, and the device's and the CPU's trajectories part (drift: equal
  // until then; seeds 1 to 5 stay within 1e-6 of each other throughout).
  s.base_seed = 1;
  SweepRun whole;
  run_cpu(whole, s, data("circle"));

  RecordingCheckpointer rec(4 * 3);  // after the third frame of all four networks
  SweepRun first;
  EXPECT_FALSE(run_emulated(first, s, data("circle"), 8, rec.control()));
  const auto states = rec.resume_states(first.problem.networks.size());
  TrainControl resume;
  resume.resume = &states;
  SweepRun on_cpu;
  run_cpu(on_cpu, s, data("circle"), resume);
  take_recorded(on_cpu, first, true);  // frames (and what is inside) before the stop
  expect_parity(whole, on_cpu, "device stop, CPU resume");

  // CPU stopped mid-epoch, device resumes.
  SweepRun cpu_first;
  const auto states2 = stop_cpu_after(cpu_first, s, data("circle"), 5);
  TrainControl resume2;
  resume2.resume = &states2;
  SweepRun on_dev;
  EXPECT_TRUE(run_emulated(on_dev, s, data("circle"), 8, resume2));
  take_recorded(on_dev, cpu_first, false);
  expect_parity(whole, on_dev, "CPU stop, device resume");
}

TEST(DeviceAlgorithm, AResumeCountsTheCheckpointsEpochsAsDoneAndItsFinishedNetworksTakeNoTime) {
  // The CPU stopped once some networks had finished and others had not; the device resumes.
  SweepSpec s = base_spec();
  s.activations = {Activation::tanh, Activation::relu};
  SweepRun first;
  const auto states = stop_cpu_after(first, s, data("circle"), 14);
  int64_t resumed = 0;
  int finished = 0;
  for (const auto& st : states) {
    resumed += st ? st->epoch : 0;
    finished += st && st->epoch == s.epochs;
  }
  ASSERT_GT(finished, 0);
  ASSERT_LT(resumed, int64_t(states.size()) * s.epochs);
  TrainControl resume;
  resume.resume = &states;
  SweepRun dev;
  Progress progress;
  progress.work_total = 1000;
  ASSERT_TRUE(run_emulated(dev, s, data("circle"), 8, resume, 0, kMacsPerBlock, false, &progress));
  EXPECT_EQ(progress.network_epochs_resumed.load(), resumed);  // not this run's rate
  EXPECT_EQ(progress.network_epochs.load(), int64_t(states.size()) * s.epochs);
  EXPECT_EQ(progress.work_done.load(), 1000);
  for (size_t i = 0; i < states.size(); ++i)
    if (states[i] && states[i]->epoch == s.epochs)
      EXPECT_EQ(dev.results[i].wall_seconds, states[i]->result.wall_seconds) << "network " << i << " was done";
}

TEST(DeviceAlgorithm, WideNetworksTrainAsGroupsOfBlocks) {
  // A low threshold gives the 2 x 24 networks groups of several emulated blocks.
  SweepSpec s = base_spec();
  s.layers = {1, 2};
  s.widths = {3, 24};
  s.activations = {Activation::tanh, Activation::relu};
  const TrainingProblem p = build_problem(s, data("moons"));
  const DevicePlan plan = plan_device(p, 4, nullptr, 12, 2000);
  int grouped = 0;
  for (size_t i = 0; i < p.networks.size(); ++i) grouped += plan.blocks[i] > 1;
  ASSERT_GT(grouped, 0);
  SweepRun cpu, dev;
  run_cpu(cpu, s, data("moons"));
  run_emulated(dev, s, data("moons"), 4, {}, 12, 2000);
  expect_parity(cpu, dev, "groups of blocks");
}

TEST(DeviceAlgorithm, ScratchOfTheirOwnChangesNothing) {
  // cuda-smem: single-block networks train on a scratch region of their own
  // (shared memory on the device), their region of the buffer poisoned with
  // NaN; networks on groups of blocks keep the buffer. Results equal to the bit.
  SweepSpec s = every_activation_and_optimizer(Loss::softmax);
  s.activations = {Activation::relu, Activation::tanh};
  s.widths = {6, 24};
  s.batch_sizes = {16, 7};
  SweepRun cpu;
  run_cpu(cpu, s, data("moons"));
  SweepRun shared_runs[2];
  for (bool own : {false, true}) {
    SweepRun& dev = shared_runs[own];
    start(dev, s, data("moons"));
    Progress progress;
    test::EmulatedExecutor exec(4, 12, 2000, false, TrainPath::fused, false, false, own);
    run_device_schedule(dev.problem, exec, dev.params, dev.results, dev.frames, progress, {});
    expect_parity(cpu, dev, own ? "scratch of their own" : "scratch buffer");
  }
  const DevicePlan plan = plan_device(shared_runs[1].problem, 4, nullptr, 12, 2000);
  int grouped = 0, single = 0;
  for (int b : plan.blocks) grouped += b > 1, single += b == 1;
  EXPECT_GT(grouped, 0);
  EXPECT_GT(single, 0);
  expect_same_results(shared_runs[0], shared_runs[1], "scratch of their own");
}

TEST(DeviceAlgorithm, FittedBlocksChangeNothing) {
  // Fitted blocks: each single-block network trains with as many threads as
  // its widest phase has items (fewer emulated threads for narrow networks,
  // also with scratch of their own); networks on groups of blocks keep theirs.
  // Results equal to the bit, and to the CPU's within the parity bounds.
  SweepSpec s = every_activation_and_optimizer(Loss::bce);
  s.activations = {Activation::relu, Activation::sigmoid};
  s.widths = {2, 6, 24};
  s.batch_sizes = {16, 0};
  SweepRun cpu;
  run_cpu(cpu, s, data("moons"));
  SweepRun runs[3];
  for (int variant = 0; variant < 3; ++variant) {
    SweepRun& dev = runs[variant];
    start(dev, s, data("moons"));
    Progress progress;
    test::EmulatedExecutor exec(8, 12, 2000, false, TrainPath::fused, false, false, variant == 2, variant > 0);
    run_device_schedule(dev.problem, exec, dev.params, dev.results, dev.frames, progress, {});
    expect_parity(cpu, dev, "variant " + std::to_string(variant));
    // Launches as the executor got them: the width-24 networks with the most work train on groups
    // of blocks (budget 12, 2000 multiply-adds a block), the others in one block of 256 threads;
    // at batch 16 the narrow ones fit a warp, full batch (48) takes more.
    const std::vector<int> expected = variant > 0 ? std::vector<int>{256, 128, 64, 32} : std::vector<int>{256};
    EXPECT_EQ(exec.launch_threads(), expected);
  }
  for (int variant : {1, 2}) expect_same_results(runs[0], runs[variant], "variant " + std::to_string(variant));
}

TEST(DeviceAlgorithm, NoThreadReadsWhatAnotherOverwritesBeforeItsNextBarrier) {
  // One thread of each block lags: after every barrier it resumes only once
  // the others have reached the next one (HostBarrier), an order the device
  // may take too. A value it reads after a barrier that another thread
  // overwrites before the next is then read overwritten: a barrier mismatch
  // or other results. Narrow networks at small batches put a step's flags
  // where the next epoch's swap partners go (1 x 1 at batch 4, in 60 samples).
  SweepSpec s = base_spec();
  s.widths = {1, 2, 24};
  s.batch_sizes = {3, 4, 5, 8};
  s.learning_rates = {1e-2f, 1e38f};  // the second diverges: its flag breaks the loop
  s.optimizers = {Optimizer::momentum};
  s.epochs = 2;  // an epoch boundary after a step
  s.snapshot_every = 2;
  SweepRun reference;
  for (int variant = 0; variant < 5; ++variant) {
    const int lag = variant == 0 ? -1 : variant % 2 == 1 ? 0 : 3;
    SweepRun run;
    SweepRun& dev = variant == 0 ? reference : run;
    start(dev, s, data("moons"));
    Progress progress;
    test::EmulatedExecutor exec(4, 12, 2000, false, TrainPath::fused, false, false, variant >= 3);
    exec.lag_thread(lag);
    run_device_schedule(dev.problem, exec, dev.params, dev.results, dev.frames, progress, {});
    if (variant > 0)
      expect_same_results(reference, dev,
                          "thread " + std::to_string(lag) + " lagging" + (variant >= 3 ? ", own scratch" : ""));
  }
}

TEST(DeviceAlgorithm, BlockDrawsTheEpochOrderOfTheCpu) {
  // epoch_order with the swap partners drawn by every thread, or thread 0
  // alone, gives epoch_permutation's order (the CPU backend's).
  for (int n : {1, 2, 3, 747, 5000})
    for (int threads : {1, 3, 8})
      for (bool partners : {false, true}) {
        std::vector<int32_t> expected(size_t(n), 0), order(size_t(n), -1), scratch(size_t(n), -1);
        epoch_permutation(99, 7, expected.data(), n);
        run_block(threads, [&](HostBlock& b) {
          device::epoch_order(b, 99, 7, order.data(), n, partners ? scratch.data() : nullptr);
        });
        EXPECT_EQ(order, expected) << n << " samples, " << threads << " threads, partners " << partners;
      }
}

TEST(DeviceAlgorithm, SumsInChunksOfTermsKeepEveryBit) {
  // accumulate's chunks of kTerms loads before their products give the
  // plain loop's sums (Terms = 1), for any number of terms and of rows.
  std::mt19937 gen(5);
  std::uniform_real_distribution<float> value(-2.0f, 2.0f);
  for (int terms = 0; terms <= 3 * device::kTerms + 3; ++terms) {
    std::vector<float> x(static_cast<size_t>(terms)), a(static_cast<size_t>(4 * terms));
    for (float& v : x) v = value(gen);
    for (float& v : a) v = value(gen);
    auto xt = [&](int t) { return x[size_t(t)]; };
    auto at = [&](int r, int t) { return a[size_t(r * terms + t)]; };
    float chunked[4] = {0.5f, -1.0f, 0.0f, 3.0f}, plain[4] = {0.5f, -1.0f, 0.0f, 3.0f}, one[1] = {0.25f};
    device::accumulate(chunked, terms, xt, at);
    device::accumulate<1>(plain, terms, xt, at);
    float by_four[4] = {0.5f, -1.0f, 0.0f, 3.0f};
    device::accumulate<device::kDeltaTerms>(by_four, terms, xt, at);
    expect_same_bits(std::vector<float>(by_four, by_four + 4), std::vector<float>(plain, plain + 4),
                     std::to_string(terms) + " terms, 4 rows, by " + std::to_string(device::kDeltaTerms));
    device::accumulate(one, terms, xt, at);
    float expected_one = 0.25f;
    for (int t = 0; t < terms; ++t) expected_one += a[size_t(t)] * x[size_t(t)];
    expect_same_bits(std::vector<float>(chunked, chunked + 4), std::vector<float>(plain, plain + 4),
                     std::to_string(terms) + " terms, 4 rows");
    expect_same_bits({one[0]}, {expected_one}, std::to_string(terms) + " terms, 1 row");
  }
}

TEST(DeviceAlgorithm, GridFramesAsGemmsMatchTheCpu) {
  // The device's frame path: per network and layer Z = W A over the whole grid (BLAS
  // column-major conventions, checked here with host BLAS semantics), bias and activation.
  for (Loss loss : {Loss::bce, Loss::softmax, Loss::mse}) {
    SweepSpec s = base_spec();
    s.loss = loss;
    s.activations = all_activations();
    s.shapes = {{5, 2, 7}};
    s.epochs = 12;
    s.snapshot_every = 4;
    s.grid = 17;
    s.features = {"x1", "x2", "x1*x2"};
    SweepRun cpu, dev;
    run_cpu(cpu, s, data("circle"));
    run_emulated(dev, s, data("circle"), 4, {}, 0, kMacsPerBlock, true);
    expect_parity(cpu, dev, std::string("grid GEMMs, loss ") + to_string(loss));
  }
}

TEST(DeviceAlgorithm, FramesCrossAsHalfWhereTheFileStoresHalf) {
  // The schedule hands float16 frames (converted by the executor, on the GPU
  // where they are made) to a float16 results file; the file must equal one
  // written from the float frames and converted on the host.
  SweepSpec s = base_spec();
  const Dataset d = data("moons");
  const RunMetadata meta = run_metadata(s, d, "emulated", "test", FrameType::float16);
  const std::string from_half = ::testing::TempDir() + "netsweep_frames_from_half.h5";
  const std::string from_float = ::testing::TempDir() + "netsweep_frames_from_float.h5";

  SweepRun r;
  start(r, s, d);
  const std::vector<float> initial = r.params;
  {
    ResultsWriter writer(from_half, r.problem, d, meta);
    ASSERT_TRUE(writer.takes_half());
    Progress progress;
    test::EmulatedExecutor exec(4);
    ASSERT_TRUE(run_device_schedule(r.problem, exec, r.params, r.results, writer, progress, {}));
    writer.finish(initial, r.params, r.results, 1.0);
  }
  SweepRun f;
  run_emulated(f, s, d, 4);  // float frames (the Captured sink takes floats)
  {
    ResultsWriter writer(from_float, f.problem, d, meta);
    for (const auto& [key, frame] : f.frames.frames) writer.write_frame(key.first, key.second, frame.data());
    writer.finish(initial, f.params, f.results, 1.0);
  }
  ResultsFile a(from_half), b(from_float);
  ASSERT_EQ(a.frame_type(), FrameType::float16);
  for (int n = 0; n < int(r.problem.networks.size()); ++n)
    for (int k = 0; k < int(r.problem.frame_epochs.size()); ++k) {
      const auto fa = a.frame(n, k), fb = b.frame(n, k);
      ASSERT_EQ(fa, fb) << "network " << n << " frame " << k;
      ASSERT_NE(fa, f.frames.frames.at({n, k})) << "float16 differs from float32 somewhere";
    }
}
