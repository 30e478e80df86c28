#include "gemm_reference.h"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "aligned_vector.h"
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

namespace {

// One thread's operands for a layer's three products (see LayerProducts).
struct Operands {
  std::vector<float> w, x, x_t, dz, z, dx, dw;
  Operands(int m, int n, int k) {
    w.assign(size_t(m) * size_t(k), 0.5f);
    x.assign(size_t(k) * size_t(n), 0.25f);
    x_t.assign(size_t(n) * size_t(cpu::padded_columns(k)), 0.25f);
    dz.assign(size_t(m) * size_t(n), 0.125f);
    z.assign(size_t(m) * size_t(n), 0.f);
    dx.assign(size_t(k) * size_t(n), 0.f);
    dw.assign(size_t(m) * size_t(k), 0.f);
  }
};

// Giga-units of work per second of call(operands) (`work_per_call` units each:
// FLOPs, bytes) on `threads` threads at once, each on its own operands: the
// median of five trials of ~trial_seconds.
template <typename Ops, typename Call>
double rate(std::vector<Ops>& ops, double work_per_call, double trial_seconds, Call&& call) {
  const int threads = int(ops.size());
  for (auto& o : ops) call(o);  // warm-up (caches, OpenBLAS's buffers)
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
    rates.push_back(work_per_call * calls * threads / seconds / 1e9);
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

}  // namespace

GemmReference measure_layer_products(int m, int batch, int k, int threads, double trial_seconds) {
  GemmReference r;
  const int n = cpu::padded_columns(batch);  // the backend's columns: the batch padded to whole vectors
  std::vector<Operands> ops(size_t(std::max(1, threads)), Operands(m, n, k));
  const double flops = 3 * 2.0 * m * double(batch) * k;  // the useful work: three products on `batch` samples
  r.own_gflops = rate(ops, flops, trial_seconds, [&](Operands& o) {
    cpu::layer_products(
        {o.w.data(), o.x.data(), o.x_t.data(), o.dz.data(), o.z.data(), o.dx.data(), o.dw.data(), m, n, k, batch});
  });
  const OpenBlas& blas = open_blas();
  if (!blas.sgemm) {
    r.error = blas.error;
    return r;
  }
  r.library = blas.description;
  // CBLAS enums: RowMajor 101, NoTrans 111, Trans 112. OpenBLAS works on the `batch` columns alone.
  r.gflops = rate(ops, flops, trial_seconds, [&](Operands& o) {
    blas.sgemm(101, 111, 111, m, batch, k, 1.0f, o.w.data(), k, o.x.data(), n, 0.0f, o.z.data(), n);
    blas.sgemm(101, 112, 111, k, batch, m, 1.0f, o.w.data(), k, o.dz.data(), n, 0.0f, o.dx.data(), n);
    blas.sgemm(101, 111, 112, m, k, batch, 1.0f, o.dz.data(), n, o.x.data(), n, 0.0f, o.dw.data(), k);
  });
  return r;
}

OptimizerRate measure_optimizer(int64_t parameters, int width, int threads, double trial_seconds) {
  const int block = cpu::gradient_block_rows() * width;
  // One thread's: a network's parameters, moments and next parameters, and one block of gradient,
  // each on cache lines as the trainer's buffers are.
  struct State {
    cpu::aligned_vector<float> params, m, v, next, grad;
    State(int64_t n, int block)
        : params(size_t(n), 0.5f), m(size_t(n), 0.f), v(size_t(n), 0.f), next(size_t(n)), grad(size_t(block), 0.01f) {}
  };
  std::vector<State> states;
  for (int t = 0; t < std::max(1, threads); ++t) states.emplace_back(parameters, block);
  const double bytes = 24.0 * double(parameters);
  auto pass = [&](bool stream) {
    return [&, stream](State& s) {
      cpu::optimizer_pass(
          {s.params.data(), s.grad.data(), s.m.data(), s.v.data(), s.next.data(), parameters, block, stream});
    };
  };
  OptimizerRate r;
  r.gbytes = rate(states, bytes, trial_seconds, pass(false));
  r.stream_gbytes = rate(states, bytes, trial_seconds, pass(true));
  return r;
}

}  // namespace netsweep
