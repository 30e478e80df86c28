// The GPU backend's training algorithm, written once for a
// "block": a group of threads with ids 0..size()-1 and a barrier. On the
// device a block is a CUDA thread block (kernels/train.cu); in the tests it is
// a group of host threads (tests/test_device_algorithm.cpp), so CI without a
// GPU runs exactly the code the kernels run and compares it with the CPU
// backend. One block trains one network; every buffer lives in global memory
// (the packed layout of layout.h for parameters and optimizer state, and a
// per-network scratch region for activations). Evaluation (sets, frames,
// neuron maps) reuses its layer passes: device_eval.h.
//
// Block concept:   int tid() const;  int size() const;  void sync();
// A "block" may also be a group of several CUDA blocks with a device-wide
// barrier (kernels/train.cu), so the widest networks train on many SMs.
#pragma once

#include <cstdint>

#include "netsweep/common.h"
#include "netsweep/device_update.h"
#include "netsweep/math.h"
#include "netsweep/training_rules.h"

namespace netsweep::device {

constexpr int kMaxOutputs = 16;     // outputs per network (classes)
constexpr int kBlockThreads = 256;  // threads per block on the device

struct Layer {
  int32_t in, out;
  int64_t weights, biases;  // offsets within the network's parameter block
};

// One network: its shape, hyper-parameters, buffers and training state.
struct Net {
  int32_t first_layer, layers;  // into the Layer array
  int32_t batch;                // samples per step (full batch: n_train)
  int32_t max_width;
  int64_t param_offset, param_count;  // into params/state1/state2 (packed layout)
  int64_t grad_offset;                // into grad/next (param_count floats each)
  int64_t scratch_offset;             // into scratch (train_scratch_floats(net) floats)
  Activation activation;
  OptimizerConfig optimizer;
  uint64_t stream_key;  // NetworkConfig::stream_key()
  // Training state, written by thread 0 (see NetworkState).
  int32_t epoch, next_sample, active, status, epochs_trained;
  int64_t step;
  double loss_sum;
};

struct GemmNetState;  // gemm_train.h

struct Problem {
  Loss loss;
  int32_t inputs, outputs, classes, n_train, epochs;
  int32_t has_early_stop;
  float early_stop_loss;
  const float* train_x;  // (n_train, inputs)
  const float* train_y;  // (n_train, outputs)
  const Layer* layers;
  Net* nets;
  float* params;  // packed parameters
  float* state1;  // optimizer state, same layout
  float* state2;
  float* grad;               // per network, param_count floats at grad_offset
  float* next;               // candidate parameters of a step, same offsets as grad
  float* scratch;            // per network activations, at scratch_offset
  int32_t* perm;             // (networks, n_train) this epoch's order
  float* epoch_loss;         // (networks, epochs)
  GemmNetState* gemm_state;  // (networks) the GEMM path's per-step state
};

// Scratch floats one network needs to train with batch `cap`:
// a_l and z_l for every layer (units_l x cap), two delta buffers
// (max_width x cap), per-sample losses (cap), a few shared words, then, on
// the fused path, every layer's input again, transposed (cap x in_l: its
// weight gradients read it along the units, so adjacent threads read
// adjacent floats).
NS_HD int64_t train_scratch_floats(const Layer* layers, int n_layers, int max_width, int cap, bool fused) {
  int64_t total = int64_t(layers[0].in) * cap;  // a_0
  for (int l = 0; l < n_layers; ++l) total += 2 * int64_t(layers[l].out) * cap;
  total += 2 * int64_t(max_width) * cap + int64_t(cap) + 8;
  for (int l = 0; fused && l < n_layers; ++l) total += int64_t(layers[l].in) * cap;  // a_l^T
  return total;
}

// Views into a network's scratch region for batch capacity `cap`.
struct Scratch {
  float* base;
  int cap;
  // a_l: l = 0 inputs, then each layer's outputs; z_l follows a_l for l >= 1.
  NS_HD float* act(const Layer* L, int l) const {
    int64_t off = int64_t(L[0].in) * cap;
    if (l == 0) return base;
    for (int k = 0; k < l - 1; ++k) off += 2 * int64_t(L[k].out) * cap;
    return base + off;
  }
  NS_HD float* pre(const Layer* L, int l) const { return act(L, l) + int64_t(L[l - 1].out) * cap; }
  NS_HD float* end(const Layer* L, int n_layers) const { return pre(L, n_layers) + int64_t(L[n_layers - 1].out) * cap; }
};

// The transposed inputs a_l^T (cap x in_l) of every layer, from `first`
// (the region after the shared words of train_scratch_floats).
struct TransposedInputs {
  float* first;
  int cap;
  NS_HD float* of(const Layer* L, int l) const {
    int64_t off = 0;
    for (int k = 0; k < l; ++k) off += int64_t(L[k].in) * cap;
    return first + off;
  }
};

// Loads rows[0..count) of x (n, in) into a_0 (in, cap), and into a0_t (cap,
// in) if given; rows == nullptr: first + b.
template <typename Block>
NS_HD void load_inputs(Block& blk, const float* x, int in, const int32_t* rows, int first, int count, float* a0,
                       int cap, float* a0_t = nullptr) {
  for (int k = blk.tid(); k < in * count; k += blk.size()) {
    const int i = k / count, b = k % count;
    const int64_t row = rows ? rows[b] : first + b;
    const float v = x[row * in + i];
    a0[int64_t(i) * cap + b] = v;
    if (a0_t) a0_t[int64_t(b) * in + i] = v;
  }
}

// Rows each thread of the layer loops carries at once: one load of the
// operand that adjacent threads read side by side serves kRows products (its
// other operand is one address per warp), and the kRows sums are independent.
// Each sum still runs over its terms in the CPU backend's order.
constexpr int kRows = 4;
NS_HD int row_groups(int rows) { return (rows + kRows - 1) / kRows; }
NS_HD int last_row(int r, int rows) { return r < rows ? r : rows - 1; }  // rows past the end re-read the last

// Terms of a sum whose loads are issued before any of their products. nvcc
// does not unroll these loops (their trip count is known only at run time, and
// with kRows sums a term the body is not small), so each term would wait a
// memory round trip for its loads; in chunks, kTerms terms wait one.
constexpr int kTerms = 8;
// The deltas' sums read kRows weights a term from four columns of W (four
// addresses, not one): 8 terms a load made ptxas spill 184-192 bytes of the
// training kernels (sm_90, 128 registers); 4 spill nothing.
constexpr int kDeltaTerms = 4;

// acc[r] += a(r, t) * x(t) for t = 0, 1, ..., terms - 1, in that order: the
// same sums, to the bit, as the plain loop (Terms = 1).
template <int Terms = kTerms, int Rows, typename X, typename A>
NS_HD void accumulate(float (&acc)[Rows], int terms, const X& x, const A& a) {
  int t = 0;
  if constexpr (Terms > 1)  // (Terms = 1: the plain loop alone)
    for (; t + Terms <= terms; t += Terms) {
      float xv[Terms], av[Rows][Terms];
      for (int j = 0; j < Terms; ++j) {
        xv[j] = x(t + j);
        for (int r = 0; r < Rows; ++r) av[r][j] = a(r, t + j);
      }
      for (int j = 0; j < Terms; ++j)
        for (int r = 0; r < Rows; ++r) acc[r] += av[r][j] * xv[j];
    }
  for (; t < terms; ++t) {
    const float xt = x(t);
    for (int r = 0; r < Rows; ++r) acc[r] += a(r, t) * xt;
  }
}

// z = W a_prev + b (sum over inputs in order, from the bias), a = f(z) on
// hidden layers (and a^T into `transposed`, when training).
template <int Terms = kTerms, typename Block>
NS_HD void forward(Block& blk, const Layer* L, int n_layers, const float* params, Activation act, Scratch s, int count,
                   const TransposedInputs* transposed = nullptr) {
  for (int l = 0; l < n_layers; ++l) {
    const Layer& layer = L[l];
    const float* W = params + layer.weights;  // (out, in)
    const float* bias = params + layer.biases;
    const float* prev = s.act(L, l);  // (in, cap)
    float* z = s.pre(L, l + 1);       // (out, cap)
    float* a = s.act(L, l + 1);       // (out, cap)
    const bool hidden = l + 1 < n_layers;
    float* a_t = hidden && transposed ? transposed->of(L, l + 1) : nullptr;  // (cap, out)
    for (int k = blk.tid(); k < row_groups(layer.out) * count; k += blk.size()) {
      const int o0 = k / count * kRows, b = k % count;  // consecutive threads: consecutive samples
      const float* w[kRows];
      float acc[kRows];
      for (int r = 0; r < kRows; ++r) {
        const int o = last_row(o0 + r, layer.out);
        w[r] = W + int64_t(o) * layer.in;
        acc[r] = bias[o];
      }
      accumulate<Terms>(
          acc, layer.in, [&](int i) { return prev[int64_t(i) * s.cap + b]; }, [&](int r, int i) { return w[r][i]; });
      for (int r = 0; r < kRows && o0 + r < layer.out; ++r) {
        const int o = o0 + r;
        z[int64_t(o) * s.cap + b] = acc[r];
        if (hidden) {
          const float v = activate<float>(act, acc[r]);
          a[int64_t(o) * s.cap + b] = v;
          if (a_t) a_t[int64_t(b) * layer.out + o] = v;
        }
      }
    }
    blk.sync();
  }
}

// Output layer for `count` samples: per-sample loss into losses[b] (and,
// with targets, dL/dz / count into delta (out, cap)); probabilities into
// probs (count, out) if given; correct[b] = 1 if the class was predicted.
template <typename Block>
NS_HD void output_layer(Block& blk, const Layer* L, int n_layers, Loss loss, int classes, const float* targets,
                        const int32_t* labels, const int32_t* rows, int first, int count, Scratch s, float* delta,
                        float* losses, float* correct, float* probs) {
  const int out = L[n_layers - 1].out;
  const float* z = s.pre(L, n_layers);
  for (int b = blk.tid(); b < count; b += blk.size()) {
    const int64_t row = rows ? rows[b] : first + b;
    float zb[kMaxOutputs], yb[kMaxOutputs], pb[kMaxOutputs], dz[kMaxOutputs];
    for (int k = 0; k < out; ++k) {
      zb[k] = z[int64_t(k) * s.cap + b];
      yb[k] = targets ? targets[row * out + k] : 0.0f;
    }
    const float l = output_loss_and_grad<float>(loss, zb, yb, out, pb, delta ? dz : nullptr);
    if (losses) losses[b] = l;
    if (correct)
      correct[b] = (classes > 0 && labels && predicted_class<float>(pb, out, classes) == labels[row]) ? 1.0f : 0.0f;
    for (int k = 0; k < out; ++k) {
      if (delta) delta[int64_t(k) * s.cap + b] = dz[k] / float(count);
      if (probs) probs[int64_t(b) * out + k] = pb[k];
    }
  }
  blk.sync();
}

// Gradients of every parameter (into grad, the network's layout) from
// delta = dL/dz of the output layer; sums in the CPU backend's order.
template <int Terms = kTerms, typename Block>
NS_HD void backward(Block& blk, const Layer* L, int n_layers, const float* params, Activation act, Scratch s, int count,
                    const TransposedInputs& transposed, float* delta, float* delta_next, float* grad) {
  for (int l = n_layers - 1; l >= 0; --l) {
    const Layer& layer = L[l];
    const float* W = params + layer.weights;    // (out, in)
    const float* prev = s.act(L, l);            // (in, cap)
    const float* prev_t = transposed.of(L, l);  // (cap, in)
    float* dW = grad + layer.weights;
    float* db = grad + layer.biases;
    for (int k = blk.tid(); k < row_groups(layer.out) * (layer.in + 1); k += blk.size()) {
      // Consecutive threads: consecutive inputs i of the units o0.., so d[b] is
      // one address for all of them and the inputs' row b of a^T is read in one go.
      const int o0 = k / (layer.in + 1) * kRows, i = k % (layer.in + 1);
      const float* d[kRows];
      float acc[kRows];
      for (int r = 0; r < kRows; ++r) {
        d[r] = delta + int64_t(last_row(o0 + r, layer.out)) * s.cap;
        acc[r] = 0;
      }
      if (i < layer.in) {
        const float* x = prev_t + i;
        accumulate<Terms>(
            acc, count, [&](int b) { return x[int64_t(b) * layer.in]; }, [&](int r, int b) { return d[r][b]; });
        for (int r = 0; r < kRows && o0 + r < layer.out; ++r) dW[int64_t(o0 + r) * layer.in + i] = acc[r];
      } else {
        accumulate<Terms>(
            acc, count, [](int) { return 1.0f; }, [&](int r, int b) { return d[r][b]; });  // d * 1 is exact
        for (int r = 0; r < kRows && o0 + r < layer.out; ++r) db[o0 + r] = acc[r];
      }
    }
    if (l == 0) {
      blk.sync();
      break;
    }
    const float* zp = s.pre(L, l);
    for (int k = blk.tid(); k < row_groups(layer.in) * count; k += blk.size()) {
      const int i0 = k / count * kRows, b = k % count;  // consecutive threads: consecutive samples
      int i[kRows];
      float acc[kRows];
      for (int r = 0; r < kRows; ++r) {
        i[r] = last_row(i0 + r, layer.in);
        acc[r] = 0;
      }
      accumulate<(Terms < kDeltaTerms ? Terms : kDeltaTerms)>(
          acc, layer.out, [&](int o) { return delta[int64_t(o) * s.cap + b]; },
          [&](int r, int o) { return W[int64_t(o) * layer.in + i[r]]; });
      for (int r = 0; r < kRows && i0 + r < layer.in; ++r) {
        const int64_t at = int64_t(i0 + r) * s.cap + b;
        delta_next[at] = acc[r] * activate_derivative<float>(act, zp[at], prev[at]);
      }
    }
    blk.sync();
    float* t = delta;  // the next layer down reads what was just written
    delta = delta_next;
    delta_next = t;
  }
}

// Trains network `index` until it has completed `epoch_end` epochs (or
// stops: diverged or early-stopped). Thread 0 keeps the Net's state; every
// thread follows the same control flow from block-wide values. The scratch
// region and the epoch's order hold nothing from one call to the next (the
// order is drawn again), so a single block may pass its own (`scratch`:
// train_scratch_floats of the network; `order`: n_train ints; e.g. in shared
// memory) in place of the network's regions of P.scratch and P.perm.
template <int Terms = kTerms, typename Block>
NS_HD void train_until(Block& blk, const Problem& P, int index, int epoch_end, float* scratch = nullptr,
                       int32_t* order = nullptr) {
  Net& N = P.nets[index];
  const Layer* L = P.layers + N.first_layer;
  const int n_layers = N.layers, cap = N.batch;
  Scratch s{scratch ? scratch : P.scratch + N.scratch_offset, cap};
  float* delta = s.end(L, n_layers);
  float* delta_next = delta + int64_t(N.max_width) * cap;
  float* losses = delta_next + int64_t(N.max_width) * cap;
  // Block-wide values: the batch loss, and a flag raised by any non-finite update.
  double* shared = reinterpret_cast<double*>((reinterpret_cast<uintptr_t>(losses + cap) + 7) & ~uintptr_t(7));
  int* nonfinite = reinterpret_cast<int*>(shared + 1);
  const TransposedInputs transposed{losses + cap + 8, cap};
  float* params = P.params + N.param_offset;
  float* state1 = P.state1 + N.param_offset;
  float* state2 = P.state2 + N.param_offset;
  float* grad = P.grad + N.grad_offset;
  float* next = P.next + N.grad_offset;
  int32_t* perm = order ? order : P.perm + int64_t(index) * P.n_train;
  int32_t* partners = train_scratch_floats(L, n_layers, N.max_width, cap, true) >= P.n_train
                          ? reinterpret_cast<int32_t*>(s.base)
                          : nullptr;

  // Every thread keeps its own copy of the state; all make the same updates.
  int epoch = N.epoch, next_sample = N.next_sample, active = N.active, status = N.status;
  int epochs_trained = N.epochs_trained;
  int64_t step = N.step;
  double loss_sum = N.loss_sum;
  int perm_epoch = -1;
  blk.sync();
  while (epoch < epoch_end && epoch < P.epochs) {
    if (active) {
      if (perm_epoch != epoch) {
        // The partners take the scratch region, where only the last step's flag is still read:
        // every thread has read it before they overwrite it.
        if (partners) blk.sync();
        epoch_order(blk, N.stream_key, uint64_t(epoch), perm, P.n_train, partners);
        perm_epoch = epoch;
      }
      while (next_sample < P.n_train) {
        const int count = P.n_train - next_sample < cap ? P.n_train - next_sample : cap;
        const int32_t* rows = perm + next_sample;
        load_inputs(blk, P.train_x, P.inputs, rows, 0, count, s.act(L, 0), cap, transposed.of(L, 0));
        blk.sync();
        forward<Terms>(blk, L, n_layers, params, N.activation, s, count, &transposed);
        output_layer(blk, L, n_layers, P.loss, 0, P.train_y, nullptr, rows, 0, count, s, delta, losses, nullptr,
                     nullptr);
        if (blk.tid() == 0) {  // the batch's loss, summed in sample order
          double sum = 0;
          for (int b = 0; b < count; ++b) sum += double(losses[b]);
          *shared = sum;
          *nonfinite = 0;  // everyone read last step's flag before this step's load barrier
        }
        // The backward pass's barriers publish the loss; a non-finite batch is
        // dropped before any parameter changes (its gradients are discarded).
        backward<Terms>(blk, L, n_layers, params, N.activation, s, count, transposed, delta, delta_next, grad);
        const double batch_loss = *shared;
        loss_sum += batch_loss;
        if (!finite_value(batch_loss)) {
          active = 0;
          break;
        }
        ++step;
        const OptimizerConfig& opt = N.optimizer;
        const float step_size = optimizer_step_size(opt, step);
        if (opt.l1 == 0.0 && opt.l2 == 0.0)  // nothing penalized: one pass over the block, no short layer passes
          update_range(blk, opt, step_size, 0, 0, N.param_count, params, state1, state2, grad, next, nonfinite);
        else
          for (int l = 0; l < n_layers; ++l)
            update_range(blk, opt, step_size, L[l].weights, L[l].weights + int64_t(L[l].in) * L[l].out,
                         L[l].biases + L[l].out, params, state1, state2, grad, next, nonfinite);
        blk.sync();
        if (*nonfinite != 0) {  // keep the last finite parameters
          active = 0;
          break;
        }
        // Published by the next barrier (the next step's input load, or the end of training).
        copy_range(blk, next, params, N.param_count);
        next_sample += cap;
      }
      const EpochEnd end =
          end_of_epoch(active != 0, loss_sum, P.n_train, status, P.has_early_stop != 0, P.early_stop_loss);
      if (end.record_loss) {
        if (blk.tid() == 0) P.epoch_loss[int64_t(index) * P.epochs + epoch] = end.loss;
        epochs_trained = epoch + 1;
      }
      status = end.status;
      active = end.active;
      loss_sum = 0;
      next_sample = 0;
    }
    ++epoch;
  }
  if (blk.tid() == 0) {
    N.epoch = epoch;
    N.next_sample = next_sample;
    N.active = active;
    N.status = status;
    N.epochs_trained = epochs_trained;
    N.step = step;
    N.loss_sum = loss_sum;
  }
  blk.sync();
}

}  // namespace netsweep::device
