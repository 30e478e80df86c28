// The GPU backend's GEMM path (gemm_train.h): groups of equal-shaped networks
// stepping together as batched GEMMs plus fused elementwise ops, run here with
// host BLAS and host loops over the same op structs, against the CPU backend.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>

#include "device_emulator.h"
#include "netsweep/device_schedule.h"
#include "netsweep/run.h"
#include "parity.h"
#include "recording_checkpointer.h"
#include "sweeps.h"

using namespace netsweep;
using namespace netsweep::test;

namespace {

// gemm_calls: if given, the run's batched-GEMM calls.
bool run_gemm(SweepRun& r, const SweepSpec& s, const Dataset& d, const TrainControl& c = {},
              TrainPath path = TrainPath::gemm, bool own_products = false, bool merge_depths = false,
              int64_t* gemm_calls = nullptr) {
  start(r, s, d);
  Progress progress;
  test::EmulatedExecutor exec(4, 0, kMacsPerBlock, true, path, own_products, merge_depths);
  const bool done = run_device_schedule(r.problem, exec, r.params, r.results, r.frames, progress, c);
  if (gemm_calls) *gemm_calls = exec.gemm_ops()->gemms;
  return done;
}

// The same run with groups of one shape and with every width of a depth in one group.
void expect_merging_changes_nothing(const SweepRun& shapes, const SweepRun& merged, const std::string& label) {
  expect_same_results(shapes, merged, label);
}

}  // namespace

// own: the forward and delta products as netsweep's ops (GemmOps::own_products), or as GEMMs.
const char* products(bool own) { return own ? " (own products)" : " (GEMMs)"; }

TEST(GemmPath, MergedDepthsMatchTheShapeGroupsToTheBitAndTheCpu) {
  // Depth 3 in three shapes (3-3, 40-40 and 7-3: a narrow member's rows end
  // far before the group's extent), depth 4 alone; every activation and
  // optimizer, an L2 penalty.
  SweepSpec s = every_activation_and_optimizer(Loss::bce);
  s.widths = {3, 40};
  s.shapes = {{7, 3}, {5, 2, 7}};
  SweepRun cpu;
  run_cpu(cpu, s, data("moons"));
  for (bool own : {false, true}) {
    SweepRun shapes, merged;
    run_gemm(shapes, s, data("moons"), {}, TrainPath::gemm, own);
    run_gemm(merged, s, data("moons"), {}, TrainPath::gemm, own, true);
    expect_merging_changes_nothing(shapes, merged, std::string("merged depths") + products(own));
    expect_parity(cpu, merged, std::string("GEMM path, merged depths") + products(own));
  }
}

TEST(GemmPath, MatchesCpuForEveryActivationLossAndOptimizer) {
  for (bool own : {false, true})
    for (Loss loss : {Loss::bce, Loss::softmax, Loss::mse}) {
      const SweepSpec s = every_activation_and_optimizer(loss);  // two shapes: two groups of 24 members
      SweepRun cpu, dev;
      run_cpu(cpu, s, data("moons"));
      run_gemm(dev, s, data("moons"), {}, TrainPath::gemm, own);
      expect_parity(cpu, dev, std::string("GEMM path, loss ") + to_string(loss) + products(own));
    }
}

TEST(GemmPath, MatchesCpuForBatchesEarlyStopL1AndRegression) {
  SweepSpec s = base_spec();
  s.batch_sizes = {0, 7, 64};  // full batch, a partial last batch, one batch larger than the data
  s.early_stop_loss = 0.3f;
  s.l1 = {1e-3f};
  s.activations = {Activation::relu, Activation::tanh};
  SweepRun cpu;
  run_cpu(cpu, s, data("xor"));
  int stopped = 0;
  for (const auto& r : cpu.results) stopped += r.status == NetStatus::early_stopped;
  EXPECT_GT(stopped, 0) << "the threshold should stop some networks early";
  const SweepSpec r = regression_spec();
  SweepRun cpu_r;
  run_cpu(cpu_r, r, data("poly", 0.25f));
  for (bool own : {false, true})
    for (bool merge : {false, true}) {
      const std::string how = products(own) + std::string(merge ? ", merged depths" : "");
      SweepRun dev, dev_r;
      run_gemm(dev, s, data("xor"), {}, TrainPath::gemm, own, merge);
      expect_parity(cpu, dev, "GEMM path batches" + how);
      run_gemm(dev_r, r, data("poly", 0.25f), {}, TrainPath::gemm, own, merge);
      expect_parity(cpu_r, dev_r, "GEMM path regression" + how);
    }
}

