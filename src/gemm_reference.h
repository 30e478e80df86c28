// The tuned-SGEMM reference `netsweep bench --by-width` measures beside each
// width class: OpenBLAS, loaded at run time (a bench-only dependency, so the
// trainer never needs it), driven the way the CPU backend drives its cores.
#pragma once

#include <string>

namespace netsweep {

struct GemmReference {
  std::string library;  // e.g. "OpenBLAS 0.3.21 (SkylakeX kernels)"; empty: unavailable
  std::string error;    // why it is unavailable
  double gflops = 0;    // all threads together
};

// `threads` single-threaded sgemm calls at once, each C(m, n) = A(m, k) B(k, n)
// on its own matrices (as the backend trains one network per core); the
// median of several trials of ~`trial_seconds` each.
GemmReference measure_sgemm(int m, int n, int k, int threads, double trial_seconds = 0.1);

}  // namespace netsweep
