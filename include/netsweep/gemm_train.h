// The GPU backend's GEMM path: networks of equal shape (and batch) train in
// lockstep as one group, every layer of a step one batched GEMM over the
// group's members, with the elementwise work in small fused ops. Groups may
// also merge every shape of one depth (GemmGroupPlan::shapes): a step is then
// one grouped GEMM per layer and pass and the same ops, fewer launches and
// streams for a sweep of many widths. The fused block path (device_train.h)
// suits narrow networks; this one the wide ones.
//
// The step is written once (gemm_plan.h), against GemmOps: on the device the
// GEMMs are cuBLAS batched calls and each op below is one launch of a generic
// kernel templated on the op (kernels/gemm_train.cu), captured per epoch in a
// CUDA graph; in the tests GemmOps runs them as host loops
// (tests/device_emulator.h), so CI checks exactly this sequence against the
// CPU backend.
//
// Buffers are the fused path's (device::Problem): per network, the scratch
// region holds a_l and z_l as (units, cap) with sample-contiguous rows, which
// is a column-major (cap x units) matrix with leading dimension cap, and
// W (out, in) row-major is a column-major (in x out) matrix with leading
// dimension in. Hence, for `count` samples:
//   forward   Z^T (count x out) = A^T (count x in) . W^T          gemm(N, N)
//   weights   dW^T (in x out)   = (A^T)^T . Delta^T (count x out)  gemm(T, N)
//   delta     D^T (count x in)  = Delta^T . (W^T)^T                gemm(N, T)
#pragma once

#include <cstdint>

#include "netsweep/device_train.h"

