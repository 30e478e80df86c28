// Launchers of kernels/train.cu (host-callable, CUDA translation units only).
#pragma once

#include <cuda_runtime.h>

#include "netsweep/device_eval.h"

namespace netsweep::device {

struct GroupBarrier {
  unsigned int arrived, generation;
};

// The listed networks, one block each, train until they have completed epoch_end epochs.
void train_until(const Problem& problem, const int32_t* networks, int count, int epoch_end, cudaStream_t stream);
// Networks trained by groups of blocks: block b works for network block_net[b] as rank
// block_rank[b] of group_blocks[net]; one barrier per network (zeroed here).
void train_group(const Problem& problem, const int32_t* block_net, const int32_t* block_rank,
                 const int32_t* group_blocks, GroupBarrier* barriers, int networks, int blocks, int epoch_end,
                 cudaStream_t stream);
// Blocks of the training kernels that can be resident at once on this device.
int resident_train_blocks();

// Every network on `count` points, in chunks of kEvalChunk over `slots` blocks.
void evaluate(const Problem& problem, int networks, const float* points, const float* targets, const int32_t* labels,
              int count, float* slot_scratch, int64_t slot_floats, int slots, float* probs, double* loss_sums,
              double* correct_sums, cudaStream_t stream);

}  // namespace netsweep::device
