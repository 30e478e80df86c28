// The one source of truth for netsweep's math: activations and their
// derivatives, losses and their gradients, optimizer updates and the Glorot
// init. Used by the CPU backend (the oracle) and by the CUDA kernels alike, so
// no formula is written twice. Everything is templated on the scalar so tests
// can run the same code in double for finite-difference checks.
#pragma once

#include <cmath>

#include "netsweep/common.h"

namespace netsweep {

// Negative slope of leaky_relu (PyTorch's default) and alpha of elu (Keras and
// PyTorch default). Documented in the README.
constexpr float kLeakyReluSlope = 0.01f;
constexpr float kEluAlpha = 1.0f;
// Keras clips probabilities to [eps, 1 - eps] before taking logs.
constexpr float kProbabilityClip = 1e-7f;

template <typename T>
NS_HD T sigmoid(T z) {
  return T(1) / (T(1) + std::exp(-z));
}

// a = f(z) for a hidden activation.
template <typename T>
NS_HD T activate(Activation act, T z) {
  switch (act) {
    case Activation::sigmoid: return sigmoid(z);
    case Activation::tanh: return std::tanh(z);
    case Activation::relu: return z > T(0) ? z : T(0);
    case Activation::linear: return z;
    case Activation::leaky_relu: return z > T(0) ? z : T(kLeakyReluSlope) * z;
    case Activation::elu: return z > T(0) ? z : T(kEluAlpha) * (std::exp(z) - T(1));
    case Activation::gelu: return T(0.5) * z * (T(1) + std::erf(z * T(0.70710678118654752440)));
    case Activation::sine: return std::sin(z);
  }
  return z;
}

// f'(z), given both z and a = f(z) so the cheap form can be used (sigmoid,
// tanh and elu reuse a). relu'(0) = 0, as in PyTorch and TensorFlow.
template <typename T>
NS_HD T activate_derivative(Activation act, T z, T a) {
  switch (act) {
    case Activation::sigmoid: return a * (T(1) - a);
    case Activation::tanh: return T(1) - a * a;
    case Activation::relu: return z > T(0) ? T(1) : T(0);
    case Activation::linear: return T(1);
    case Activation::leaky_relu: return z > T(0) ? T(1) : T(kLeakyReluSlope);
    case Activation::elu: return z > T(0) ? T(1) : a + T(kEluAlpha);
    case Activation::gelu: {
      const T cdf = T(0.5) * (T(1) + std::erf(z * T(0.70710678118654752440)));
      const T pdf = T(0.39894228040143267794) * std::exp(T(-0.5) * z * z);
      return cdf + z * pdf;
    }
    case Activation::sine: return std::cos(z);
  }
  return T(1);
}

// One sample's output layer: from logits z[0..n) and targets y[0..n) computes
// the output activations p (sigmoid, softmax or identity by loss), returns the
// sample's loss and writes dL/dz to dz (not yet divided by the batch size).
//   bce:     mean over outputs of -(y log p + (1-y) log(1-p)), p clipped to
//            [1e-7, 1-1e-7]; the gradient is zero where the clip is active
//            (what autograd gives through a clamp).
//   softmax: -sum y log p (p clipped in the log only); dz = p - y.
//   mse:     mean over outputs of (z - y)^2; dz = 2 (z - y) / n.
template <typename T>
NS_HD T output_loss_and_grad(Loss loss, const T* z, const T* y, int n, T* p, T* dz) {
  const T lo = T(kProbabilityClip), hi = T(1) - T(kProbabilityClip);
  T total = T(0);
  switch (loss) {
    case Loss::bce:
      for (int k = 0; k < n; ++k) {
        p[k] = sigmoid(z[k]);
        const bool clipped = p[k] < lo || p[k] > hi;
        const T pc = p[k] < lo ? lo : (p[k] > hi ? hi : p[k]);
        total -= y[k] * std::log(pc) + (T(1) - y[k]) * std::log(T(1) - pc);
        if (dz) dz[k] = clipped ? T(0) : (p[k] - y[k]) / T(n);
      }
      return total / T(n);
    case Loss::softmax: {
      T zmax = z[0];
      for (int k = 1; k < n; ++k) zmax = z[k] > zmax ? z[k] : zmax;
      T sum = T(0);
      for (int k = 0; k < n; ++k) {
        p[k] = std::exp(z[k] - zmax);
        sum += p[k];
      }
      for (int k = 0; k < n; ++k) {
        p[k] /= sum;
        const T pc = p[k] < lo ? lo : (p[k] > hi ? hi : p[k]);
        total -= y[k] * std::log(pc);
        if (dz) dz[k] = p[k] - y[k];
      }
      return total;
    }
    case Loss::mse:
      for (int k = 0; k < n; ++k) {
        p[k] = z[k];
        const T d = z[k] - y[k];
        total += d * d;
        if (dz) dz[k] = T(2) * d / T(n);
      }
      return total / T(n);
  }
  return total;
}

// The output activation alone (sigmoid, softmax or identity by loss), in place on z[0..n).
template <typename T>
NS_HD void output_activation(Loss loss, T* z, int n) {
  switch (loss) {
    case Loss::bce:
      for (int k = 0; k < n; ++k) z[k] = sigmoid(z[k]);
      return;
    case Loss::softmax: {
      T zmax = z[0];
      for (int k = 1; k < n; ++k) zmax = z[k] > zmax ? z[k] : zmax;
      T sum = T(0);
      for (int k = 0; k < n; ++k) sum += (z[k] = std::exp(z[k] - zmax));
      for (int k = 0; k < n; ++k) z[k] /= sum;
      return;
    }
    case Loss::mse: return;
  }
}

// The class a sample's output activations predict. Two classes: one output
// is P(class 1) (> 0.5 means class 1); two outputs are [P(class 1),
// P(class 0)] as in the slide experiment. More classes: the argmax.
template <typename T>
NS_HD int predicted_class(const T* p, int outputs, int classes) {
  if (classes == 2) return outputs == 1 ? (p[0] > T(0.5) ? 1 : 0) : (p[0] > p[1] ? 1 : 0);
  int best = 0;
  for (int k = 1; k < outputs; ++k) best = p[k] > p[best] ? k : best;
  return best;
}

// Penalties on weights (not biases), Keras kernel_regularizer style:
// loss += l1 * sum|w| + l2 * sum w^2.
template <typename T>
NS_HD T regularized_gradient(T g, T w, T l1, T l2) {
  const T sign = w > T(0) ? T(1) : (w < T(0) ? T(-1) : T(0));
  return g + l1 * sign + T(2) * l2 * w;
}

// Optimizer hyper-parameters, per network.
// Kept in double so the double-precision tests see exactly the values given;
// the float paths round them once.
struct OptimizerConfig {
  Optimizer kind = Optimizer::adam;
  double lr = 1e-3;
  double beta1 = 0.9;     // adam
  double beta2 = 0.999;   // adam
  double eps = 1e-7;      // adam (Keras default)
  double momentum = 0.9;  // momentum
  double l1 = 0, l2 = 0;  // penalties on weights, not biases (regularized_gradient)
};

// Adam's bias-corrected step size for step t (1-based), Keras form:
// lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t). Computed once per step, in
// double so that CPU and GPU agree to the last bit on it.
NS_HD double adam_step_size(double lr, double beta1, double beta2, long long t) {
  return lr * std::sqrt(1.0 - std::pow(beta2, double(t))) / (1.0 - std::pow(beta1, double(t)));
}

// One parameter's update. s1/s2 are the optimizer state slots (adam: m, v;
// momentum: velocity in s1). step_size is adam_step_size() for adam and lr
// otherwise.
//   adam:     m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr_t m / (sqrt(v) + eps)
//   sgd:      p -= lr g
//   momentum: u = mu u - lr g; p += u            (Keras SGD(momentum=mu))
// optimizer_update_as<K>: the same rule for an optimizer known at compile
// time (loops over many parameters then vectorize: no switch inside them).
template <Optimizer K, typename T>
NS_HD void optimizer_update_as(const OptimizerConfig& c, T step_size, T g, T& p, T& s1, T& s2) {
  if constexpr (K == Optimizer::adam) {
    s1 = T(c.beta1) * s1 + (T(1) - T(c.beta1)) * g;
    s2 = T(c.beta2) * s2 + (T(1) - T(c.beta2)) * g * g;
    p -= step_size * s1 / (std::sqrt(s2) + T(c.eps));
  } else if constexpr (K == Optimizer::sgd) {
    p -= step_size * g;
  } else {
    s1 = T(c.momentum) * s1 - step_size * g;
    p += s1;
  }
}

template <typename T>
NS_HD void optimizer_update(const OptimizerConfig& c, T step_size, T g, T& p, T& s1, T& s2) {
  switch (c.kind) {
    case Optimizer::adam: optimizer_update_as<Optimizer::adam>(c, step_size, g, p, s1, s2); return;
    case Optimizer::sgd: optimizer_update_as<Optimizer::sgd>(c, step_size, g, p, s1, s2); return;
    case Optimizer::momentum: optimizer_update_as<Optimizer::momentum>(c, step_size, g, p, s1, s2); return;
  }
}

// Glorot (Xavier) uniform: w ~ U(-lim, lim), lim = sqrt(6 / (fan_in + fan_out)).
// u is uniform in [0, 1).
template <typename T>
NS_HD T glorot_uniform(T u, int fan_in, int fan_out) {
  const T limit = std::sqrt(T(6) / T(fan_in + fan_out));
  return (T(2) * u - T(1)) * limit;
}

}  // namespace netsweep
