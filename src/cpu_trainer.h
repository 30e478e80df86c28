// One network's training on the CPU: its epochs of steps, the end-of-epoch
// rules, frames and checkpoints, alone or shared with a team of helpers
// (cpu_team.h). The CPU backend (cpu_backend.cpp) runs one per network.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "cpu_network.h"
#include "cpu_steps.h"
#include "cpu_team.h"
#include "netsweep/backend.h"
#include "netsweep/random.h"
#include "netsweep/training_rules.h"

namespace netsweep::cpu {

constexpr int kEvalChunk = 256;  // samples per forward pass when evaluating sets and grids

class NetworkTrainer {
 public:
  // team: shares this network's steps and frames with idle workers (null: this thread alone).
  NetworkTrainer(const TrainingProblem& p, int index, float* params, NetworkResult& result, FrameSink& frames,
                 Progress& progress, const TrainControl& control, Team* team)
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
        eval_ws_(net_, kEvalChunk, false),
        rank_ws_(team ? size_t(team->max_size() - 1) : 0) {}

  // Returns false if it stopped on request.
  bool run() {
    // Trained in two buffers of the trainer's own, on cache lines (the packed
    // buffer's may not be); a step reads one and writes the other.
    const size_t count = size_t(net_.count);
    constexpr size_t kLine = kCacheLine / sizeof(float);  // floats per cache line
    const size_t half = (count + kLine - 1) / kLine * kLine;
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
    const uint64_t key = cfg_.stream_key();
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
      result_.epoch_loss.assign(size_t(p_.epochs), std::numeric_limits<float>::quiet_NaN());
      for (auto* v : {&result_.snapshot_train_loss, &result_.snapshot_test_loss, &result_.snapshot_train_accuracy,
                      &result_.snapshot_test_accuracy})
        v->assign(frames, std::numeric_limits<float>::quiet_NaN());
    }
    // Steps that would leave a non-finite value are thrown away, so parameters finite now stay so.
    finite_parameters_ = std::all_of(params_, params_ + count, [](float v) { return finite_value(v); });
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
                         finite_parameters_,
                         BatchStats{},
                         false,
                         {0}};
          in_region([&](const Split& split) { entry_points().train_step(step, split); });
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
      fn(Split{});
      return;
    }
    team_->run([&](int rank, int size) {
      Split split{rank, size, [this] { team_->barrier().wait(); }, team_->barrier().claims()};
      fn(split);
    });
  }

  // The evaluation workspace of a team member (each its own; created by that member).
  Workspace<float>& eval_workspace(int rank) {
    if (rank == 0) return eval_ws_;
    auto& ws = rank_ws_[size_t(rank) - 1];  // rank < the team's max_size()
    if (!ws) ws = std::make_unique<Workspace<float>>(net_, kEvalChunk, false);
    return *ws;
  }

  // fn(chunk, first, count, workspace) over the chunks of `points` points, split
  // between the team by whole chunks, taken as each member is free (each
  // chunk's results are kept apart, so sums come out in chunk order whatever
  // the team's size).
  template <typename F>
  void for_each_chunk(int points, F&& fn) {
    const int chunks = (points + kEvalChunk - 1) / kEvalChunk;
    in_region([&](const Split& split) {
      Workspace<float>& ws = eval_workspace(split.rank);
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
    std::vector<BatchStats> chunk_stats(size_t((n + kEvalChunk - 1) / kEvalChunk));
    for_each_chunk(n, [&](int c, int first, int count, Workspace<float>& ws) {
      chunk_stats[size_t(c)] =
          entry_points().evaluate_chunk({cfg_.activation, &net_, p_.loss, p_.classes, x.data(), p_.inputs, y.data(),
                                         labels.data(), first, count, true, params_, &ws, nullptr, finite_parameters_});
    });
    BatchStats total;
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
    for_each_chunk(points, [&](int, int first, int count, Workspace<float>& ws) {
      entry_points().evaluate_chunk({cfg_.activation, &net_, p_.loss, 0, p_.neuron_grid_x.data(), p_.inputs, nullptr,
                                     nullptr, first, count, false, params_, &ws, nullptr, finite_parameters_});
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
    for_each_chunk(points, [&](int, int first, int count, Workspace<float>& ws) {
      entry_points().evaluate_chunk({cfg_.activation, &net_, p_.loss, 0, p_.grid_x.data(), p_.inputs, nullptr, nullptr,
                                     first, count, true, params_, &ws,
                                     frame_buffer_.data() + size_t(first) * size_t(p_.outputs), finite_parameters_});
    });
    frames_.write_frame(index_, int(frame), frame_buffer_.data());
    progress_.work_done.fetch_add(snapshot_work(p_, index_), std::memory_order_relaxed);
  }

  const TrainingProblem& p_;
  const int index_;
  const NetworkConfig& cfg_;
  const NetworkLayout& net_;
  float* const packed_;            // this network's block of the packed buffer
  aligned_vector<float> buffers_;  // (2, parameters rounded up to a cache line)
  float* params_ = nullptr;        // its parameters now, in one half of buffers_
  float* spare_ = nullptr;         // the other half, which a step writes
  NetworkResult& result_;
  FrameSink& frames_;
  Progress& progress_;
  const TrainControl& control_;
  const int batch_;
  Team* team_;
  bool finite_parameters_ = false;  // zero rows may be left out of products (TrainStep::skip_zero_rows)
  std::atomic<int> epochs_done_{0};
  aligned_vector<float> state1_, state2_;  // optimizer state (adam: m, v; momentum: velocity)
  Workspace<float> train_ws_, eval_ws_;
  std::vector<std::unique_ptr<Workspace<float>>> rank_ws_;  // helpers' evaluation workspaces, by rank - 1
  std::vector<float> frame_buffer_;                         // (grid_h, grid_w, outputs)
  std::vector<float> maps_;                                 // (hidden units, neuron grid points)
};

}  // namespace netsweep::cpu
