// Selects the CUDA backend when the build has CUDA and a device is present.
#include "netsweep/cuda_backend.h"

#include "netsweep/device_schedule.h"

namespace netsweep {

bool parse_precision_tf32(const std::string& name) {
  if (name == "fp32") return false;
  if (name == "tf32") return true;
  throw SpecError("--precision '" + name + "': expected fp32 or tf32");
}

std::string describe(const CudaOptions& options) {
  const char* precision = options.tf32 ? "tf32" : options.pedantic ? "fp32" : "fp32, cuBLAS default math";
  std::string path = std::string(to_string(options.path)) + " path";
  if (options.path == TrainPath::automatic && options.gemm_min_width != kGemmMinWidth)
    path += ", GEMM from width " + std::to_string(options.gemm_min_width);
  if (options.stream_priorities) path += ", GEMM streams by depth";
  if (options.own_products) path += ", own forward and delta products";
  if (options.shared_scratch) path += ", fused scratch in shared memory";
  if (!options.chunked_sums) path += ", fused sums a term at a time";
  if (!options.fitted_blocks) path += ", fused blocks of 256 threads";
  if (options.merge_depths)
    path += options.per_shape_gemms ? ", GEMM groups by depth (a call per shape)" : ", GEMM groups by depth";
  return std::string(precision) + ", " + path;
}

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
// Every network of the sweep at once: narrow ones in fused blocks
// (device_train.h), wide ones in GEMM groups (gemm_train.h), driven frame to
// frame by the device schedule.
class CudaBackend : public Backend {
 public:
  CudaBackend(const CudaDeviceInfo& info, const CudaOptions& options) : info_(info), options_(options) {}
  std::string device_description() const override { return "cuda: " + info_.name + " (" + describe(options_) + ")"; }
  bool train(const TrainingProblem& problem, std::vector<float>& params, std::vector<NetworkResult>& results,
             FrameSink& frames, Progress& progress, const TrainControl& control) override {
    auto executor = make_cuda_executor(options_);
    const bool done = run_device_schedule(problem, *executor, params, results, frames, progress, control);
    device_bytes_ = executor->device_bytes_in_use();
    return done;
  }
  int64_t device_bytes_used() const override { return device_bytes_; }

 private:
  CudaDeviceInfo info_;
  CudaOptions options_;
  int64_t device_bytes_ = 0;
};
}  // namespace
#endif

std::unique_ptr<Backend> make_cuda_backend(std::string& why_not, const CudaOptions& options) {
  const CudaDeviceInfo info = cuda_device_info();
  if (info.count == 0) {
    why_not = info.error;
    return nullptr;
  }
#ifdef NETSWEEP_WITH_CUDA
  return std::make_unique<CudaBackend>(info, options);
#else
  (void)options;
  why_not = info.error;
  return nullptr;
#endif
}

}  // namespace netsweep
