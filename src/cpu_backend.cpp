// The CPU backend: networks are trained in parallel across cores, one network
// per worker at a time, largest first, so the long ones start early; once all
// have started, idle workers join the running networks with the most work
// left and share their steps and frames (cpu_team.h).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <mutex>
#include <numeric>
#include <thread>

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "cpu_dispatch.h"
#include "cpu_network.h"
#include "cpu_team.h"
#include "cpu_trainer.h"
#include "host_util.h"
#include "netsweep/backend.h"
#include "netsweep/random.h"
#include "netsweep/training_rules.h"

namespace netsweep {
namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

// Networks whose step is worth sharing between threads: below this many
// multiply-adds per sample the barriers between phases cost more than they save.
constexpr int64_t kSplitMacs = 16384;

// Flushes denormal floats to zero on this thread while alive (as TensorFlow's
// CPU kernels do): networks trained to ~zero loss otherwise produce denormals,
// which x86 processes many times slower.
class FlushDenormals {
 public:
#if defined(__SSE__)
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040u); }  // FTZ | DAZ
  ~FlushDenormals() { _mm_setcsr(saved_); }

 private:
  unsigned saved_;
#endif
};

class CpuBackend : public Backend {
 public:
  explicit CpuBackend(int threads) : threads_(worker_threads(threads)) {}

  std::string device_description() const override {
    return "cpu: " + cpu_model() + ", " + std::to_string(threads_) + " threads, " + cpu::vector_code();
  }

  bool train(const TrainingProblem& problem, std::vector<float>& params, std::vector<NetworkResult>& results,
             FrameSink& frames, Progress& progress, const TrainControl& control) override {
    const int n = int(problem.networks.size());
    results.assign(size_t(n), NetworkResult{});
    // Largest first: with dynamic pick-up this keeps the cores busy to the end.
    std::vector<int> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return forward_macs(problem.layout.networks[size_t(a)]) > forward_macs(problem.layout.networks[size_t(b)]);
    });
    std::atomic<int> next{0};
    std::atomic<bool> completed{true};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    const int threads = threads_;  // more than networks: the extra ones share the widest

    // The running networks whose steps can be shared, for workers with nothing left to start.
    struct Running {
      cpu::Team* team;
      const cpu::NetworkTrainer* trainer;
      int64_t work;  // all of the network's work
    };
    std::vector<Running> running;
    std::mutex running_mutex;
    // Listed while it trains; unlisted, then closed (its helpers leave) before the trainer goes.
    struct Listing {
      std::vector<Running>& running;
      std::mutex& mutex;
      cpu::Team* team;
      ~Listing() {
        if (!team) return;
        {
          std::lock_guard<std::mutex> lock(mutex);
          running.erase(std::find_if(running.begin(), running.end(), [&](const Running& r) { return r.team == team; }));
        }
        team->close();
      }
    };
    struct Joined {
      cpu::Team* team = nullptr;
      uint64_t ticket = 0;
    };
    auto join_most_work_left = [&]() -> Joined {
      std::lock_guard<std::mutex> lock(running_mutex);  // the owner cannot unlist (and close) meanwhile
      cpu::Team* best = nullptr;
      double most = 0;
      for (const Running& r : running) {
        const double left = double(r.work) * double(problem.epochs - r.trainer->epochs_done()) /
                            double(std::max(1, problem.epochs)) / double(r.team->size_now());
        if (left > most && r.team->has_room()) {
          most = left;
          best = r.team;
        }
      }
      if (!best) return {};
      const std::optional<uint64_t> ticket = best->try_attach();
      return ticket ? Joined{best, *ticket} : Joined{};
    };

    std::atomic<int> starting{0};  // networks taken but not yet listed: helpers wait for them
    auto worker = [&] {
      const FlushDenormals flush;
      for (;;) {
        starting.fetch_add(1);
        const int k = next.fetch_add(1);
        if (k >= n) starting.fetch_sub(1);
        if (k < n) {
          struct Started {  // listed (or found not shareable): helpers need not wait for it
            std::atomic<int>& starting;
            bool done = false;
            void operator()() {
              if (!done) starting.fetch_sub(1);
              done = true;
            }
            ~Started() { (*this)(); }
          } started{starting};
          if (control.stop && control.stop->load()) {  // networks not started keep their checkpointed state
            completed = false;
            continue;
          }
          try {
            const int index = order[size_t(k)];
            const bool shareable = threads > 1 && forward_macs(problem.layout.networks[size_t(index)]) >= kSplitMacs;
            const std::unique_ptr<cpu::Team> team = shareable ? std::make_unique<cpu::Team>(threads) : nullptr;
            cpu::NetworkTrainer trainer(problem, index, params.data(), results[size_t(index)], frames, progress,
                                        control, team.get());
            const Listing listing{running, running_mutex, team.get()};
            if (team) {
              std::lock_guard<std::mutex> lock(running_mutex);
              running.push_back({team.get(), &trainer, network_work(problem, index)});
            }
            started();
            if (!trainer.run()) completed = false;
            if (team) progress.regions_shared.fetch_add(team->regions_shared(), std::memory_order_relaxed);
          } catch (...) {
            std::lock_guard<std::mutex> lock(failure_mutex);
            if (!failure) failure = std::current_exception();
            next = n;
          }
          continue;
        }
        // Nothing left to start: share the running network with the most work left, until it ends.
        const Joined joined = join_most_work_left();
        if (joined.team) {
          joined.team->serve(joined.ticket);
        } else if (starting.load() == 0) {
          break;  // every network has started, and none can be shared now
        } else {
          std::this_thread::yield();
        }
      }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    if (failure) std::rethrow_exception(failure);
    return completed;
  }

 private:
  int threads_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) { return std::make_unique<CpuBackend>(threads); }

}  // namespace netsweep
