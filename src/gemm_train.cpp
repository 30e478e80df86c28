// The GEMM path's grouping and step sequence (gemm_plan.h), shared by the CUDA executor
// and the host emulation.
#include <algorithm>
#include <map>

#include "netsweep/gemm_plan.h"

namespace netsweep {

using device::GemmGroup;
using device::Problem;

void GemmOps::full_epoch(const Problem& P, const GemmGroup& G, const GemmGroupPlan& g) {
  enqueue_gemm_epoch(*this, P, G, g, 0);
}

void enqueue_gemm_step(GemmOps& ops, const Problem& P, const GemmGroup& G, const GemmGroupPlan& g, int first,
                       int count) {
  const int layers = int(g.in.size()), cap = g.batch;
  // One batched GEMM per shape of the group, in one call; dims(in, out) gives one shape's.
  auto gemm = [&](int l, GemmKind kind, bool ta, bool tb, auto dims) {
    std::vector<GemmDims> shapes;
    for (const GemmShape& sh : g.shapes) shapes.push_back(dims(sh.in[size_t(l)], sh.out[size_t(l)], sh.members));
    ops.gemm_grouped(ta, tb, shapes, g.table(l, kind, 0), g.table(l, kind, 1), g.table(l, kind, 2));
  };
  ops.run(device::GatherOp{P, G, first, count});
  const bool own = ops.own_products();
  for (int l = 0; l < layers; ++l) {
    if (own) {
      ops.run(device::ForwardOp{P, G, l, count, g.out[l]});
      continue;
    }
    // Z^T (count x out) = A^T (count x in) . W^T (in x out)
    gemm(l, GemmKind::forward, false, false,
         [&](int in, int out, int members) { return GemmDims{count, out, in, cap, in, cap, members}; });
    if (l + 1 < layers) ops.run(device::BiasActivateOp{P, G, l, count, g.out[l]});  // the output's: OutputLossOp
  }
  ops.run(device::OutputLossOp{P, G, first, count});
  ops.run(device::BeginUpdateOp{P, G, count});
  for (int l = layers - 1; l >= 0; --l) {
    // dW^T (in x out) = (A^T)^T . Delta^T (count x out)
    gemm(l, GemmKind::weights, true, false,
         [&](int in, int out, int members) { return GemmDims{in, out, count, cap, cap, in, members}; });
    if (l == 0) break;
    // D^T (count x in) = Delta^T (count x out) . (W^T)^T
    if (!own)
      gemm(l, GemmKind::delta, false, true,
           [&](int in, int out, int members) { return GemmDims{count, in, out, cap, in, cap, members}; });
    ops.run(device::BackpropOp{P, G, l, count, g.in[l], l + 1 < layers ? g.out[l] : 0, own ? g.out[l] : 0});
  }
  if (layers > 1) ops.run(device::BackpropOp{P, G, 0, count, 0, g.out[0], 0});  // layer 0's bias gradient
  ops.run(device::UpdateOp{P, G});
  ops.run(device::CommitOp{P, G});
}

void enqueue_gemm_epoch(GemmOps& ops, const Problem& P, const GemmGroup& G, const GemmGroupPlan& g, int first) {
  ops.run(device::EpochBeginOp{P, G});
  for (int s = first; s < P.n_train; s += g.batch) enqueue_gemm_step(ops, P, G, g, s, std::min(g.batch, P.n_train - s));
  ops.run(device::EpochEndOp{P, G});
}

std::vector<GemmGroupPlan> group_gemm_networks(const std::vector<device::Net>& nets,
                                               const std::vector<device::Layer>& layers,
                                               const std::vector<uint8_t>& uses_gemm, bool merge_depths) {
  // Each network's shape (in, out per layer), drawn once.
  std::vector<std::vector<int>> shape(nets.size());
  for (size_t n = 0; n < nets.size(); ++n)
    for (int l = 0; uses_gemm[n] && l < nets[n].layers; ++l) {
      const device::Layer& layer = layers[size_t(nets[n].first_layer + l)];
      shape[n].insert(shape[n].end(), {layer.in, layer.out});
    }
  std::vector<GemmGroupPlan> groups;
  std::map<std::vector<int64_t>, size_t> group_of;
  for (size_t n = 0; n < nets.size(); ++n) {
    if (!uses_gemm[n]) continue;
    const device::Net& net = nets[n];
    std::vector<int64_t> key{net.batch, net.epoch, net.next_sample, net.layers};
    if (!merge_depths) key.insert(key.end(), shape[n].begin(), shape[n].end());
    auto [it, fresh] = group_of.emplace(key, groups.size());
    if (fresh) {
      GemmGroupPlan g;
      g.in.assign(size_t(net.layers), 0);
      g.out.assign(size_t(net.layers), 0);
      g.batch = net.batch;
      g.epoch = net.epoch;
      g.next_sample = net.next_sample;
      groups.push_back(g);
    }
    groups[it->second].nets.push_back(int(n));
  }
  for (GemmGroupPlan& g : groups) {
    std::stable_sort(g.nets.begin(), g.nets.end(), [&](int a, int b) { return shape[size_t(a)] < shape[size_t(b)]; });
    for (size_t m = 0; m < g.nets.size(); ++m) {
      const size_t n = size_t(g.nets[m]);
      if (m == 0 || shape[n] != shape[size_t(g.nets[m - 1])]) {
        GemmShape sh;
        for (size_t l = 0; l < g.in.size(); ++l) {
          sh.in.push_back(shape[n][2 * l]);
          sh.out.push_back(shape[n][2 * l + 1]);
          g.in[l] = std::max(g.in[l], sh.in[l]);
          g.out[l] = std::max(g.out[l], sh.out[l]);
        }
        sh.params = nets[n].param_count;
        g.params = std::max(g.params, sh.params);
        g.shapes.push_back(sh);
      }
      ++g.shapes.back().members;
    }
  }
  return groups;
}

void train_gemm_groups_until(GemmOps& ops, const Problem& P, const int32_t* member_list,
                             std::vector<GemmGroupPlan>& groups, int epoch_end) {
  const int end = std::min(epoch_end, P.epochs);
  for (bool more = true; more;) {
    more = false;
    for (size_t k = 0; k < groups.size(); ++k) {
      GemmGroupPlan& g = groups[k];
      if (g.epoch >= end) continue;
      ops.use_group(int(k));
      if (g.next_sample > 0) {  // a resumed epoch, from where it stopped
        enqueue_gemm_epoch(ops, P, g.desc(member_list), g, g.next_sample);
        g.next_sample = 0;
      } else if (g.idle) {  // the epoch's counters and flags move on as in a full epoch; no step would change a thing
        const device::GemmGroup G = g.desc(member_list);
        ops.run(device::EpochBeginOp{P, G});
        ops.run(device::EpochEndOp{P, G});
      } else {
        ops.full_epoch(P, g.desc(member_list), g);
      }
      ++g.epoch;
      more = true;
    }
  }
}

void mark_idle_gemm_groups(std::vector<GemmGroupPlan>& groups, const std::vector<device::Net>& nets) {
  for (GemmGroupPlan& g : groups)
    g.idle = std::none_of(g.nets.begin(), g.nets.end(), [&](int n) { return nets[size_t(n)].active != 0; });
}

std::vector<int> priorities_by_depth(const std::vector<GemmGroupPlan>& groups, int streams, int least, int greatest) {
  std::vector<int> priorities(size_t(std::max(1, streams)), least);
  size_t deepest = 1;
  for (const GemmGroupPlan& g : groups) deepest = std::max(deepest, g.in.size());
  for (size_t k = 0; k < groups.size(); ++k) {
    // Rounded up: the shallowest groups too rank above the default (least) priority.
    const int64_t steps = int64_t(least - greatest) * int64_t(groups[k].in.size()) + int64_t(deepest) - 1;
    const int p = least - int(steps / int64_t(deepest));
    int& lane = priorities[k % priorities.size()];
    lane = std::min(lane, p);
  }
  return priorities;
}

std::vector<float*> gemm_pointer_tables(const std::vector<GemmGroupPlan>& groups,
                                        const std::vector<device::Layer>& layers, const std::vector<device::Net>& nets,
                                        float* params, float* grad, float* scratch) {
  int64_t entries = 0;
  for (const GemmGroupPlan& g : groups) entries = std::max(entries, g.table(int(g.in.size()), GemmKind::forward, 0));
  std::vector<float*> table(size_t(entries), nullptr);
  for (const GemmGroupPlan& g : groups)
    for (size_t m = 0; m < g.nets.size(); ++m) {
      const device::Net& N = nets[size_t(g.nets[m])];
      const device::Layer* L = layers.data() + N.first_layer;
      const device::Scratch s{scratch + N.scratch_offset, N.batch};
      float* deltas = s.end(L, N.layers);  // two buffers of max_width x cap
      auto delta = [&](int l) { return deltas + int64_t(device::delta_parity(N.layers, l)) * N.max_width * N.batch; };
      for (int l = 0; l < N.layers; ++l) {
        float* weights = params + N.param_offset + L[l].weights;
        auto put = [&](GemmKind kind, float* a, float* b, float* c) {
          table[size_t(g.table(l, kind, 0)) + m] = a;
          table[size_t(g.table(l, kind, 1)) + m] = b;
          table[size_t(g.table(l, kind, 2)) + m] = c;
        };
        put(GemmKind::forward, s.act(L, l), weights, s.pre(L, l + 1));
        put(GemmKind::weights, s.act(L, l), delta(l), grad + N.grad_offset + L[l].weights);
        if (l > 0) put(GemmKind::delta, delta(l), weights, delta(l - 1));
      }
    }
  return table;
}

}  // namespace netsweep
