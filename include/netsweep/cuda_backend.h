// The CUDA backend's entry point. Always declared; without CUDA in the build
// (or without a device) it returns nullptr and says why.
#pragma once

#include <memory>
#include <string>

#include "netsweep/backend.h"
#include "netsweep/device_schedule.h"

namespace netsweep {

struct CudaDeviceInfo {
  int count = 0;
  std::string name;  // of device 0
  int64_t memory_bytes = 0;
  int compute_capability = 0;  // e.g. 90
  std::string error;           // why count is 0, if it is
};

// How the CUDA backend trains: per-network path, and the GEMMs' precision
// (tf32 uses tensor cores and is not bit-comparable with the CPU).
struct CudaOptions {
  TrainPath path = TrainPath::automatic;
  bool tf32 = false;
  // FP32 GEMMs in cuBLAS's pedantic math mode (prescribed precision and
  // standardized arithmetic in every phase; cuBLAS says it may be slower).
  // false: its default mode, for a bench A/B: at least FP32's bits in compute
  // and intermediates, with cuBLAS free to choose other kernels.
  bool pedantic = true;
  // On the automatic path: networks with a layer at least this wide take the
  // GEMM path (a bench variant moves it, to measure the crossover in a sweep).
  int gemm_min_width = kGemmMinWidth;
  // The GEMM groups' streams at CUDA priorities by depth, the deepest (the
  // longest chains of small launches) first; a bench variant, to measure.
  bool stream_priorities = false;
  // The GEMM path's forward and delta products as netsweep's own ops, fused
  // with the bias, activation and derivative (GemmOps::own_products), rather
  // than cuBLAS GEMMs; a bench variant (cuda-gemm-dot), to measure.
  bool own_products = false;
  // GEMM groups of every width of one depth (plan_device's merge_depths):
  // one stream, graph and chain of launches a depth rather than a shape; a
  // bench variant (cuda-merge), to measure. Their GEMMs are one cuBLAS
  // grouped-batched call per layer and pass, or with per_shape_gemms one
  // batched call per shape (cuda-merge-pershape), to compare the two.
  bool merge_depths = false;
  bool per_shape_gemms = false;
  // The fused path's single-block networks keep their activations, deltas
  // and transposed inputs in shared memory rather than global memory, where
  // the largest one's fits a block and every such block can be resident at
  // once; a bench variant (cuda-smem), to measure.
  bool shared_scratch = false;
  // The fused path's training sums load device::kTerms terms before their
  // products (device_train.h's accumulate); false: one term at a time, the
  // training loops as the second GPU session measured them (a bench variant,
  // cuda-terms1; frames and the GEMM path's own products keep the chunks).
  bool chunked_sums = true;
  // The fused path's single-block networks in blocks fitted to their width
  // (plan_device's fitted_blocks: a warp for a 1 x 2 network, 256 threads
  // from width 32), a launch and stream per block size; false: every one in
  // a block of kBlockThreads, as the second GPU session measured (cuda-block256).
  bool fitted_blocks = true;
};
bool parse_precision_tf32(const std::string& name);  // "fp32" or "tf32"; throws SpecError
std::string describe(const CudaOptions& options);

bool cuda_compiled_in();
CudaDeviceInfo cuda_device_info();  // count 0 with error set when unavailable
std::unique_ptr<Backend> make_cuda_backend(std::string& why_not, const CudaOptions& options = {});

// The CUDA executor of the device schedule (only in builds with CUDA).
std::unique_ptr<DeviceExecutor> make_cuda_executor(const CudaOptions& options);

}  // namespace netsweep
