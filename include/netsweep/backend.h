// The backend interface: what a backend is given (a TrainingProblem), what it
// hands back (per-network results, frames through a FrameSink, progress), and
// the factories. The CPU backend is always built; the CUDA backend slots in
// behind NETSWEEP_WITH_CUDA.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "netsweep/layout.h"
#include "netsweep/spec.h"

namespace netsweep {

struct TrainingProblem {
  Loss loss = Loss::bce;
  bool classification = true;
  int classes = 2;  // 0 for regression
  int inputs = 2, outputs = 2;
  std::vector<std::string> feature_names;  // (inputs,)
  int n_train = 0, n_test = 0;
  std::vector<float> train_x;         // (n_train, inputs) features
  std::vector<float> train_y;         // (n_train, outputs) targets
  std::vector<int32_t> train_label;   // (n_train,) class, -1 for regression
  std::vector<float> test_x, test_y;  // (n_test, inputs), (n_test, outputs)
  std::vector<int32_t> test_label;    // (n_test,)
  int grid_h = 0, grid_w = 0;
  std::array<float, 4> extent{};  // the frame plane: x0, x1, y0, y1
  std::vector<float> grid_x;      // (grid_h * grid_w, inputs) features; row 0 is the top (largest y)
  int epochs = 0;
  std::vector<int> frame_epochs;  // frame f is taken after frame_epochs[f] epochs
  std::optional<float> early_stop_loss;
  std::vector<NetworkConfig> networks;  // may be a shard of the sweep: ids are global
  PackedLayout layout;
  // Inside the networks, per network (as the spec's rules chose): the hidden
  // units' activations on the neuron grid, and the parameters, at every frame.
  std::vector<uint8_t> record_neurons;  // (networks)
  std::vector<uint8_t> record_weights;  // (networks)
  int neuron_grid_h = 0, neuron_grid_w = 0;
  std::vector<float> neuron_grid_x;  // (neuron grid points, inputs) features; row 0 is the top
};

// Hidden units of network `index` (the rows of its neuron maps).
int hidden_units(const TrainingProblem& p, int index);

struct NetworkResult {
  NetStatus status = NetStatus::trained;
  int epochs_trained = 0;
  double wall_seconds = 0;
  std::vector<float> epoch_loss;  // (epochs,) sample-weighted mean of batch losses; NaN once stopped
  // (frames,) on the full train and test sets at each frame; NaN where undefined
  std::vector<float> snapshot_train_loss, snapshot_test_loss;
  std::vector<float> snapshot_train_accuracy, snapshot_test_accuracy;
};

// Receives frames as they are made, possibly from several threads at once.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // Inside the networks, for those the problem records (before write_frame of
  // the same frame): the hidden units' activations (hidden_units, neuron grid
  // points), layer by layer; and the network's parameter block.
  virtual void write_neuron_maps(int /*index*/, int /*frame*/, const float* /*maps*/) {}
  virtual void write_weights(int /*index*/, int /*frame*/, const float* /*params*/) {}
  // values: (grid_h, grid_w, outputs) output activations of network `index`
  // (position in TrainingProblem::networks) at frame `frame`.
  virtual void write_frame(int index, int frame, const float* values) = 0;
  // True if the sink stores float16 and takes frames already converted
  // (IEEE binary16 bits, rounded to nearest even), e.g. by the GPU.
  virtual bool takes_half() const { return false; }
  // Half-bits form of write_frame, called only where takes_half() is true.
  virtual void write_frame_half(int index, int frame, const uint16_t* bits);
};

// A network's whole training state between two optimizer steps: enough to
// continue bit for bit. The random streams are counter-based, so their
// position is (epoch, next_sample).
struct NetworkState {
  int epoch = 0;        // epochs completed
  int next_sample = 0;  // the next batch of epoch `epoch` starts here in its permutation (0: epoch boundary)
  double loss_sum = 0;  // running sum of this epoch's per-sample losses
  int64_t step = 0;     // optimizer steps taken
  bool active = true;   // false once diverged or early-stopped
  int frames_done = 0;  // frames already emitted
  std::vector<float> params, state1, state2;  // the network's parameter block and optimizer state
  NetworkResult result;                       // losses and metrics so far

