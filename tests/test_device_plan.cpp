// The GPU backend's plan (device_schedule.h) on the host: which networks
// take which path, blocks and launches, their order, and their scratch.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "netsweep/device_schedule.h"
#include "netsweep/run.h"
#include "parity.h"
#include "sweeps.h"

using namespace netsweep;
using namespace netsweep::test;

namespace {

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

TEST(DevicePlan, SlideSweepGivesTheWidestNetworksGroupsWithinBudget) {
  // With --seeds 10 the wide networks want more than the budget even at 2
  // blocks each: those with the least work then train in one block.
  for (int seeds : {1, 10}) {
    SweepSpec s = slide_spec();
    s.epochs = 10;
    s.grid = 8;
    s.seeds = seeds;
    const TrainingProblem p = build_problem(s, data("spiral"));
    const int budget = 264;  // half of an H100's 132 SMs x 4 resident blocks
    const DevicePlan plan = plan_device(p, device::kBlockThreads, nullptr, budget);
    int group_total = 0, grouped_8x384 = 0;
    for (size_t i = 0; i < p.networks.size(); ++i) {
      const auto& hidden = p.networks[i].hidden;
      if (hidden.size() == 8 && hidden[0] == 384) grouped_8x384 += plan.blocks[i] >= (seeds == 1 ? 8 : 2);
      if (hidden[0] <= 64) EXPECT_EQ(plan.blocks[i], 1) << p.networks[i].shape_label();
      if (plan.blocks[i] > 1) group_total += plan.blocks[i];
    }
    EXPECT_EQ(grouped_8x384, 2 * seeds) << seeds << " seeds";
    EXPECT_LE(group_total, budget) << seeds << " seeds";
    if (seeds == 10) EXPECT_GE(group_total, budget - 1) << "the budget is used";
    EXPECT_EQ(int(plan.group_block_net.size()), group_total);
    EXPECT_EQ(plan.single_block_nets.size() +
                  size_t(std::count_if(plan.blocks.begin(), plan.blocks.end(), [](int b) { return b > 1; })),
              p.networks.size());
  }
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
