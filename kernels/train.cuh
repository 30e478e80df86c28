// Launchers of kernels/train.cu (host-callable, CUDA translation units only).
#pragma once

#include <cuda_runtime.h>

#include "netsweep/device_train.h"

namespace netsweep::device {

// Every network trains until it has completed epoch_end epochs.
void train_until(const Problem& problem, int networks, int epoch_end, cudaStream_t stream);

// Every network on `count` points, in chunks of kEvalChunk over `slots` blocks.
void evaluate(const Problem& problem, int networks, const float* points, const float* targets, const int32_t* labels,
              int count, float* slot_scratch, int64_t slot_floats, int slots, float* probs, double* loss_sums,
              double* correct_sums, cudaStream_t stream);

}  // namespace netsweep::device
