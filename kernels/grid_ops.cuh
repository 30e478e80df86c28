// GridOps on the device: cuBLAS for the GEMMs, a kernel for bias + activation.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "netsweep/device_schedule.h"

namespace netsweep::device {

void bias_activate(float* Z, const float* bias, int units, int points, Activation act, bool output, Loss loss,
                   cudaStream_t stream);
// Z (points x units) column-major: the neuron maps' layout.
void bias_activate_columns(float* Z, const float* bias, int points, int units, Activation act, cudaStream_t stream);
// Frames in the stored type: float -> IEEE binary16 bits, round to nearest even (as the host's conversion).
void convert_to_half(const float* values, uint16_t* bits, int64_t count, cudaStream_t stream);

class CublasGridOps : public GridOps {
 public:
  CublasGridOps(cudaStream_t stream, cublasMath_t math);
  ~CublasGridOps() override;
  void gemm(bool trans_a, bool trans_b, int m, int n, int k, const float* A, int lda, const float* B, int ldb, float* C,
            int ldc) override;
  void bias_activate(float* Z, const float* bias, int units, int points, Activation act, bool output,
                     Loss loss) override;
  void bias_activate_columns(float* Z, const float* bias, int points, int units, Activation act) override;

 private:
  cudaStream_t stream_;
  cublasHandle_t handle_{};
};

}  // namespace netsweep::device
