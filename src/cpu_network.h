// The CPU backend's per-network passes: forward, output layer + loss,
// backward and the optimizer step for one network on one batch. Host-only,
// templated on the scalar (float in the backend, double in the
// finite-difference tests) and on the hidden activation, so the activation
// switch folds away in the inner loops.
//
// Batch buffers are feature-major, (units, padded_batch): the inner loops run
// over the samples of a batch with a length that is a multiple of kBatchPad,
// which the compiler vectorizes. Padded samples have zero input and zero
// gradient, so they never change a result.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "netsweep/layout.h"
#include "netsweep/math.h"
#include "netsweep/training_rules.h"

namespace netsweep::cpu {

constexpr int kBatchPad = 16;

inline int padded(int n) { return (n + kBatchPad - 1) / kBatchPad * kBatchPad; }

template <typename T>
struct Workspace {
  int capacity = 0;                  // padded batch size
  std::vector<std::vector<T>> a;     // a[l]: (units_l, capacity) activations; a[0] = inputs
  std::vector<std::vector<T>> z;     // z[l]: (units_l, capacity) pre-activations (l >= 1)
  std::vector<T> delta, delta_next;  // (max_width, capacity)
  std::vector<T> inputs_t;           // (capacity, padded(max_width)): one layer's inputs, sample-major
  std::vector<T> sample_z, sample_y, sample_p, sample_dz;  // (outputs,)

