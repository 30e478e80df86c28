// The CUDA executor of the device schedule: the device buffers (exactly the
// list of device_buffer_sizes), uploads and downloads, the fused kernels of
// train.cu, the GEMM groups of gemm_train.cu and the grid GEMMs of grid_ops.cu.
//
// Streams: `stream_` runs the single-block fused networks' first launch (with
// fitted blocks, each further block size has a stream of its own), the
// evaluations and the frames; `group_stream_` the multi-block fused networks;
// every GEMM group has a stream of its own (CublasGemmOps); `copy_stream_`
// copies frames back. Events order them: a training segment starts only after
// the frames and evaluations that read the parameters before it
// (params_read_), and frames start only after every training stream has
// finished its segment (trained_).
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <vector>

#include "gemm_train.cuh"
#include "grid_ops.cuh"
#include "netsweep/cuda_backend.h"
#include "netsweep/cuda_check.h"
#include "netsweep/device_schedule.h"
#include "train.cuh"

namespace netsweep {
namespace {

// The CUDA_DEVICE_MAX_CONNECTIONS hardware queues netsweep asks for
// (device_query.cu). Streams beyond them share a queue round-robin, and a
// launch then waits behind another stream's; so the GEMM groups get the
// streams the others leave (frames, copies, multi-block groups, one per
// single-block launch): groups sharing a stream run one after the other,
// paired by the executor, not by creation order (the slide sweep's 24 groups
// beside 4 launches each get their own).
constexpr int kHardwareQueues = 32;
int gemm_stream_count(const DevicePlan& plan) {
  if (plan.gemm_groups.empty()) return 0;
  const int others = 3 + std::max(0, int(plan.single_launches.size()) - 1);
  return std::max(1, std::min(kHardwareQueues - others, int(plan.gemm_groups.size())));
}
// Left free beside the buffers for the context, cuBLAS handles and graphs.
constexpr int64_t kContextBytes = int64_t(64) << 20;

// The GEMMs' math mode: FP32 comparable with the CPU (pedantic) unless TF32
// tensor cores, or cuBLAS's default mode for a bench A/B, were asked for.
cublasMath_t math_mode(const CudaOptions& options) {
  if (options.tf32) return CUBLAS_TF32_TENSOR_OP_MATH;
  return options.pedantic ? CUBLAS_PEDANTIC_MATH : CUBLAS_DEFAULT_MATH;
}

// With `by_depth` (the bench variant cuda-prio), a CUDA priority per GEMM
// stream: the deeper a stream's deepest group, the higher (its epoch is the
// longest chain of dependent launches, which sets the sweep's time); every
// GEMM stream then ranks above the default-priority streams of the fused
// blocks and frames. Else none: every stream at the default priority.
std::vector<int> gemm_stream_priorities(const std::vector<GemmGroupPlan>& groups, int streams, bool by_depth) {
  if (!by_depth || groups.empty()) return {};
  int least = 0, greatest = 0;
  NS_CUDA_CHECK(cudaDeviceGetStreamPriorityRange(&least, &greatest));
  return priorities_by_depth(groups, streams, least, greatest);
}

// One device allocation of the buffer list.
class RawBuffer {
 public:
  RawBuffer() = default;
  RawBuffer(const RawBuffer&) = delete;
  RawBuffer& operator=(const RawBuffer&) = delete;
  ~RawBuffer() {
    if (ptr_) cudaFree(ptr_);
  }
  void allocate(const DeviceBufferSize& size) {
    bytes_ = size_t(size.bytes());
    if (bytes_) NS_CUDA_CHECK(cudaMalloc(&ptr_, bytes_));
  }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  // Host -> device; the vector must hold exactly the planned bytes.
  template <typename T>
  void upload(const std::vector<T>& v) {
    if (v.size() * sizeof(T) != bytes_) throw CudaError("device buffer upload: size differs from the plan");
    if (bytes_) NS_CUDA_CHECK(cudaMemcpy(ptr_, v.data(), bytes_, cudaMemcpyHostToDevice));
  }
  template <typename T>
  void download(std::vector<T>& v) const {
    v.resize(bytes_ / sizeof(T));
    if (bytes_) NS_CUDA_CHECK(cudaMemcpy(v.data(), ptr_, bytes_, cudaMemcpyDeviceToHost));
  }
  void zero() {
    if (bytes_) NS_CUDA_CHECK(cudaMemset(ptr_, 0, bytes_));
  }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

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
    for (cudaEvent_t* e : {&frames_made_, &params_read_})
      NS_CUDA_CHECK(cudaEventCreateWithFlags(e, cudaEventDisableTiming));
  }
  ~CudaExecutor() override {
    grid_ops_.reset();
    gemm_ops_.reset();
    if (host_frames_) cudaFreeHost(host_frames_);
    for (cudaEvent_t e : trained_) cudaEventDestroy(e);
    for (cudaStream_t s : launch_streams_) cudaStreamDestroy(s);
    cudaEventDestroy(frames_made_);
    cudaEventDestroy(params_read_);
    cudaStreamDestroy(copy_stream_);
    cudaStreamDestroy(stream_);
    cudaStreamDestroy(group_stream_);
  }

