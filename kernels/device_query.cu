// Device discovery for --device auto/cuda. The training kernels join this
// directory with the GPU backend.
#include <cuda_runtime.h>

#include <cstdlib>

#include "netsweep/cuda_backend.h"
#include "netsweep/cuda_check.h"

namespace netsweep {

bool cuda_compiled_in() { return true; }

CudaDeviceInfo cuda_device_info() {
  // Before the first CUDA call creates the context: let up to 32 streams (the
  // GEMM groups') reach the hardware as separate queues instead of the default
  // 8, which would serialize groups that share a queue. A value the user set wins.
  setenv("CUDA_DEVICE_MAX_CONNECTIONS", "32", 0);
  CudaDeviceInfo info;
  const cudaError_t status = cudaGetDeviceCount(&info.count);
  if (status != cudaSuccess) {
    info.count = 0;
    info.error = status == cudaErrorInsufficientDriver || status == cudaErrorNoDevice
                     ? std::string("no CUDA device (no NVIDIA GPU or driver found, or the driver is older than CUDA ") +
                           std::to_string(CUDART_VERSION / 1000) + "." + std::to_string(CUDART_VERSION % 1000 / 10) +
                           ")"
                     : std::string("no usable CUDA device (") + cudaGetErrorString(status) + ")";
    cudaGetLastError();  // clear the sticky error for later calls
    return info;
  }
  if (info.count == 0) {
    info.error = "no CUDA device found";
    return info;
  }
  cudaDeviceProp prop{};
  NS_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  info.name = prop.name;
  info.memory_bytes = int64_t(prop.totalGlobalMem);
  info.compute_capability = prop.major * 10 + prop.minor;
  return info;
}

}  // namespace netsweep
