// A CUDA thread block as the device algorithms' Block concept (device_train.h):
// thread ids, size and barrier (CUDA translation units only).
#pragma once

namespace netsweep::device {

struct CudaBlock {
  __device__ int tid() const { return int(threadIdx.x); }
  __device__ int size() const { return int(blockDim.x); }
  __device__ void sync() const { __syncthreads(); }
};

}  // namespace netsweep::device
