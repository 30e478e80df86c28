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
                  int group_budget = 0, int64_t macs_per_block = kMacsPerBlock, bool grid_gemm = false) {
  start(r, s, d);
  Progress progress;
  test::EmulatedExecutor exec(threads, group_budget, macs_per_block, grid_gemm);
  return run_device_schedule(r.problem, exec, r.params, r.results, r.frames, progress, c);
}

// The slide sweep's fused-path networks (widths up to 32) at batch 32.
TrainingProblem fused_slide_problem() {
  SweepSpec s = base_spec();
  s.layers = {1, 2, 3, 4, 6, 8};
  s.widths = {2, 4, 8, 16, 32};
  s.batch_sizes = {32};
  return build_problem(s, data("moons"));
}

// Whether the plan's single-block list holds every network of p once.
bool lists_every_network_once(const DevicePlan& plan, const TrainingProblem& p) {
  std::vector<int> seen = plan.single_block_nets;
  std::sort(seen.begin(), seen.end());
  for (size_t i = 0; i < seen.size(); ++i)
    if (seen[i] != int(i)) return false;
  return seen.size() == p.networks.size();
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
  RecordingCheckpointer rec2(5);
  SweepRun cpu_first;
  run_cpu(cpu_first, s, data("circle"), rec2.control());
  const auto states2 = rec2.resume_states(cpu_first.problem.networks.size());
  TrainControl resume2;
  resume2.resume = &states2;
  SweepRun on_dev;
  EXPECT_TRUE(run_emulated(on_dev, s, data("circle"), 8, resume2));
  take_recorded(on_dev, cpu_first, false);
  expect_parity(whole, on_dev, "CPU stop, device resume");
}

TEST(DevicePlan, ScratchRegionsAreDisjointAndSized) {
  SweepSpec s = base_spec();
  s.shapes = {{7, 3, 9}};
  s.batch_sizes = {0, 16};
  const TrainingProblem p = build_problem(s, data("spiral"));
  const DevicePlan plan = plan_device(p, device::kBlockThreads);
  ASSERT_EQ(plan.nets.size(), p.networks.size());
  int64_t scratch_end = 0, grad_end = 0;
  for (size_t i = 0; i < plan.nets.size(); ++i) {
    const auto& n = plan.nets[i];
    EXPECT_EQ(n.scratch_offset % 32, 0);
    EXPECT_GE(n.scratch_offset, scratch_end);
    EXPECT_GE(n.grad_offset, grad_end);
    scratch_end = n.scratch_offset + device::train_scratch_floats(plan.layers.data() + n.first_layer, n.layers,
                                                                  n.max_width, n.batch, !plan.uses_gemm[i]);
    grad_end = n.grad_offset + n.param_count;
    EXPECT_EQ(n.param_offset, p.layout.networks[i].offset);
    EXPECT_EQ(n.batch, p.networks[i].batch == 0 ? p.n_train : std::min(16, p.n_train));
  }
  EXPECT_LE(scratch_end, plan.scratch_floats);
  EXPECT_LE(grad_end, plan.grad_floats);
  // Only the fused path keeps every layer's input transposed: sum of in_l x batch floats per
  // network (each region rounded up to 32 floats).
  const DevicePlan gemm = plan_device(p, device::kBlockThreads, nullptr, 0, kMacsPerBlock, TrainPath::gemm);
  int64_t transposed = 0;
  for (const auto& n : plan.nets)
    for (int l = 0; l < n.layers; ++l) transposed += int64_t(plan.layers[size_t(n.first_layer + l)].in) * n.batch;
  const int64_t rounding = 32 * int64_t(plan.nets.size());
  EXPECT_GE(plan.scratch_floats - gemm.scratch_floats, transposed - rounding);
  EXPECT_LE(plan.scratch_floats - gemm.scratch_floats, transposed + rounding);
  // The memory estimate counts the frames: a bigger grid needs more.
  SweepSpec big = s;
  big.grid = 200;
  const TrainingProblem pb = build_problem(big, data("spiral"));
  EXPECT_GT(device_bytes(device_buffer_sizes(plan_device(pb, 256), pb, 264)),
            device_bytes(device_buffer_sizes(plan, p, 264)) + 4 * 200 * 200 * 2);
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
    // Launches as the executor got them: the width-24 networks train on groups of blocks (budget
    // 12, 2000 multiply-adds a block); at batch 16 the rest fit a warp, full batch (48) takes more.
    const std::vector<int> expected = variant > 0 ? std::vector<int>{128, 64, 32} : std::vector<int>{256};
    EXPECT_EQ(exec.launch_threads(), expected);
  }
  for (int variant : {1, 2}) expect_same_results(runs[0], runs[variant], "variant " + std::to_string(variant));
}

