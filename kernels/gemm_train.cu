// The GEMM path on the device: one generic kernel templated on the op
// (gemm_train.h), cuBLAS batched GEMMs, and per-group epoch graphs.
// Kernels first, then launchers; every launch is followed by an error check.
#include <cublas_v2.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>

#include "cuda_block.cuh"
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

// grid: (members), block: 256; dynamic shared memory (2, n_train) int32
__global__ void epoch_begin_kernel(EpochBeginOp op) {
  extern __shared__ int32_t order[];  // (n_train) the order, then (n_train) the swap partners
  CudaBlock block;
  epoch_begin(block, op, int(blockIdx.x), order);
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
                             bool own_products, bool per_shape_gemms)
    : GemmOps(own_products), table_(table), per_shape_gemms_(per_shape_gemms) {
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

void CublasGemmOps::gemm_grouped(bool trans_a, bool trans_b, const std::vector<GemmDims>& dims, int64_t a, int64_t b,
                                 int64_t c) {
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const float one = 1.0f, zero = 0.0f;
  auto table = [&](int64_t at) { return reinterpret_cast<const float* const*>(table_ + at); };
  if (dims.size() == 1 || per_shape_gemms_) {
    int64_t i = 0;  // members before this shape's
    for (const GemmDims& d : dims) {
      NS_CUBLAS_CHECK(cublasSgemmBatched(handles_[lane()], op_a, op_b, d.m, d.n, d.k, &one, table(a + i), d.lda,
                                         table(b + i), d.ldb, &zero, table_ + c + i, d.ldc, d.members));
      i += d.members;
    }
    return;
  }
  // One call: per-shape parameters in host arrays, the pointer tables as they lie (shapes consecutive).
  // A captured call's arrays are kept for the graph's life; an uncaptured call has read them on return.
  cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
  NS_CUDA_CHECK(cudaStreamIsCapturing(stream(), &capturing));
  const size_t n = dims.size();
  GroupedArgs& g = capturing != cudaStreamCaptureStatusNone ? grouped_args_.emplace_back() : uncaptured_args_;
  g.op_a.assign(n, op_a);
  g.op_b.assign(n, op_b);
  g.alpha.assign(n, one);
  g.beta.assign(n, zero);
  for (std::vector<int>* v : {&g.m, &g.n, &g.k, &g.lda, &g.ldb, &g.ldc, &g.size}) v->resize(n);
  for (size_t i = 0; i < n; ++i) {
    const GemmDims& d = dims[i];
    g.m[i] = d.m;
    g.n[i] = d.n;
    g.k[i] = d.k;
    g.lda[i] = d.lda;
    g.ldb[i] = d.ldb;
    g.ldc[i] = d.ldc;
    g.size[i] = d.members;
  }
  NS_CUBLAS_CHECK(cublasSgemmGroupedBatched(handles_[lane()], g.op_a.data(), g.op_b.data(), g.m.data(), g.n.data(),
                                            g.k.data(), g.alpha.data(), table(a), g.lda.data(), table(b), g.ldb.data(),
                                            g.beta.data(), table_ + c, g.ldc.data(), int(n), g.size.data()));
}

void CublasGemmOps::run(const GatherOp& op) { gemm_op(op, stream()); }
void CublasGemmOps::run(const ForwardOp& op) { gemm_op(op, stream()); }
void CublasGemmOps::run(const BiasActivateOp& op) { gemm_op(op, stream()); }
void CublasGemmOps::run(const OutputLossOp& op) { gemm_op(op, stream()); }
void CublasGemmOps::run(const BeginUpdateOp& op) { gemm_op(op, stream()); }
void CublasGemmOps::run(const BackpropOp& op) { gemm_op(op, stream()); }
void CublasGemmOps::run(const UpdateOp& op) { gemm_op(op, stream()); }
void CublasGemmOps::run(const CommitOp& op) { gemm_op(op, stream()); }
void CublasGemmOps::run(const EpochBeginOp& op) {
  if (op.P.n_train > kEpochBeginMaxSamples || op.G.members == 0) return gemm_op(op, stream());
  constexpr int threads = 256;
  epoch_begin_kernel<<<op.G.members, threads, size_t(2) * op.P.n_train * sizeof(int32_t), stream()>>>(op);
  NS_CUDA_CHECK_LAUNCH();
}
void CublasGemmOps::run(const EpochEndOp& op) { gemm_op(op, stream()); }

void CublasGemmOps::full_epoch(const Problem& P, const GemmGroup& G, const GemmGroupPlan& g) {
  EpochGraph& graph = graphs_[group_];
  if (!graph.warmed) {
    GemmOps::full_epoch(P, G, g);
    graph.warmed = true;
    return;
  }
  // every kernel reads the epoch and step from device memory: one graph serves all epochs
  if (graph.uncaptured || (!graph.exec && !capture_epoch(P, G, g, graph))) return GemmOps::full_epoch(P, G, g);
  NS_CUDA_CHECK(cudaGraphLaunch(graph.exec, stream()));
}

bool CublasGemmOps::capture_epoch(const Problem& P, const GemmGroup& G, const GemmGroupPlan& g, EpochGraph& graph) {
  NS_CUDA_CHECK(cudaStreamBeginCapture(stream(), cudaStreamCaptureModeThreadLocal));
  std::string failure;
  try {
    GemmOps::full_epoch(P, G, g);
  } catch (const CudaError& e) {
    failure = e.what();
  }
  cudaGraph_t captured = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(stream(), &captured);  // always: the stream leaves capture mode
  if (failure.empty() && ended != cudaSuccess) failure = std::string("end of capture: ") + cudaGetErrorName(ended);
  if (failure.empty()) {
    const cudaError_t made = cudaGraphInstantiate(&graph.exec, captured, 0);
    if (made != cudaSuccess) {
      graph.exec = nullptr;
      failure = std::string("instantiation: ") + cudaGetErrorName(made);
    }
  }
  if (captured) cudaGraphDestroy(captured);
  if (failure.empty()) return true;
  (void)cudaGetLastError();  // a capture's errors are not sticky; a sticky one recurs uncaptured and throws there
  graph.uncaptured = true;
  if (!std::exchange(capture_failure_said_, true))
    std::fprintf(stderr,
                 "netsweep: a GEMM group's epoch could not be captured as a CUDA graph (%s); such groups "
                 "train without graphs (same results, more launch overhead)\n",
                 failure.c_str());
  return false;
}

}  // namespace netsweep::device
