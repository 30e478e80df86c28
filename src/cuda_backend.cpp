// Selects the CUDA backend when the build has CUDA and a device is present.
#include "netsweep/cuda_backend.h"

#include "netsweep/device_schedule.h"

namespace netsweep {

#ifndef NETSWEEP_WITH_CUDA
bool cuda_compiled_in() { return false; }
CudaDeviceInfo cuda_device_info() {
  CudaDeviceInfo info;
  info.error = "this netsweep was built without CUDA (reconfigure with -DNETSWEEP_CUDA=ON where nvcc is installed)";
  return info;
}
#endif

#ifdef NETSWEEP_WITH_CUDA
namespace {
// Every network of the sweep at once: one thread block per network
// (device_train.h), driven frame to frame by the device schedule.
class CudaBackend : public Backend {
 public:
  explicit CudaBackend(const CudaDeviceInfo& info) : info_(info) {}
  std::string device_description() const override { return "cuda: " + info_.name; }
  bool train(const TrainingProblem& problem, std::vector<float>& params, std::vector<NetworkResult>& results,
             FrameSink& frames, Progress& progress, const TrainControl& control) override {
    auto executor = make_cuda_executor();
    return run_device_schedule(problem, *executor, params, results, frames, progress, control);
  }

 private:
  CudaDeviceInfo info_;
};
}  // namespace
#endif

std::unique_ptr<Backend> make_cuda_backend(std::string& why_not) {
  const CudaDeviceInfo info = cuda_device_info();
  if (info.count == 0) {
    why_not = info.error;
    return nullptr;
  }
#ifdef NETSWEEP_WITH_CUDA
  return std::make_unique<CudaBackend>(info);
#else
  why_not = info.error;
  return nullptr;
#endif
}

}  // namespace netsweep
