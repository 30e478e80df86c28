// Training and evaluation kernels: one thread block per network (training),
// blocks looping over (network, chunk) items (evaluation). The algorithm is
// device_train.h, shared with the host emulation that CI runs.
// Kernels first, then launchers; every launch is followed by an error check.
#include "kernels/train.cuh"
#include "netsweep/cuda_check.h"
#include "netsweep/device_train.h"

namespace netsweep::device {

struct CudaBlock {
  __device__ int tid() const { return int(threadIdx.x); }
  __device__ int size() const { return int(blockDim.x); }
  __device__ void sync() const { __syncthreads(); }
};

// ----------------------------------------------------------------- kernels

// grid: (networks), block: kBlockThreads
__global__ void __launch_bounds__(kBlockThreads) train_until_kernel(Problem problem, int epoch_end) {
  CudaBlock block;
  train_until(block, problem, int(blockIdx.x), epoch_end);
}

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

void train_until(const Problem& problem, int networks, int epoch_end, cudaStream_t stream) {
  train_until_kernel<<<networks, kBlockThreads, 0, stream>>>(problem, epoch_end);
  NS_CUDA_CHECK_LAUNCH();
}

void evaluate(const Problem& problem, int networks, const float* points, const float* targets, const int32_t* labels,
              int count, float* slot_scratch, int64_t slot_floats, int slots, float* probs, double* loss_sums,
              double* correct_sums, cudaStream_t stream) {
  evaluate_kernel<<<slots, kBlockThreads, 0, stream>>>(problem, networks, points, targets, labels, count, slot_scratch,
                                                       slot_floats, probs, loss_sums, correct_sums);
  NS_CUDA_CHECK_LAUNCH();
}

}  // namespace netsweep::device
