// The GPU backend's evaluation, on the training algorithm's layer passes
// (device_train.h): a network's loss, accuracy and outputs on a chunk of
// points, run by a block as training is (kernels/train.cu, and host threads
// in the tests), and the elementwise steps of the frames' and neuron maps'
// GEMM path (kernels/grid_ops.cu, tests/device_emulator.h).
#pragma once

#include <cstdint>

#include "netsweep/device_train.h"

namespace netsweep::device {

constexpr int kEvalChunk = 128;  // points per block when evaluating grids and sets

// Evaluates network `index` on points[first, first + count) (count <= cap of
// the scratch): probabilities into probs (count, outputs) if given; with
// targets, the chunk's loss sum and number of correct predictions.
template <typename Block>
NS_HD void evaluate_chunk(Block& blk, const Problem& P, int index, const float* points, const float* targets,
                          const int32_t* labels, int first, int count, float* scratch, float* probs, double* loss_sum,
                          double* correct_sum) {
  const Net& N = P.nets[index];
  const Layer* L = P.layers + N.first_layer;
  Scratch s{scratch, kEvalChunk};
  float* losses = s.end(L, N.layers);
  float* correct = losses + kEvalChunk;
  load_inputs(blk, points, P.inputs, nullptr, first, count, s.act(L, 0), kEvalChunk);
  blk.sync();
  forward(blk, L, N.layers, P.params + N.param_offset, N.activation, s, count);
  output_layer(blk, L, N.layers, P.loss, targets ? P.classes : 0, targets, labels, nullptr, first, count, s, nullptr,
               losses, correct, probs);
  if (targets && blk.tid() == 0) {
    double l = 0, c = 0;
    for (int b = 0; b < count; ++b) l += double(losses[b]), c += double(correct[b]);
    *loss_sum = l;
    *correct_sum = c;
  }
  blk.sync();
}

// One element of the grid path's bias + activation (kernels and host tests):
// Z (units x points) column-major, element `index`.
NS_HD void bias_activate_hidden(float* Z, const float* bias, int units, int64_t index, Activation act) {
  Z[index] = activate<float>(act, Z[index] + bias[index % units]);
}
// One element of the neuron maps' bias + activation: Z (points x units)
// column-major, element `index` (unit index / points).
NS_HD void bias_activate_column(float* Z, const float* bias, int points, int64_t index, Activation act) {
  Z[index] = activate<float>(act, Z[index] + bias[index / points]);
}
// One point (column) of the output layer: bias, then the output activation.
NS_HD void bias_activate_output(float* Z, const float* bias, int units, int64_t point, Loss loss) {
  float z[kMaxOutputs];
  float* column = Z + point * units;
  for (int k = 0; k < units; ++k) z[k] = column[k] + bias[k];
  output_activation<float>(loss, z, units);
  for (int k = 0; k < units; ++k) column[k] = z[k];
}

// Scratch floats evaluate_chunk needs for a network.
NS_HD int64_t eval_scratch_floats(const Layer* layers, int n_layers) {
  int64_t total = int64_t(layers[0].in) * kEvalChunk;
  for (int l = 0; l < n_layers; ++l) total += 2 * int64_t(layers[l].out) * kEvalChunk;
  return total + 2 * kEvalChunk;
}

}  // namespace netsweep::device
