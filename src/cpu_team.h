// Threads that share one network's work: once every network of a sweep has
// started, a CPU worker with nothing left to start joins the running network
// with the most work left, and that network's steps and frames are split
// between its owner and the helpers (Split, below). The sweep then
// ends close to total work / cores instead of at its slowest network's
// single-thread time.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace netsweep::cpu {

// One team member's blocks in one phase of Split::for_blocks: how many its
// owner has taken from the front of its share and how many others have taken
// from the back ((front << 32) | back), on a cache line of its own.
struct alignas(64) BlockClaims {
  std::atomic<uint64_t> taken{0};
};
constexpr int kClaimSlots = 2;  // for_blocks loops between two barrier waits

inline void spin_pause(int& spins) {
  // Spin briefly (phases are microseconds apart), then give the core away.
  if (++spins < 4096) {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
  } else {
    std::this_thread::yield();
  }
}

// A reusable barrier for a fixed number of threads (sense-reversing, spinning).
// It also holds the team's block claims (Split::for_blocks), (kClaimSlots,
// max threads): the last thread to arrive clears them before releasing the
// others, so each phase between two waits hands out its blocks afresh.
class SpinBarrier {
 public:
  explicit SpinBarrier(int max_threads) : claims_(size_t(kClaimSlots) * size_t(max_threads)) {}
  void reset(int threads) {
    threads_ = threads;
    waiting_.store(0, std::memory_order_relaxed);
    for (auto& c : claims_) c.taken.store(0, std::memory_order_relaxed);
  }
  void wait() {
    const unsigned phase = phase_.load(std::memory_order_acquire);
    if (waiting_.fetch_add(1, std::memory_order_acq_rel) + 1 == threads_) {
      waiting_.store(0, std::memory_order_relaxed);
      clear_claims();
      phase_.store(phase + 1, std::memory_order_release);
      return;
    }
    for (int spins = 0; phase_.load(std::memory_order_acquire) == phase;) spin_pause(spins);
  }

  BlockClaims* claims() { return claims_.data(); }

 private:
  void clear_claims() {  // those of this team's size (reset() clears the rest)
    for (size_t k = 0; k < size_t(kClaimSlots) * size_t(threads_); ++k)
      if (claims_[k].taken.load(std::memory_order_relaxed)) claims_[k].taken.store(0, std::memory_order_relaxed);
  }
  int threads_ = 1;
  std::vector<BlockClaims> claims_;  // (kClaimSlots, max threads)
  std::atomic<int> waiting_{0};
  std::atomic<unsigned> phase_{0};
};

// One network's team: its owner runs regions (fn(rank, size) on every member)
// and helpers attach to serve them until the owner closes the team.
class Team {
 public:
  explicit Team(int max_size) : max_size_(max_size), barrier_(max_size) {}
  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;

  // Helper: joins unless the team is closed or full (then nothing); pass the
  // ticket to serve(). Attaching and starting a region exclude each other, so
  // a helper is either counted in a region's size and sees its generation as
  // new, or neither.
  std::optional<uint64_t> try_attach() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_.load() || attached_.load() + 1 >= max_size_) return std::nullopt;
    attached_.fetch_add(1);
    return generation_.load();
  }
  int size_now() const { return 1 + attached_.load(std::memory_order_relaxed); }
  bool has_room() const { return !closed_.load() && size_now() < max_size_; }
  int max_size() const { return max_size_; }

  // Helper, after try_attach(): runs the owner's regions until close().
  void serve(uint64_t seen) {
    for (;;) {
      for (int spins = 0; generation_.load(std::memory_order_acquire) == seen && !closed_.load();) spin_pause(spins);
      if (closed_.load()) break;
      int rank, size;
      std::function<void(int, int)>* job;
      {  // one region's ticket: its generation, a rank in it, its size and job, read together
        std::lock_guard<std::mutex> lock(mutex_);
        seen = generation_.load();
        rank = next_rank_++;
        size = size_;
        job = job_;
      }
      if (rank < size) {  // else it joined too late for this region: wait for the next
        (*job)(rank, size);
        done_.fetch_add(1, std::memory_order_release);
      }
    }
    attached_.fetch_sub(1);
  }

  // Owner: runs fn(rank, size) on itself (rank 0) and the helpers attached
  // now; returns when every member is done. Steps between regions are the
  // owner's alone.
  template <typename F>
  void run(F&& fn) {
    if (size_now() == 1) {  // a helper attaching now joins the next region
      fn(0, 1);
      return;
    }
    std::function<void(int, int)> job = std::forward<F>(fn);
    int size;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      size = size_now();
      job_ = &job;
      size_ = size;
      barrier_.reset(size);
      next_rank_ = 1;
      done_.store(0);
      generation_.fetch_add(1, std::memory_order_acq_rel);
    }
    job(0, size);
    for (int spins = 0; done_.load(std::memory_order_acquire) < size - 1;) spin_pause(spins);
    ++regions_shared_;
  }

  SpinBarrier& barrier() { return barrier_; }
  int64_t regions_shared() const { return regions_shared_; }  // regions run by more than one thread

  // Owner, at the end: helpers leave; returns once they have.
  void close() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_.store(true);
    }
    for (int spins = 0; attached_.load() > 0;) spin_pause(spins);
  }

 private:
  const int max_size_;
  std::mutex mutex_;
  std::atomic<bool> closed_{false};
  std::atomic<int> attached_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> done_{0};
  int next_rank_ = 1, size_ = 1;  // guarded by mutex_
  std::function<void(int, int)>* job_ = nullptr;
  SpinBarrier barrier_;
  int64_t regions_shared_ = 0;
};