TEST(DevicePlan, FittedBlocksLaunchBySizeLongestFirstWithin) {
  // A block holds the items of a step's widest phase, one a thread, in a
  // power of two from a warp to the limit.
  EXPECT_EQ(fitted_block_threads(1, 256), 32);
  EXPECT_EQ(fitted_block_threads(32, 256), 32);
  EXPECT_EQ(fitted_block_threads(33, 256), 64);
  EXPECT_EQ(fitted_block_threads(128, 256), 128);
  EXPECT_EQ(fitted_block_threads(129, 256), 256);
  EXPECT_EQ(fitted_block_threads(100000, 256), 256);
  EXPECT_EQ(fitted_block_threads(5, 16), 16);  // never above the limit
  // The widest phase, by hand: 1 x 2 at batch 32 (2 inputs, 2 outputs): the sums' one row group
  // of 4 units x 32 samples (the weight gradients' 1 x 3 and the 12 parameters are fewer);
  // 8 x 32 at batch 32: its 7,554 parameters in 4 passes of 4 a thread; 2 x 16 at batch 1: the
  // weight gradients of its 16 x 16 layer, 4 row groups x 17 (not its 354 parameters' 23).
  SweepSpec one = base_spec();
  one.layers = {1};
  one.widths = {2};
  const TrainingProblem small = build_problem(one, data("moons"));
  EXPECT_EQ(fused_phase_items(small.layout.networks[0], 32), 32);
  SweepSpec deep = base_spec();
  deep.shapes = {std::vector<int>(8, 32), {16, 16}};
  const TrainingProblem wide = build_problem(deep, data("moons"));
  int checked = 0;
  for (size_t n = 0; n < wide.networks.size(); ++n) {
    const NetworkLayout& l = wide.layout.networks[n];
    if (wide.networks[n].hidden == std::vector<int>(8, 32)) {
      ASSERT_EQ(l.count, 7554);
      EXPECT_EQ(fused_phase_items(l, 32), (7554 + 15) / 16);
      ++checked;
    } else if (wide.networks[n].hidden == std::vector<int>{16, 16}) {
      ASSERT_EQ(l.count, 354);
      EXPECT_EQ(fused_phase_items(l, 1), 4 * 17);
      ++checked;
    }
  }
  EXPECT_GE(checked, 2);

  const TrainingProblem p = fused_slide_problem();
  const DevicePlan plain = plan_device(p, device::kBlockThreads, nullptr, 0);
  ASSERT_EQ(plain.single_launches.size(), 1u);
  EXPECT_EQ(plain.single_launches[0].threads, device::kBlockThreads);
  EXPECT_EQ(plain.single_launches[0].count, int(p.networks.size()));

  const DevicePlan plan =
      plan_device(p, device::kBlockThreads, nullptr, 0, kMacsPerBlock, TrainPath::fused, kGemmMinWidth, false, true);
  ASSERT_TRUE(lists_every_network_once(plan, p));
  std::vector<int> sizes;
  int next = 0;
  for (const SingleBlockLaunch& launch : plan.single_launches) {
    EXPECT_EQ(launch.first, next);  // the ranges cover the list in order
    next += launch.count;
    sizes.push_back(launch.threads);
    for (int k = launch.first; k < launch.first + launch.count; ++k) {
      const auto& hidden = p.networks[size_t(plan.single_block_nets[size_t(k)])].hidden;
      const NetworkLayout& layout = p.layout.networks[size_t(plan.single_block_nets[size_t(k)])];
      EXPECT_EQ(launch.threads, fitted_block_threads(fused_phase_items(layout, 32), device::kBlockThreads)) << k;
      const std::map<int, int> by_width{{2, 32}, {4, 32}, {8, 64}, {16, 128}, {32, 256}};  // as the docs say
      EXPECT_EQ(launch.threads, by_width.at(hidden[0])) << k;
      if (k > launch.first) {  // longest first within a launch: deepest, then widest
        const auto& before = p.networks[size_t(plan.single_block_nets[size_t(k - 1)])].hidden;
        EXPECT_GE(before.size(), hidden.size()) << k;
        if (before.size() == hidden.size()) EXPECT_GE(before[0], hidden[0]) << k;
      }
    }
  }
  EXPECT_EQ(next, int(p.networks.size()));
  EXPECT_EQ(sizes, (std::vector<int>{256, 128, 64, 32}));
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

TEST(DevicePlan, SlideSweepGivesTheWidestNetworksGroupsWithinBudget) {
  SweepSpec s = slide_spec();
  s.epochs = 10;
  s.grid = 8;
  const TrainingProblem p = build_problem(s, data("spiral"));
  const int budget = 264;  // half of an H100's 132 SMs x 4 resident blocks
  const DevicePlan plan = plan_device(p, device::kBlockThreads, nullptr, budget);
  int group_total = 0;
  for (size_t i = 0; i < p.networks.size(); ++i) {
    const auto& hidden = p.networks[i].hidden;
    if (hidden.size() == 8 && hidden[0] == 384) EXPECT_GE(plan.blocks[i], 8) << p.networks[i].shape_label();
    if (hidden[0] <= 64) EXPECT_EQ(plan.blocks[i], 1) << p.networks[i].shape_label();
    if (plan.blocks[i] > 1) group_total += plan.blocks[i];
  }
  EXPECT_LE(group_total, budget);
  EXPECT_EQ(int(plan.group_block_net.size()), group_total);
  EXPECT_EQ(plan.single_block_nets.size() +
                size_t(std::count_if(plan.blocks.begin(), plan.blocks.end(), [](int b) { return b > 1; })),
            p.networks.size());
}

TEST(DevicePlan, SingleBlockNetworksStartLongestFirst) {
  // The fused path's single-block networks in the order their blocks start:
  // the slide sweep's 8-layer ones first, its 1-layer ones last, each depth
  // from the widest; every one listed once.
  const TrainingProblem p = fused_slide_problem();
  const DevicePlan plan = plan_device(p, device::kBlockThreads, nullptr, 0);
  ASSERT_TRUE(lists_every_network_once(plan, p));
  auto shape = [&](size_t k) { return p.networks[size_t(plan.single_block_nets[k])].hidden; };
  EXPECT_EQ(shape(0), std::vector<int>(8, 32));
  EXPECT_EQ(shape(p.networks.size() - 1), std::vector<int>(1, 2));
  for (size_t k = 1; k < p.networks.size(); ++k) {
    EXPECT_GE(shape(k - 1).size(), shape(k).size()) << k;
    if (shape(k - 1).size() == shape(k).size()) EXPECT_GE(shape(k - 1)[0], shape(k)[0]) << k;
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
