// The work estimate: multiply-adds of training and frames per network, for
// the progress line, shard balancing and the achieved FLOP/s of bench.
#include "netsweep/backend.h"

namespace netsweep {

int64_t epoch_work(const TrainingProblem& p, const NetworkLayout& net) { return 3 * forward_macs(net) * p.n_train; }

int64_t snapshot_work(const TrainingProblem& p, const NetworkLayout& net) {
  return forward_macs(net) * (int64_t(p.n_train) + p.n_test + int64_t(p.grid_h) * p.grid_w);
}

int hidden_units(const TrainingProblem& p, int index) {
  int units = 0;
  for (int w : p.networks[size_t(index)].hidden) units += w;
  return units;
}

int64_t network_work(const TrainingProblem& p, int index) {
  const NetworkLayout& net = p.layout.networks[size_t(index)];
  int64_t snapshot = snapshot_work(p, net);
  if (!p.record_neurons.empty() && p.record_neurons[size_t(index)])
    snapshot += forward_macs(net) * int64_t(p.neuron_grid_h) * p.neuron_grid_w;
  return epoch_work(p, net) * p.epochs + snapshot * int64_t(p.frame_epochs.size());
}

int64_t problem_work(const TrainingProblem& p) {
  int64_t total = 0;
  for (size_t n = 0; n < p.networks.size(); ++n) total += network_work(p, int(n));
  return total;
}

}  // namespace netsweep
