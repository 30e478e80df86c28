// Runs the device algorithm (device_train.h) on the host: a "block" is a
// group of host threads sharing a barrier, exactly the contract the CUDA
// kernels rely on (same code, same thread-strided loops, same barriers).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "host_util.h"
#include "netsweep/device_schedule.h"

namespace netsweep::test {

// Thrown in every thread of a block once its barriers can no longer match:
// a thread left the block while others wait, or waits after one left (on the
// device: undefined behaviour, a hang or a half-updated network).
struct BarrierMismatch {};

class HostBarrier {
 public:
  // lag >= 0: after every barrier, thread `lag` resumes only once every other
  // thread has reached the next barrier or left, an order the device may take
  // too. A value it reads after a barrier that another thread overwrites
  // before the next one is then read overwritten: a race made certain.
  explicit HostBarrier(int n, int lag = -1) : n_(n), lag_(lag) {}
  void wait(int tid) {
    std::unique_lock<std::mutex> lock(m_);
    if (left_ > 0) broken_ = true;
    const long gen = generation_;
    if (!broken_ && ++arrived_ == n_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
    } else if (!broken_) {
      if (lag_ >= 0) cv_.notify_all();  // the lagging thread counts the arrivals
      cv_.wait(lock, [&] { return gen != generation_ || broken_; });
    }
    if (tid == lag_) cv_.wait(lock, [&] { return arrived_ + left_ >= n_ - 1 || broken_; });
    if (broken_) {
      cv_.notify_all();
      throw BarrierMismatch{};
    }
  }
  void leave() {
    std::lock_guard<std::mutex> lock(m_);
    ++left_;
    if (arrived_ > 0) broken_ = true;
    cv_.notify_all();
  }
  bool broken() {
    std::lock_guard<std::mutex> lock(m_);
    return broken_;
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  int n_, lag_, arrived_ = 0, left_ = 0;
  long generation_ = 0;
  bool broken_ = false;
};

struct HostBlock {
  int id, n;
  HostBarrier* barrier;
  int tid() const { return id; }
  int size() const { return n; }
  void sync() { barrier->wait(id); }
};

// Runs f on `threads` host threads as one block; lag: as HostBarrier. A
// barrier mismatch fails the current test.
template <typename F>
void run_block(int threads, F&& f, int lag = -1) {
  HostBarrier barrier(threads, lag < threads ? lag : -1);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      HostBlock b{t, threads, &barrier};
      try {
        f(b);
      } catch (const BarrierMismatch&) {
      }
      barrier.leave();
    });
  for (auto& t : pool) t.join();
  if (barrier.broken())
    ADD_FAILURE() << "barrier mismatch in a block of " << threads << " threads (lagging " << lag << ")";
}

// BLAS semantics on the host: column-major, C = op(A) op(B).
class HostGridOps : public GridOps {
 public:
  void gemm(bool trans_a, bool trans_b, int m, int n, int k, const float* A, int lda, const float* B, int ldb, float* C,
            int ldc) override {
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < m; ++i) {
        float acc = 0;
        for (int q = 0; q < k; ++q) {
          const float a = trans_a ? A[q + int64_t(i) * lda] : A[i + int64_t(q) * lda];
          const float b = trans_b ? B[j + int64_t(q) * ldb] : B[q + int64_t(j) * ldb];
          acc += a * b;
        }
        C[i + int64_t(j) * ldc] = acc;
      }
  }
  void bias_activate(float* Z, const float* bias, int units, int points, Activation act, bool output,
                     Loss loss) override {
    if (output)
      for (int64_t g = 0; g < points; ++g) device::bias_activate_output(Z, bias, units, g, loss);
    else
      for (int64_t i = 0; i < int64_t(units) * points; ++i) device::bias_activate_hidden(Z, bias, units, i, act);
  }
  void bias_activate_columns(float* Z, const float* bias, int points, int units, Activation act) override {
    for (int64_t i = 0; i < int64_t(units) * points; ++i) device::bias_activate_column(Z, bias, points, i, act);
  }
};

