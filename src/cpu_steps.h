// The CPU backend's hot entry points: one training step of one network on
// one batch (shared by a team), one chunk of evaluation, and for the
// benchmark one layer's products and the optimizer step alone. cpu_steps.cpp
// compiles each once per instruction set (cpu_dispatch.h) and picks the best
// the CPU has.
#pragma once

#include <atomic>
#include <cstdint>

#include "cpu_dispatch.h"
#include "cpu_network.h"
#include "netsweep/backend.h"

namespace netsweep::cpu {

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
  Workspace<float>* ws;
  const OptimizerConfig* opt;
  float step_size;
  float* state1;        // (parameters,)
  float* state2;        // (parameters,)
  float* next;          // (parameters,)
  bool skip_zero_rows;  // the parameters are finite: products may leave out zero rows (forward(), backward())
  // Results, for the owner.
  BatchStats stats;
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
  Workspace<float>* ws;
  float* probs;         // (count, outputs) or null
  bool skip_zero_rows;  // as TrainStep's
};

// One instruction set's code of each.
struct EntryPoints {
  void (*train_step)(TrainStep&, const Split&);
  BatchStats (*evaluate_chunk)(const EvaluateChunk&);
  void (*layer_products)(const LayerProducts&);
  void (*optimizer_pass)(const OptimizerPass&);
  int tile_rows;  // rows of the products' register tile: the step's gradient blocks are this many rows
};

// The entry points for the running CPU.
const EntryPoints& entry_points();

}  // namespace netsweep::cpu
