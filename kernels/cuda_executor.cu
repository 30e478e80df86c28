// The CUDA executor of the device schedule: device buffers, uploads and
// downloads, the fused kernels of kernels/train.cu and the GEMM groups of
// kernels/gemm_train.cu.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "kernels/gemm_train.cuh"
#include "kernels/grid_ops.cuh"
#include "kernels/train.cuh"
#include "netsweep/cuda_backend.h"
#include "netsweep/cuda_check.h"
#include "netsweep/device_schedule.h"
#include "src/host_util.h"

namespace netsweep {
namespace {

// A device allocation of n elements of T.
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t n) : n_(n) {
    if (n) NS_CUDA_CHECK(cudaMalloc(&ptr_, n * sizeof(T)));
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(n_, o.n_);
    return *this;
  }
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
  }
  T* get() const { return ptr_; }
  size_t size() const { return n_; }
  void upload(const std::vector<T>& v) {
    if (!v.empty()) NS_CUDA_CHECK(cudaMemcpy(ptr_, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  void download(std::vector<T>& v) const {
    v.resize(n_);
    if (n_) NS_CUDA_CHECK(cudaMemcpy(v.data(), ptr_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
  }
  void zero() {
    if (n_) NS_CUDA_CHECK(cudaMemset(ptr_, 0, n_ * sizeof(T)));
  }

 private:
  T* ptr_ = nullptr;
  size_t n_ = 0;
};

// Streams the GEMM groups are spread over: groups sharing a stream run one
// after the other (the slide sweep has 18 groups, so each gets its own).
constexpr int kGemmStreams = 32;

class CudaExecutor : public DeviceExecutor {
 public:
  explicit CudaExecutor(const CudaOptions& options) : options_(options) {
    NS_CUDA_CHECK(cudaGetDevice(&device_));
    cudaDeviceProp prop{};
    NS_CUDA_CHECK(cudaGetDeviceProperties(&prop, device_));
    name_ = prop.name;
    sms_ = prop.multiProcessorCount;
    NS_CUDA_CHECK(cudaStreamCreate(&stream_));
    NS_CUDA_CHECK(cudaStreamCreate(&group_stream_));
    NS_CUDA_CHECK(cudaStreamCreateWithFlags(&copy_stream_, cudaStreamNonBlocking));
    NS_CUDA_CHECK(cudaEventCreateWithFlags(&frames_made_, cudaEventDisableTiming));
  }
  ~CudaExecutor() override {
    grid_ops_.reset();
    gemm_ops_.reset();
    if (host_frames_) cudaFreeHost(host_frames_);
    cudaEventDestroy(frames_made_);
    cudaStreamDestroy(copy_stream_);
    cudaStreamDestroy(stream_);
    cudaStreamDestroy(group_stream_);
  }

  std::string description() const override { return "cuda: " + name_; }
  // Half of what can be resident, so single-block networks train beside the groups.
  int group_budget() const override { return device::resident_train_blocks() / 2; }
  TrainPath train_path() const override { return options_.path; }
  int64_t device_bytes_in_use() const override { return bytes_in_use_; }

  void upload(const DevicePlan& plan, const TrainingProblem& p, const std::vector<float>& params,
              const std::vector<float>& state1, const std::vector<float>& state2,
              const std::vector<float>& epoch_loss) override {
    p_ = &p;
    networks_ = int(plan.nets.size());
    slots_ = std::max(1, std::min(4 * sms_, networks_ * 64));
    size_t free_bytes = 0, total_bytes = 0;
    NS_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    const int gemm_streams = std::min<int>(kGemmStreams, int(plan.gemm_groups.size()));
    const int64_t need =
        plan.device_bytes(p, slots_) + gemm_streams * device::CublasGemmOps::kWorkspaceBytes + (int64_t(64) << 20);
    if (need > int64_t(free_bytes))
      throw SpecError("the sweep needs about " + format_gib(need) + " of GPU memory but " + name_ + " has " +
                      format_gib(int64_t(free_bytes)) +
                      " free; lower --grid (frames are evaluated on the device), use fewer --seeds or networks, "
                      "or a smaller full batch (--batch 0 keeps every training point's activations)");
    slot_floats_ = plan.eval_scratch_floats;
    layers_ = DeviceBuffer<device::Layer>(plan.layers.size());
    nets_ = DeviceBuffer<device::Net>(plan.nets.size());
    params_ = DeviceBuffer<float>(params.size());
    state1_ = DeviceBuffer<float>(params.size());
    state2_ = DeviceBuffer<float>(params.size());
    grad_ = DeviceBuffer<float>(size_t(plan.grad_floats));
    next_ = DeviceBuffer<float>(size_t(plan.grad_floats));
    scratch_ = DeviceBuffer<float>(size_t(plan.scratch_floats));
    eval_scratch_ = DeviceBuffer<float>(size_t(slot_floats_) * size_t(slots_));
    perm_ = DeviceBuffer<int32_t>(size_t(networks_) * size_t(p.n_train));
    auto upload_ints = [](DeviceBuffer<int32_t>& buf, const std::vector<int>& v) {
      buf = DeviceBuffer<int32_t>(v.size());
      buf.upload(std::vector<int32_t>(v.begin(), v.end()));
    };
    upload_ints(single_nets_, plan.single_block_nets);
    upload_ints(group_block_net_, plan.group_block_net);
    upload_ints(group_block_rank_, plan.group_block_rank);
    upload_ints(group_blocks_, plan.blocks);
    barriers_ = DeviceBuffer<device::GroupBarrier>(size_t(networks_));
    single_count_ = int(plan.single_block_nets.size());
    group_count_ = int(plan.group_block_net.size());
    if (group_count_ > device::resident_train_blocks())
      throw SpecError("the widest networks need " + std::to_string(group_count_) + " resident blocks but " + name_ +
                      " holds " + std::to_string(device::resident_train_blocks()));
    epoch_loss_ = DeviceBuffer<float>(epoch_loss.size());
    for (int set = 0; set < 3; ++set) {
      const auto& x = set == 0 ? p.train_x : set == 1 ? p.test_x : p.grid_x;
      points_[set] = DeviceBuffer<float>(x.size());
      points_[set].upload(x);
    }
    targets_[0] = DeviceBuffer<float>(p.train_y.size());
    targets_[0].upload(p.train_y);
    targets_[1] = DeviceBuffer<float>(p.test_y.size());
    targets_[1].upload(p.test_y);
    labels_[0] = DeviceBuffer<int32_t>(p.train_label.size());
    labels_[0].upload(p.train_label);
    labels_[1] = DeviceBuffer<int32_t>(p.test_label.size());
    labels_[1].upload(p.test_label);
    const int64_t grid_points = int64_t(p.grid_h) * p.grid_w;
    probs_ = DeviceBuffer<float>(size_t(networks_) * size_t(grid_points) * size_t(p.outputs));
    half_frames_ = DeviceBuffer<uint16_t>(probs_.size());
    NS_CUDA_CHECK(cudaMallocHost(&host_frames_, probs_.size() * sizeof(float)));  // pinned: asynchronous copies
    grid_a_ = DeviceBuffer<float>(size_t(grid_max_width(p)) * size_t(grid_points));
    grid_b_ = DeviceBuffer<float>(grid_a_.size());
    grid_ops_ = std::make_unique<device::CublasGridOps>(stream_, options_.tf32);
    const size_t max_chunks =
        size_t((std::max({p.n_train, p.n_test, 1}) + device::kEvalChunk - 1) / device::kEvalChunk);
    loss_sums_ = DeviceBuffer<double>(size_t(networks_) * max_chunks);
    correct_sums_ = DeviceBuffer<double>(size_t(networks_) * max_chunks);
    layers_.upload(plan.layers);
    nets_.upload(plan.nets);
    params_.upload(params);
    state1_.upload(state1);
    state2_.upload(state2);
    epoch_loss_.upload(epoch_loss);
    grad_.zero();
    next_.zero();
    gemm_state_ = DeviceBuffer<device::GemmNetState>(size_t(networks_));
    gemm_state_.zero();
    gemm_groups_ = plan.gemm_groups;
    gemm_members_ = DeviceBuffer<int32_t>(plan.gemm_members.size());
    gemm_members_.upload(plan.gemm_members);
    gemm_table_ = DeviceBuffer<float*>(size_t(plan.gemm_table_entries));
    gemm_table_.upload(
        gemm_pointer_tables(gemm_groups_, plan.layers, plan.nets, params_.get(), grad_.get(), scratch_.get()));
    if (!gemm_groups_.empty())
      gemm_ops_ = std::make_unique<device::CublasGemmOps>(gemm_streams, options_.tf32, gemm_table_.get());
    problem_ = describe_problem(p, {points_[0].get(), targets_[0].get(), layers_.get(), nets_.get(), params_.get(),
                                    state1_.get(), state2_.get(), grad_.get(), next_.get(), scratch_.get(), perm_.get(),
                                    epoch_loss_.get(), gemm_state_.get()});
    free_before_ = int64_t(free_bytes);
    NS_CUDA_CHECK(cudaDeviceSynchronize());
    sample_memory();
  }
  // Device memory this run holds (buffers, and what cuBLAS and the graphs add
  // later): sampled after upload and after every training segment, the peak kept.
  void sample_memory() {
    size_t free_now = 0, total = 0;
    NS_CUDA_CHECK(cudaMemGetInfo(&free_now, &total));
    bytes_in_use_ = std::max(bytes_in_use_, free_before_ - int64_t(free_now));
  }

  void train_until(int epoch_end) override {
    start_train_until(epoch_end);
    wait_train();
  }
  void start_train_until(int epoch_end) override {
    // The multi-block groups first (their blocks must all become resident), the rest beside them.
    device::train_group(problem_, group_block_net_.get(), group_block_rank_.get(), group_blocks_.get(), barriers_.get(),
                        networks_, group_count_, epoch_end, group_stream_);
    device::train_until(problem_, single_nets_.get(), single_count_, epoch_end, stream_);
    // Then the GEMM groups, each on its stream: an epoch graph per group and epoch.
    for (size_t g = 0; g < gemm_groups_.size(); ++g) {
      gemm_ops_->use_group(int(g));
      train_gemm_group_until(*gemm_ops_, problem_, gemm_groups_[g].desc(gemm_members_.get()), gemm_groups_[g],
                             epoch_end);
    }
  }
  void wait_train() override {
    NS_CUDA_CHECK(cudaStreamSynchronize(group_stream_));
    NS_CUDA_CHECK(cudaStreamSynchronize(stream_));
    if (gemm_ops_) gemm_ops_->synchronize();
    sample_memory();
  }

  void evaluate(int set, std::vector<float>* probs, std::vector<double>* loss_sum,
                std::vector<double>* correct) override {
    const TrainingProblem& p = *p_;
    const int count = set == 0 ? p.n_train : set == 1 ? p.n_test : p.grid_h * p.grid_w;
    const bool with_targets = set < 2;
    if (set == 2) {  // the frames' path (big GEMMs over the whole grid), waited for
      start_frames(false);
      const auto* grid = static_cast<const float*>(frames());
      if (probs) probs->assign(grid, grid + probs_.size());
      return;
    }
    device::evaluate(problem_, networks_, points_[set].get(), with_targets ? targets_[set].get() : nullptr,
                     with_targets ? labels_[set].get() : nullptr, count, eval_scratch_.get(), slot_floats_, slots_,
                     probs ? probs_.get() : nullptr, with_targets ? loss_sums_.get() : nullptr,
                     with_targets ? correct_sums_.get() : nullptr, stream_);
    NS_CUDA_CHECK(cudaStreamSynchronize(stream_));
    if (probs) {
      probs->resize(size_t(networks_) * size_t(count) * size_t(p.outputs));
      NS_CUDA_CHECK(cudaMemcpy(probs->data(), probs_.get(), probs->size() * sizeof(float), cudaMemcpyDeviceToHost));
    }
    if (with_targets && (loss_sum || correct)) {
      const int chunks = (count + device::kEvalChunk - 1) / device::kEvalChunk;
      std::vector<double> l(size_t(networks_) * size_t(chunks)), c(l.size());
      NS_CUDA_CHECK(cudaMemcpy(l.data(), loss_sums_.get(), l.size() * sizeof(double), cudaMemcpyDeviceToHost));
      NS_CUDA_CHECK(cudaMemcpy(c.data(), correct_sums_.get(), c.size() * sizeof(double), cudaMemcpyDeviceToHost));
      if (loss_sum) loss_sum->assign(size_t(networks_), 0.0);
      if (correct) correct->assign(size_t(networks_), 0.0);
      for (int n = 0; n < networks_; ++n)
        for (int k = 0; k < chunks; ++k) {  // in chunk order, as the host emulation sums
          if (loss_sum) (*loss_sum)[size_t(n)] += l[size_t(n * chunks + k)];
          if (correct) (*correct)[size_t(n)] += c[size_t(n * chunks + k)];
        }
    }
  }

  void start_frames(bool half) override {
    // The grid GEMMs, the conversion to the stored type, then the copy on its
    // own stream: training may start again on the others while it runs.
    const TrainingProblem& p = *p_;
    evaluate_grid_gemm(p, *grid_ops_, params_.get(), points_[2].get(), probs_.get(), grid_a_.get(), grid_b_.get());
    if (half) device::convert_to_half(probs_.get(), half_frames_.get(), int64_t(probs_.size()), stream_);
    NS_CUDA_CHECK(cudaEventRecord(frames_made_, stream_));
    NS_CUDA_CHECK(cudaStreamWaitEvent(copy_stream_, frames_made_, 0));
    const void* from = half ? static_cast<const void*>(half_frames_.get()) : probs_.get();
    NS_CUDA_CHECK(
        cudaMemcpyAsync(host_frames_, from, probs_.size() * (half ? 2 : 4), cudaMemcpyDeviceToHost, copy_stream_));
  }
  const void* frames() override {
    NS_CUDA_CHECK(cudaStreamSynchronize(copy_stream_));
    return host_frames_;
  }

  void download_state(std::vector<device::Net>& nets, std::vector<float>& epoch_loss) override {
    nets_.download(nets);
    epoch_loss_.download(epoch_loss);
  }
  void download_params(std::vector<float>& params, std::vector<float>& state1, std::vector<float>& state2) override {
    params_.download(params);
    state1_.download(state1);
    state2_.download(state2);
  }

 private:
  CudaOptions options_;
  int64_t bytes_in_use_ = 0, free_before_ = 0;
  int device_ = 0, sms_ = 1, networks_ = 0, slots_ = 1;
  int64_t slot_floats_ = 0;
  std::string name_;
  cudaStream_t stream_{}, group_stream_{}, copy_stream_{};
  cudaEvent_t frames_made_{};
  void* host_frames_ = nullptr;         // pinned, (networks, grid points, outputs) floats or half bits
  DeviceBuffer<uint16_t> half_frames_;  // (networks, grid points, outputs) float16 bits
  int single_count_ = 0, group_count_ = 0;
  DeviceBuffer<int32_t> single_nets_, group_block_net_, group_block_rank_, group_blocks_;
  DeviceBuffer<device::GroupBarrier> barriers_;
  const TrainingProblem* p_ = nullptr;
  device::Problem problem_{};
  DeviceBuffer<device::Layer> layers_;
  DeviceBuffer<device::Net> nets_;
  DeviceBuffer<float> params_, state1_, state2_, grad_, next_, scratch_, eval_scratch_, epoch_loss_, probs_;
  DeviceBuffer<float> grid_a_, grid_b_;  // the grid GEMMs' activations, max width x grid points
  std::unique_ptr<device::CublasGridOps> grid_ops_;
  DeviceBuffer<float> points_[3], targets_[2];
  DeviceBuffer<int32_t> perm_, labels_[2];
  DeviceBuffer<double> loss_sums_, correct_sums_;
  // The GEMM path: per-network step state, groups, member lists and pointer tables.
  DeviceBuffer<device::GemmNetState> gemm_state_;
  std::vector<GemmGroupPlan> gemm_groups_;
  DeviceBuffer<int32_t> gemm_members_;
  DeviceBuffer<float*> gemm_table_;
  std::unique_ptr<device::CublasGemmOps> gemm_ops_;
};

}  // namespace

std::unique_ptr<DeviceExecutor> make_cuda_executor(const CudaOptions& options) {
  return std::make_unique<CudaExecutor>(options);
}

}  // namespace netsweep