// The GEMM path's ops as host loops over the same pointer tables and op structs.
class HostGemmOps : public GemmOps {
 public:
  HostGemmOps(std::vector<float*> table, bool own_products) : GemmOps(own_products), table_(std::move(table)) {}
  void gemm_grouped(bool trans_a, bool trans_b, const std::vector<GemmDims>& dims, int64_t a, int64_t b,
                    int64_t c) override {
    HostGridOps blas;
    int64_t i = 0;
    for (const GemmDims& d : dims)
      for (int end = int(i) + d.members; i < end; ++i)
        blas.gemm(trans_a, trans_b, d.m, d.n, d.k, table_[size_t(a + i)], d.lda, table_[size_t(b + i)], d.ldb,
                  table_[size_t(c + i)], d.ldc);
    ++gemms;
    gemm_shapes += int64_t(dims.size());
  }
  void use_group(int group) override { group_order.push_back(group); }
  void run(const device::GatherOp& op) override { loop(op); }
  void run(const device::ForwardOp& op) override { loop(op); }
  void run(const device::BiasActivateOp& op) override { loop(op); }
  void run(const device::OutputLossOp& op) override { loop(op); }
  void run(const device::BeginUpdateOp& op) override { loop(op); }
  void run(const device::BackpropOp& op) override { loop(op); }
  void run(const device::UpdateOp& op) override { loop(op); }
  void run(const device::CommitOp& op) override { loop(op); }
  // As the device: a block per member where the samples fit its shared memory.
  void run(const device::EpochBeginOp& op) override {
    if (op.P.n_train > device::kEpochBeginMaxSamples) return loop(op);
    for (int m = 0; m < op.G.members; ++m) {
      std::vector<int32_t> order(2 * size_t(op.P.n_train), -1);
      run_block(3, [&](HostBlock& b) { device::epoch_begin(b, op, m, order.data()); });
    }
    ++ops;
  }
  void run(const device::EpochEndOp& op) override { loop(op); }
  int64_t gemms = 0, gemm_shapes = 0, ops = 0;  // calls, their batched GEMMs, op launches
  std::vector<int> group_order;                 // the group of each epoch submitted, in order

 private:
  template <typename Op>
  void loop(const Op& op) {
    for (int64_t e = op.size() - 1; e >= 0; --e) op(e);  // backwards: no op may rely on element order
    ++ops;
  }
  std::vector<float*> table_;
};

class EmulatedExecutor : public DeviceExecutor {
 public:
  // group_budget > 0 lets the widest networks train as groups of several
  // emulated blocks (threads x blocks host threads), as on the device.
  // grid_gemm: evaluate frames through evaluate_grid_gemm (the device's path) with host BLAS.
  // path: which networks take the GEMM path (run by HostGemmOps); own_products: as GemmOps;
  // merge_depths: as plan_device; shared_scratch: single-block networks train
  // with a scratch region and an order of their own (as in shared memory on
  // the device), their regions of the buffers poisoned (NaN, sample 0).
  // fitted_blocks: as plan_device; each launch's networks train with threads x
  // (its block size / kBlockThreads) emulated threads (at least 1), as the device sizes blocks.
  EmulatedExecutor(int threads, int group_budget = 0, int64_t macs_per_block = kMacsPerBlock, bool grid_gemm = false,
                   TrainPath path = TrainPath::fused, bool own_products = false, bool merge_depths = false,
                   bool shared_scratch = false, bool fitted_blocks = false)
      : threads_(threads),
        budget_(group_budget),
        macs_per_block_(macs_per_block),
        grid_gemm_(grid_gemm),
        path_(path),
        own_products_(own_products),
        merge_depths_(merge_depths),
        shared_scratch_(shared_scratch),
        fitted_blocks_(fitted_blocks) {}
  TrainPath train_path() const override { return path_; }
  bool merge_gemm_depths() const override { return merge_depths_; }
  bool fitted_blocks() const override { return fitted_blocks_; }
  // The block size of each launch of single-block networks in the last upload's plan.
  const std::vector<int>& launch_threads() const { return launch_threads_; }
  // Training blocks run with thread `lag` lagging (HostBarrier); -1: none.
  void lag_thread(int lag) { lag_ = lag; }
  std::string description() const override { return "host emulation of the CUDA kernels"; }
  int group_budget() const override { return budget_; }
  int64_t macs_per_block() const override { return macs_per_block_; }

