// Block algorithms around a step's arithmetic: the fused path's parameter
// update and copy (device_train.h), and the epoch's order and the
// non-finite flag, which the GEMM path (gemm_train.h) uses too. The Block
// concept is device_train.h's; the update rules are training_rules.h's and
// the order's formula random.h's.
#pragma once

#include <cstdint>

#include "netsweep/common.h"
#include "netsweep/random.h"
#include "netsweep/training_rules.h"

namespace netsweep::device {

// Sets *flag to 1 from any thread (device atomics; GCC/Clang builtins on the host).
NS_HD void raise_flag(int* flag) {
#if defined(__CUDA_ARCH__)
  atomicOr(flag, 1);
#else
  __atomic_fetch_or(flag, 1, __ATOMIC_RELAXED);
#endif
}

// Parameters per thread whose loads are issued before any of their stores:
// the compiler must assume a store may change what the next element loads,
// so a loop storing each element before loading the next would wait one
// memory round trip per element.
constexpr int kUpdateChunk = 4;

// The optimizer update of parameters [first, end) (weights, penalized, below
// weights_end; biases after) into `next`, the state in place; raises
// *nonfinite if a new parameter is not finite.
template <typename Block>
NS_HD void update_range(Block& blk, const OptimizerConfig& opt, float step_size, int64_t first, int64_t weights_end,
                        int64_t end, const float* params, float* state1, float* state2, const float* grad, float* next,
                        int* nonfinite) {
  const bool penalized = opt.l1 != 0.0 || opt.l2 != 0.0;
  const int64_t stride = blk.size();
  for (int64_t k0 = first + blk.tid(); k0 < end; k0 += kUpdateChunk * stride) {
    float g[kUpdateChunk], p[kUpdateChunk], s1[kUpdateChunk], s2[kUpdateChunk];
    for (int j = 0; j < kUpdateChunk; ++j) {
      const int64_t k = k0 + j * stride;
      if (k < end) g[j] = grad[k], p[j] = params[k], s1[j] = state1[k], s2[j] = state2[k];
    }
    for (int j = 0; j < kUpdateChunk; ++j) {
      const int64_t k = k0 + j * stride;
      if (k >= end) break;
      if (penalized && k < weights_end) g[j] = regularized_gradient<float>(g[j], p[j], float(opt.l1), float(opt.l2));
      optimizer_update<float>(opt, step_size, g[j], p[j], s1[j], s2[j]);
      if (opt.kind != Optimizer::sgd) state1[k] = s1[j];  // sgd keeps no state
      if (opt.kind == Optimizer::adam) state2[k] = s2[j];
      next[k] = p[j];
      if (!finite_value(p[j])) raise_flag(nonfinite);
    }
  }
}

// to[k] = from[k] for k in [0, count).
template <typename Block>
NS_HD void copy_range(Block& blk, const float* from, float* to, int64_t count) {
  const int64_t stride = blk.size();
  for (int64_t k0 = blk.tid(); k0 < count; k0 += kUpdateChunk * stride) {
    float v[kUpdateChunk];
    for (int j = 0; j < kUpdateChunk; ++j)
      if (k0 + j * stride < count) v[j] = from[k0 + j * stride];
    for (int j = 0; j < kUpdateChunk; ++j)
      if (k0 + j * stride < count) to[k0 + j * stride] = v[j];
  }
}

// perm (n) <- epoch `epoch`'s order, as epoch_permutation. With `partners`
// (n ints of scratch), every thread first draws its share of the swap
// partners, so that thread 0's swaps wait on no arithmetic; else thread 0
// does it all. Ends with a barrier.
template <typename Block>
NS_HD void epoch_order(Block& blk, uint64_t key, uint64_t epoch, int32_t* perm, int32_t n, int32_t* partners) {
  if (!partners) {
    if (blk.tid() == 0) epoch_permutation(key, epoch, perm, n);
    blk.sync();
    return;
  }
  const uint64_t stream = shuffle_stream(key, epoch);
  for (int32_t i = blk.tid(); i < n; i += blk.size()) {
    perm[i] = i;
    partners[i] = i > 0 ? shuffle_partner(stream, i) : 0;
  }
  blk.sync();
  if (blk.tid() == 0)
    for (int32_t i = n - 1; i > 0; --i) {
      const int32_t j = partners[i], t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
  blk.sync();
}

}  // namespace netsweep::device
