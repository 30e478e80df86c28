// The tuned-SGEMM reference `netsweep bench --by-width` measures beside each
// width class, next to the CPU backend's own kernels on the same products:
// OpenBLAS, loaded at run time (a bench-only dependency, so the trainer never
// needs it), driven the way the CPU backend drives its cores.
#pragma once

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

}  // namespace netsweep
