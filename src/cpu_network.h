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
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "aligned_vector.h"
#include "cpu_gemm.h"
#include "cpu_team.h"
#include "cpu_vector_math.h"
#include "netsweep/layout.h"
#include "netsweep/math.h"
#include "netsweep/training_rules.h"

namespace netsweep::cpu {

template <typename T>
struct Workspace {
  int capacity = 0;                     // padded batch size
  std::vector<aligned_vector<T>> a;     // a[l]: (units_l, capacity) activations; a[0] = inputs
  std::vector<aligned_vector<T>> z;     // z[l]: (units_l, capacity) pre-activations (l >= 1)
  aligned_vector<T> delta, delta_next;  // (max_width, capacity); training only (empty for evaluation)
  std::vector<T> sample_z, sample_y, sample_p, sample_dz;  // (outputs,)

  Workspace(const NetworkLayout& net, int batch, bool training = true) : capacity(padded(batch)) {
    const int layers = int(net.layers.size());
    a.resize(size_t(layers) + 1);
    z.resize(size_t(layers) + 1);
    a[0].assign(size_t(net.layers[0].in) * capacity, T(0));
    for (int l = 0; l < layers; ++l) {
      a[size_t(l) + 1].assign(size_t(net.layers[size_t(l)].out) * capacity, T(0));
      z[size_t(l) + 1].assign(size_t(net.layers[size_t(l)].out) * capacity, T(0));
    }
    if (training) {
      delta.assign(size_t(net.max_width) * capacity, T(0));
      delta_next = delta;
    }
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

// ReLU networks' products leave out the units that are off for every sample
// of a batch (nonzero_rows(): the same bits), where the caller says the
// parameters are finite (`skip_zero_rows`). Other activations rarely give
// exact zeros, so they are built without that code.
template <Activation A>
constexpr bool kSkipsZeroRows = A == Activation::relu;

// Whether every value of x (rows, cols), of leading dimension ld, is finite.
template <typename T>
bool all_finite(const T* x, int rows, int cols, int ld) {
  int bad = 0;
  for (int i = 0; i < rows; ++i) {
    const T* r = x + size_t(i) * ld;
#pragma omp simd reduction(| : bad)
    for (int b = 0; b < cols; ++b) bad |= !finite_value(r[b]);
  }
  return !bad;
}

// z = W a_prev + b for all (padded) samples; then a = f(z) on hidden layers.
template <typename T, Activation A, typename Tile = DefaultTile>
void forward(const NetworkLayout& net, const T* params, Workspace<T>& ws, const Split& split = {},
             bool skip_zero_rows = false) {
  constexpr bool kLists = kSkipsZeroRows<A>;
  static thread_local std::vector<int> live;  // nonzero_rows() of a layer's inputs (each team member its own)
  const int cap = ws.capacity;
  const int layers = int(net.layers.size());
  for (int l = 0; l < layers; ++l) {
    const LayerView& L = net.layers[size_t(l)];
    const T* W = params + L.weights;         // (out, in)
    const T* bias = params + L.biases;       // (out,)
    const T* prev = ws.a[size_t(l)].data();  // (in, cap)
    T* z = ws.z[size_t(l) + 1].data();       // (out, cap)
    T* a = ws.a[size_t(l) + 1].data();       // (out, cap)
    const int* inputs = nullptr;
    int input_count = 0;
    // Not in the output layer: a sum flushed to -0 (FTZ) would keep its sign there, where a dense
    // sum adding +0 would not, and with a linear output the sign would reach the frames.
    if (kLists && skip_zero_rows && l > 0 && l + 1 < layers) {
      live.resize(size_t(L.in));
      input_count = nonzero_rows(prev, L.in, cap, live.data());
      if (input_count < L.in) inputs = live.data();
    }
    // z = W prev + b on rows [lo, hi)
    split.for_blocks(L.out, Tile::rows, 0, [&](int lo, int hi) {
      output_product<T, Tile, kLists>(W + size_t(lo) * L.in, L.in, prev, cap, z + size_t(lo) * cap, hi - lo, bias + lo,
                                      inputs, input_count);
      if (l + 1 < layers)
        for (size_t k = size_t(lo) * cap; k < size_t(hi) * cap; ++k) a[k] = activate<T>(A, z[k]);
    });
    split.sync();
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

// Told of each block of gradient as soon as it is written: elements [first,
// last) of the network, weights (penalized) or biases, and their gradient.
// The default does nothing.
struct NoGradientSink {
  template <typename T>
  void operator()(int64_t, int64_t, bool, const T*) const {}
};

// Backpropagates ws.delta (dL/dz of the output layer) for `count` samples
// and writes the gradient of every parameter to grad (the network's layout).
// sink(first, last, weights, g) runs on each block of rows of db and dW right
// after it is written, while the block is in L1, with g = the gradient of
// elements [first, last): the trainer's optimizer step runs there
// (OptimizerSink), so the gradient is never read back from memory. With grad
// null the blocks are written to a small buffer of this thread's instead,
// which stays in cache, and only the sink sees them (the trainer: no
// gradient array written to memory and read for ownership at every step).
// The sink must not write params: other threads are still reading W.
// skip_zero_rows: as forward()'s, for the rows of each layer's dz that are
// zero (ReLU units off for the whole batch): the layer below's delta leaves
// them out, and so does the weight gradient (their rows of it are +0) where
// the layer's inputs are finite.
template <typename T, Activation A, typename Tile = DefaultTile, typename Sink = NoGradientSink>
void backward(const NetworkLayout& net, const T* params, Workspace<T>& ws, T* grad, int count, const Split& split = {},
              Sink&& sink = {}, bool skip_zero_rows = false) {
  constexpr bool kLists = kSkipsZeroRows<A>;
  constexpr int kPanel = 4 * Tile::rows;  // rows of W per panel (below)
  const int cap = ws.capacity;
  T* delta[2] = {ws.delta.data(), ws.delta_next.data()};  // dz of this layer, then of the one below
  int current = 0;
  // (Tile::rows, in) of dW, or (rows,) of db, when grad is null; (kPanel, in) where rows are left out
  static thread_local aligned_vector<T> block_buffer;
  if (!grad) block_buffer.resize(size_t(kLists ? kPanel : Tile::rows) * size_t(net.max_width));
  static thread_local std::vector<int> live;  // nonzero_rows() of a layer's dz (each team member its own)
  if constexpr (kLists) live.resize(size_t(net.max_width));
  // A layer's inputs sample-major, (padded(count), padded(in)), zero past in, so dW vectorizes over
  // inputs: each thread, alone or in a team, transposes all samples into its own (no barrier to share one).
  static thread_local aligned_vector<T> inputs_t;  // (cap, padded(max_width))
  inputs_t.resize(size_t(cap) * size_t(padded(net.max_width)));
  for (int l = int(net.layers.size()) - 1; l >= 0; --l) {
    const LayerView& L = net.layers[size_t(l)];
    const T* W = params + L.weights;            // (out, in)
    const T* prev = ws.a[size_t(l)].data();     // (in, cap)
    const T* dz = delta[current];               // (out, cap)
    T* dW = grad ? grad + L.weights : nullptr;  // (out, in)
    T* db = grad ? grad + L.biases : nullptr;   // (out,)
    T* dprev = delta[1 - current];              // (in, cap)
    const T* zp = ws.z[size_t(l)].data();       // (in, cap)
    const int in_pad = padded(L.in);
    T* x_t = inputs_t.data();  // (padded(count), in_pad)
    transpose_samples(prev, L.in, cap, x_t, in_pad, 0, padded(count));
    // dz's nonzero rows live[0, live_count): the products that sum over them leave the others out.
    int live_count = L.out;
    bool sparse_rows = false;  // the weight gradient's rows of zero dz are +0 (inputs finite) and skipped
    if (kLists && skip_zero_rows) {
      live_count = nonzero_rows(dz, L.out, cap, live.data());
      sparse_rows = live_count < L.out && all_finite(prev, L.in, count, cap);
    }
    const bool sparse = kLists && live_count < L.out;
    auto live_in = [&](int lo, int hi) {  // the part of the list in [lo, hi)
      const int* end = live.data() + live_count;
      const int* first = std::lower_bound(static_cast<const int*>(live.data()), end, lo);
      return std::make_pair(first, int(std::lower_bound(first, end, hi) - first));
    };
    // db and dW = dz x^T on rows [lo, hi) of out, then the sink, a block of
    // Tile::rows rows at a time (the same tiles as one product over all rows;
    // where rows are left out, a panel's nonzero rows first, then its blocks).
    auto gradient_rows = [&](int lo, int hi) {
      for (int o0 = lo; o0 < hi; o0 += Tile::rows) {  // db in blocks that fit block_buffer
        const int o1 = std::min(o0 + Tile::rows, hi);
        T* g = db ? db + o0 : block_buffer.data();  // (o1 - o0,)
        for (int o = o0; o < o1; ++o) {
          const T* d = dz + size_t(o) * cap;
          T s = 0;
#pragma omp simd reduction(+ : s)
          for (int b = 0; b < cap; ++b) s += d[b];
          g[o - o0] = s;
        }
        sink(L.biases + o0, L.biases + o1, false, g);
      }
      if (kLists && sparse_rows) {
        // A panel's nonzero rows at once (into a panel of dW, zero elsewhere), then the sink block by block.
        int rows_list[kPanel];
        for (int p = lo; p < hi; p += kPanel) {
          const int panel_rows = std::min(kPanel, hi - p);
          T* gp = dW ? dW + size_t(p) * L.in : block_buffer.data();  // (panel_rows, in)
          const auto [first, n] = live_in(p, p + panel_rows);
          for (int r = 0, j = 0; r < panel_rows; ++r) {
            if (j < n && first[j] == p + r)
              rows_list[j++] = r;
            else
              std::fill_n(gp + size_t(r) * L.in, L.in, T(0));
          }
          weight_gradient_product<T, Tile, kLists>(dz + size_t(p) * cap, cap, x_t, in_pad, gp, L.in, panel_rows, L.in,
                                                   count, rows_list, n);
          for (int o = p; o < p + panel_rows; o += Tile::rows) {
            const int rows = std::min(Tile::rows, p + panel_rows - o);
            sink(L.weights + int64_t(o) * L.in, L.weights + int64_t(o + rows) * L.in, true, gp + size_t(o - p) * L.in);
          }
        }
        return;
      }
      for (int o = lo; o < hi; o += Tile::rows) {
        const int rows = std::min(Tile::rows, hi - o);
        T* g = dW ? dW + size_t(o) * L.in : block_buffer.data();  // (rows, in)
        weight_gradient_product<T, Tile>(dz + size_t(o) * cap, cap, x_t, in_pad, g, L.in, rows, L.in, count);
        sink(L.weights + int64_t(o) * L.in, L.weights + int64_t(o + rows) * L.in, true, g);
      }
    };
    // delta_prev rows [lo, hi) (inputs) times f'(z_prev).
    auto times_derivative = [&](int lo, int hi) {
      for (size_t k = size_t(lo) * cap; k < size_t(hi) * cap; ++k)
        dprev[k] *= activate_derivative<T>(A, zp[k], prev[k]);
    };
    // delta_prev's columns [lo, hi) += the panel of W's rows [o, o + rows) transposed times their dz:
    // continued panel after panel in row order, so the same bits as one product over all rows.
    auto input_gradient_panel = [&](int o, int rows, int lo, int hi) {
      T* dx = dprev + size_t(lo) * cap;  // (hi - lo, cap)
      if (sparse) {                      // the panel's nonzero rows of dz, indices from W's first row
        const auto [first, n] = live_in(o, o + rows);
        if (o == 0)
          input_gradient_product<T, Tile, false, kLists>(W + lo, L.in, dz, cap, dx, hi - lo, rows, first, n);
        else
          input_gradient_product<T, Tile, true, kLists>(W + lo, L.in, dz, cap, dx, hi - lo, rows, first, n);
        return;
      }
      const T* panel = W + size_t(o) * L.in + lo;  // (rows, hi - lo) of (out, in)
      if (o == 0)
        input_gradient_product<T, Tile>(panel, L.in, dz, cap, dx, hi - lo, rows);
      else
        input_gradient_product<T, Tile, true>(panel, L.in, dz + size_t(o) * cap, cap, dx, hi - lo, rows);
    };
    if (l > 0 && split.size == 1) {
      // Alone: one pass over W's rows, a panel at a time, for both products
      // that read it: delta_prev += panel^T dz (continued in the same order
      // as one product, so the same bits), then the panel's gradient and its
      // optimizer step, which reads the panel again while it is in cache.
      // A team splits delta_prev by its rows (W's columns) and the gradient
      // by W's rows instead, below: splitting both by W's columns would read
      // W once too, but the optimizer's state then streams in short strided
      // pieces (measured ~20% slower for 8x384 on 2 threads).
      for (int o = 0; o < L.out; o += kPanel) {
        const int rows = std::min(kPanel, L.out - o);
        input_gradient_panel(o, rows, 0, L.in);
        gradient_rows(o, o + rows);
      }
      times_derivative(0, L.in);
    } else {
      // delta_prev (in, cap) = W^T dz on rows [lo, hi) of in, in blocks of kPanel columns, each
      // walking W's rows a panel at a time. With blocks of Tile::rows columns, each walking all rows,
      // this product cost a 2-thread 8x384 step 1.5x the CPU time it costs one thread; in panels,
      // 0.9x (perf samples).
      if (l > 0)
        split.for_blocks(L.in, kPanel, 0, [&](int lo, int hi) {
          for (int o = 0; o < L.out; o += kPanel) input_gradient_panel(o, std::min(kPanel, L.out - o), lo, hi);
          times_derivative(lo, hi);
        });
      // In panels too: each claim is a locked instruction, which waits for the optimizer's stores to drain.
      split.for_blocks(L.out, kPanel, 1, gradient_rows);
    }
    if (l == 0) break;
    split.sync();  // dprev complete
    current = 1 - current;
  }
  split.sync();  // every gradient written
}

// The optimizer step reads `params` and writes the updated ones to `next`
// (so a step that would leave non-finite values can be thrown away).
// Elements [first, last) of one step, for an optimizer and penalty known at
// compile time: a loop without branches, which vectorizes. Returns false if
// an updated value is not finite.
// grad: the gradient of elements [first, last) (grad[0] is element first's).
template <Optimizer K, bool kPenalty, typename T>
bool optimizer_range(const OptimizerConfig& opt, T step_size, T l1, T l2, const T* __restrict params,
                     const T* __restrict grad, T* __restrict state1, T* __restrict state2, T* __restrict next,
                     int64_t first, int64_t last) {
  int bad = 0;
  for (int64_t k = first; k < last; ++k) {
    const T gk = grad[k - first];
    const T g = kPenalty ? regularized_gradient<T>(gk, params[k], l1, l2) : gk;
    T p = params[k];
    optimizer_update_as<K, T>(opt, step_size, g, p, state1[k], state2[k]);
    next[k] = p;
    bad |= !finite_value(p);
  }
  return !bad;
}

// One step of the optimizer on elements [first, last), whose gradient is
// grad[0, last - first): `penalized` for weights (L1/L2 apply to weights
// only). Used as backward()'s sink, it updates each block of gradient as it
// is written; `finite` turns false if an updated value is not finite. next
// must not be params (see backward()).
template <typename T>
struct OptimizerSink {
  const OptimizerConfig* opt;
  T step_size, l1, l2;
  const T* params;
  T *state1, *state2, *next;
  bool finite = true;

  void operator()(int64_t first, int64_t last, bool penalized, const T* grad) {
    const bool penalty = penalized && (l1 != T(0) || l2 != T(0));
    auto run = [&](auto kind) {
      constexpr Optimizer K = decltype(kind)::value;
      finite &=
          penalty ? optimizer_range<K, true>(*opt, step_size, l1, l2, params, grad, state1, state2, next, first, last)
                  : optimizer_range<K, false>(*opt, step_size, l1, l2, params, grad, state1, state2, next, first, last);
    };
    switch (opt->kind) {
      case Optimizer::adam: return run(std::integral_constant<Optimizer, Optimizer::adam>{});
      case Optimizer::sgd: return run(std::integral_constant<Optimizer, Optimizer::sgd>{});
      case Optimizer::momentum: return run(std::integral_constant<Optimizer, Optimizer::momentum>{});
    }
  }
};

// The step over the whole network after backward() has written grad (the
// network's layout): the same updates as OptimizerSink inside backward(), in
// one pass.
template <typename T>
bool optimizer_step(const NetworkLayout& net, OptimizerSink<T> sink, const T* grad) {
  for (const LayerView& L : net.layers) {
    sink(L.weights, L.weights + int64_t(L.in) * L.out, true, grad + L.weights);
    sink(L.biases, L.biases + L.out, false, grad + L.biases);
  }
  return sink.finite;
}

}  // namespace netsweep::cpu