// A pass shared by a team of threads (cpu_team.h): this thread's rank, the
// team's size and the barrier between phases. Each output row is computed by
// one thread, in the same order whatever the team's size, so results do not
// depend on it. The default: one thread, no barrier.
struct Split {
  int rank = 0, size = 1;
  std::function<void()> sync_fn;  // waits for the whole team
  void sync() const {
    if (size > 1) sync_fn();
  }
  // Member r's share [first, last) of `blocks` blocks.
  std::pair<int, int> share(int blocks, int r) const {
    return {int(int64_t(blocks) * r / size), int(int64_t(blocks) * (r + 1) / size)};
  }
  // This thread's share [lo, hi) of n rows, in whole blocks of `align` rows.
  std::pair<int, int> rows(int n, int align) const {
    if (size == 1) return {0, n};
    const auto [lo, hi] = share((n + align - 1) / align, rank);
    return {std::min(lo * align, n), std::min(hi * align, n)};
  }

  // The team's block claims for for_blocks, (kClaimSlots, size), cleared by
  // every sync() (cpu_team.h's SpinBarrier); null: static shares (rows()).
  BlockClaims* claims = nullptr;

  // f(lo, hi) on blocks of `align` rows of [0, n), each block on exactly one
  // thread of the team. Each thread takes the blocks of its own share
  // (rows()) from the front, half of those left at a time, then helps the
  // others from the back of theirs, one at a time: a thread that runs faster
  // (cores are rarely equal on a shared machine) takes more blocks instead of
  // waiting at the next barrier, and mostly the same rows each time (its
  // cache). Where a block runs never changes its values. `slot` (<
  // kClaimSlots): a claim of its own for each loop between two syncs.
  // Alone: f(0, n).
  template <typename F>
  void for_blocks(int n, int align, int slot, F&& f) const {
    if (size == 1 || !claims) {
      const auto [lo, hi] = rows(n, align);
      if (hi > lo) f(lo, hi);
      return;
    }
    const int blocks = (n + align - 1) / align;
    // Blocks of member r's share: from its front (r's own), half of those left (at least one: few claims
    // while much is left, single blocks at the end), or one from its back (the others); `got` of them
    // from the first returned, or -1 once it has none left.
    auto take = [&](int r, bool front, int& got) {
      const auto [lo, hi] = share(blocks, r);
      std::atomic<uint64_t>& taken = claims[slot * size + r].taken;
      uint64_t v = taken.load(std::memory_order_relaxed);
      for (;;) {
        const uint32_t from_front = uint32_t(v >> 32), from_back = uint32_t(v);
        const int64_t left = int64_t(hi - lo) - from_front - from_back;
        if (left <= 0) return -1;
        const int k = front ? int(std::max<int64_t>(1, left / 2)) : 1;
        if (taken.compare_exchange_weak(v, front ? v + (uint64_t(k) << 32) : v + 1, std::memory_order_relaxed)) {
          got = k;
          return front ? lo + int(from_front) : hi - 1 - int(from_back);
        }
      }
    };
    auto run = [&](int block, int k) { f(block * align, std::min(n, (block + k) * align)); };
    for (int b, k; (b = take(rank, true, k)) >= 0;) run(b, k);
    for (int r = 1; r < size; ++r)
      for (int b, k; (b = take((rank + r) % size, false, k)) >= 0;) run(b, k);
  }
};

}  // namespace netsweep::cpu
