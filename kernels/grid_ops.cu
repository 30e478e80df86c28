// The grid path on the device: cuBLAS GEMMs and one bias + activation kernel
// (templated on hidden vs output layer). Kernels first, then launchers.
#include <cublas_v2.h>
#include <cuda_fp16.h>

#include "grid_ops.cuh"
#include "netsweep/cuda_check.h"
#include "netsweep/device_eval.h"

namespace netsweep::device {

// ----------------------------------------------------------------- kernels

// Output == false: every element of Z (units, points) column-major; true: every point (column).
template <bool Output>
__global__ void bias_activate_kernel(float* Z, const float* bias, int units, int points, Activation act, Loss loss) {
  const int64_t total = Output ? int64_t(points) : int64_t(units) * points;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    if (Output)
      bias_activate_output(Z, bias, units, i, loss);
    else
      bias_activate_hidden(Z, bias, units, i, act);
  }
}

// every element of Z (points, units) column-major
__global__ void bias_activate_columns_kernel(float* Z, const float* bias, int points, int units, Activation act) {
  const int64_t total = int64_t(units) * points;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x)
    bias_activate_column(Z, bias, points, i, act);
}

// (count) floats -> (count) half bits
__global__ void convert_to_half_kernel(const float* values, uint16_t* bits, int64_t count) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
    bits[i] = __half_as_ushort(__float2half_rn(values[i]));
}

// --------------------------------------------------------------- launchers

void bias_activate(float* Z, const float* bias, int units, int points, Activation act, bool output, Loss loss,
                   cudaStream_t stream) {
  const int64_t total = output ? int64_t(points) : int64_t(units) * points;
  if (total == 0) return;
  const int threads = 256;
  const int blocks = int(std::min<int64_t>((total + threads - 1) / threads, 65535));
  if (output)
    bias_activate_kernel<true><<<blocks, threads, 0, stream>>>(Z, bias, units, points, act, loss);
  else
    bias_activate_kernel<false><<<blocks, threads, 0, stream>>>(Z, bias, units, points, act, loss);
  NS_CUDA_CHECK_LAUNCH();
}

void bias_activate_columns(float* Z, const float* bias, int points, int units, Activation act, cudaStream_t stream) {
  const int64_t total = int64_t(units) * points;
  if (total == 0) return;
  const int threads = 256;
  const int blocks = int(std::min<int64_t>((total + threads - 1) / threads, 65535));
  bias_activate_columns_kernel<<<blocks, threads, 0, stream>>>(Z, bias, points, units, act);
  NS_CUDA_CHECK_LAUNCH();
}

void convert_to_half(const float* values, uint16_t* bits, int64_t count, cudaStream_t stream) {
  if (count == 0) return;
  const int threads = 256;
  const int blocks = int(std::min<int64_t>((count + threads - 1) / threads, 65535));
  convert_to_half_kernel<<<blocks, threads, 0, stream>>>(values, bits, count);
  NS_CUDA_CHECK_LAUNCH();
}

CublasGridOps::CublasGridOps(cudaStream_t stream, cublasMath_t math) : stream_(stream) {
  NS_CUBLAS_CHECK(cublasCreate(&handle_));
  NS_CUBLAS_CHECK(cublasSetStream(handle_, stream_));
  NS_CUBLAS_CHECK(cublasSetMathMode(handle_, math));
}

CublasGridOps::~CublasGridOps() { cublasDestroy(handle_); }

void CublasGridOps::gemm(bool trans_a, bool trans_b, int m, int n, int k, const float* A, int lda, const float* B,
                         int ldb, float* C, int ldc) {
  const float one = 1.0f, zero = 0.0f;
  NS_CUBLAS_CHECK(cublasSgemm(handle_, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, m, n,
                              k, &one, A, lda, B, ldb, &zero, C, ldc));
}

void CublasGridOps::bias_activate(float* Z, const float* bias, int units, int points, Activation act, bool output,
                                  Loss loss) {
  device::bias_activate(Z, bias, units, points, act, output, loss, stream_);
}

void CublasGridOps::bias_activate_columns(float* Z, const float* bias, int points, int units, Activation act) {
  device::bias_activate_columns(Z, bias, points, units, act, stream_);
}

}  // namespace netsweep::device
