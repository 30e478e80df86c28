// Host buffers that start on a cache line (the CPU backend's and its
// benchmark's), apart from the passes that use them.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace netsweep::cpu {

// Buffers that start on a cache line: a 64-byte vector load from a buffer
// 16 bytes off a line touches two (plain std::vector storage of these sizes is
// 16 bytes off with glibc), and threads of a team write neighbouring blocks of
// them (rows of optimizer state, of delta_prev) that should not share lines.
constexpr size_t kCacheLine = 64;
template <typename T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(kCacheLine))); }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t(kCacheLine)); }
  template <typename U>
  bool operator==(const CacheLineAllocator<U>&) const {
    return true;
  }
  template <typename U>
  bool operator!=(const CacheLineAllocator<U>&) const {
    return false;
  }
};
template <typename T>
using aligned_vector = std::vector<T, CacheLineAllocator<T>>;

}  // namespace netsweep::cpu
