// Training and evaluation kernels: one thread block per network (training),
// blocks looping over (network, chunk) items (evaluation). The algorithm is
// device_train.h, shared with the host emulation that CI runs.
// Kernels first, then launchers; every launch is followed by an error check.
#include <cuda/atomic>

#include "cuda_block.cuh"
#include "netsweep/cuda_check.h"
#include "netsweep/device_eval.h"
#include "train.cuh"

namespace netsweep::device {

// Several blocks training one network: thread ids run over the group, and
// sync() is a barrier across its blocks (all resident: cooperative launch).
struct CudaGroup {
  int rank, blocks;
  GroupBarrier* barrier;
  __device__ int tid() const { return rank * int(blockDim.x) + int(threadIdx.x); }
  __device__ int size() const { return blocks * int(blockDim.x); }
  __device__ void sync() const {
    __syncthreads();  // this block's writes happen before thread 0's release below
    if (threadIdx.x == 0) {
      cuda::atomic_ref<unsigned int, cuda::thread_scope_device> arrived(barrier->arrived);
      cuda::atomic_ref<unsigned int, cuda::thread_scope_device> generation(barrier->generation);
      const unsigned int g = generation.load(cuda::memory_order_relaxed);
      if (arrived.fetch_add(1u, cuda::memory_order_acq_rel) == unsigned(blocks) - 1u) {
        arrived.store(0u, cuda::memory_order_relaxed);
        generation.fetch_add(1u, cuda::memory_order_release);
      } else {
        while (generation.load(cuda::memory_order_acquire) == g) __nanosleep(20);
      }
    }
    __syncthreads();
  }
};

// The device buffer list (device_schedule.h) sizes the barriers as two unsigned ints.
static_assert(sizeof(GroupBarrier) == 2 * sizeof(unsigned int), "GroupBarrier layout");

// ----------------------------------------------------------------- kernels

// Both training kernels come with sums of Terms terms a load (device_train.h's
// accumulate): kTerms, or 1 (one term a step, the loops as before, a bench variant).

// grid: (single-block networks), block: up to kBlockThreads; dynamic shared memory
// as `shared` lays it out: each block's activations, deltas and transposed
// inputs (the largest network's train_scratch_floats), then the epoch's order.
template <int Terms>
__global__ void __launch_bounds__(kBlockThreads)
    train_until_kernel(Problem problem, const int32_t* networks, int epoch_end, SharedScratch shared) {
  extern __shared__ float scratch[];  // (train_scratch_floats), then (n_train) int32 from shared.order_at
  CudaBlock block;
  int32_t* order = shared.order_at >= 0 ? reinterpret_cast<int32_t*>(scratch + shared.order_at) : nullptr;
  train_until<Terms>(block, problem, networks[blockIdx.x], epoch_end, shared.bytes > 0 ? scratch : nullptr, order);
}

// grid: (blocks of all multi-block networks), block: kBlockThreads; launched cooperatively
template <int Terms>
__global__ void __launch_bounds__(kBlockThreads)
    train_group_kernel(Problem problem, const int32_t* block_net, const int32_t* block_rank,
                       const int32_t* group_blocks, GroupBarrier* barriers, int epoch_end) {
  const int net = block_net[blockIdx.x];
  CudaGroup group{block_rank[blockIdx.x], group_blocks[net], barriers + net};
  train_until<Terms>(group, problem, net, epoch_end);
}

using TrainUntilKernel = void (*)(Problem, const int32_t*, int, SharedScratch);
using TrainGroupKernel = void (*)(Problem, const int32_t*, const int32_t*, const int32_t*, GroupBarrier*, int);
TrainUntilKernel until_kernel(int terms) { return terms == 1 ? train_until_kernel<1> : train_until_kernel<kTerms>; }
TrainGroupKernel group_kernel(int terms) { return terms == 1 ? train_group_kernel<1> : train_group_kernel<kTerms>; }

// grid: (slots), block: kBlockThreads; item = network * chunks + chunk
__global__ void __launch_bounds__(kBlockThreads)
    evaluate_kernel(Problem problem, int networks, const float* points, const float* targets, const int32_t* labels,
                    int count, float* slot_scratch, int64_t slot_floats,
                    float* probs,          // (networks, count, outputs) or null
                    double* loss_sums,     // (networks, chunks) or null
                    double* correct_sums)  // (networks, chunks) or null
{
  CudaBlock block;
  const int chunks = (count + kEvalChunk - 1) / kEvalChunk;
  float* scratch = slot_scratch + int64_t(blockIdx.x) * slot_floats;
  for (int item = int(blockIdx.x); item < networks * chunks; item += int(gridDim.x)) {
    const int net = item / chunks, chunk = item % chunks;
    const int first = chunk * kEvalChunk;
    const int n = min(kEvalChunk, count - first);
    double loss = 0, correct = 0;
    evaluate_chunk(block, problem, net, points, targets, labels, first, n, scratch,
                   probs ? probs + (int64_t(net) * count + first) * problem.outputs : nullptr, &loss, &correct);
    if (threadIdx.x == 0 && loss_sums) {
      loss_sums[item] = loss;
      correct_sums[item] = correct;
    }
  }
}

// --------------------------------------------------------------- launchers

void train_until(const Problem& problem, const int32_t* networks, int count, int threads, int epoch_end,
                 const SharedScratch& shared, int terms, cudaStream_t stream) {
  if (count == 0) return;
  until_kernel(terms)<<<count, threads, size_t(shared.bytes), stream>>>(problem, networks, epoch_end, shared);
  NS_CUDA_CHECK_LAUNCH();
}

void set_shared_scratch_limit(int64_t bytes, int terms) {
  NS_CUDA_CHECK(cudaFuncSetAttribute(until_kernel(terms), cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
}

SharedScratch plan_shared_scratch(int64_t floats, int n_train, int networks, int threads, int terms) {
  int device = 0, optin = 0, sms = 0;
  NS_CUDA_CHECK(cudaGetDevice(&device));
  NS_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  NS_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  // Every block resident at once with `bytes` each (the limit is set first: the occupancy query reads it).
  auto one_wave = [&](int64_t bytes) {
    if (floats <= 0 || bytes > optin) return false;
    set_shared_scratch_limit(bytes, terms);
    int per_sm = 0;
    NS_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, until_kernel(terms), threads, size_t(bytes)));
    return int64_t(per_sm) * sms >= networks;
  };
  const int64_t scratch_bytes = floats * int64_t(sizeof(float));
  const int64_t with_order = scratch_bytes + int64_t(n_train) * int64_t(sizeof(int32_t));
  if (one_wave(with_order)) return {with_order, floats};
  if (one_wave(scratch_bytes)) return {scratch_bytes, -1};
  return {};
}

void train_group(const Problem& problem, const int32_t* block_net, const int32_t* block_rank,
                 const int32_t* group_blocks, GroupBarrier* barriers, int networks, int blocks, int epoch_end,
                 int terms, cudaStream_t stream) {
  if (blocks == 0) return;
  NS_CUDA_CHECK(cudaMemsetAsync(barriers, 0, sizeof(GroupBarrier) * size_t(networks), stream));
  void* args[] = {const_cast<Problem*>(&problem), &block_net, &block_rank, &group_blocks, &barriers, &epoch_end};
  NS_CUDA_CHECK(cudaLaunchCooperativeKernel(reinterpret_cast<void*>(group_kernel(terms)), dim3(unsigned(blocks)),
                                            dim3(kBlockThreads), args, 0, stream));
}

int resident_train_blocks(int terms) {
  int device = 0, sms = 0, per_sm = 0;
  NS_CUDA_CHECK(cudaGetDevice(&device));
  NS_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  NS_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, group_kernel(terms), kBlockThreads, 0));
  return sms * per_sm;
}

void evaluate(const Problem& problem, int networks, const float* points, const float* targets, const int32_t* labels,
              int count, float* slot_scratch, int64_t slot_floats, int slots, float* probs, double* loss_sums,
              double* correct_sums, cudaStream_t stream) {
  evaluate_kernel<<<slots, kBlockThreads, 0, stream>>>(problem, networks, points, targets, labels, count, slot_scratch,
                                                       slot_floats, probs, loss_sums, correct_sums);
  NS_CUDA_CHECK_LAUNCH();
}

}  // namespace netsweep::device