  // The parameter block and optimizer state, to and from a backend's own
  // buffers (`count` floats each): every backend saves and restores a
  // network through these two.
  void save_parameters(const float* p, const float* s1, const float* s2, int64_t count) {
    params.assign(p, p + count);
    state1.assign(s1, s1 + count);
    state2.assign(s2, s2 + count);
  }
  void restore_parameters(float* p, float* s1, float* s2) const {
    std::copy(params.begin(), params.end(), p);
    std::copy(state1.begin(), state1.end(), s1);
    std::copy(state2.begin(), state2.end(), s2);
  }
};

// Receives states for checkpoints; called from several threads at once.
class Checkpointer {
 public:
  virtual ~Checkpointer() = default;
  // After each frame of network `index` (its state at that snapshot).
  virtual void snapshot_state(int index, const NetworkState& state) = 0;
  // When training stops on request, wherever the network was.
  virtual void stopped_state(int index, const NetworkState& state) = 0;
};

// How a run may be interrupted and resumed.
struct TrainControl {
  const std::atomic<bool>* stop = nullptr;  // set (e.g. by SIGTERM): finish the current step and return
  Checkpointer* checkpointer = nullptr;
  const std::vector<std::optional<NetworkState>>* resume = nullptr;  // per network: continue from here
};

// Shared progress counters, bumped by backends, read by the progress line.
struct Progress {
  std::atomic<int64_t> network_epochs{0};          // epochs trained, summed over networks (resumed ones included)
  std::atomic<int64_t> network_epochs_resumed{0};  // of those, the ones a checkpoint had already done
  int64_t network_epochs_total = 0;
  std::atomic<int64_t> regions_shared{0};  // CPU: steps and frames shared by several threads
  std::atomic<int64_t> work_done{0};       // multiply-adds done, training and frames
  std::atomic<int> networks_done{0};
  int64_t work_total = 0;
};

// Samples per optimizer step of network `index`: its batch, the whole
// training set for batch 0 (full batch), never more than the training set.
inline int effective_batch(const TrainingProblem& p, int index) {
  const int batch = p.networks[size_t(index)].batch;
  return batch == 0 ? p.n_train : std::min(batch, p.n_train);
}

// Optimizer steps in one epoch of network `index`; the last batch may be short.
inline int64_t batches_per_epoch(const TrainingProblem& p, int index) {
  const int64_t batch = effective_batch(p, index);
  return (p.n_train + batch - 1) / batch;
}

// Estimated work, in multiply-add equivalents (training ~ 3 forward passes per
// sample; a snapshot is one forward pass over train, test and grid points):
// the multiply-adds plus what a sample costs besides them (activations, the
// loss, per-layer loops), which dominates small networks. Used for the
// progress line and its ETA, and to balance shards.
int64_t epoch_work(const TrainingProblem& p, const NetworkLayout& net);
int64_t snapshot_work(const TrainingProblem& p, int index);  // one frame, with neuron maps if recorded
int64_t network_work(const TrainingProblem& p, int index);   // all epochs and frames of one network
int64_t problem_work(const TrainingProblem& p);              // every network
// The multiply-adds alone of the whole run (bench's achieved FLOP/s: 2 FLOPs each).
int64_t problem_macs(const TrainingProblem& p);

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string device_description() const = 0;
  // Trains every network of the problem. `params` enters holding the initial
  // parameters (PackedLayout) and leaves holding the final ones. Returns
  // false if it stopped on request before finishing (see TrainControl).
  virtual bool train(const TrainingProblem& problem, std::vector<float>& params, std::vector<NetworkResult>& results,
                     FrameSink& frames, Progress& progress, const TrainControl& control = {}) = 0;
  // Device memory the last train() held, measured (0: not a device backend).
  virtual int64_t device_bytes_used() const { return 0; }
};

std::unique_ptr<Backend> make_cpu_backend(int threads);  // threads <= 0: all cores

}  // namespace netsweep
