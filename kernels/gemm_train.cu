// The GEMM path on the device: one generic kernel templated on the op
// (gemm_train.h), cuBLAS batched GEMMs, and per-group epoch graphs.
// Kernels first, then launchers; every launch is followed by an error check.
#include <cublas_v2.h>

#include <algorithm>

#include "gemm_train.cuh"
#include "netsweep/cuda_check.h"

namespace netsweep::device {

// ----------------------------------------------------------------- kernels

// grid-stride over the op's elements: (members, ...) as the op defines them
template <typename Op>
__global__ void gemm_op_kernel(Op op) {
  const int64_t n = op.size();
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) op(e);
}

// --------------------------------------------------------------- launchers

template <typename Op>
void gemm_op(const Op& op, cudaStream_t stream) {
  const int64_t n = op.size();
  if (n == 0) return;
  constexpr int threads = 256;
  const int blocks = int(std::min<int64_t>((n + threads - 1) / threads, 1024));
  gemm_op_kernel<Op><<<blocks, threads, 0, stream>>>(op);
  NS_CUDA_CHECK_LAUNCH();
}

CublasGemmOps::CublasGemmOps(int streams, const std::vector<int>& priorities, cublasMath_t math, float* const* table,
                             bool own_products)
    : GemmOps(own_products), table_(table) {
  for (int i = 0; i < std::max(1, streams); ++i) {
    cudaStream_t s{};
    if (size_t(i) < priorities.size())
      NS_CUDA_CHECK(cudaStreamCreateWithPriority(&s, cudaStreamNonBlocking, priorities[size_t(i)]));
    else
      NS_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    streams_.push_back(s);
    cublasHandle_t h{};
    NS_CUBLAS_CHECK(cublasCreate(&h));
    handles_.push_back(h);
    NS_CUBLAS_CHECK(cublasSetStream(h, s));
    NS_CUBLAS_CHECK(cublasSetMathMode(h, math));
    void* w = nullptr;
    NS_CUDA_CHECK(cudaMalloc(&w, size_t(kWorkspaceBytes)));
    workspaces_.push_back(w);
    NS_CUBLAS_CHECK(cublasSetWorkspace(h, w, size_t(kWorkspaceBytes)));
  }
}

CublasGemmOps::~CublasGemmOps() {
  for (auto& [group, graph] : graphs_)
    if (graph.exec) cudaGraphExecDestroy(graph.exec);
  for (cublasHandle_t h : handles_) cublasDestroy(h);
  for (cudaStream_t s : streams_) cudaStreamDestroy(s);
  for (void* w : workspaces_) cudaFree(w);
}

void CublasGemmOps::gemm_batched(bool trans_a, bool trans_b, int m, int n, int k, int64_t a, int lda, int64_t b,
                                 int ldb, int64_t c, int ldc, int members) {
  const float one = 1.0f, zero = 0.0f;
  NS_CUBLAS_CHECK(
      cublasSgemmBatched(handles_[lane()], trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, m,
                         n, k, &one, reinterpret_cast<const float* const*>(table_ + a), lda,
                         reinterpret_cast<const float* const*>(table_ + b), ldb, &zero, table_ + c, ldc, members));
}

void CublasGemmOps::run(const GatherOp& op) { gemm_op(op, stream()); }
void CublasGemmOps::run(const ForwardOp& op) { gemm_op(op, stream()); }
void CublasGemmOps::run(const BiasActivateOp& op) { gemm_op(op, stream()); }
void CublasGemmOps::run(const OutputLossOp& op) { gemm_op(op, stream()); }
void CublasGemmOps::run(const BeginUpdateOp& op) { gemm_op(op, stream()); }
void CublasGemmOps::run(const BackpropOp& op) { gemm_op(op, stream()); }
void CublasGemmOps::run(const UpdateOp& op) { gemm_op(op, stream()); }
void CublasGemmOps::run(const CommitOp& op) { gemm_op(op, stream()); }
void CublasGemmOps::run(const EpochBeginOp& op) { gemm_op(op, stream()); }
void CublasGemmOps::run(const EpochEndOp& op) { gemm_op(op, stream()); }

void CublasGemmOps::full_epoch(const Problem& P, const GemmGroup& G, const GemmGroupPlan& g) {
  EpochGraph& graph = graphs_[group_];
  if (!graph.warmed) {
    GemmOps::full_epoch(P, G, g);
    graph.warmed = true;
    return;
  }
  if (!graph.exec) {  // every kernel reads the epoch and step from device memory: one graph serves all epochs
    NS_CUDA_CHECK(cudaStreamBeginCapture(stream(), cudaStreamCaptureModeThreadLocal));
    GemmOps::full_epoch(P, G, g);
    cudaGraph_t captured = nullptr;
    NS_CUDA_CHECK(cudaStreamEndCapture(stream(), &captured));
    const cudaError_t made = cudaGraphInstantiate(&graph.exec, captured, 0);
    cudaGraphDestroy(captured);
    NS_CUDA_CHECK(made);
  }
  NS_CUDA_CHECK(cudaGraphLaunch(graph.exec, stream()));
}

}  // namespace netsweep::device