  std::string description() const override { return "cuda: " + name_; }
  // Half of what can be resident, so single-block networks train beside the groups.
  int group_budget() const override { return device::resident_train_blocks(terms()) / 2; }
  TrainPath train_path() const override { return options_.path; }
  int gemm_min_width() const override { return options_.gemm_min_width; }
  bool merge_gemm_depths() const override { return options_.merge_depths; }
  bool fitted_blocks() const override { return options_.fitted_blocks; }
  int64_t device_bytes_in_use() const override { return bytes_in_use_; }
  // Terms a load in the fused path's sums (CudaOptions::chunked_sums).
  int terms() const { return options_.chunked_sums ? device::kTerms : 1; }

  void upload(const DevicePlan& plan, const TrainingProblem& p, const std::vector<float>& params,
              const std::vector<float>& state1, const std::vector<float>& state2,
              const std::vector<float>& epoch_loss) override {
    p_ = &p;
    networks_ = int(plan.nets.size());
    slots_ = std::max(1, std::min(4 * sms_, networks_ * 64));
    size_t free_bytes = 0, total_bytes = 0;
    NS_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    const int gemm_streams = gemm_stream_count(plan);
    const DeviceBufferSizes sizes = device_buffer_sizes(plan, p, slots_);
    check_device_memory(sizes, gemm_streams * device::CublasGemmOps::kWorkspaceBytes + kContextBytes,
                        int64_t(free_bytes), name_);
    for (int b = 0; b < kDeviceBufferCount; ++b) buffers_[size_t(b)].allocate(sizes[size_t(b)]);
    slot_floats_ = plan.eval_scratch_floats;
    single_launches_ = plan.single_launches;
    while (launch_streams_.size() + 1 < single_launches_.size()) {
      launch_streams_.emplace_back();
      NS_CUDA_CHECK(cudaStreamCreate(&launch_streams_.back()));
    }
    shared_scratch_.assign(single_launches_.size(), device::SharedScratch{});
    if (options_.shared_scratch) plan_shared_scratch(plan, p.n_train);
    group_count_ = int(plan.group_block_net.size());
    if (group_count_ > device::resident_train_blocks(terms()))
      throw SpecError("the widest networks need " + std::to_string(group_count_) + " resident blocks but " + name_ +
                      " holds " + std::to_string(device::resident_train_blocks(terms())));

    auto ints = [](const std::vector<int>& v) { return std::vector<int32_t>(v.begin(), v.end()); };
    buf(DeviceBuffer::layers).upload(plan.layers);
    buf(DeviceBuffer::nets).upload(plan.nets);
    buf(DeviceBuffer::params).upload(params);
    buf(DeviceBuffer::state1).upload(state1);
    buf(DeviceBuffer::state2).upload(state2);
    buf(DeviceBuffer::grad).zero();
    buf(DeviceBuffer::next).zero();
    buf(DeviceBuffer::epoch_loss).upload(epoch_loss);
    buf(DeviceBuffer::train_x).upload(p.train_x);
    buf(DeviceBuffer::test_x).upload(p.test_x);
    buf(DeviceBuffer::grid_x).upload(p.grid_x);
    buf(DeviceBuffer::neuron_grid_x).upload(p.neuron_grid_x);
    buf(DeviceBuffer::train_y).upload(p.train_y);
    buf(DeviceBuffer::test_y).upload(p.test_y);
    buf(DeviceBuffer::train_labels).upload(p.train_label);
    buf(DeviceBuffer::test_labels).upload(p.test_label);
    buf(DeviceBuffer::single_nets).upload(ints(plan.single_block_nets));
    buf(DeviceBuffer::group_block_net).upload(ints(plan.group_block_net));
    buf(DeviceBuffer::group_block_rank).upload(ints(plan.group_block_rank));
    buf(DeviceBuffer::group_blocks).upload(ints(plan.blocks));
    buf(DeviceBuffer::gemm_state).zero();
    // Sample 0 until an epoch's order is drawn, as in the emulation: a GEMM-path member inactive from the
    // start (resumed diverged or stopped) still gathers its rows, and cudaMalloc's garbage would be out of range.
    buf(DeviceBuffer::perm).zero();
    buf(DeviceBuffer::gemm_members).upload(plan.gemm_members);
    gemm_groups_ = plan.gemm_groups;
    mark_idle_gemm_groups(gemm_groups_, plan.nets);
    buf(DeviceBuffer::gemm_table)
        .upload(gemm_pointer_tables(gemm_groups_, plan.layers, plan.nets, ptr<float>(DeviceBuffer::params),
                                    ptr<float>(DeviceBuffer::grad), ptr<float>(DeviceBuffer::scratch)));

    frame_values_ = sizes[size_t(DeviceBuffer::frames)].count;
    NS_CUDA_CHECK(cudaMallocHost(&host_frames_, size_t(frame_values_) * sizeof(float)));  // pinned: async copies
    grid_ops_ = std::make_unique<device::CublasGridOps>(stream_, math_mode(options_));
    if (!gemm_groups_.empty())
      gemm_ops_ = std::make_unique<device::CublasGemmOps>(
          gemm_streams, gemm_stream_priorities(gemm_groups_, gemm_streams, options_.stream_priorities),
          math_mode(options_), ptr<float*>(DeviceBuffer::gemm_table), options_.own_products, options_.per_shape_gemms);
    training_streams_ = {stream_, group_stream_};
    for (size_t k = 1; k < single_launches_.size(); ++k) training_streams_.push_back(launch_stream(k));
    if (gemm_ops_)
      training_streams_.insert(training_streams_.end(), gemm_ops_->streams().begin(), gemm_ops_->streams().end());
    // One "segment done" event per training stream: the frames wait for all of them.
    for (cudaEvent_t e : trained_) NS_CUDA_CHECK(cudaEventDestroy(e));
    trained_.assign(training_streams_.size(), cudaEvent_t{});
    for (cudaEvent_t& e : trained_) NS_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    problem_ = describe_problem(
        p,
        {ptr<float>(DeviceBuffer::train_x), ptr<float>(DeviceBuffer::train_y), ptr<device::Layer>(DeviceBuffer::layers),
         ptr<device::Net>(DeviceBuffer::nets), ptr<float>(DeviceBuffer::params), ptr<float>(DeviceBuffer::state1),
         ptr<float>(DeviceBuffer::state2), ptr<float>(DeviceBuffer::grad), ptr<float>(DeviceBuffer::next),
         ptr<float>(DeviceBuffer::scratch), ptr<int32_t>(DeviceBuffer::perm), ptr<float>(DeviceBuffer::epoch_loss),
         ptr<device::GemmNetState>(DeviceBuffer::gemm_state)});
    free_before_ = int64_t(free_bytes);
    NS_CUDA_CHECK(cudaDeviceSynchronize());
    sample_memory();
  }
  // The single-block networks' scratch (and order) in shared memory (CudaOptions::shared_scratch), for each
  // launch where it fits; the kernel's limit then set to the largest.
  void plan_shared_scratch(const DevicePlan& plan, int n_train) {
    int64_t limit = 0;
    for (size_t k = 0; k < single_launches_.size(); ++k) {
      const SingleBlockLaunch& launch = single_launches_[k];
      int64_t floats = 0;
      for (int i = launch.first; i < launch.first + launch.count; ++i) {
        const device::Net& net = plan.nets[size_t(plan.single_block_nets[size_t(i)])];
        floats = std::max(floats, device::train_scratch_floats(plan.layers.data() + net.first_layer, net.layers,
                                                               net.max_width, net.batch, true));
      }
      shared_scratch_[k] = device::plan_shared_scratch(floats, n_train, launch.count, launch.threads, terms());
      if (shared_scratch_[k].bytes == 0)
        std::fprintf(stderr,
                     "netsweep: the single-block networks' scratch (%lld KiB each, %d blocks of %d threads) does not "
                     "fit in shared memory in one wave; it stays in global memory\n",
                     static_cast<long long>(floats * 4 / 1024), launch.count, launch.threads);
      limit = std::max(limit, shared_scratch_[k].bytes);
    }
    if (!single_launches_.empty()) device::set_shared_scratch_limit(limit, terms());
  }
  // The stream of the k-th launch of single-block networks.
  cudaStream_t launch_stream(size_t k) const { return k == 0 ? stream_ : launch_streams_[k - 1]; }

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
    // Nothing may change the parameters before the frames and evaluations
    // already queued on stream_ have read them.
    NS_CUDA_CHECK(cudaEventRecord(params_read_, stream_));
    for (cudaStream_t s : training_streams_)
      if (s != stream_) NS_CUDA_CHECK(cudaStreamWaitEvent(s, params_read_, 0));
    // The multi-block groups first (their blocks must all become resident), the rest beside them.
    device::train_group(problem_, ptr<int32_t>(DeviceBuffer::group_block_net),
                        ptr<int32_t>(DeviceBuffer::group_block_rank), ptr<int32_t>(DeviceBuffer::group_blocks),
                        ptr<device::GroupBarrier>(DeviceBuffer::barriers), networks_, group_count_, epoch_end, terms(),
                        group_stream_);
    for (size_t k = 0; k < single_launches_.size(); ++k) {
      const SingleBlockLaunch& launch = single_launches_[k];
      device::train_until(problem_, ptr<int32_t>(DeviceBuffer::single_nets) + launch.first, launch.count,
                          launch.threads, epoch_end, shared_scratch_[k], terms(), launch_stream(k));
    }
    // Then the GEMM groups, each on its stream, an epoch of each group in turn.
    if (gemm_ops_)
      train_gemm_groups_until(*gemm_ops_, problem_, ptr<int32_t>(DeviceBuffer::gemm_members), gemm_groups_, epoch_end);
    for (size_t s = 0; s < training_streams_.size(); ++s)
      NS_CUDA_CHECK(cudaEventRecord(trained_[s], training_streams_[s]));
  }
  void wait_train() override {
    for (cudaEvent_t e : trained_) NS_CUDA_CHECK(cudaEventSynchronize(e));
    sample_memory();
  }

