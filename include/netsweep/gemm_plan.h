// The GEMM path on the host: how networks form groups (one shape, or every
// shape of a depth), each group's pointer tables, and the step sequence of
// the ops of gemm_train.h, written once against GemmOps (cuBLAS and kernels on
// the device, host loops in the tests).
#pragma once

#include <cstdint>
#include <vector>

#include "netsweep/gemm_train.h"

namespace netsweep {

// The GEMMs of a step, per layer: A, B and C pointer tables with one entry per member.
enum class GemmKind : int { forward = 0, weights = 1, delta = 2 };
constexpr int kGemmKinds = 3;

// Consecutive members of a group with equal layer shapes: one batched GEMM.
struct GemmShape {
  int members = 0;
  std::vector<int> in, out;  // per layer
  int64_t params = 0;
};

// A group on the host: its members, where it stands, and its pointer tables.
struct GemmGroupPlan {
  std::vector<int> nets;  // ordered by shape: shapes[0]'s members first
  std::vector<GemmShape> shapes;
  std::vector<int> in, out;  // per layer, the shapes' most (the ops' extents)
  int batch = 0;
  int64_t params = 0;              // the shapes' most
  int epoch = 0, next_sample = 0;  // where every member stands (resumed members may start mid-epoch)
  int64_t table_offset = 0;        // into the pointer table: (layers, kinds, 3 operands, members)
  int64_t member_offset = 0;       // into the member list
  // Every member stopped or diverged, as of the state last seen on the host (mark_idle_gemm_groups):
  // its epochs only begin and end (their steps would change nothing).
  bool idle = false;
  device::GemmGroup desc(const int32_t* member_list) const {
    return {member_list + member_offset, int32_t(nets.size()), int32_t(in.size()), int32_t(batch), params};
  }
  int64_t table(int layer, GemmKind kind, int operand) const {
    return table_offset + ((int64_t(layer) * kGemmKinds + int(kind)) * 3 + operand) * int64_t(nets.size());
  }
};

// One batched GEMM of a grouped call: its dimensions and how many of the
// group's members (consecutive in the pointer tables) it covers.
struct GemmDims {
  int m, n, k, lda, ldb, ldc, members;
};

// Executes a group's ops: batched GEMMs and the elementwise ops, in order.
class GemmOps {
 public:
  // own_products: the forward and delta products as ops (ForwardOp, and
  // BackpropOp with `units`), fused with the bias, activation and derivative;
  // else batched GEMMs (cuBLAS on the device) with separate elementwise ops.
  explicit GemmOps(bool own_products = false) : own_products_(own_products) {}
  virtual ~GemmOps() = default;
  bool own_products() const { return own_products_; }
  // The group whose ops follow (on the device, each group keeps to one stream).
  virtual void use_group(int /*group*/) {}
  // For every member i: C_i = op(A_i) op(B_i), column-major; the operands are
  // pointer tables (one entry per member) at offsets a, b, c of the table,
  // and dims[0] covers the first dims[0].members members, dims[1] the next...
  virtual void gemm_grouped(bool trans_a, bool trans_b, const std::vector<GemmDims>& dims, int64_t a, int64_t b,
                            int64_t c) = 0;
  virtual void run(const device::GatherOp& op) = 0;
  virtual void run(const device::ForwardOp& op) = 0;
  virtual void run(const device::BiasActivateOp& op) = 0;
  virtual void run(const device::OutputLossOp& op) = 0;
  virtual void run(const device::BeginUpdateOp& op) = 0;
  virtual void run(const device::BackpropOp& op) = 0;
  virtual void run(const device::UpdateOp& op) = 0;
  virtual void run(const device::CommitOp& op) = 0;
  virtual void run(const device::EpochBeginOp& op) = 0;
  virtual void run(const device::EpochEndOp& op) = 0;
  // A whole epoch from its first sample; the device replays a captured graph.
  virtual void full_epoch(const device::Problem& P, const device::GemmGroup& G, const GemmGroupPlan& g);

 private:
  bool own_products_;
};

// One step (forward, loss, backward, update) of every member on samples [first, first + count).
void enqueue_gemm_step(GemmOps& ops, const device::Problem& P, const device::GemmGroup& G, const GemmGroupPlan& g,
                       int first, int count);
// The rest of an epoch from sample `first` (0: all of it).
void enqueue_gemm_epoch(GemmOps& ops, const device::Problem& P, const device::GemmGroup& G, const GemmGroupPlan& g,
                        int first);
// The GEMM groups of the networks with uses_gemm set: equal batch, depth and
// position (epoch, next sample), and equal layer shapes unless merge_depths;
// members ordered by shape, extents the shapes' most. member_offset and
// table_offset are left to the caller.
std::vector<GemmGroupPlan> group_gemm_networks(const std::vector<device::Net>& nets,
                                               const std::vector<device::Layer>& layers,
                                               const std::vector<uint8_t>& uses_gemm, bool merge_depths);

// Sets each group's `idle` from its members' state (nets as uploaded or last downloaded: a
// network that stopped or diverged never trains again, so a stale state only idles less).
void mark_idle_gemm_groups(std::vector<GemmGroupPlan>& groups, const std::vector<device::Net>& nets);

// Trains every group until its members have completed epoch_end epochs, one
// epoch of each group in turn (on the device every group's stream has work
// queued from the start, rather than the last group waiting for the first
// group's whole segment to be submitted); advances each g.
void train_gemm_groups_until(GemmOps& ops, const device::Problem& P, const int32_t* member_list,
                             std::vector<GemmGroupPlan>& groups, int epoch_end);

// A priority per stream (group k on stream k % streams) between `least` and
// `greatest` (CUDA's order: greatest is numerically lower) in proportion to
// the depth of the stream's deepest group: the deepest get `greatest`.
std::vector<int> priorities_by_depth(const std::vector<GemmGroupPlan>& groups, int streams, int least, int greatest);

// The pointer tables of every group for buffers at these addresses (device
// addresses on the GPU, host ones in the emulation).
std::vector<float*> gemm_pointer_tables(const std::vector<GemmGroupPlan>& groups,
                                        const std::vector<device::Layer>& layers, const std::vector<device::Net>& nets,
                                        float* params, float* grad, float* scratch);

}  // namespace netsweep