  Workspace(const NetworkLayout& net, int batch) : capacity(padded(batch)) {
    const int layers = int(net.layers.size());
    a.resize(size_t(layers) + 1);
    z.resize(size_t(layers) + 1);
    a[0].assign(size_t(net.layers[0].in) * capacity, T(0));
    for (int l = 0; l < layers; ++l) {
      a[size_t(l) + 1].assign(size_t(net.layers[size_t(l)].out) * capacity, T(0));
      z[size_t(l) + 1].assign(size_t(net.layers[size_t(l)].out) * capacity, T(0));
    }
    delta.assign(size_t(net.max_width) * capacity, T(0));
    delta_next = delta;
    inputs_t.assign(size_t(capacity) * size_t(padded(net.max_width)), T(0));
    const size_t outputs = size_t(net.layers.back().out);
    sample_z.resize(outputs);
    sample_y.resize(outputs);
    sample_p.resize(outputs);
    sample_dz.resize(outputs);
  }
};

// Calls f(std::integral_constant<Activation, A>{}) for the runtime activation.
template <typename F>
decltype(auto) with_activation(Activation act, F&& f) {
  switch (act) {
    case Activation::sigmoid: return f(std::integral_constant<Activation, Activation::sigmoid>{});
    case Activation::tanh: return f(std::integral_constant<Activation, Activation::tanh>{});
    case Activation::relu: return f(std::integral_constant<Activation, Activation::relu>{});
    case Activation::linear: return f(std::integral_constant<Activation, Activation::linear>{});
    case Activation::leaky_relu: return f(std::integral_constant<Activation, Activation::leaky_relu>{});
    case Activation::elu: return f(std::integral_constant<Activation, Activation::elu>{});
    case Activation::gelu: return f(std::integral_constant<Activation, Activation::gelu>{});
    case Activation::sine: return f(std::integral_constant<Activation, Activation::sine>{});
  }
  return f(std::integral_constant<Activation, Activation::relu>{});
}

// Loads `count` rows of `inputs` (n, in) into a[0] (in, capacity), zero-padded.
// rows == nullptr means rows first, first+1, ...
template <typename T, typename Src>
void load_batch(const Src* inputs, int in, const int32_t* rows, int first, int count, Workspace<T>& ws) {
  T* a0 = ws.a[0].data();  // (in, capacity)
  for (int b = 0; b < ws.capacity; ++b) {
    const int64_t row = b < count ? (rows ? rows[b] : first + b) : -1;
    for (int i = 0; i < in; ++i) a0[size_t(i) * ws.capacity + b] = row >= 0 ? T(inputs[row * in + i]) : T(0);
  }
}

// Register-blocked products. Each computes a block of rows of its output for
// all (padded) samples, kBatchPad lanes at a time, with accumulators in
// vector registers (GCC/Clang vector types: one zmm of floats with AVX-512,
// two ymm without). kRows is the block height; remainders use blocks of 1.
constexpr int kRows = 8;

template <typename T>
struct Lanes {
  typedef T type __attribute__((vector_size(kBatchPad * sizeof(T))));
};
template <typename T>
using lanes_t = typename Lanes<T>::type;

template <typename T>
inline lanes_t<T> load_lanes(const T* p) {
  lanes_t<T> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename T>
inline void store_lanes(T* p, const lanes_t<T>& v) {
  std::memcpy(p, &v, sizeof v);
}

// z[o0..o0+R) (rows, cap) = W[o0..o0+R) (rows, in) x (in, cap) + bias
template <typename T, int R>
inline void forward_rows(const T* W, const T* bias, const T* x, T* z, int in, int cap, int o0) {
  for (int b0 = 0; b0 < cap; b0 += kBatchPad) {
    lanes_t<T> acc[R];
    for (int k = 0; k < R; ++k) acc[k] = lanes_t<T>{} + bias[o0 + k];
    for (int i = 0; i < in; ++i) {
      const lanes_t<T> xi = load_lanes(x + size_t(i) * cap + b0);
      for (int k = 0; k < R; ++k) acc[k] += W[size_t(o0 + k) * in + i] * xi;
    }
    for (int k = 0; k < R; ++k) store_lanes(z + size_t(o0 + k) * cap + b0, acc[k]);
  }
}

// dx[i0..i0+R) (rows, cap) = sum over o of W[o][i] dz[o]   (W^T dz)
template <typename T, int R>
inline void input_grad_rows(const T* W, const T* dz, T* dx, int in, int out, int cap, int i0) {
  for (int b0 = 0; b0 < cap; b0 += kBatchPad) {
    lanes_t<T> acc[R];
    for (int k = 0; k < R; ++k) acc[k] = lanes_t<T>{};
    for (int o = 0; o < out; ++o) {
      const lanes_t<T> d = load_lanes(dz + size_t(o) * cap + b0);
      const T* w = W + size_t(o) * in + i0;
      for (int k = 0; k < R; ++k) acc[k] += w[k] * d;
    }
    for (int k = 0; k < R; ++k) store_lanes(dx + size_t(i0 + k) * cap + b0, acc[k]);
  }
}

// dW[o0..o0+R) (rows, in) = dz rows (rows, count) x x_t (count, in_pad)
template <typename T, int R>
inline void weight_grad_rows(const T* dz, const T* x_t, T* dW, int in, int in_pad, int cap, int count, int o0) {
  for (int i0 = 0; i0 < in; i0 += kBatchPad) {
    lanes_t<T> acc[R];
    for (int k = 0; k < R; ++k) acc[k] = lanes_t<T>{};
    for (int b = 0; b < count; ++b) {
      const lanes_t<T> xb = load_lanes(x_t + size_t(b) * in_pad + i0);
      for (int k = 0; k < R; ++k) acc[k] += dz[size_t(o0 + k) * cap + b] * xb;
    }
    const int valid = std::min(kBatchPad, in - i0);
    for (int k = 0; k < R; ++k)
      for (int t = 0; t < valid; ++t) dW[size_t(o0 + k) * in + i0 + t] = acc[k][t];
  }
}

// Runs f.template operator()<R>(row) over rows [0, n): blocks of kRows, then 1.
template <typename F>
inline void for_row_blocks(int n, F&& f) {
  int r = 0;
  for (; r + kRows <= n; r += kRows) f(std::integral_constant<int, kRows>{}, r);
  for (; r < n; ++r) f(std::integral_constant<int, 1>{}, r);
}

// z = W a_prev + b for all (padded) samples; then a = f(z) on hidden layers.
template <typename T, Activation A>
void forward(const NetworkLayout& net, const T* params, Workspace<T>& ws) {
  const int cap = ws.capacity;
  const int layers = int(net.layers.size());
  for (int l = 0; l < layers; ++l) {
    const LayerView& L = net.layers[size_t(l)];
    const T* W = params + L.weights;         // (out, in)
    const T* bias = params + L.biases;       // (out,)
    const T* prev = ws.a[size_t(l)].data();  // (in, cap)
    T* z = ws.z[size_t(l) + 1].data();       // (out, cap)
    T* a = ws.a[size_t(l) + 1].data();       // (out, cap)
    for_row_blocks(L.out,
                   [&](auto rows, int o0) { forward_rows<T, decltype(rows)::value>(W, bias, prev, z, L.in, cap, o0); });
    if (l + 1 < layers) {
      const size_t n = size_t(L.out) * cap;
      for (size_t k = 0; k < n; ++k) a[k] = activate<T>(A, z[k]);
    }
  }
}

struct BatchStats {
  double loss_sum = 0;  // sum over samples of the per-sample loss
  int correct = 0;      // classification hits
};

// Output layer for `count` samples: per-sample probabilities (written to
// probs (count, outputs) if given), loss and accuracy against targets rows;
// when want_grad, ws.delta (outputs, cap) = dL/dz / count, zero on padding.
template <typename T, typename Src>
BatchStats output_layer(const NetworkLayout& net, Loss loss, int classes, const Src* targets, const int32_t* labels,
                        const int32_t* rows, int first, int count, bool want_grad, Workspace<T>& ws,
                        float* probs = nullptr) {
  const int cap = ws.capacity;
  const int out = net.layers.back().out;
  const T* z = ws.z.back().data();  // (out, cap)
  T* a = ws.a.back().data();        // (out, cap)
  BatchStats stats;
  for (int b = 0; b < cap; ++b) {
    if (b >= count) {
      if (want_grad)
        for (int k = 0; k < out; ++k) ws.delta[size_t(k) * cap + b] = T(0);
      continue;
    }
    const int64_t row = rows ? rows[b] : first + b;
    for (int k = 0; k < out; ++k) {
      ws.sample_z[size_t(k)] = z[size_t(k) * cap + b];
      ws.sample_y[size_t(k)] = targets ? T(targets[row * out + k]) : T(0);
    }
    const T l = output_loss_and_grad<T>(loss, ws.sample_z.data(), ws.sample_y.data(), out, ws.sample_p.data(),
                                        want_grad ? ws.sample_dz.data() : nullptr);
    stats.loss_sum += double(l);
    if (classes > 0 && labels) stats.correct += predicted_class<T>(ws.sample_p.data(), out, classes) == labels[row];
    for (int k = 0; k < out; ++k) {
      a[size_t(k) * cap + b] = ws.sample_p[size_t(k)];
      if (probs) probs[size_t(b) * out + k] = float(ws.sample_p[size_t(k)]);
      if (want_grad) ws.delta[size_t(k) * cap + b] = ws.sample_dz[size_t(k)] / T(count);
    }
  }
  return stats;
}

// Backpropagates ws.delta (dL/dz of the output layer) for `count` samples
// and writes the gradient of every parameter to grad (the network's layout).
template <typename T, Activation A>
void backward(const NetworkLayout& net, const T* params, Workspace<T>& ws, T* grad, int count) {
  const int cap = ws.capacity;
  for (int l = int(net.layers.size()) - 1; l >= 0; --l) {
    const LayerView& L = net.layers[size_t(l)];
    const T* W = params + L.weights;         // (out, in)
    const T* prev = ws.a[size_t(l)].data();  // (in, cap)
    const T* dz = ws.delta.data();           // (out, cap)
    T* dW = grad + L.weights;                // (out, in)
    T* db = grad + L.biases;                 // (out,)
    for (int o = 0; o < L.out; ++o) {
      const T* d = dz + size_t(o) * cap;
      T s = 0;
#pragma omp simd reduction(+ : s)
      for (int b = 0; b < cap; ++b) s += d[b];
      db[o] = s;
    }
    // Inputs sample-major, (count, in_pad), so dW vectorizes over inputs.
    const int in_pad = padded(L.in);
    T* x_t = ws.inputs_t.data();
    for (int b = 0; b < count; ++b)
      for (int i = 0; i < in_pad; ++i) x_t[size_t(b) * in_pad + i] = i < L.in ? prev[size_t(i) * cap + b] : T(0);
    for_row_blocks(L.out, [&](auto rows, int o0) {
      weight_grad_rows<T, decltype(rows)::value>(dz, x_t, dW, L.in, in_pad, cap, count, o0);
    });
    if (l == 0) break;
    // delta_prev (in, cap) = W^T dz, times f'(z_prev).
    T* dprev = ws.delta_next.data();
    for_row_blocks(L.in, [&](auto rows, int i0) {
      input_grad_rows<T, decltype(rows)::value>(W, dz, dprev, L.in, L.out, cap, i0);
    });
    const T* zp = ws.z[size_t(l)].data();
    const size_t n = size_t(L.in) * cap;
    for (size_t k = 0; k < n; ++k) dprev[k] *= activate_derivative<T>(A, zp[k], prev[k]);
    std::swap(ws.delta, ws.delta_next);
  }
}

// One optimizer step over a network's parameters: reads `params`, writes the
// updated ones to `next` (so a step that would leave non-finite values can be
// thrown away) and returns false if any updated parameter is non-finite.
// L1/L2 apply to weights only.
template <typename T>
bool optimizer_step(const NetworkLayout& net, const OptimizerConfig& opt, T step_size, T l1, T l2, const T* params,
                    const T* grad, T* state1, T* state2, T* next) {
  bool finite = true;
  for (const LayerView& L : net.layers) {
    const int64_t weights = int64_t(L.in) * L.out;
    const bool regularize = l1 != T(0) || l2 != T(0);
    for (int64_t k = L.weights; k < L.weights + weights + L.out; ++k) {
      T g = grad[k];
      if (regularize && k < L.weights + weights) g = regularized_gradient<T>(g, params[k], l1, l2);
      T p = params[k];
      optimizer_update<T>(opt, step_size, g, p, state1[k], state2[k]);
      next[k] = p;
      finite &= finite_value(p);
    }
  }
  return finite;
}

}  // namespace netsweep::cpu
