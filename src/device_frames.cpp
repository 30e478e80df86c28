// The frames and the neuron maps on the device's path (device_schedule.h):
// every network over the whole grid as a chain of big GEMMs, one a layer,
// written against GridOps (cuBLAS on the device, host BLAS in the tests).
#include <algorithm>

#include "netsweep/device_schedule.h"

namespace netsweep {

int grid_max_width(const TrainingProblem& p) {
  int w = 0;
  for (const auto& n : p.layout.networks) w = std::max(w, n.max_width);
  return w;
}

void evaluate_grid_gemm(const TrainingProblem& p, GridOps& ops, const float* params, const float* grid_x, float* probs,
                        float* work_a, float* work_b) {
  const int points = p.grid_h * p.grid_w;
  for (size_t n = 0; n < p.networks.size(); ++n) {
    const NetworkLayout& net = p.layout.networks[n];
    const float* a = grid_x;  // (in x G) column-major = (G, in) row-major
    float* out = work_a;
    for (size_t l = 0; l < net.layers.size(); ++l) {
      const LayerView& L = net.layers[l];
      const bool last = l + 1 == net.layers.size();
      float* z = last ? probs + int64_t(n) * points * p.outputs : out;
      // W is (out, in) row-major = (in x out) column-major with ld in: Z = W^T-of-that x A.
      ops.gemm(true, false, L.out, points, L.in, params + net.offset + L.weights, L.in, a, L.in, z, L.out);
      ops.bias_activate(z, params + net.offset + L.biases, L.out, points, p.networks[n].activation, last, p.loss);
      a = z;
      out = out == work_a ? work_b : work_a;
    }
  }
}

std::vector<int64_t> neuron_map_offsets(const TrainingProblem& p) {
  const int64_t points = int64_t(p.neuron_grid_h) * p.neuron_grid_w;
  std::vector<int64_t> offsets(p.networks.size() + 1, 0);
  for (size_t n = 0; n < p.networks.size(); ++n)
    offsets[n + 1] = offsets[n] + (p.record_neurons[n] ? hidden_units(p, int(n)) * points : 0);
  return offsets;
}

void evaluate_neuron_maps_gemm(const TrainingProblem& p, GridOps& ops, const float* params, const float* neuron_grid_x,
                               float* maps) {
  const int points = p.neuron_grid_h * p.neuron_grid_w;
  const std::vector<int64_t> offsets = neuron_map_offsets(p);
  for (size_t n = 0; n < p.networks.size(); ++n) {
    if (!p.record_neurons[n]) continue;
    const NetworkLayout& net = p.layout.networks[n];
    float* out = maps + offsets[n];
    const float* a = nullptr;  // the previous layer's maps (points x in), column-major
    for (size_t l = 0; l + 1 < net.layers.size(); ++l) {
      const LayerView& L = net.layers[l];
      const float* W = params + net.offset + L.weights;  // (out, in) row-major = (in x out) column-major
      if (l == 0)  // Z (points x out) = X^T (points x in) . W, X the (points, in) row-major features
        ops.gemm(true, false, points, L.out, L.in, neuron_grid_x, L.in, W, L.in, out, points);
      else
        ops.gemm(false, false, points, L.out, L.in, a, points, W, L.in, out, points);
      ops.bias_activate_columns(out, params + net.offset + L.biases, points, L.out, p.networks[n].activation);
      a = out;
      out += int64_t(L.out) * points;
    }
  }
}

}  // namespace netsweep
