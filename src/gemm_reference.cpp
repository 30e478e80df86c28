#include "gemm_reference.h"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "cpu_dispatch.h"

namespace netsweep {
namespace {

// cblas_sgemm with CBLAS's enums as ints (RowMajor = 101, NoTrans = 111).
using SgemmFn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
using CorenameFn = char* (*)();
using ConfigFn = char* (*)();

struct OpenBlas {
  SgemmFn sgemm = nullptr;
  std::string description, error;
};

const OpenBlas& open_blas() {
  static const OpenBlas blas = [] {
    OpenBlas b;
    // Both are read when the library loads. One thread per call: the bench
    // runs one call per core itself. Kernels for the instruction set the
    // backend found, unless the user chose: OpenBLAS's own detection takes
    // some virtual machines' CPUs for a 2004 Pentium 4 ("Prescott").
    setenv("OPENBLAS_NUM_THREADS", "1", 0);
    // vector_code() asks the CPU as the backend's resolver does; a native
    // build (-march=native everywhere) knows its level when compiled; a build
    // without clones (clang: the fuzz and sanitizer trees) leaves it to OpenBLAS.
    const std::string level = cpu::vector_code();
    bool avx512 = level == "AVX-512", avx2 = avx512 || level == "AVX2";
#if defined(__AVX512F__)
    if (level == "native") avx512 = avx2 = true;
#elif defined(__AVX2__)
    if (level == "native") avx2 = true;
#endif
    if (avx512)
      setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
    else if (avx2)
      setenv("OPENBLAS_CORETYPE", "Haswell", 0);
    void* lib = nullptr;
    for (const char* name : {"libopenblas.so.0", "libopenblas.so"})
      if ((lib = dlopen(name, RTLD_NOW | RTLD_LOCAL))) break;
    if (!lib) {
      b.error = "OpenBLAS not found (Debian: libopenblas0)";
      return b;
    }
    b.sgemm = reinterpret_cast<SgemmFn>(dlsym(lib, "cblas_sgemm"));
    if (!b.sgemm) {
      b.error = "OpenBLAS has no cblas_sgemm";
      return b;
    }
    const auto config = reinterpret_cast<ConfigFn>(dlsym(lib, "openblas_get_config"));
    const auto corename = reinterpret_cast<CorenameFn>(dlsym(lib, "openblas_get_corename"));
    std::string version = config ? config() : "OpenBLAS";
    version = version.substr(0, version.find(' ', version.find(' ') + 1));  // "OpenBLAS 0.3.21"
    b.description = version + (corename ? std::string(" (") + corename() + " kernels)" : "");
    return b;
  }();
  return blas;
}

}  // namespace

GemmReference measure_sgemm(int m, int n, int k, int threads, double trial_seconds) {
  GemmReference r;
  const OpenBlas& blas = open_blas();
  if (!blas.sgemm) {
    r.error = blas.error;
    return r;
  }
  r.library = blas.description;
  threads = std::max(1, threads);
  struct Operands {
    std::vector<float> a, b, c;
  };
  std::vector<Operands> ops(static_cast<size_t>(threads));
  for (auto& o : ops) {
    o.a.assign(size_t(m) * size_t(k), 0.5f);
    o.b.assign(size_t(k) * size_t(n), 0.25f);
    o.c.assign(size_t(m) * size_t(n), 0.0f);
  }
  auto call = [&](Operands& o) {
    blas.sgemm(101, 111, 111, m, n, k, 1.0f, o.a.data(), k, o.b.data(), n, 0.0f, o.c.data(), n);
  };
  // Calls per thread per trial, from one call's time.
  for (auto& o : ops) call(o);  // warm-up (OpenBLAS's buffers)
  const auto t0 = std::chrono::steady_clock::now();
  call(ops[0]);
  const double one = std::max(1e-7, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  const int calls = std::max(1, int(trial_seconds / one));
  std::vector<double> rates;
  for (int trial = 0; trial < 5; ++trial) {
    std::atomic<int> ready{0};
    std::vector<std::thread> pool;
    const auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        ready.fetch_add(1);
        while (ready.load() < threads) std::this_thread::yield();
        for (int c = 0; c < calls; ++c) call(ops[size_t(t)]);
      });
    for (auto& p : pool) p.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rates.push_back(2.0 * m * n * double(k) * calls * threads / seconds / 1e9);
  }
  std::sort(rates.begin(), rates.end());
  r.gflops = rates[rates.size() / 2];
  return r;
}

}  // namespace netsweep
