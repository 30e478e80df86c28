// Selects the CUDA backend when the build has CUDA and a device is present.
#include "netsweep/cuda_backend.h"

namespace netsweep {

#ifndef NETSWEEP_WITH_CUDA
bool cuda_compiled_in() { return false; }
CudaDeviceInfo cuda_device_info() {
  CudaDeviceInfo info;
  info.error = "this netsweep was built without CUDA (reconfigure with -DNETSWEEP_CUDA=ON where nvcc is installed)";
  return info;
}
#endif

std::unique_ptr<Backend> make_cuda_backend(std::string& why_not) {
  const CudaDeviceInfo info = cuda_device_info();
  if (info.count == 0) {
    why_not = info.error;
    return nullptr;
  }
  // The batched-GEMM training backend is the next milestone (the GPU issue);
  // until it lands a GPU is detected but not used.
  why_not = "a CUDA device is present (" + info.name + ") but the GPU training backend is not in this build yet";
  return nullptr;
}

}  // namespace netsweep
