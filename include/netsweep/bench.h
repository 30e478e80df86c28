// `netsweep bench`: the same sweep on the CPU and on the GPU, timed side by side.
#pragma once

#include <string>
#include <vector>

#include "netsweep/dataset.h"
#include "netsweep/run.h"
#include "netsweep/spec.h"

namespace netsweep {

struct BenchRow {
  std::string device, description, error;  // error: why the device could not run
  int networks = 0, epochs = 0;
  double seconds = 0, flops = 0;
  int64_t steps = 0, frames = 0, memory_bytes = 0;  // memory: measured on the device
};

// devices: "cpu", "cuda", or "cuda-" with any of fused, gemm, auto, tf32,
// fp32 joined by '-', overriding options.gpu_path and options.precision.
std::vector<BenchRow> run_bench(const SweepSpec& spec, const Dataset& data, const std::vector<std::string>& devices,
                                const RunOptions& options);
// A table (speedups relative to the first device), or JSON.
std::string format_bench(const std::vector<BenchRow>& rows, bool json);

}  // namespace netsweep
