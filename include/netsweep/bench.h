// `netsweep bench`: the same sweep on the CPU and on the GPU, timed side by side.
#pragma once

#include <string>
#include <vector>

#include "netsweep/cuda_backend.h"
#include "netsweep/dataset.h"
#include "netsweep/spec.h"

namespace netsweep {

// One device of a bench: the CPU, or the CUDA backend with its options.
struct BenchDevice {
  std::string label;  // as given, e.g. "cuda-gemm-tf32"
  bool cuda = false;
  CudaOptions options;
  int max_connections = 0;  // CUDA_DEVICE_MAX_CONNECTIONS of this variant; 0: netsweep's default (32)
};
// "cpu", "cuda", or "cuda-" with any of fused, gemm, auto, tf32, fp32, connN
// (N hardware work queues, 1..32), splitN (the auto path's GEMM width) and the
// flag words of bench.cpp's kFlagVariants (defaultmath, dot, merge, pershape,
// smem, prio, terms1, block256) joined by '-', over `defaults` (--gpu-path,
// --precision). Throws SpecError naming the word and listing the known ones.
BenchDevice parse_bench_device(const std::string& name, const CudaOptions& defaults);

struct BenchRow {
  std::string device, description, error;  // error: why the device could not run
  int networks = 0, epochs = 0;
  double seconds = 0, flops = 0;
  int64_t steps = 0, frames = 0, memory_bytes = 0;  // memory: measured on the device
};

// The CPU on one width class of the sweep (networks whose widest hidden layer
// is in [min_width, max_width]), trained alone, beside a tuned SGEMM on that
// class's hidden-layer product, (max_width x max_width) x (max_width x batch),
// and its optimizer step beside the memory system's rate for that traffic.
struct WidthClassRow {
  int min_width = 0, max_width = 0, networks = 0, epochs = 0, batch = 0;
  double seconds = 0, flops = 0;
  std::string reference, reference_error;  // the GEMM library, or why there is none
  double reference_gflops = 0;             // the library on the widest layer's three step products
  double products_gflops = 0;              // the backend's own kernels on the same products
  int64_t parameters = 0;                  // of the class's largest network
  double optimizer_gbytes = 0;             // the optimizer step alone over that many parameters
  double stream_gbytes = 0;                // the same traffic without the optimizer's arithmetic
};
struct BenchReport {
  std::vector<BenchRow> rows;
  std::vector<WidthClassRow> width_classes;  // with --by-width
  int threads = 0;
};

// Times the sweep on each device in order. Each CUDA variant runs in a child
// process of its own (a fresh CUDA context, its own work-queue setting, and
// device memory measured from a clean slate), so variants never disturb each
// other; the CPU runs in this process.
// With by_width, the CPU then trains each width class (widths up to 16,
// 17-64, 65-256, above 256) alone. Each row is said on stderr unless quiet.
BenchReport run_bench(const SweepSpec& spec, const Dataset& data, const std::vector<BenchDevice>& devices, int threads,
                      bool by_width = false, bool quiet = false);
// A table (speedups relative to the first device that ran), or JSON.
std::string format_bench(const BenchReport& report, bool json);

}  // namespace netsweep