TEST(GemmPath, DivergedMembersAreFrozenWithoutSpoilingTheirGroup) {
  // Per width a group of four (or with merged depths one of eight): healthy
  // SGD and momentum, SGD whose loss overflows, and momentum at lr 3e38 (near
  // float's largest: any gradient above 1.2 overflows) whose very first update
  // overflows (the loss before it was finite): that one must keep its initial
  // parameters.
  SweepSpec s = base_spec();
  s.activations = {Activation::linear};
  s.optimizers = {Optimizer::sgd, Optimizer::momentum};
  s.loss = Loss::mse;
  s.layers = {1};
  s.widths = {4, 7};
  s.learning_rates = {1e-2f, 3e38f};
  SweepRun cpu, initial;
  run_cpu(cpu, s, data("gauss"));
  start(initial, s, data("gauss"));
  for (int how = 0; how < 3; ++how) {
    const bool own = how == 1, merge = how == 2;
    SweepRun dev;
    run_gemm(dev, s, data("gauss"), {}, TrainPath::gemm, own, merge);
    int diverged = 0, kept_initial = 0;
    for (size_t i = 0; i < dev.results.size(); ++i) {
      const NetworkConfig& cfg = dev.problem.networks[i];
      const bool huge = cfg.optimizer.lr > 1.0;
      EXPECT_EQ(dev.results[i].status, huge ? NetStatus::diverged : NetStatus::trained) << i;
      diverged += dev.results[i].status == NetStatus::diverged;
      const NetworkLayout& net = dev.problem.layout.networks[i];
      for (int64_t k = net.offset; k < net.offset + net.count; ++k)
        ASSERT_TRUE(std::isfinite(dev.params[size_t(k)])) << "network " << i << " parameter " << k;
      if (huge && cfg.optimizer.kind == Optimizer::momentum) {
        kept_initial += std::equal(dev.params.begin() + net.offset, dev.params.begin() + net.offset + net.count,
                                   initial.params.begin() + net.offset);
      }
    }
    EXPECT_EQ(diverged, 4);
    EXPECT_EQ(kept_initial, 2) << "a failed first update must leave the initial parameters";
    expect_parity(cpu, dev, std::string("GEMM path divergence") + products(own) + (merge ? ", merged" : ""));
  }
}

TEST(GemmPath, GroupsWhoseMembersAllStoppedRunNoMoreSteps) {
  // A threshold every network passes early: once a frame has seen all of a group's members stopped,
  // its epochs only begin and end. The results are the CPU's, with far fewer GEMM calls than with
  // the threshold out of reach.
  SweepSpec s = base_spec();
  s.widths = {10, 40};
  s.epochs = 60;
  s.early_stop_loss = 0.6f;
  SweepRun cpu;
  run_cpu(cpu, s, data("moons"));
  for (const auto& r : cpu.results) {
    ASSERT_EQ(r.status, NetStatus::early_stopped);
    ASSERT_LT(r.epochs_trained, 20);
  }
  SweepRun dev, never;
  int64_t stopping = 0, training = 0;
  run_gemm(dev, s, data("moons"), {}, TrainPath::gemm, false, false, &stopping);
  expect_parity(cpu, dev, "GEMM path, every member stopped early");
  s.early_stop_loss = 1e-6f;
  run_gemm(never, s, data("moons"), {}, TrainPath::gemm, false, false, &training);
  EXPECT_LT(stopping, training / 2) << "groups of stopped members kept running their steps";
}

