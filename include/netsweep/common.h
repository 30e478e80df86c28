// Host/device-safe basics shared by every other header. Nothing here may pull
// in host-only code: kernels include it too.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define NS_HD __host__ __device__ __forceinline__
#else
#define NS_HD inline
#endif

namespace netsweep {

// Hidden activations. The numeric values are stored in result files
// (networks/activation_id); append only.
enum class Activation : int32_t {
  sigmoid = 0,
  tanh = 1,
  relu = 2,
  linear = 3,
  leaky_relu = 4,
  elu = 5,
  gelu = 6,
  sine = 7,
};
constexpr int kActivationCount = 8;

// The loss also fixes the output activation: bce -> sigmoid, softmax ->
// softmax (categorical cross-entropy), mse -> linear.
enum class Loss : int32_t { bce = 0, mse = 1, softmax = 2 };
constexpr int kLossCount = 3;

enum class Optimizer : int32_t { adam = 0, sgd = 1, momentum = 2 };
constexpr int kOptimizerCount = 3;

// The largest |coordinate| or |target| netsweep trains on (and the largest
// --extent value): squares and products of two stay finite in float.
constexpr double kMaxCoordinate = 1e15;

// A network's fate, stored per network in result files; append only.
enum class NetStatus : int32_t { trained = 0, diverged = 1, early_stopped = 2 };

}  // namespace netsweep
