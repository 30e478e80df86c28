// Error checks for CUDA and cuBLAS calls (CUDA translation units only): every
// call is wrapped, and a failure throws with the expression, file and line.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace netsweep {

struct CudaError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline void cuda_check(cudaError_t status, const char* expr, const char* file, int line) {
  if (status != cudaSuccess)
    throw CudaError(std::string(file) + ":" + std::to_string(line) + ": " + expr +
                    " failed: " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
}

inline void cublas_check(cublasStatus_t status, const char* expr, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw CudaError(std::string(file) + ":" + std::to_string(line) + ": " + expr +
                    " failed: " + cublasGetStatusName(status) + " (" + cublasGetStatusString(status) + ")");
}

}  // namespace netsweep

#define NS_CUBLAS_CHECK(expr) ::netsweep::cublas_check((expr), #expr, __FILE__, __LINE__)
#define NS_CUDA_CHECK(expr) ::netsweep::cuda_check((expr), #expr, __FILE__, __LINE__)
// After a kernel launch: catches launch errors without synchronizing.
#define NS_CUDA_CHECK_LAUNCH() ::netsweep::cuda_check(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)