  void upload(const DevicePlan& plan, const TrainingProblem& p, const std::vector<float>& params,
              const std::vector<float>& state1, const std::vector<float>& state2,
              const std::vector<float>& epoch_loss) override {
    p_ = &p;
    blocks_ = plan.blocks;
    single_threads_.assign(plan.nets.size(), threads_);
    launch_threads_.clear();
    for (const SingleBlockLaunch& launch : plan.single_launches) launch_threads_.push_back(launch.threads);
    for (const SingleBlockLaunch& launch : plan.single_launches)
      for (int k = launch.first; k < launch.first + launch.count; ++k)
        single_threads_[size_t(plan.single_block_nets[size_t(k)])] =
            std::max(1, threads_ * launch.threads / plan.block_threads);
    layers_ = plan.layers;
    nets_ = plan.nets;
    params_ = params;
    state1_ = state1;
    state2_ = state2;
    epoch_loss_ = epoch_loss;
    // Sized from the device's buffer list (one evaluation slot), as the CUDA executor allocates.
    const DeviceBufferSizes sizes = device_buffer_sizes(plan, p, 1);
    auto count = [&](DeviceBuffer b) { return size_t(sizes[size_t(b)].count); };
    grad_.assign(count(DeviceBuffer::grad), 0.0f);
    next_.assign(count(DeviceBuffer::next), 0.0f);
    scratch_.assign(count(DeviceBuffer::scratch), 0.0f);
    eval_scratch_.assign(count(DeviceBuffer::eval_scratch), 0.0f);
    perm_.assign(count(DeviceBuffer::perm), 0);
    gemm_state_.assign(count(DeviceBuffer::gemm_state), device::GemmNetState{});
    P_ = describe_problem(p, {p.train_x.data(), p.train_y.data(), layers_.data(), nets_.data(), params_.data(),
                              state1_.data(), state2_.data(), grad_.data(), next_.data(), scratch_.data(), perm_.data(),
                              epoch_loss_.data(), gemm_state_.data()});
    for (size_t i = 0; shared_scratch_ && i < nets_.size(); ++i)
      if (blocks_[i] == 1) {
        std::fill_n(scratch_.begin() + nets_[i].scratch_offset, scratch_floats(nets_[i]), std::nanf(""));
        std::fill_n(perm_.begin() + int64_t(i) * p.n_train, p.n_train, 0);  // every sample 0
      }
    gemm_groups_ = plan.gemm_groups;
    mark_idle_gemm_groups(gemm_groups_, plan.nets);  // as the CUDA executor: from the state the host has seen
    gemm_members_ = plan.gemm_members;
    gemm_ops_ = std::make_unique<HostGemmOps>(
        gemm_pointer_tables(gemm_groups_, layers_, nets_, params_.data(), grad_.data(), scratch_.data()),
        own_products_);
  }

  void train_until(int epoch_end) override {
    for (size_t i = 0; i < nets_.size(); ++i) {
      if (blocks_[i] == 1 && shared_scratch_) {
        const device::Net& N = nets_[i];
        std::vector<float> own(size_t(scratch_floats(N)), std::nanf(""));
        std::vector<int32_t> order(size_t(P_.n_train), -1);
        run_block(
            single_threads_[i],
            [&](HostBlock& b) { device::train_until(b, P_, int(i), epoch_end, own.data(), order.data()); }, lag_);
      } else if (blocks_[i] == 1) {
        run_block(
            single_threads_[i], [&](HostBlock& b) { device::train_until(b, P_, int(i), epoch_end); }, lag_);
      } else if (blocks_[i] > 0) {
        run_block(
            threads_ * blocks_[i], [&](HostBlock& b) { device::train_until(b, P_, int(i), epoch_end); }, lag_);
      }
    }
    train_gemm_groups_until(*gemm_ops_, P_, gemm_members_.data(), gemm_groups_, epoch_end);
  }
  const HostGemmOps* gemm_ops() const { return gemm_ops_.get(); }

