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
#include "host_util.h"
#include "netsweep/backend.h"
#include "netsweep/random.h"
#include "netsweep/training_rules.h"

namespace netsweep {
namespace {

constexpr int kEvalChunk = 256;  // samples per forward pass when evaluating sets and grids
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

}  // namespace

namespace cpu {
const char* vector_code() {
#if NETSWEEP_HAS_VECTOR_CLONES
  // The same tests as the clones' resolver.
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v4")) return "AVX-512";
  if (__builtin_cpu_supports("x86-64-v3")) return "AVX2";
  return "x86-64";
#elif defined(NETSWEEP_NATIVE_BUILD)
  return "native";
#else
  return "generic";
#endif
}
}  // namespace cpu

namespace {

// The hot entry points, compiled once per instruction set (cpu_dispatch.h),
// each with the product tile that fits that register file: 12 rows x 32
// columns in 24 of AVX-512's 32 zmm registers; 6 x 16 in 12 of AVX2's 16 ymm;
// 3 x 16 in 12 of the baseline's 16 xmm.

// One optimizer step of one network on one batch, shared by a team: rows of
// the training set through forward, the output layer's loss and gradient
// (rank 0), backward and, if the loss is finite, the optimizer into `next`,
// copied over the parameters unless a value came out non-finite.
struct TrainStep {
  Activation act;
  const NetworkLayout* net;
  Loss loss;
  const float* x;  // (n, inputs)
  int inputs;
  const float* y;  // (n, outputs)
  const int32_t* rows;
  int count;
  float* params;  // (parameters,) this network's block
  cpu::Workspace<float>* ws;
  const OptimizerConfig* opt;
  float step_size;
  float* state1;  // (parameters,)
  float* state2;  // (parameters,)
  float* next;    // (parameters,)
  // Results, for the owner.
  cpu::BatchStats stats;
  bool loss_finite = false;
  std::atomic<int> nonfinite{0};  // threads whose updated values were not all finite
};

// Forward over rows [first, first + count) of x; then, with `outputs`, the
// output layer: loss and hits against y/labels (if given), probabilities to probs.
struct EvaluateChunk {
  Activation act;
  const NetworkLayout* net;
  Loss loss;
  int classes;
  const float* x;  // (n, inputs)
  int inputs;
  const float* y;  // (n, outputs) or null
  const int32_t* labels;
  int first, count;
  bool outputs;
  const float* params;
  cpu::Workspace<float>* ws;
  float* probs;  // (count, outputs) or null
};

template <typename Tile>
void train_step_with(TrainStep& t, const cpu::Split& split) {
  cpu::with_activation(t.act, [&](auto a) {
    constexpr Activation A = decltype(a)::value;
    if (split.rank == 0) cpu::load_batch(t.x, t.inputs, t.rows, 0, t.count, *t.ws);
    split.sync();
    cpu::forward<float, A, Tile>(*t.net, t.params, *t.ws, split);
    if (split.rank == 0) {
      t.stats = cpu::output_layer<float>(*t.net, t.loss, 0, t.y, nullptr, t.rows, 0, t.count, true, *t.ws);
      t.loss_finite = finite_value(t.stats.loss_sum);
    }
    split.sync();
    if (!t.loss_finite) return;
    // The optimizer updates each block of gradient as backward writes it.
    cpu::OptimizerSink<float> update{t.opt,    t.step_size, float(t.opt->l1), float(t.opt->l2),
                                     t.params, t.state1,    t.state2,         t.next};
    cpu::backward<float, A, Tile>(*t.net, t.params, *t.ws, nullptr, t.count, split, update);
    if (!update.finite) t.nonfinite.fetch_add(1);
    split.sync();
    // A step that would leave a non-finite value is thrown away (the owner keeps t.params, the last
    // finite parameters); otherwise t.next becomes the parameters.
  });
}

template <typename Tile>
cpu::BatchStats evaluate_chunk_with(const EvaluateChunk& e) {
  return cpu::with_activation(e.act, [&](auto a) {
    constexpr Activation A = decltype(a)::value;
    cpu::load_batch(e.x, e.inputs, nullptr, e.first, e.count, *e.ws);
    cpu::forward<float, A, Tile>(*e.net, e.params, *e.ws);
    if (!e.outputs) return cpu::BatchStats{};
    return cpu::output_layer<float, float>(*e.net, e.loss, e.classes, e.y, e.labels, nullptr, e.first, e.count, false,
                                           *e.ws, e.probs);
  });
}

// The products of backward() and forward() on one layer, without the rest of the step.
template <typename Tile>
void layer_products_with(const cpu::LayerProducts& p) {
  cpu::output_product<float, Tile>(p.w, p.k, p.x, p.n, p.z, p.m, nullptr);
  cpu::input_gradient_product<float, Tile>(p.w, p.k, p.dz, p.n, p.dx, p.k, p.m);
  cpu::weight_gradient_product<float, Tile>(p.dz, p.n, p.x_t, cpu::padded(p.k), p.dw, p.k, p.m, p.k, p.count);
}

struct EntryPoints {
  void (*train_step)(TrainStep&, const cpu::Split&);
  cpu::BatchStats (*evaluate_chunk)(const EvaluateChunk&);
  void (*layer_products)(const cpu::LayerProducts&);
};

#if NETSWEEP_HAS_VECTOR_CLONES
NETSWEEP_TARGET_AVX512 void train_step_avx512(TrainStep& t, const cpu::Split& s) {
  train_step_with<cpu::TileShape<12, 2>>(t, s);
}
NETSWEEP_TARGET_AVX512 cpu::BatchStats evaluate_chunk_avx512(const EvaluateChunk& e) {
  return evaluate_chunk_with<cpu::TileShape<12, 2>>(e);
}
NETSWEEP_TARGET_AVX512 void layer_products_avx512(const cpu::LayerProducts& p) {
  layer_products_with<cpu::TileShape<12, 2>>(p);
}
NETSWEEP_TARGET_AVX2 void train_step_avx2(TrainStep& t, const cpu::Split& s) {
  train_step_with<cpu::TileShape<6, 1>>(t, s);
}
NETSWEEP_TARGET_AVX2 cpu::BatchStats evaluate_chunk_avx2(const EvaluateChunk& e) {
  return evaluate_chunk_with<cpu::TileShape<6, 1>>(e);
}
NETSWEEP_TARGET_AVX2 void layer_products_avx2(const cpu::LayerProducts& p) {
  layer_products_with<cpu::TileShape<6, 1>>(p);
}
NETSWEEP_TARGET_BASELINE void train_step_baseline(TrainStep& t, const cpu::Split& s) {
  train_step_with<cpu::TileShape<3, 1>>(t, s);
}
NETSWEEP_TARGET_BASELINE cpu::BatchStats evaluate_chunk_baseline(const EvaluateChunk& e) {
  return evaluate_chunk_with<cpu::TileShape<3, 1>>(e);
}
NETSWEEP_TARGET_BASELINE void layer_products_baseline(const cpu::LayerProducts& p) {
  layer_products_with<cpu::TileShape<3, 1>>(p);
}
// The same test as vector_code(): the best the running CPU has.
EntryPoints choose_entry_points() {
  __builtin_cpu_init();  // static initialization may run before libgcc's own
  if (__builtin_cpu_supports("x86-64-v4")) return {train_step_avx512, evaluate_chunk_avx512, layer_products_avx512};
  if (__builtin_cpu_supports("x86-64-v3")) return {train_step_avx2, evaluate_chunk_avx2, layer_products_avx2};
  return {train_step_baseline, evaluate_chunk_baseline, layer_products_baseline};
}
const EntryPoints g_entry = choose_entry_points();
#else
#if defined(__AVX512F__)
using NativeTile = cpu::TileShape<12, 2>;
#elif defined(__AVX2__)
using NativeTile = cpu::TileShape<6, 1>;
#else
using NativeTile = cpu::TileShape<3, 1>;
#endif
const EntryPoints g_entry{train_step_with<NativeTile>, evaluate_chunk_with<NativeTile>,
                          layer_products_with<NativeTile>};
#endif

// Networks whose step is worth sharing between threads: below this many
// multiply-adds per sample the barriers between phases cost more than they save.
constexpr int64_t kSplitMacs = 16384;

class NetworkTrainer {
 public:
  // team: shares this network's steps and frames with idle workers (null: this thread alone).
  NetworkTrainer(const TrainingProblem& p, int index, float* params, NetworkResult& result, FrameSink& frames,
                 Progress& progress, const TrainControl& control, cpu::Team* team)
      : p_(p),
        index_(index),
        cfg_(p.networks[size_t(index)]),
        net_(p.layout.networks[size_t(index)]),
        packed_(params + net_.offset),
        result_(result),
        frames_(frames),
        progress_(progress),
        control_(control),
        batch_(effective_batch(p, index)),
        team_(team),
        train_ws_(net_, batch_),
        eval_ws_(net_, kEvalChunk),
        rank_ws_(team ? size_t(team->max_size() - 1) : 0) {}

