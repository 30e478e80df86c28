// CPU-vs-device parity helpers shared by the emulation and the CUDA tests:
// `atol + rtol |ref|` comparisons that print the first mismatches.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "netsweep/backend.h"
#include "netsweep/run.h"
#include "sweeps.h"

namespace netsweep::test {

struct Captured : FrameSink {
  std::mutex mutex;
  std::map<std::pair<int, int>, std::vector<float>> frames, maps, weights;
  int values = 0;
  const TrainingProblem* problem = nullptr;
  void write_frame(int index, int frame, const float* v) override {
    std::lock_guard<std::mutex> lock(mutex);
    frames[{index, frame}] = std::vector<float>(v, v + values);
  }
  void write_neuron_maps(int index, int frame, const float* m) override {
    const size_t n = size_t(hidden_units(*problem, index)) * size_t(problem->neuron_grid_h * problem->neuron_grid_w);
    std::lock_guard<std::mutex> lock(mutex);
    maps[{index, frame}] = std::vector<float>(m, m + n);
  }
  void write_weights(int index, int frame, const float* p) override {
    const size_t n = size_t(problem->layout.networks[size_t(index)].count);
    std::lock_guard<std::mutex> lock(mutex);
    weights[{index, frame}] = std::vector<float>(p, p + n);
  }
};

struct SweepRun {
  TrainingProblem problem;
  std::vector<float> params;
  std::vector<NetworkResult> results;
  Captured frames;
};

inline void start(SweepRun& r, const SweepSpec& s, const Dataset& d) {
  r.problem = build_problem(s, d);
  r.params.assign(size_t(r.problem.layout.total), 0.0f);
  initialize_parameters(r.problem.layout, r.problem.networks, r.params.data());
  r.frames.values = r.problem.grid_h * r.problem.grid_w * r.problem.outputs;
  r.frames.problem = &r.problem;
}

// What `from` recorded before it stopped (frames, neuron maps, parameters), into a resumed run
// (overwrite: take from's copy where both have one; else keep to's).
inline void take_recorded(SweepRun& to, const SweepRun& from, bool overwrite) {
  using Recorded = std::map<std::pair<int, int>, std::vector<float>> Captured::*;
  for (Recorded m : {&Captured::frames, &Captured::maps, &Captured::weights})
    for (const auto& [key, v] : from.frames.*m) {
      if (overwrite)
        (to.frames.*m)[key] = v;
      else
        (to.frames.*m).emplace(key, v);
    }
}

inline void run_cpu(SweepRun& r, const SweepSpec& s, const Dataset& d, const TrainControl& c = {}) {
  start(r, s, d);
  Progress progress;
  make_cpu_backend(2)->train(r.problem, r.params, r.results, r.frames, progress, c);
}

// Non-finite, or so large that only a network whose parameters overflowed
// gives it: which of those such a network's sums give (a huge value, an
// infinity or NaN) depends on the order of its additions (H200 against the
// CPU, 2026-11-30: -3.1e38 against NaN in a diverged network's neuron maps).
inline bool overflowed(float v) { return !(std::abs(v) <= 1e30f); }

// |a - b| <= atol + rtol |a|, reporting the first mismatches; two overflowed
// values agree.
inline int compare(const std::vector<float>& ref, const std::vector<float>& got, float atol, float rtol,
                   const std::string& what) {
  int bad = 0;
  EXPECT_EQ(ref.size(), got.size()) << what;
  for (size_t k = 0; k < std::min(ref.size(), got.size()); ++k) {
    const bool same = ref[k] == got[k] || (overflowed(ref[k]) && overflowed(got[k]));
    if (!same && !(std::abs(ref[k] - got[k]) <= atol + rtol * std::abs(ref[k])) && bad++ < 4)
      ADD_FAILURE() << what << "[" << k << "]: cpu " << ref[k] << " vs device algorithm " << got[k];
  }
  return bad;
}

// How far a device run may be from the CPU's. Losses, accuracies, frames and
// neuron maps are held to the same bounds everywhere; parameters depend on
// where the run is:
// - the host emulations of the device algorithms add in the CPU's order and
//   use its math library: parameters within 1e-3 relative or 1e-5;
// - a real GPU adds in other orders and its expf/tanhf round differently.
//   Adam turns rounding-sized differences in near-zero gradients into
//   updates of up to lr (its first steps are close to lr * sign(g)), and
//   ReLU units switching on or off amplify them, so after 200 steps some
//   parameters of a ReLU network are 1e-4..2e-4 apart (H200, 2026-11-30:
//   96-96 relu and leaky_relu with Adam at lr 1e-2) while every loss still
//   agrees within 1e-4. There parameters are held to a tenth of one step
//   (lr/10) -- and, after one epoch, to the emulations' bounds
//   (CudaBackend.MatchesCpuAfterOneEpoch), which catches a wrong formula.
struct ParityBounds {
  float param_atol = 1e-5f, param_rtol = 1e-3f;
};
inline ParityBounds real_gpu_bounds(float lr) { return {lr / 10, 1e-3f}; }

inline void expect_parity(const SweepRun& cpu, const SweepRun& dev, const std::string& label,
                          const ParityBounds& bounds = {}) {
  ASSERT_EQ(cpu.results.size(), dev.results.size());
  for (size_t i = 0; i < cpu.results.size(); ++i) {
    const auto& cfg = cpu.problem.networks[i];
    const std::string name = label + " net " + std::to_string(i) + " (" + cfg.shape_label() + " " +
                             to_string(cfg.activation) + " " + to_string(cfg.optimizer.kind) + " batch " +
                             std::to_string(cfg.batch) + ")";
    EXPECT_EQ(int(cpu.results[i].status), int(dev.results[i].status)) << name;
    EXPECT_EQ(cpu.results[i].epochs_trained, dev.results[i].epochs_trained) << name;
    compare(cpu.results[i].epoch_loss, dev.results[i].epoch_loss, 1e-7f, 1e-4f, name + " epoch loss");
    compare(cpu.results[i].snapshot_train_loss, dev.results[i].snapshot_train_loss, 1e-6f, 1e-4f,
            name + " snapshot train loss");
    // Where outputs overflowed (a non-finite test loss), infinities against NaN (an order of
    // additions) pick other classes: no accuracy to compare there.
    std::vector<float> accuracy = cpu.results[i].snapshot_test_accuracy,
                       dev_accuracy = dev.results[i].snapshot_test_accuracy;
    const std::vector<float>& test_loss = cpu.results[i].snapshot_test_loss;
    for (size_t k = 0; k < std::min({accuracy.size(), dev_accuracy.size(), test_loss.size()}); ++k)
      if (overflowed(test_loss[k])) accuracy[k] = dev_accuracy[k] = 0;
    compare(accuracy, dev_accuracy, 1e-6f, 0, name + " snapshot test accuracy");
  }
  compare(cpu.params, dev.params, bounds.param_atol, bounds.param_rtol, label + " final parameters");
  ASSERT_EQ(cpu.frames.frames.size(), dev.frames.frames.size()) << label;
  for (const auto& [key, frame] : cpu.frames.frames)
    compare(frame, dev.frames.frames.at(key), 1e-3f, 1e-5f,
            label + " frame " + std::to_string(key.first) + "/" + std::to_string(key.second));
  // Inside the networks: the same networks record the same frames, within the frames' and parameters' tolerances.
  ASSERT_EQ(cpu.frames.maps.size(), dev.frames.maps.size()) << label << " neuron maps";
  ASSERT_EQ(cpu.frames.weights.size(), dev.frames.weights.size()) << label << " parameter snapshots";
  for (const auto& [key, maps] : cpu.frames.maps) {
    // Hidden units are unbounded (linear, relu): absolute within 1e-3 of the map's own scale.
    float scale = 1.0f;
    for (float v : maps) scale = overflowed(v) ? scale : std::max(scale, std::abs(v));
    compare(maps, dev.frames.maps.at(key), 1e-3f * scale, 1e-5f,
            label + " neuron maps " + std::to_string(key.first) + "/" + std::to_string(key.second));
  }
  for (const auto& [key, w] : cpu.frames.weights)
    compare(w, dev.frames.weights.at(key), bounds.param_atol, bounds.param_rtol,
            label + " parameters " + std::to_string(key.first) + "/" + std::to_string(key.second));
}

// Equal to the bit (NaN included); the first differences are said.
inline void expect_same_bits(const std::vector<float>& a, const std::vector<float>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  int shown = 0, differ = 0;
  for (size_t k = 0; k < a.size(); ++k)
    if (std::memcmp(&a[k], &b[k], sizeof(float)) != 0) {
      ++differ;
      if (shown++ < 5) ADD_FAILURE() << what << "[" << k << "]: " << a[k] << " against " << b[k];
    }
  EXPECT_EQ(differ, 0) << what;
}

// Two runs of one sweep that must agree to the bit: parameters, each network's
// status, epoch losses and snapshot losses and accuracies, every frame, neuron map
// and recorded parameter block.
inline void expect_same_results(const SweepRun& a, const SweepRun& b, const std::string& label) {
  expect_same_bits(a.params, b.params, label + " parameters");
  ASSERT_EQ(a.results.size(), b.results.size()) << label;
  for (size_t i = 0; i < a.results.size(); ++i) {
    const NetworkResult &x = a.results[i], &y = b.results[i];
    const std::string net = label + " net " + std::to_string(i);
    EXPECT_EQ(int(x.status), int(y.status)) << net;
    expect_same_bits(x.epoch_loss, y.epoch_loss, net + " epoch loss");
    expect_same_bits(x.snapshot_train_loss, y.snapshot_train_loss, net + " train loss at frames");
    expect_same_bits(x.snapshot_test_loss, y.snapshot_test_loss, net + " test loss at frames");
    expect_same_bits(x.snapshot_train_accuracy, y.snapshot_train_accuracy, net + " train accuracy at frames");
    expect_same_bits(x.snapshot_test_accuracy, y.snapshot_test_accuracy, net + " test accuracy at frames");
  }
  using Recorded = std::map<std::pair<int, int>, std::vector<float>> Captured::*;
  for (Recorded m : {&Captured::frames, &Captured::maps, &Captured::weights}) {
    ASSERT_EQ((a.frames.*m).size(), (b.frames.*m).size()) << label;
    for (const auto& [key, values] : a.frames.*m)
      expect_same_bits(values, (b.frames.*m).at(key),
                       label + " recorded " + std::to_string(key.first) + "/" + std::to_string(key.second));
  }
}

// A small sweep: 60 train points, batch 16, 50 epochs = 200 steps per network.
inline SweepSpec base_spec() {
  SweepSpec s;
  s.layers = {1, 2};
  s.widths = {3, 10};
  s.activations = {Activation::relu};
  s.optimizers = {Optimizer::adam};
  s.learning_rates = {1e-2f};
  s.batch_sizes = {16};
  s.epochs = 50;  // 60 train points, batch 16: 4 steps per epoch, 200 steps
  s.snapshot_every = 10;
  s.grid = 12;
  return s;
}

// Every activation and optimizer with `loss`, in two shapes (2 x 6 and the
// explicit 5-2-7) and an L2 penalty: the parity sweep of every backend.
inline SweepSpec every_activation_and_optimizer(Loss loss) {
  SweepSpec s = base_spec();
  s.loss = loss;
  s.activations = all_activations();
  s.optimizers = all_optimizers();
  s.layers = {2};
  s.widths = {6};
  s.shapes = {{5, 2, 7}};
  s.l2 = {1e-3f};
  return s;
}

// Regression: one output, MSE, tanh, on the 1-D `poly` data (25% held out).
inline SweepSpec regression_spec() {
  SweepSpec s = base_spec();
  s.loss = Loss::mse;
  s.activations = {Activation::tanh};
  return s;
}

// Linear networks, MSE, momentum at 1e-2 and at 1e38 (diverged at the first update; linear keeps a
// diverged network's huge values comparable), widths 3 and 48 (48 takes the GEMM path under auto).
inline SweepSpec diverging_members_spec() {
  SweepSpec s = base_spec();
  s.widths = {3, 48};
  s.activations = {Activation::linear};
  s.optimizers = {Optimizer::momentum};
  s.learning_rates = {1e-2f, 1e38f};
  s.loss = Loss::mse;
  return s;
}

// Networks at a learning rate above 1 diverged, the others trained.
inline void expect_diverged_where_lr_is_huge(const SweepRun& r, const std::string& label) {
  for (size_t i = 0; i < r.results.size(); ++i)
    EXPECT_EQ(r.results[i].status, r.problem.networks[i].optimizer.lr > 1 ? NetStatus::diverged : NetStatus::trained)
        << label << " net " << i;
}

inline Dataset data(const std::string& name, float test_fraction = 0.2f) {
  DataOptions o;
  o.datasets = {name};
  o.generator.n_points = 75;
  o.test_fraction = test_fraction;
  return load_data(o);
}

}  // namespace netsweep::test
