// A network's step split between threads (cpu_team.h's Split):
// blocks handed out so that a slow thread is helped, and the optimizer run
// inside backward() on each block as it is written, both with results equal
// bit for bit to one thread's separate passes.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include "cpu_network.h"
#include "cpu_team.h"
#include "netsweep/layout.h"
#include "netsweep/random.h"
#include "parity.h"

using namespace netsweep;
using netsweep::test::expect_same_bits;

namespace {

// Runs fn(split) on `threads` threads sharing one barrier and its block claims.
template <typename F>
void on_team(int threads, F&& fn) {
  cpu::SpinBarrier barrier(threads);
  barrier.reset(threads);
  std::vector<std::thread> team;
  for (int r = 0; r < threads; ++r)
    team.emplace_back([&, r] {
      cpu::Split split{r, threads, [&] { barrier.wait(); }, barrier.claims()};
      fn(split);
    });
  for (auto& t : team) t.join();
}

TEST(CpuTeam, BlocksRunOnceEachAndTheFasterThreadsHelpTheSlowOne) {
  const int threads = 3, n = 100, align = 3, blocks = (n + align - 1) / align;
  for (int phase = 0; phase < 2; ++phase) {  // the second phase reuses the slot after a sync
    std::vector<int> runs(size_t(n), 0), owner(size_t(blocks), -1);
    int calls = 0;
    std::mutex m;
    std::atomic<int> helped_now{0};  // blocks of rank 0's share run by others, this phase
    on_team(threads, [&](const cpu::Split& split) {
      for (int p = 0; p <= phase; ++p) {
        split.for_blocks(n, align, 0, [&](int lo, int hi) {
          // Rank 0 is slow: it stays in its first block until another thread has taken one of its share.
          if (split.rank == 0) {
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (helped_now.load() == 0 && std::chrono::steady_clock::now() < deadline)
              std::this_thread::sleep_for(std::chrono::milliseconds(1));
          } else if (lo / align < blocks / threads) {
            helped_now.fetch_add(1);
          }
          std::lock_guard<std::mutex> lock(m);
          if (p < phase) return;
          for (int r = lo; r < hi; ++r) ++runs[size_t(r)];
          for (int b = lo / align; b * align < hi; ++b) owner[size_t(b)] = split.rank;
          ++calls;
          EXPECT_EQ(lo % align, 0);
          EXPECT_TRUE(hi == n || hi % align == 0) << lo << ".." << hi;
        });
        split.sync();
        if (split.rank == 0) helped_now.store(0);
        split.sync();
      }
    });
    for (int r = 0; r < n; ++r) EXPECT_EQ(runs[size_t(r)], 1) << "row " << r << " in phase " << phase;
    // Each thread takes half of what is left of its own share at a time: fewer claims than blocks.
    EXPECT_LT(calls, blocks);
    int taken_by_slow = 0, own_share = 0, helped = 0;
    for (int b = 0; b < blocks; ++b) {
      const bool in_share0 = b < blocks / threads;  // rank 0's static share: the first third
      own_share += in_share0;
      // Only its own share: once helped it may run fast and help the others (a loaded machine
      // can deschedule them), so blocks of their shares say nothing.
      taken_by_slow += in_share0 && owner[size_t(b)] == 0;
      helped += in_share0 && owner[size_t(b)] != 0;
    }
    EXPECT_LT(taken_by_slow, own_share) << "the slow thread was not helped";
    EXPECT_GT(helped, 0);
    // Helpers take the back of the slow thread's share (it works from the front).
    EXPECT_NE(owner[size_t(blocks / threads - 1)], 0);
  }
}

TEST(CpuTeam, WithoutClaimsEachThreadRunsItsStaticShare) {
  for (int rank = 0; rank < 3; ++rank) {
    cpu::Split split{rank, 3, [] {}, nullptr};
    std::vector<std::pair<int, int>> calls;
    split.for_blocks(100, 4, 0, [&](int lo, int hi) { calls.emplace_back(lo, hi); });
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0], split.rows(100, 4));
  }
}

// A float network 2 -> 40 -> 100 -> 27 -> 2 (widths that are not multiples of
// any tile; 100 rows make several of backward()'s panels when it runs alone),
// one batch of 29 samples; the step's result: next, state1, state2.
struct Step {
  std::vector<float> next, state1, state2;
  bool finite = false;
  int changed = 0;    // parameters the step moved
  int zero_rows = 0;  // hidden units off for the whole batch
};

// How the step runs: skip_zero_rows as the trainer passes it for finite
// parameters; `off`: every third hidden unit off for every sample (a bias of
// -50; a trained ReLU network has a half or more so), and the second layer's
// from 48 on (whole panels of rows left out); `inf_input`: one input
// is +inf (the first layer's inputs are not finite, so its weight gradient
// must not leave rows out).
struct StepCase {
  bool skip_zero_rows = false, off = false, inf_input = false;
};