  void evaluate(EvalSet set, std::vector<float>* probs, std::vector<double>* loss_sum,
                std::vector<double>* correct) override {
    const TrainingProblem& p = *p_;
    if (set == EvalSet::grid) {  // the frames' path (big GEMMs over the whole grid), waited for
      start_frames(false);
      const auto* grid = static_cast<const float*>(frames());
      if (probs) probs->assign(grid, grid + frame_values_);
      return;
    }
    const bool train = set == EvalSet::train;
    const int count = train ? p.n_train : p.n_test;
    if (probs && int64_t(networks_) * count * p.outputs > frame_values_)
      throw CudaError("evaluate: per-point outputs of the train or test set do not fit the frames buffer");
    wait_for_training(stream_);
    device::evaluate(problem_, networks_, ptr<float>(train ? DeviceBuffer::train_x : DeviceBuffer::test_x),
                     ptr<float>(train ? DeviceBuffer::train_y : DeviceBuffer::test_y),
                     ptr<int32_t>(train ? DeviceBuffer::train_labels : DeviceBuffer::test_labels), count,
                     ptr<float>(DeviceBuffer::eval_scratch), slot_floats_, slots_,
                     probs ? ptr<float>(DeviceBuffer::frames) : nullptr, ptr<double>(DeviceBuffer::loss_sums),
                     ptr<double>(DeviceBuffer::correct_sums), stream_);
    NS_CUDA_CHECK(cudaStreamSynchronize(stream_));
    if (probs) {
      probs->resize(size_t(networks_) * size_t(count) * size_t(p.outputs));
      NS_CUDA_CHECK(cudaMemcpy(probs->data(), ptr<float>(DeviceBuffer::frames), probs->size() * sizeof(float),
                               cudaMemcpyDeviceToHost));
    }
    if (loss_sum || correct) {
      const int chunks = (count + device::kEvalChunk - 1) / device::kEvalChunk;
      std::vector<double> l(size_t(networks_) * size_t(chunks)), c(l.size());
      NS_CUDA_CHECK(cudaMemcpy(l.data(), ptr<double>(DeviceBuffer::loss_sums), l.size() * sizeof(double),
                               cudaMemcpyDeviceToHost));
      NS_CUDA_CHECK(cudaMemcpy(c.data(), ptr<double>(DeviceBuffer::correct_sums), c.size() * sizeof(double),
                               cudaMemcpyDeviceToHost));
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
    wait_for_training(stream_);
    float* frames = ptr<float>(DeviceBuffer::frames);
    evaluate_grid_gemm(p, *grid_ops_, ptr<float>(DeviceBuffer::params), ptr<float>(DeviceBuffer::grid_x), frames,
                       ptr<float>(DeviceBuffer::grid_a), ptr<float>(DeviceBuffer::grid_b));
    uint16_t* half_frames = ptr<uint16_t>(DeviceBuffer::half_frames);
    if (half) device::convert_to_half(frames, half_frames, frame_values_, stream_);
    NS_CUDA_CHECK(cudaEventRecord(frames_made_, stream_));
    NS_CUDA_CHECK(cudaStreamWaitEvent(copy_stream_, frames_made_, 0));
    const void* from = half ? static_cast<const void*>(half_frames) : frames;
    NS_CUDA_CHECK(cudaMemcpyAsync(host_frames_, from, size_t(frame_values_) * (half ? 2 : 4), cudaMemcpyDeviceToHost,
                                  copy_stream_));
  }
  const void* frames() override {
    NS_CUDA_CHECK(cudaStreamSynchronize(copy_stream_));
    return host_frames_;
  }

  void download_state(std::vector<device::Net>& nets, std::vector<float>& epoch_loss) override {
    wait_for_training(nullptr);
    buf(DeviceBuffer::nets).download(nets);
    buf(DeviceBuffer::epoch_loss).download(epoch_loss);
    mark_idle_gemm_groups(gemm_groups_, nets);
  }
  void neuron_maps(std::vector<float>& maps) override {
    const TrainingProblem& p = *p_;
    wait_for_training(stream_);
    float* device_maps = ptr<float>(DeviceBuffer::neuron_maps);
    evaluate_neuron_maps_gemm(p, *grid_ops_, ptr<float>(DeviceBuffer::params), ptr<float>(DeviceBuffer::neuron_grid_x),
                              device_maps);
    NS_CUDA_CHECK(cudaStreamSynchronize(stream_));
    buf(DeviceBuffer::neuron_maps).download(maps);
  }
  void download_params_only(std::vector<float>& params) override {
    wait_for_training(nullptr);
    buf(DeviceBuffer::params).download(params);
  }
  void download_params(std::vector<float>& params, std::vector<float>& state1, std::vector<float>& state2) override {
    wait_for_training(nullptr);
    buf(DeviceBuffer::params).download(params);
    buf(DeviceBuffer::state1).download(state1);
    buf(DeviceBuffer::state2).download(state2);
  }

 private:
  RawBuffer& buf(DeviceBuffer b) { return buffers_[size_t(b)]; }
  template <typename T>
  T* ptr(DeviceBuffer b) const {
    return buffers_[size_t(b)].as<T>();
  }
  // Work queued on `stream` (nullptr: the host, for downloads) starts after
  // every training stream has finished the segment started last.
  void wait_for_training(cudaStream_t stream) {
    for (cudaEvent_t e : trained_) {
      if (stream)
        NS_CUDA_CHECK(cudaStreamWaitEvent(stream, e, 0));
      else
        NS_CUDA_CHECK(cudaEventSynchronize(e));
    }
  }

  CudaOptions options_;
  int64_t bytes_in_use_ = 0, free_before_ = 0;
  int device_ = 0, sms_ = 1, networks_ = 0, slots_ = 1;
  int64_t slot_floats_ = 0, frame_values_ = 0;
  std::string name_;
  cudaStream_t stream_{}, group_stream_{}, copy_stream_{};
  cudaEvent_t frames_made_{}, params_read_{};
  std::vector<cudaStream_t> launch_streams_;    // owned: single-block launches after the first
  std::vector<cudaStream_t> training_streams_;  // stream_, group_stream_, launch_streams_, the GEMM streams
  std::vector<cudaEvent_t> trained_;            // per training stream: its last segment is done
  void* host_frames_ = nullptr;                 // pinned, (networks, grid points, outputs) floats or half bits
  int group_count_ = 0;
  std::vector<SingleBlockLaunch> single_launches_;     // the plan's, one block size each
  std::vector<device::SharedScratch> shared_scratch_;  // per launch
  const TrainingProblem* p_ = nullptr;
  device::Problem problem_{};
  std::array<RawBuffer, kDeviceBufferCount> buffers_;
  std::unique_ptr<device::CublasGridOps> grid_ops_;
  std::vector<GemmGroupPlan> gemm_groups_;  // where each group stands
  std::unique_ptr<device::CublasGemmOps> gemm_ops_;
};

}  // namespace

std::unique_ptr<DeviceExecutor> make_cuda_executor(const CudaOptions& options) {
  return std::make_unique<CudaExecutor>(options);
}

}  // namespace netsweep