TEST(GemmPath, ResumesMidEpochAndHandsOverToTheCpu) {
  SweepSpec s = base_spec();
  s.activations = {Activation::tanh, Activation::relu};
  s.base_seed = 1;  // as in DeviceAlgorithm.ResumesFromCheckpointsOfEitherBackend: seed 0 meets a relu kink
  SweepRun whole;
  run_cpu(whole, s, data("circle"));

  // The CPU stops mid-epoch; the GEMM path resumes each network where it stood
  // (networks at different positions fall into different groups).
  SweepRun cpu_first;
  const auto states = stop_cpu_after(cpu_first, s, data("circle"), 5);
  bool mid_epoch = false;
  for (const auto& st : states) mid_epoch |= st && st->next_sample != 0;
  TrainControl resume;
  resume.resume = &states;
  for (bool merge : {false, true}) {
    SweepRun on_gemm;
    EXPECT_TRUE(run_gemm(on_gemm, s, data("circle"), resume, TrainPath::gemm, false, merge));
    take_recorded(on_gemm, cpu_first, false);
    expect_parity(whole, on_gemm, merge ? "CPU stop, GEMM path resume, merged depths" : "CPU stop, GEMM path resume");
  }
  if (!mid_epoch) GTEST_LOG_(INFO) << "(no network stopped mid-epoch this time)";

  // The GEMM path stops between frames; the CPU finishes.
  RecordingCheckpointer rec2(4 * 2);
  SweepRun gemm_first;
  EXPECT_FALSE(run_gemm(gemm_first, s, data("circle"), rec2.control()));
  const auto states2 = rec2.resume_states(gemm_first.problem.networks.size());
  TrainControl resume2;
  resume2.resume = &states2;
  SweepRun on_cpu;
  run_cpu(on_cpu, s, data("circle"), resume2);
  take_recorded(on_cpu, gemm_first, true);
  expect_parity(whole, on_cpu, "GEMM path stop, CPU resume");
}

TEST(GemmPath, ResumesDivergedMembersFromACheckpoint) {
  // As CudaBackend.ResumesStoppedAndDivergedNetworksOnEveryPath: members
  // diverged before the checkpoint never draw an epoch order on the device;
  // they still gather rows (sample 0) and must change nothing.
  const DivergedMembersCheckpoint c;
  for (TrainPath path : {TrainPath::gemm, TrainPath::automatic}) {
    const std::string label = std::string("resume with diverged members, ") + to_string(path);
    SweepRun dev;
    EXPECT_TRUE(run_gemm(dev, c.spec, data("gauss"), c.resume, path));
    take_recorded(dev, c.first, false);
    expect_diverged_where_lr_is_huge(dev, label);
    expect_parity(c.whole, dev, label);
  }
}

TEST(GemmPath, AutomaticPathSendsWideNetworksToGemmGroups) {
  SweepSpec s = base_spec();
  s.layers = {1, 2};
  s.widths = {3, 70};
  s.activations = {Activation::tanh, Activation::relu};
  s.seeds = 2;
  s.epochs = 20;
  s.snapshot_every = 5;
  const TrainingProblem p = build_problem(s, data("moons"));
  const DevicePlan plan = plan_device(p, device::kBlockThreads, nullptr, 0, kMacsPerBlock, TrainPath::automatic);
  size_t members = 0;
  for (size_t i = 0; i < p.networks.size(); ++i) {
    const bool wide = p.networks[i].hidden[0] == 70;
    EXPECT_EQ(bool(plan.uses_gemm[i]), wide) << p.networks[i].shape_label();
    EXPECT_EQ(plan.blocks[i], wide ? 0 : 1);
  }
  ASSERT_EQ(plan.gemm_groups.size(), 2u);  // 1x70 and 2x70: activations and seeds share a group
  for (const GemmGroupPlan& g : plan.gemm_groups) {
    EXPECT_EQ(g.nets.size(), 4u);
    for (int n : g.nets) EXPECT_EQ(p.networks[size_t(n)].hidden.size(), g.in.size() - 1);
    members += g.nets.size();
  }
  EXPECT_EQ(plan.gemm_members.size(), members);
  EXPECT_EQ(plan.single_block_nets.size() + members, p.networks.size());

  SweepRun cpu, dev;
  run_cpu(cpu, s, data("moons"));
  run_gemm(dev, s, data("moons"), {}, TrainPath::automatic);
  expect_parity(cpu, dev, "fused and GEMM paths in one sweep");
}