namespace netsweep::device {

// Per-network state of the GEMM path between ops (device memory).
struct GemmNetState {
  float step_size;                // this step's optimizer step size
  int32_t update_failed;          // a non-finite parameter appeared in this step's update
  int32_t active_at_epoch_start;  // the epoch counts for this network (else it only advances)
  int32_t pad;
};

// A group as the ops see it: members share depth and batch, and usually
// their layer widths. Where shapes were merged, an op's extents (its `out`,
// `in`, `units`, and `params` here) are the group's largest, and each member
// works to its own layers (the Layer table), leaving the rest of the range idle.
struct GemmGroup {
  const int32_t* nets;  // (members) network indices
  int32_t members, layers, batch;
  int64_t params;  // parameters of the largest member
};

NS_HD const Layer* layers_of(const Problem& P, const Net& N) { return P.layers + N.first_layer; }
NS_HD Scratch scratch_of(const Problem& P, const Net& N) { return Scratch{P.scratch + N.scratch_offset, N.batch}; }
// The two delta buffers after the activations, then per-sample losses (as in train_until).
NS_HD float* delta_buffer(const Problem& P, const Net& N, int parity) {
  return scratch_of(P, N).end(layers_of(P, N), N.layers) + int64_t(parity) * N.max_width * N.batch;
}
// dL/dz of layer l lives in buffer (layers - 1 - l) % 2: each layer's delta is written beside the one above.
NS_HD int delta_parity(int n_layers, int layer) { return (n_layers - 1 - layer) % 2; }
NS_HD float* sample_losses(const Problem& P, const Net& N) { return delta_buffer(P, N, 2); }

// Element (member, parameter) of a group: the network and the index in its parameter block.
struct MemberParam {
  int net;
  int64_t k;
};
NS_HD MemberParam member_param(const GemmGroup& G, int64_t e) { return {G.nets[e / G.params], e % G.params}; }

// A non-finite update in the last step takes the network out; its
// parameters stay those from before that step (CommitOp skipped them).
NS_HD void settle_failed_update(Net& N, GemmNetState& st) {
  if (st.update_failed) {
    N.active = 0;
    st.update_failed = 0;
  }
}

// Every op is {size(), operator()(e)} over independent elements e.

// Element (member, unit, sample) of an op over `units` rows of `count` samples
// each: samples vary fastest, so a warp touches adjacent floats of one row.
struct MemberUnitSample {
  int member, unit, sample;
};
NS_HD MemberUnitSample member_unit_sample(int64_t e, int units, int count) {
  const int64_t per_member = int64_t(units) * count;
  const int r = int(e % per_member);
  return {int(e / per_member), r / count, r % count};
}

// Hidden layer `layer` + 1 at (unit, sample) `at`: z = v + bias, a = f(z).
NS_HD void store_biased_activation(const Problem& P, const Net& N, const Layer* L, const Scratch& s, int layer,
                                   int unit, int64_t at, float v) {
  v += P.params[N.param_offset + L[layer].biases + unit];
  s.pre(L, layer + 1)[at] = v;
  s.act(L, layer + 1)[at] = activate<float>(N.activation, v);
}

// a_0 (in, cap) <- this step's rows of x; element (member, input, sample).
struct GatherOp {
  Problem P;
  GemmGroup G;
  int first, count;  // samples [first, first + count) of the epoch's permutation
  NS_HD int64_t size() const { return int64_t(G.members) * P.inputs * count; }
  NS_HD void operator()(int64_t e) const {
    const auto [m, i, b] = member_unit_sample(e, P.inputs, count);
    const int net = G.nets[m];
    const Net& N = P.nets[net];
    const int64_t row = P.perm[int64_t(net) * P.n_train + first + b];
    scratch_of(P, N).act(layers_of(P, N), 0)[int64_t(i) * N.batch + b] = P.train_x[row * P.inputs + i];
  }
};

// z_l += bias and a_l = f(z_l), on hidden layers; element (member, unit, sample).
struct BiasActivateOp {
  Problem P;
  GemmGroup G;
  int layer, count, out;  // out: the layer's units
  NS_HD int64_t size() const { return int64_t(G.members) * out * count; }
  NS_HD void operator()(int64_t e) const {
    const auto [m, o, b] = member_unit_sample(e, out, count);
    const Net& N = P.nets[G.nets[m]];
    const Layer* L = layers_of(P, N);
    if (o >= L[layer].out) return;
    const Scratch s = scratch_of(P, N);
    const int64_t at = int64_t(o) * N.batch + b;
    store_biased_activation(P, N, L, s, layer, o, at, s.pre(L, layer + 1)[at]);
  }
};

// With GemmOps::own_products, the forward product as an op in place of the
// forward GEMM, fused with what follows it: z_l = W a_{l-1}, then on hidden
// layers z_l += bias and a_l = f(z_l) (the output's bias is OutputLossOp's);
// element (member, unit, sample), so a warp reads 32 samples of an input row
// side by side and one weight (broadcast), and each thread sums in input order.
struct ForwardOp {
  Problem P;
  GemmGroup G;
  int layer, count, out;  // out: the layer's units (the group's most)
  NS_HD int64_t size() const { return int64_t(G.members) * out * count; }
  NS_HD void operator()(int64_t e) const {
    const auto [m, o, b] = member_unit_sample(e, out, count);
    const Net& N = P.nets[G.nets[m]];
    const Layer* L = layers_of(P, N);
    if (o >= L[layer].out) return;
    const int in = L[layer].in;
    const Scratch s = scratch_of(P, N);
    const float* x = s.act(L, layer) + b;                                             // (in, cap)
    const float* w = P.params + N.param_offset + L[layer].weights + int64_t(o) * in;  // row o of (out, in)
    float acc[1] = {0};
    accumulate(
        acc, in, [&](int k) { return x[int64_t(k) * N.batch]; }, [&](int, int k) { return w[k]; });
    const int64_t at = int64_t(o) * N.batch + b;
    if (layer + 1 == N.layers)
      s.pre(L, layer + 1)[at] = acc[0];
    else
      store_biased_activation(P, N, L, s, layer, o, at, acc[0]);
  }
};

// The output layer's z += bias, then per-sample loss and dL/dz / count (one
// launch for both: a sample's loss needs all its outputs); element (member, sample).
struct OutputLossOp {
  Problem P;
  GemmGroup G;
  int first, count;
  NS_HD int64_t size() const { return int64_t(G.members) * count; }
  NS_HD void operator()(int64_t e) const {
    const int m = int(e / count), b = int(e % count);
    const int net = G.nets[m];
    const Net& N = P.nets[net];
    const Layer* L = layers_of(P, N);
    const Layer& top = L[N.layers - 1];
    const int out = top.out;
    float* z = scratch_of(P, N).pre(L, N.layers);
    const float* bias = P.params + N.param_offset + top.biases;
    float* delta = delta_buffer(P, N, delta_parity(N.layers, N.layers - 1));
    const int64_t row = P.perm[int64_t(net) * P.n_train + first + b];
    float zb[kMaxOutputs], yb[kMaxOutputs], pb[kMaxOutputs], dz[kMaxOutputs];
    for (int k = 0; k < out; ++k) {
      zb[k] = z[int64_t(k) * N.batch + b] + bias[k];
      z[int64_t(k) * N.batch + b] = zb[k];
      yb[k] = P.train_y[row * out + k];
    }
    sample_losses(P, N)[b] = output_loss_and_grad<float>(P.loss, zb, yb, out, pb, dz);
    for (int k = 0; k < out; ++k) delta[int64_t(k) * N.batch + b] = dz[k] / float(count);
  }
};

// Per member, once the losses are in: the batch loss (in sample order), the
// divergence check before any parameter changes, the step count and size,
// and the output layer's bias gradient.
struct BeginUpdateOp {
  Problem P;
  GemmGroup G;
  int count;
  NS_HD int64_t size() const { return G.members; }
  NS_HD void operator()(int64_t e) const {
    const int net = G.nets[e];
    Net& N = P.nets[net];
    GemmNetState& st = P.gemm_state[net];
    settle_failed_update(N, st);
    if (!N.active) return;
    const float* losses = sample_losses(P, N);
    double sum = 0;
    for (int b = 0; b < count; ++b) sum += double(losses[b]);
    N.loss_sum += sum;
    if (!finite_value(sum)) {  // this batch's gradients are dropped
      N.active = 0;
      return;
    }
    ++N.step;
    st.step_size = optimizer_step_size(N.optimizer, N.step);
    const Layer& top = layers_of(P, N)[N.layers - 1];
    const float* delta = delta_buffer(P, N, delta_parity(N.layers, N.layers - 1));
    float* db = P.grad + N.grad_offset + top.biases;
    for (int k = 0; k < top.out; ++k) {
      float acc = 0;
      for (int b = 0; b < count; ++b) acc += delta[int64_t(k) * N.batch + b];
      db[k] = acc;
    }
  }
};

// Two independent parts in one launch (so the bias sums need no launches of
// their own but the last). First, the delta of layer - 1 (layer >= 1): the
// W^T-products that the delta GEMM wrote into its buffer (or, with `units` >
// 0, the product computed here, as ForwardOp does) times the activation
// derivative; element (member, unit of layer - 1, sample), so adjacent
// threads touch adjacent samples. Second, the bias gradient of layer `layer`
// itself, whose delta became final one launch earlier and lies in the other
// buffer (the output layer's is BeginUpdateOp's, so `out` is 0 there);
// element (member, unit), summing its samples in order as the CPU backend.
// After the loop over layers a last BackpropOp (layer 0, in 0) sums layer 0's.
struct BackpropOp {
  Problem P;
  GemmGroup G;
  int layer, count;
  // Extents (the group's most; each member keeps to its own layer widths):
  int in;     // units of layer - 1 whose deltas get the derivative (0 at layer 0)
  int out;    // units of layer whose bias gradient is summed (0 at the output layer)
  int units;  // with own products: the units of layer (the product's length); else 0
  NS_HD int64_t derivative_size() const { return int64_t(G.members) * in * count; }
  NS_HD int64_t size() const { return derivative_size() + int64_t(G.members) * out; }
  NS_HD void operator()(int64_t e) const {
    if (e < derivative_size()) {
      const auto [m, i, b] = member_unit_sample(e, in, count);
      const Net& N = P.nets[G.nets[m]];
      const Layer* L = layers_of(P, N);
      if (i >= L[layer].in) return;
      const Scratch s = scratch_of(P, N);
      const int64_t at = int64_t(i) * N.batch + b;
      float* d = delta_buffer(P, N, delta_parity(N.layers, layer - 1));
      float v;
      if (units > 0) {  // column i of W (out, in) against the samples' deltas of layer
        const int64_t stride = L[layer].in;
        const float* w = P.params + N.param_offset + L[layer].weights + i;
        const float* up = delta_buffer(P, N, delta_parity(N.layers, layer)) + b;
        float acc[1] = {0};
        accumulate(
            acc, L[layer].out, [&](int o) { return up[int64_t(o) * N.batch]; },
            [&](int, int o) { return w[o * stride]; });
        v = acc[0];
      } else {
        v = d[at];
      }
      d[at] = v * activate_derivative<float>(N.activation, s.pre(L, layer)[at], s.act(L, layer)[at]);
      return;
    }
    e -= derivative_size();
    const int m = int(e / out), o = int(e % out);
    const Net& N = P.nets[G.nets[m]];
    if (o >= layers_of(P, N)[layer].out) return;
    const float* row = delta_buffer(P, N, delta_parity(N.layers, layer)) + int64_t(o) * N.batch;
    float acc = 0;  // loads only: nothing stops them being issued ahead of the sum
    for (int b = 0; b < count; ++b) acc += row[b];
    P.grad[N.grad_offset + layers_of(P, N)[layer].biases + o] = acc;
  }
};

// The optimizer update of every parameter of active members into `next`
// (state in place, as train_until); element (member, parameter).
struct UpdateOp {
  Problem P;
  GemmGroup G;
  NS_HD int64_t size() const { return int64_t(G.members) * G.params; }
  NS_HD void operator()(int64_t e) const {
    const auto [net, k] = member_param(G, e);
    const Net& N = P.nets[net];
    if (!N.active || k >= N.param_count) return;
    const int64_t at = N.param_offset + k;
    float g = P.grad[N.grad_offset + k];
    const OptimizerConfig& opt = N.optimizer;
    if (opt.l1 != 0.0 || opt.l2 != 0.0) {  // penalties on weights only: find the layer just then
      const Layer* L = layers_of(P, N);
      for (int l = 0; l < N.layers; ++l)
        if (k >= L[l].weights && k < L[l].biases)
          g = regularized_gradient<float>(g, P.params[at], float(opt.l1), float(opt.l2));
    }
    float p = P.params[at];
    GemmNetState& st = P.gemm_state[net];
    optimizer_update<float>(N.optimizer, st.step_size, g, p, P.state1[at], P.state2[at]);
    P.next[N.grad_offset + k] = p;
    if (!finite_value(p)) raise_flag(&st.update_failed);
  }
};

// Members whose update stayed finite take the new parameters; element (member, parameter).
struct CommitOp {
  Problem P;
  GemmGroup G;
  NS_HD int64_t size() const { return int64_t(G.members) * G.params; }
  NS_HD void operator()(int64_t e) const {
    const auto [net, k] = member_param(G, e);
    const Net& N = P.nets[net];
    if (N.active && k < N.param_count && !P.gemm_state[net].update_failed)
      P.params[N.param_offset + k] = P.next[N.grad_offset + k];
  }
};

// Per member: the epoch's permutation (active networks), as train_until.
struct EpochBeginOp {
  Problem P;
  GemmGroup G;
  NS_HD int64_t size() const { return G.members; }
  NS_HD void operator()(int64_t e) const {
    const int net = G.nets[e];
    const Net& N = P.nets[net];
    P.gemm_state[net].active_at_epoch_start = N.active;
    if (N.active) epoch_permutation(N.stream_key, uint64_t(N.epoch), P.perm + int64_t(net) * P.n_train, P.n_train);
  }
};

// EpochBeginOp as a block per member, the device's form where n_train is at
// most kEpochBeginMaxSamples: the order drawn in `order` (shared memory on the
// device: the order, then the swap partners, 2 n_train ints) by epoch_order,
// then copied out whole, rather than one thread's shuffle in global memory.
constexpr int kEpochBeginMaxSamples = 6144;  // 2 x 6144 ints: 48 KiB, the default shared memory of a block
template <typename Block>
NS_HD void epoch_begin(Block& blk, const EpochBeginOp& op, int member, int32_t* order) {
  const int net = op.G.nets[member];
  const Net& N = op.P.nets[net];
  const int active = N.active, n = op.P.n_train;
  if (blk.tid() == 0) op.P.gemm_state[net].active_at_epoch_start = active;
  if (!active) return;  // the same for every thread
  epoch_order(blk, N.stream_key, uint64_t(N.epoch), order, n, order + n);
  int32_t* perm = op.P.perm + int64_t(net) * n;
  for (int i = blk.tid(); i < n; i += blk.size()) perm[i] = order[i];
}

// Per member: the epoch's loss, status and early stop, as train_until.
struct EpochEndOp {
  Problem P;
  GemmGroup G;
  NS_HD int64_t size() const { return G.members; }
  NS_HD void operator()(int64_t e) const {
    const int net = G.nets[e];
    Net& N = P.nets[net];
    GemmNetState& st = P.gemm_state[net];
    settle_failed_update(N, st);
    if (st.active_at_epoch_start) {
      const EpochEnd end =
          end_of_epoch(N.active != 0, N.loss_sum, P.n_train, N.status, P.has_early_stop != 0, P.early_stop_loss);
      if (end.record_loss) {
        P.epoch_loss[int64_t(net) * P.epochs + N.epoch] = end.loss;
        N.epochs_trained = N.epoch + 1;
      }
      N.status = end.status;
      N.active = end.active;
    }
    N.loss_sum = 0;
    N.next_sample = 0;
    ++N.epoch;
  }
};

}  // namespace netsweep::device
