// The work estimate: multiply-adds of training and frames per network, for
// the progress line, shard balancing and the achieved FLOP/s of bench.
#include "netsweep/backend.h"

namespace netsweep {

namespace {
// One sample's forward pass in multiply-add equivalents: its multiply-adds,
// each unit's activation, each layer's loop and the output's loss. Fitted to
// the CPU backend's per-network times on the demo sweep (widths 2-64, 1-8
// layers); without the extra terms a 2-unit network looked ~100x cheaper than
// it runs and the ETA was off by a factor of 8.
int64_t sample_cost(const NetworkLayout& net) {
  int64_t units = 0;
  for (const LayerView& l : net.layers) units += l.out;
  return forward_macs(net) + 4 * units + 32 * int64_t(net.layers.size()) + 64;
}
int64_t snapshot_points(const TrainingProblem& p) { return int64_t(p.n_train) + p.n_test + int64_t(p.grid_h) * p.grid_w; }
int64_t neuron_points(const TrainingProblem& p, int index) {
  return !p.record_neurons.empty() && p.record_neurons[size_t(index)] ? int64_t(p.neuron_grid_h) * p.neuron_grid_w : 0;
}
}  // namespace

int64_t epoch_work(const TrainingProblem& p, const NetworkLayout& net) { return 3 * sample_cost(net) * p.n_train; }

int64_t snapshot_work(const TrainingProblem& p, int index) {
  return sample_cost(p.layout.networks[size_t(index)]) * (snapshot_points(p) + neuron_points(p, index));
}

int hidden_units(const TrainingProblem& p, int index) {
  int units = 0;
  for (int w : p.networks[size_t(index)].hidden) units += w;
  return units;
}

int64_t network_work(const TrainingProblem& p, int index) {
  const NetworkLayout& net = p.layout.networks[size_t(index)];
  return epoch_work(p, net) * p.epochs + snapshot_work(p, index) * int64_t(p.frame_epochs.size());
}

int64_t problem_macs(const TrainingProblem& p) {
  int64_t total = 0;
  for (size_t n = 0; n < p.networks.size(); ++n) {
    const int64_t macs = forward_macs(p.layout.networks[n]);
    total += 3 * macs * p.n_train * p.epochs +
             macs * (snapshot_points(p) + neuron_points(p, int(n))) * int64_t(p.frame_epochs.size());
  }
  return total;
}

int64_t problem_work(const TrainingProblem& p) {
  int64_t total = 0;
  for (size_t n = 0; n < p.networks.size(); ++n) total += network_work(p, int(n));
  return total;
}

}  // namespace netsweep