TEST(GemmPath, OneStepIsABatchedGemmPerLayerAndPass) {
  // The launch sequence the device captures: per step 3L - 1 batched GEMMs
  // and 2L + 4 elementwise ops, whatever the number of members; with own
  // products, L GEMMs (the weight gradients) and 2L + 5 ops.
  SweepSpec s = base_spec();
  s.layers = {3};
  s.widths = {5};
  s.activations = all_activations();
  s.epochs = 2;
  s.snapshot_every = 2;
  SweepRun r;
  start(r, s, data("moons"));  // 60 train points, batch 16: 4 steps per epoch
  Progress progress;
  test::EmulatedExecutor exec(2, 0, kMacsPerBlock, false, TrainPath::gemm);
  run_device_schedule(r.problem, exec, r.params, r.results, r.frames, progress, {});
  const int layers = 4, steps = 4 * 2;
  EXPECT_EQ(exec.gemm_ops()->gemms, int64_t(steps) * (3 * layers - 1));
  EXPECT_EQ(exec.gemm_ops()->ops, int64_t(steps) * (2 * layers + 4) + 2 * 2);

  SweepRun own;
  start(own, s, data("moons"));
  test::EmulatedExecutor own_exec(2, 0, kMacsPerBlock, false, TrainPath::gemm, true);
  run_device_schedule(own.problem, own_exec, own.params, own.results, own.frames, progress, {});
  EXPECT_EQ(own_exec.gemm_ops()->gemms, int64_t(steps) * layers);
  EXPECT_EQ(own_exec.gemm_ops()->ops, int64_t(steps) * (2 * layers + 5) + 2 * 2);
  expect_parity(r, own, "GEMMs against own products");

  // Two widths merged into one group: the same calls and launches, each call a GEMM per width.
  s.widths = {5, 7};
  SweepRun merged;
  start(merged, s, data("moons"));
  test::EmulatedExecutor merged_exec(2, 0, kMacsPerBlock, false, TrainPath::gemm, false, true);
  run_device_schedule(merged.problem, merged_exec, merged.params, merged.results, merged.frames, progress, {});
  EXPECT_EQ(merged_exec.gemm_ops()->gemms, int64_t(steps) * (3 * layers - 1));
  EXPECT_EQ(merged_exec.gemm_ops()->gemm_shapes, 2 * int64_t(steps) * (3 * layers - 1));
  EXPECT_EQ(merged_exec.gemm_ops()->ops, int64_t(steps) * (2 * layers + 4) + 2 * 2);
}

TEST(DevicePlan, MergedDepthsMakeAGroupADepthWithItsShapesInOrder) {
  SweepSpec s = slide_spec();
  s.epochs = 10;
  s.grid = 8;
  const TrainingProblem p = build_problem(s, data("spiral"));
  const DevicePlan plan =
      plan_device(p, device::kBlockThreads, nullptr, 264, kMacsPerBlock, TrainPath::automatic, kGemmMinWidth, true);
  ASSERT_EQ(plan.gemm_groups.size(), 6u);  // depths 1, 2, 3, 4, 6, 8
  const int widths[] = {64, 128, 256, 384};
  for (const GemmGroupPlan& g : plan.gemm_groups) {
    const size_t depth = g.in.size();
    ASSERT_EQ(g.nets.size(), 8u);
    ASSERT_EQ(g.shapes.size(), 4u);
    for (size_t k = 0; k < 4; ++k) {
      const GemmShape& sh = g.shapes[k];
      EXPECT_EQ(sh.members, 2);
      ASSERT_EQ(sh.in.size(), depth);
      EXPECT_EQ(sh.out[0], widths[k]);
      for (int m = 0; m < 2; ++m) {  // the shape's members, in the group's order
        const NetworkConfig& cfg = p.networks[size_t(g.nets[2 * k + size_t(m)])];
        EXPECT_EQ(cfg.hidden, std::vector<int>(depth - 1, widths[k])) << cfg.shape_label();
      }
      EXPECT_EQ(sh.params, p.layout.networks[size_t(g.nets[2 * k])].count);
    }
    // Extents: the widest shape's, layer by layer.
    EXPECT_EQ(g.in, g.shapes[3].in);
    EXPECT_EQ(g.out, g.shapes[3].out);
    EXPECT_EQ(g.params, g.shapes[3].params);
  }
  EXPECT_EQ(plan.gemm_members.size(), 48u);
}

