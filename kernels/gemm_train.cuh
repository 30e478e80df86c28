// GemmOps on the device (host-callable, CUDA translation units only): cuBLAS
// batched GEMMs over pointer tables, each elementwise op one launch of a
// generic kernel, and one CUDA graph per group replaying a whole epoch.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <deque>
#include <map>
#include <vector>

#include "netsweep/gemm_plan.h"

namespace netsweep::device {

class CublasGemmOps : public GemmOps {
 public:
  // streams: how many groups may run at once; priorities: empty (the
  // default), or a CUDA stream priority per stream; math: the handles' math
  // mode; table: the pointer tables in device memory; own_products: as GemmOps;
  // per_shape_gemms: a group's shapes as batched calls one after the other
  // rather than one grouped-batched call.
  CublasGemmOps(int streams, const std::vector<int>& priorities, cublasMath_t math, float* const* table,
                bool own_products, bool per_shape_gemms);
  ~CublasGemmOps() override;
  CublasGemmOps(const CublasGemmOps&) = delete;
  CublasGemmOps& operator=(const CublasGemmOps&) = delete;

  void use_group(int group) override { group_ = group; }
  const std::vector<cudaStream_t>& streams() const { return streams_; }
  int64_t workspace_bytes() const { return int64_t(workspaces_.size()) * kWorkspaceBytes; }

  void gemm_grouped(bool trans_a, bool trans_b, const std::vector<GemmDims>& dims, int64_t a, int64_t b,
                    int64_t c) override;
  void run(const GatherOp& op) override;
  void run(const ForwardOp& op) override;
  void run(const BiasActivateOp& op) override;
  void run(const OutputLossOp& op) override;
  void run(const BeginUpdateOp& op) override;
  void run(const BackpropOp& op) override;
  void run(const UpdateOp& op) override;
  void run(const CommitOp& op) override;
  void run(const EpochBeginOp& op) override;
  void run(const EpochEndOp& op) override;
  void full_epoch(const Problem& P, const GemmGroup& G, const GemmGroupPlan& g) override;

  // cuBLAS workspace per stream, set explicitly so graph capture never allocates.
  static constexpr int64_t kWorkspaceBytes = int64_t(8) << 20;

 private:
  struct EpochGraph {
    bool warmed = false;      // one epoch ran uncaptured (cuBLAS initialises lazily)
    bool uncaptured = false;  // its capture failed: every epoch runs uncaptured
    cudaGraphExec_t exec = nullptr;
  };
  // Captures an epoch of the current group into graph.exec; false if the capture or its
  // instantiation failed (the stream is out of capture mode, nothing captured ran: the epoch
  // is still to run), said once on stderr. Whether cuBLAS's grouped-batched GEMMs may be
  // captured is not documented.
  bool capture_epoch(const Problem& P, const GemmGroup& G, const GemmGroupPlan& g, EpochGraph& graph);
  size_t lane() const { return size_t(group_) % streams_.size(); }
  cudaStream_t stream() const { return streams_[lane()]; }

  float* const* table_;
  bool per_shape_gemms_;
  // The host arrays of a grouped-batched call: those of captured calls kept for
  // the ops' life in case the graph refers to them (a few a group), those of an
  // uncaptured one (warm-up, a resumed partial epoch, a group whose capture
  // failed: every step) reused.
  struct GroupedArgs {
    std::vector<cublasOperation_t> op_a, op_b;
    std::vector<float> alpha, beta;
    std::vector<int> m, n, k, lda, ldb, ldc, size;
  };
  std::deque<GroupedArgs> grouped_args_;
  GroupedArgs uncaptured_args_;
  int group_ = 0;
  std::vector<cudaStream_t> streams_;
  std::vector<cublasHandle_t> handles_;
  std::vector<void*> workspaces_;
  std::map<int, EpochGraph> graphs_;
  bool capture_failure_said_ = false;
};

}  // namespace netsweep::device
