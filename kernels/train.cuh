// Launchers of kernels/train.cu (host-callable, CUDA translation units only).
#pragma once

#include <cuda_runtime.h>

#include "netsweep/device_eval.h"

namespace netsweep::device {

struct GroupBarrier {
  unsigned int arrived, generation;
};

// The listed networks, one block each, train until they have completed epoch_end epochs;
// shared_bytes > 0 (from shared_scratch_bytes): their scratch in shared memory.
void train_until(const Problem& problem, const int32_t* networks, int count, int epoch_end, int64_t shared_bytes,
                 cudaStream_t stream);
// The shared memory a block of train_until needs for a scratch region of `floats`
// floats, set as the kernel's limit, if that fits a block and leaves all of
// `networks` blocks resident at once (one wave); else 0 (scratch in global memory).
int64_t shared_scratch_bytes(int64_t floats, int networks);
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