TEST(DevicePlan, SlideSweepTakesTheGemmPathForWidthsAbove32) {
  SweepSpec s = slide_spec();
  s.epochs = 10;
  s.grid = 8;
  const TrainingProblem p = build_problem(s, data("spiral"));
  const DevicePlan plan = plan_device(p, device::kBlockThreads, nullptr, 264, kMacsPerBlock, TrainPath::automatic);
  EXPECT_EQ(plan.gemm_groups.size(), 6u * 4u);  // depths x widths {64, 128, 256, 384}; sigmoid and relu share
  for (const GemmGroupPlan& g : plan.gemm_groups) EXPECT_EQ(g.nets.size(), 2u);
  EXPECT_EQ(plan.single_block_nets.size() + plan.gemm_members.size() +
                size_t(std::count_if(plan.blocks.begin(), plan.blocks.end(), [](int b) { return b > 1; })),
            p.networks.size());
  for (size_t i = 0; i < p.networks.size(); ++i)
    EXPECT_EQ(bool(plan.uses_gemm[i]), p.networks[i].hidden[0] > 32) << p.networks[i].shape_label();
}

TEST(DevicePlan, TheGemmWidthMovesTheAutomaticSplit) {
  SweepSpec s = slide_spec();
  s.epochs = 10;
  s.grid = 8;
  const TrainingProblem p = build_problem(s, data("spiral"));
  for (int from : {65, 385}) {
    const DevicePlan plan =
        plan_device(p, device::kBlockThreads, nullptr, 264, kMacsPerBlock, TrainPath::automatic, from);
    for (size_t i = 0; i < p.networks.size(); ++i)
      EXPECT_EQ(bool(plan.uses_gemm[i]), p.networks[i].hidden[0] >= from) << from << p.networks[i].shape_label();
    EXPECT_EQ(plan.gemm_groups.size(), from == 65 ? 6u * 3u : 0u);
  }
}

TEST(GemmPath, StreamPrioritiesFollowDepth) {
  // cuda-prio: CUDA's range as on the H200 (least 0, greatest -5); groups of
  // 2, 9, 5 and 3 layers, the last two sharing stream 0 of 3.
  std::vector<GemmGroupPlan> groups(4);
  const int depths[] = {2, 9, 5, 3};
  for (size_t k = 0; k < groups.size(); ++k) groups[k].in.assign(size_t(depths[k]), 1);
  // stream 0: groups 0 and 3 (depths 2 and 3), stream 1: 9, stream 2: 5
  EXPECT_EQ(priorities_by_depth(groups, 3, 0, -5), (std::vector<int>{-2, -5, -3}));
  EXPECT_EQ(priorities_by_depth(groups, 8, 0, -5), (std::vector<int>{-2, -5, -3, -2, 0, 0, 0, 0}));
  // A group of depth 1 beside one of 8 still ranks above the default streams (0).
  std::vector<GemmGroupPlan> shallow(2);
  shallow[0].in.assign(1, 1);
  shallow[1].in.assign(8, 1);
  EXPECT_EQ(priorities_by_depth(shallow, 2, 0, -5), (std::vector<int>{-1, -5}));
  EXPECT_EQ(priorities_by_depth(groups, 2, 0, 0), (std::vector<int>{0, 0}));  // no priorities on the device
}

TEST(GemmPath, GroupsAreSubmittedAnEpochEachInTurn) {
  // Three groups (1, 2 and 3 layers of 70): on the device each has a stream,
  // and every stream must get work queued from the start of a segment.
  SweepSpec s = base_spec();
  s.layers = {1, 2, 3};
  s.widths = {70};
  s.epochs = 6;
  s.snapshot_every = 3;
  SweepRun r;
  start(r, s, data("moons"));
  Progress progress;
  test::EmulatedExecutor exec(2, 0, kMacsPerBlock, false, TrainPath::gemm);
  run_device_schedule(r.problem, exec, r.params, r.results, r.frames, progress, {});
  const std::vector<int> expected{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2};
  EXPECT_EQ(exec.gemm_ops()->group_order, expected);
}