Step train_step(const OptimizerConfig& opt, bool fused, int threads, StepCase c = {}) {
  NetworkConfig cfg;
  cfg.hidden = {40, 100, 27};
  cfg.seed = 11;
  const PackedLayout layout = PackedLayout::build({cfg}, 2, 2);
  const NetworkLayout& net = layout.networks[0];
  std::vector<float> params(size_t(layout.total));
  initialize_parameters(layout, {cfg}, params.data());
  if (c.off)
    for (size_t l = 0; l + 1 < net.layers.size(); ++l)
      for (int u = 0; u < net.layers[l].out; ++u)
        if (u % 3 == 0 || (l == 1 && u >= 48)) params[size_t(net.layers[l].biases + u)] = -50.f;
  const int count = 29;
  std::vector<float> x, y;
  for (int i = 0; i < count * 2; ++i) x.push_back(float(2 * random_uniform01(5, 1, uint64_t(i)) - 1));
  if (c.inf_input) x[2] = std::numeric_limits<float>::infinity();
  for (int i = 0; i < count * 2; ++i) y.push_back(random_uniform01(5, 2, uint64_t(i)) > 0.5 ? 1.f : 0.f);
  Step s;
  s.next.assign(size_t(net.count), 0.f);
  // Non-zero optimizer state, as after earlier steps.
  for (int64_t k = 0; k < net.count; ++k) {
    s.state1.push_back(float(1e-3 * random_uniform01(5, 3, uint64_t(k))));
    s.state2.push_back(float(1e-5 * random_uniform01(5, 4, uint64_t(k))));
  }
  std::vector<float> grad(size_t(net.count), 0.f);
  cpu::Workspace<float> ws(net, count);
  cpu::OptimizerSink<float> sink{&opt,          0.01f,           float(opt.l1),   float(opt.l2),
                                 params.data(), s.state1.data(), s.state2.data(), s.next.data()};
  auto step = [&](const cpu::Split& split, auto& update) {
    if (split.rank == 0) cpu::load_batch(x.data(), 2, nullptr, 0, count, ws);
    split.sync();
    cpu::forward<float, Activation::relu, cpu::TileShape<12, 2>>(net, params.data(), ws, split, c.skip_zero_rows);
    if (split.rank == 0) cpu::output_layer<float>(net, Loss::bce, 0, y.data(), nullptr, nullptr, 0, count, true, ws);
    split.sync();
    // Fused as the trainer runs it: no gradient array, each block in a buffer of the thread's.
    cpu::backward<float, Activation::relu, cpu::TileShape<12, 2>>(net, params.data(), ws, fused ? nullptr : grad.data(),
                                                                  count, split, update, c.skip_zero_rows);
  };
  auto count_zero_rows = [&] {
    std::vector<int> list(size_t(net.max_width));
    for (size_t l = 0; l + 1 < net.layers.size(); ++l)
      s.zero_rows +=
          net.layers[l].out - cpu::nonzero_rows(ws.a[l + 1].data(), net.layers[l].out, ws.capacity, list.data());
  };
  if (!fused) {  // backward writes the whole gradient, then one optimizer pass
    cpu::NoGradientSink none;
    step(cpu::Split{}, none);
    s.finite = cpu::optimizer_step<float>(net, sink, grad.data());
    for (int64_t k = 0; k < net.count; ++k) s.changed += s.next[size_t(k)] != params[size_t(k)];
    count_zero_rows();
    return s;
  }
  std::mutex m;
  bool finite = true;
  on_team(threads, [&](const cpu::Split& split) {
    cpu::OptimizerSink<float> mine = sink;  // each thread its own flag
    step(split, mine);
    std::lock_guard<std::mutex> lock(m);
    finite &= mine.finite;
  });
  s.finite = finite;
  count_zero_rows();
  return s;
}

TEST(CpuTeam, OptimizerInsideBackwardEqualsTheSeparatePassOnAnyTeam) {
  OptimizerConfig adam;  // Keras defaults
  OptimizerConfig adam_l2 = adam;
  adam_l2.l2 = 1e-3;
  adam_l2.l1 = 1e-4;
  OptimizerConfig sgd;
  sgd.kind = Optimizer::sgd;
  OptimizerConfig momentum;
  momentum.kind = Optimizer::momentum;
  for (const OptimizerConfig& opt : {adam, adam_l2, sgd, momentum}) {
    SCOPED_TRACE(std::string(to_string(opt.kind)) + (opt.l2 > 0 ? " with L1/L2" : ""));
    const Step separate = train_step(opt, false, 1);
    EXPECT_TRUE(separate.finite);
    // The step moved most parameters (the comparison below can fail).
    EXPECT_GT(separate.changed, int(separate.next.size()) * 3 / 4);
    for (int threads : {1, 2, 3}) {
      SCOPED_TRACE(std::to_string(threads) + " threads");
      const Step fused = train_step(opt, true, threads);
      EXPECT_TRUE(fused.finite);
      expect_same_bits(separate.next, fused.next, "next");
      expect_same_bits(separate.state1, fused.state1, "state1");
      expect_same_bits(separate.state2, fused.state2, "state2");
    }
  }
}

// ReLU units off for a whole batch are left out of the products (forward's
// sums, the layer below's delta, the weight gradient's rows): every bit of the
// step stays that of the products over all rows, alone, on teams, fused or
// not; and with an infinite input the step is as non-finite as before.
TEST(CpuTeam, LeavingOutUnitsOffForTheBatchKeepsEveryBit) {
  OptimizerConfig adam;
  for (bool inf_input : {false, true}) {
    SCOPED_TRACE(inf_input ? "an infinite input" : "finite inputs");
    const Step dense = train_step(adam, false, 1, {false, true, inf_input});
    EXPECT_EQ(dense.finite, !inf_input);
    // Units of every hidden layer are off (about a third), so rows are left out.
    EXPECT_GE(dense.zero_rows, (40 + 100 + 27) / 3);
    for (bool fused : {false, true})
      for (int threads : {1, 2, 3}) {
        if (!fused && threads > 1) continue;
        SCOPED_TRACE(std::string(fused ? "fused, " : "separate, ") + std::to_string(threads) + " threads");
        const Step sparse = train_step(adam, fused, threads, {true, true, inf_input});
        EXPECT_EQ(sparse.finite, dense.finite);
        EXPECT_EQ(sparse.zero_rows, dense.zero_rows);
        expect_same_bits(dense.next, sparse.next, "next");
        expect_same_bits(dense.state1, sparse.state1, "state1");
        expect_same_bits(dense.state2, sparse.state2, "state2");
      }
  }
}

}  // namespace