  void evaluate(EvalSet set, std::vector<float>* probs, std::vector<double>* loss_sum,
                std::vector<double>* correct) override {
    const TrainingProblem& p = *p_;
    if (set == EvalSet::grid && grid_gemm_ && probs) {
      const int64_t g = int64_t(p.grid_h) * p.grid_w;
      probs->assign(nets_.size() * size_t(g) * size_t(p.outputs), 0.0f);
      std::vector<float> a(size_t(grid_max_width(p) * g)), b(a.size());
      HostGridOps ops;
      evaluate_grid_gemm(p, ops, params_.data(), p.grid_x.data(), probs->data(), a.data(), b.data());
      return;
    }
    const bool train = set == EvalSet::train, test = set == EvalSet::test;
    const float* x = train ? p.train_x.data() : test ? p.test_x.data() : p.grid_x.data();
    const float* y = train ? p.train_y.data() : test ? p.test_y.data() : nullptr;
    const int32_t* labels = train ? p.train_label.data() : test ? p.test_label.data() : nullptr;
    const int count = train ? p.n_train : test ? p.n_test : p.grid_h * p.grid_w;
    const size_t n = nets_.size();
    if (probs) probs->assign(n * size_t(count) * size_t(p.outputs), 0.0f);
    if (loss_sum) loss_sum->assign(n, 0.0);
    if (correct) correct->assign(n, 0.0);
    for (size_t i = 0; i < n; ++i)
      for (int first = 0; first < count; first += device::kEvalChunk) {
        const int c = std::min(device::kEvalChunk, count - first);
        double l = 0, k = 0;
        float* out = probs ? probs->data() + (i * size_t(count) + size_t(first)) * size_t(p.outputs) : nullptr;
        run_block(threads_, [&](HostBlock& b) {
          device::evaluate_chunk(b, P_, int(i), x, y, labels, first, c, eval_scratch_.data(), out, &l, &k);
        });
        if (loss_sum) (*loss_sum)[i] += l;
        if (correct) (*correct)[i] += k;
      }
  }

  void start_frames(bool half) override {
    evaluate(EvalSet::grid, &frames_, nullptr, nullptr);
    half_frames_.clear();
    if (half)
      for (float v : frames_) half_frames_.push_back(float_to_half_bits(v));
  }
  const void* frames() override {
    return half_frames_.empty() ? static_cast<const void*>(frames_.data()) : half_frames_.data();
  }

  void download_state(std::vector<device::Net>& nets, std::vector<float>& epoch_loss) override {
    nets = nets_;
    epoch_loss = epoch_loss_;
    mark_idle_gemm_groups(gemm_groups_, nets);
  }
  void neuron_maps(std::vector<float>& maps) override {
    maps.assign(size_t(neuron_map_offsets(*p_).back()), 0.0f);
    HostGridOps ops;
    evaluate_neuron_maps_gemm(*p_, ops, params_.data(), p_->neuron_grid_x.data(), maps.data());
  }
  void download_params(std::vector<float>& params, std::vector<float>& state1, std::vector<float>& state2) override {
    params = params_;
    state1 = state1_;
    state2 = state2_;
  }

 private:
  int threads_, budget_, lag_ = -1;
  int64_t macs_per_block_;
  bool grid_gemm_;
  TrainPath path_;
  bool own_products_;
  bool merge_depths_;
  bool shared_scratch_;
  bool fitted_blocks_;
  std::vector<int> single_threads_;  // emulated threads of each single-block network
  std::vector<int> launch_threads_;
  int64_t scratch_floats(const device::Net& N) const {
    return device::train_scratch_floats(layers_.data() + N.first_layer, N.layers, N.max_width, N.batch, true);
  }
  std::vector<int> blocks_;
  std::vector<GemmGroupPlan> gemm_groups_;
  std::vector<int32_t> gemm_members_;
  std::vector<device::GemmNetState> gemm_state_;
  std::unique_ptr<HostGemmOps> gemm_ops_;
  const TrainingProblem* p_ = nullptr;
  std::vector<device::Layer> layers_;
  std::vector<device::Net> nets_;
  std::vector<float> params_, state1_, state2_, epoch_loss_, grad_, next_, scratch_, eval_scratch_;
  std::vector<int32_t> perm_;
  std::vector<float> frames_;
  std::vector<uint16_t> half_frames_;
  device::Problem P_{};
};

}  // namespace netsweep::test
