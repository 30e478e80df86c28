// The references `netsweep bench --by-width` measures beside each width class:
// a tuned SGEMM next to the CPU backend's own kernels on the same products,
// and the optimizer step next to the memory system's rate for its traffic.
// The SGEMM is
// OpenBLAS, loaded at run time (a bench-only dependency, so the trainer never
// needs it), driven the way the CPU backend drives its cores.
#pragma once

#include <cstdint>
#include <string>

namespace netsweep {

struct GemmReference {
  std::string library;    // e.g. "OpenBLAS 0.3.21 (SkylakeX kernels)"; empty: unavailable
  std::string error;      // why it is unavailable
  double gflops = 0;      // OpenBLAS, all threads together
  double own_gflops = 0;  // the CPU backend's product kernels, all threads together
};

// One layer's three products of a training step on `batch` samples: z = W x,
// dx = W^T dz and dW = dz x^T, with W (m, k). `threads` threads at once, each
// on its own operands (as the backend trains one network per core), by the
// backend's own kernels and by single-threaded OpenBLAS sgemm calls; the
// median of several trials of ~`trial_seconds` each.
GemmReference measure_layer_products(int m, int batch, int k, int threads, double trial_seconds = 0.1);

// The optimizer step alone (cpu::optimizer_pass: Adam over `parameters`
// parameters, in the step's blocks: the running CPU's gradient rows of the
// widest layer, `width`), `threads` at once, each on arrays of its
// own the size of a network's, so they stream from where a training step's
// do: GB/s of its traffic (24 bytes a parameter), and of the same traffic
// moved without Adam's arithmetic (the memory system's rate for it).
struct OptimizerRate {
  double gbytes = 0, stream_gbytes = 0;
};
OptimizerRate measure_optimizer(int64_t parameters, int width, int threads, double trial_seconds = 0.1);

}  // namespace netsweep
