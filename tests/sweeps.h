// Sweep specs shared by several tests.
#pragma once

#include <vector>

#include "netsweep/spec.h"

namespace netsweep::test {

inline std::vector<Activation> all_activations() {
  return {Activation::sigmoid,    Activation::tanh, Activation::relu, Activation::linear,
          Activation::leaky_relu, Activation::elu,  Activation::gelu, Activation::sine};
}
inline std::vector<Optimizer> all_optimizers() { return {Optimizer::adam, Optimizer::sgd, Optimizer::momentum}; }

// The reference workload: 108 networks, 4000 epochs, 41 frames of 256^2.
inline SweepSpec slide_spec() {
  SweepSpec s;
  s.layers = {1, 2, 3, 4, 6, 8};
  s.widths = {2, 4, 8, 16, 32, 64, 128, 256, 384};
  s.activations = {Activation::sigmoid, Activation::relu};
  s.optimizers = {Optimizer::adam};
  s.learning_rates = {1e-3f};
  s.batch_sizes = {32};
  s.epochs = 4000;
  s.features = {"x1", "x2"};
  s.snapshot_every = 100;
  s.grid = 256;
  return s;
}

}  // namespace netsweep::test