  // Returns false if it stopped on request.
  bool run() {
    // Trained in two buffers of the trainer's own, on cache lines (the packed
    // buffer's may not be); a step reads one and writes the other.
    const size_t count = size_t(net_.count);
    const size_t half = (count + cpu::kCacheLine - 1) / cpu::kCacheLine * cpu::kCacheLine;
    buffers_.resize(2 * half);
    std::memcpy(buffers_.data(), packed_, count * sizeof(float));
    params_ = buffers_.data();
    spare_ = buffers_.data() + half;
    const bool finished = run_impl();
    std::memcpy(packed_, params_, count * sizeof(float));
    return finished;
  }
  int epochs_done() const { return epochs_done_.load(std::memory_order_relaxed); }

 private:
  bool stop_requested() const { return control_.stop && control_.stop->load(std::memory_order_relaxed); }

  NetworkState capture(const NetworkState& st) const {
    NetworkState copy = st;
    copy.save_parameters(params_, state1_.data(), state2_.data(), net_.count);
    copy.result = result_;
    return copy;
  }

  bool run_impl() {
    const auto start = std::chrono::steady_clock::now();
    const size_t count = size_t(net_.count);
    const size_t frames = p_.frame_epochs.size();
    std::vector<int32_t> order(size_t(p_.n_train));
    const uint64_t key = network_stream_key(cfg_.seed, uint64_t(cfg_.id));
    const int64_t work_per_epoch = epoch_work(p_, net_);
    double wall_before = 0;

    NetworkState st;
    state1_.assign(count, 0.0f);
    state2_.assign(count, 0.0f);
    const bool resumed = control_.resume && (*control_.resume)[size_t(index_)].has_value();
    if (resumed) {
      st = *(*control_.resume)[size_t(index_)];
      st.restore_parameters(params_, state1_.data(), state2_.data());
      result_ = st.result;
      wall_before = result_.wall_seconds;
      progress_.work_done.fetch_add(work_per_epoch * st.epoch, std::memory_order_relaxed);
      progress_.network_epochs.fetch_add(st.epoch, std::memory_order_relaxed);
      progress_.network_epochs_resumed.fetch_add(st.epoch, std::memory_order_relaxed);
    } else {
      result_.epoch_loss.assign(size_t(p_.epochs), kNaN);
      for (auto* v : {&result_.snapshot_train_loss, &result_.snapshot_test_loss, &result_.snapshot_train_accuracy,
                      &result_.snapshot_test_accuracy})
        v->assign(frames, kNaN);
    }
    auto finish_timing = [&] {
      result_.wall_seconds =
          wall_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    auto stop_here = [&] {
      finish_timing();
      if (control_.checkpointer) control_.checkpointer->stopped_state(index_, capture(st));
      return false;
    };
    // Frames due at the current epoch boundary, then a checkpoint of this state.
    auto emit_due_frames = [&] {
      bool emitted = false;
      while (size_t(st.frames_done) < frames && p_.frame_epochs[size_t(st.frames_done)] == st.epoch) {
        snapshot(size_t(st.frames_done++));
        emitted = true;
      }
      if (emitted && control_.checkpointer) {
        finish_timing();
        control_.checkpointer->snapshot_state(index_, capture(st));
      }
    };
    if (!resumed) emit_due_frames();

    while (st.epoch < p_.epochs) {
      if (st.active) {
        epoch_permutation(key, uint64_t(st.epoch), order.data(), p_.n_train);
        for (; st.next_sample < p_.n_train; st.next_sample += batch_) {
          if (stop_requested()) return stop_here();
          const int count_b = std::min(batch_, p_.n_train - st.next_sample);
          const int32_t* rows = order.data() + st.next_sample;
          TrainStep step{cfg_.activation,
                         &net_,
                         p_.loss,
                         p_.train_x.data(),
                         p_.inputs,
                         p_.train_y.data(),
                         rows,
                         count_b,
                         params_,
                         &train_ws_,
                         &cfg_.optimizer,
                         optimizer_step_size(cfg_.optimizer, st.step + 1),
                         state1_.data(),
                         state2_.data(),
                         spare_,
                         cpu::BatchStats{},
                         false,
                         {0}};
          in_region([&](const cpu::Split& split) { g_entry.train_step(step, split); });
          st.loss_sum += step.stats.loss_sum;
          if (!step.loss_finite) {
            st.active = false;
            break;
          }
          ++st.step;
          if (step.nonfinite.load() > 0) {
            st.active = false;  // the step would leave non-finite parameters: it kept the last finite ones
            break;
          }
          std::swap(params_, spare_);  // the step's output becomes the parameters
        }
        const EpochEnd end = end_of_epoch(st.active, st.loss_sum, p_.n_train, int32_t(result_.status),
                                          p_.early_stop_loss.has_value(), p_.early_stop_loss.value_or(0.0f));
        if (end.record_loss) {
          result_.epoch_loss[size_t(st.epoch)] = end.loss;
          result_.epochs_trained = st.epoch + 1;
        }
        result_.status = NetStatus(end.status);
        st.active = end.active;
        st.loss_sum = 0;
        st.next_sample = 0;
      } else if (stop_requested()) {
        return stop_here();
      }
      ++st.epoch;
      epochs_done_.store(st.epoch, std::memory_order_relaxed);
      progress_.network_epochs.fetch_add(1, std::memory_order_relaxed);
      progress_.work_done.fetch_add(work_per_epoch, std::memory_order_relaxed);
      emit_due_frames();
    }
    finish_timing();
    progress_.networks_done.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  // Runs fn(split) on this thread and its team's helpers (one region), or alone.
  template <typename F>
  void in_region(F&& fn) {
    if (!team_) {
      fn(cpu::Split{});
      return;
    }
    team_->run([&](int rank, int size) {
      cpu::Split split{rank, size, [this] { team_->barrier().wait(); }, team_->barrier().claims()};
      fn(split);
    });
  }

  // The evaluation workspace of a team member (each its own; created by that member).
  cpu::Workspace<float>& eval_workspace(int rank) {
    if (rank == 0) return eval_ws_;
    auto& ws = rank_ws_[size_t(rank) - 1];  // rank < the team's max_size()
    if (!ws) ws = std::make_unique<cpu::Workspace<float>>(net_, kEvalChunk);
    return *ws;
  }

  // fn(chunk, first, count, workspace) over the chunks of `points` points, split
  // between the team by whole chunks, taken as each member is free (each
  // chunk's results are kept apart, so sums come out in chunk order whatever
  // the team's size).
  template <typename F>
  void for_each_chunk(int points, F&& fn) {
    const int chunks = (points + kEvalChunk - 1) / kEvalChunk;
    in_region([&](const cpu::Split& split) {
      cpu::Workspace<float>& ws = eval_workspace(split.rank);
      split.for_blocks(chunks, 1, 0, [&](int lo, int hi) {
        for (int c = lo; c < hi; ++c) {
          const int first = c * kEvalChunk;
          fn(c, first, std::min(kEvalChunk, points - first), ws);
        }
      });
    });
  }

  // Mean loss and accuracy over a whole point set.
  void evaluate_set(const std::vector<float>& x, const std::vector<float>& y, const std::vector<int32_t>& labels, int n,
                    float& loss, float& accuracy) {
    if (n == 0) return;  // stays NaN
    std::vector<cpu::BatchStats> chunk_stats(size_t((n + kEvalChunk - 1) / kEvalChunk));
    for_each_chunk(n, [&](int c, int first, int count, cpu::Workspace<float>& ws) {
      chunk_stats[size_t(c)] =
          g_entry.evaluate_chunk({cfg_.activation, &net_, p_.loss, p_.classes, x.data(), p_.inputs, y.data(),
                                  labels.data(), first, count, true, params_, &ws, nullptr});
    });
    cpu::BatchStats total;
    for (const auto& s : chunk_stats) {
      total.loss_sum += s.loss_sum;
      total.correct += s.correct;
    }
    loss = float(total.loss_sum / n);
    if (p_.classification) accuracy = float(total.correct) / float(n);
  }

  // Every hidden unit's activation on the neuron grid: maps_ (units, points), layer by layer.
  void neuron_maps() {
    const int points = p_.neuron_grid_h * p_.neuron_grid_w;
    const int layers = int(net_.layers.size());
    maps_.resize(size_t(hidden_units(p_, index_)) * size_t(points));
    for_each_chunk(points, [&](int, int first, int count, cpu::Workspace<float>& ws) {
      g_entry.evaluate_chunk({cfg_.activation, &net_, p_.loss, 0, p_.neuron_grid_x.data(), p_.inputs, nullptr, nullptr,
                              first, count, false, params_, &ws, nullptr});
      size_t row = 0;
      for (int l = 0; l + 1 < layers; ++l) {
        const int units = net_.layers[size_t(l)].out;
        const float* a = ws.a[size_t(l) + 1].data();  // (units, capacity)
        for (int u = 0; u < units; ++u)
          std::copy(a + size_t(u) * size_t(ws.capacity), a + size_t(u) * size_t(ws.capacity) + count,
                    maps_.begin() + long((row + size_t(u)) * size_t(points) + size_t(first)));
        row += size_t(units);
      }
    });
  }

  void snapshot(size_t frame) {
    evaluate_set(p_.train_x, p_.train_y, p_.train_label, p_.n_train, result_.snapshot_train_loss[frame],
                 result_.snapshot_train_accuracy[frame]);
    evaluate_set(p_.test_x, p_.test_y, p_.test_label, p_.n_test, result_.snapshot_test_loss[frame],
                 result_.snapshot_test_accuracy[frame]);
    if (p_.record_neurons[size_t(index_)]) {
      neuron_maps();
      frames_.write_neuron_maps(index_, int(frame), maps_.data());
    }
    if (p_.record_weights[size_t(index_)]) frames_.write_weights(index_, int(frame), params_);
    const int points = p_.grid_h * p_.grid_w;
    frame_buffer_.resize(size_t(points) * size_t(p_.outputs));
    for_each_chunk(points, [&](int, int first, int count, cpu::Workspace<float>& ws) {
      g_entry.evaluate_chunk({cfg_.activation, &net_, p_.loss, 0, p_.grid_x.data(), p_.inputs, nullptr, nullptr, first,
                              count, true, params_, &ws, frame_buffer_.data() + size_t(first) * size_t(p_.outputs)});
    });
    frames_.write_frame(index_, int(frame), frame_buffer_.data());
    progress_.work_done.fetch_add(snapshot_work(p_, index_), std::memory_order_relaxed);
  }

  const TrainingProblem& p_;
  const int index_;
  const NetworkConfig& cfg_;
  const NetworkLayout& net_;
  float* const packed_;                 // this network's block of the packed buffer
  cpu::aligned_vector<float> buffers_;  // (2, parameters rounded up to a cache line)
  float* params_ = nullptr;             // its parameters now, in one half of buffers_
  float* spare_ = nullptr;              // the other half, which a step writes
  NetworkResult& result_;
  FrameSink& frames_;
  Progress& progress_;
  const TrainControl& control_;
  const int batch_;
  cpu::Team* team_;
  std::atomic<int> epochs_done_{0};
  cpu::aligned_vector<float> state1_, state2_;  // optimizer state (adam: m, v; momentum: velocity)
  cpu::Workspace<float> train_ws_, eval_ws_;
  std::vector<std::unique_ptr<cpu::Workspace<float>>> rank_ws_;  // helpers' evaluation workspaces, by rank - 1
  std::vector<float> frame_buffer_;                              // (grid_h, grid_w, outputs)
  std::vector<float> maps_;                                      // (hidden units, neuron grid points)
};

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
      const NetworkTrainer* trainer;
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
            NetworkTrainer trainer(problem, index, params.data(), results[size_t(index)], frames, progress, control,
                                   team.get());
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

void cpu::layer_products(const cpu::LayerProducts& p) { g_entry.layer_products(p); }
int cpu::padded_columns(int n) { return cpu::padded(n); }

}  // namespace netsweep
