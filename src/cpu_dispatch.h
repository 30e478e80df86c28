// The CPU backend's vector code, chosen when it runs: a portable build (the
// default) compiles each hot entry point for AVX-512 (x86-64-v4), AVX2 + FMA
// (x86-64-v3) and baseline x86-64, and the best the CPU has is used (GCC
// function multi-versioning: target_clones with an ifunc resolver, or
// versions written per target and picked with __builtin_cpu_supports).
// `flatten` inlines everything an entry point calls, so the whole step is
// compiled for the chosen instruction set. A -DNETSWEEP_NATIVE=ON build uses
// -march=native and no clones; other compilers and CPUs get one version.
#pragma once

#include <cstdint>

#if defined(NETSWEEP_CPU_DISPATCH) && defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define NETSWEEP_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"), flatten))
// Versions written out per target where each needs its own template
// arguments; the caller picks one with __builtin_cpu_supports. flatten is
// what makes them fast: a callee left out of line runs at the baseline
// target and passes the 512-bit vector types through memory (measured ~15x
// slower without it, and with a tune= added, which also stops inlining).
#define NETSWEEP_TARGET_AVX512 __attribute__((target("arch=x86-64-v4"), flatten))
#define NETSWEEP_TARGET_AVX2 __attribute__((target("arch=x86-64-v3"), flatten))
#define NETSWEEP_TARGET_BASELINE __attribute__((flatten))
#define NETSWEEP_HAS_VECTOR_CLONES 1
#else
#define NETSWEEP_VECTOR_CLONES
#define NETSWEEP_HAS_VECTOR_CLONES 0
#endif

namespace netsweep::cpu {

// The vector code this process runs: "AVX-512", "AVX2" or "x86-64" (clones),
// or "native" / "generic" for a build without clones.
const char* vector_code();

// One layer's three products of a training step, run by the backend's own
// kernels in the vector code it chose (for `netsweep bench --by-width`):
// z = W x, dx = W^T dz and dW = dz x^T, with W and dW (m, k), x and dx
// (k, n), x_t (n, padded(k)) = x transposed, z and dz (m, n); n = the batch
// padded to a multiple of 16, of which dW sums the first `count` columns.
struct LayerProducts {
  const float *w, *x, *x_t, *dz;
  float *z, *dx, *dw;
  int m, n, k, count;
};
void layer_products(const LayerProducts& p);

// The optimizer step alone (Adam, Keras's defaults, the step's own loop) over
// `count` parameters, a block at a time with the block's gradient in one small
// buffer, as the step runs it: reads params, m and v and writes next, m and v
// (24 bytes a parameter). `stream`: the same loads and stores with an addition
// in place of Adam's arithmetic, the memory system's rate for that traffic.
struct OptimizerPass {
  const float* params;  // (count,)
  const float* grad;    // (block,)
  float *m, *v, *next;  // (count,)
  int64_t count;
  int block;
  bool stream;
};
void optimizer_pass(const OptimizerPass& p);
// Rows of weight gradient the step hands the optimizer at a time on the running
// CPU (times the layer's width): its register tile's rows (12 with AVX-512, 6 with AVX2).
int gradient_block_rows();
// n rounded up to whole vectors of samples: padded(n) of cpu_gemm.h.
int padded_columns(int n);

}  // namespace netsweep::cpu
