// Counter-based random numbers, identical on host and device: value i of a
// stream is a pure function of (key, domain, i), so the CPU backend and the
// kernels draw the same initial weights and the same batch order without
// sharing generator state, and any value can be drawn out of order.
#pragma once

#include <cstdint>

#include "netsweep/common.h"

namespace netsweep {

// SplitMix64's finalizer: a bijective 64-bit mix with good avalanche.
NS_HD uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Domains keep the streams of one key apart.
enum : uint64_t {
  kDomainInit = 1,     // initial weights, index = parameter index
  kDomainShuffle = 2,  // batch order, one sub-stream per epoch
  kDomainData = 3,     // dataset generators
  kDomainSplit = 4,    // train/test split
};

// A network's stream key, from its seed and its stream id (NetworkConfig::stream_key says which).
NS_HD uint64_t network_stream_key(uint64_t seed, uint64_t stream_id) {
  return mix64(mix64(seed) ^ mix64(stream_id + 0x5851f42d4c957f2dull));
}

// The stream id of a hidden shape (widths[0..layers)): networks of one shape
// and seed draw the same initial weights and batch orders, in any sweep.
NS_HD uint64_t shape_stream_id(const int* widths, int layers) {
  uint64_t h = mix64(uint64_t(layers));
  for (int i = 0; i < layers; ++i) h = mix64(h ^ uint64_t(uint32_t(widths[i])));
  return h;
}

NS_HD uint64_t random_bits(uint64_t key, uint64_t domain, uint64_t index) {
  return mix64(mix64(key ^ (domain * 0xd1342543de82ef95ull)) + index);
}

// Uniform in [0, 1) with 24 random bits, exact in float.
NS_HD float random_uniform01(uint64_t key, uint64_t domain, uint64_t index) {
  return float(random_bits(key, domain, index) >> 40) * (1.0f / 16777216.0f);
}

// Uniform in [0, n) for n < 2^32 (multiply-shift; bias below 2^-32 * n).
NS_HD uint32_t random_below(uint64_t key, uint64_t domain, uint64_t index, uint32_t n) {
  return uint32_t(((random_bits(key, domain, index) >> 32) * uint64_t(n)) >> 32);
}

// The stream of epoch `epoch`'s shuffle, and the position in [0, i] that
// position i swaps with: each a pure function, so they may be drawn apart.
NS_HD uint64_t shuffle_stream(uint64_t key, uint64_t epoch) { return random_bits(key, kDomainShuffle, epoch); }
NS_HD int32_t shuffle_partner(uint64_t stream, int32_t i) {
  return int32_t(random_below(stream, kDomainShuffle, uint64_t(i), uint32_t(i) + 1u));
}

// The order in which epoch `epoch` visits n samples: a Fisher-Yates shuffle
// driven by the stream (key, kDomainShuffle, epoch). perm must hold n ints.
NS_HD void epoch_permutation(uint64_t key, uint64_t epoch, int32_t* perm, int32_t n) {
  for (int32_t i = 0; i < n; ++i) perm[i] = i;
  const uint64_t sub = shuffle_stream(key, epoch);
  for (int32_t i = n - 1; i > 0; --i) {
    const int32_t j = shuffle_partner(sub, i);
    const int32_t t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
}

}  // namespace netsweep
