// Launchers of kernels/train.cu (host-callable, CUDA translation units only).
#pragma once

#include <cuda_runtime.h>

#include "netsweep/device_eval.h"

namespace netsweep::device {

struct GroupBarrier {
  unsigned int arrived, generation;
};

// Dynamic shared memory of the single-block training kernel: `bytes` a block (0: none;
// scratch and order in global memory), the scratch region from its start and, from float
// `order_at` (-1: in global memory), the epoch's order.
struct SharedScratch {
  int64_t bytes = 0, order_at = -1;
};
// `terms` in the launchers below: the training kernels' sums load kTerms terms at a time,
// or with 1 one (device_train.h's accumulate; CudaOptions::chunked_sums).
// The listed networks, one block of `threads` (at most kBlockThreads) each, train until
// they have completed epoch_end epochs.
void train_until(const Problem& problem, const int32_t* networks, int count, int threads, int epoch_end,
                 const SharedScratch& shared, int terms, cudaStream_t stream);
// Shared memory for `networks` blocks of `threads` with scratch regions of `floats` floats:
// the scratch and the order of n_train samples, else the scratch alone, whichever first
// fits a block and leaves every block of the launch resident at once (one wave; other
// launches beside it not counted). Sets the kernel's limit: after planning several
// launches, set_shared_scratch_limit to the largest.
SharedScratch plan_shared_scratch(int64_t floats, int n_train, int networks, int threads, int terms);
void set_shared_scratch_limit(int64_t bytes, int terms);
// Networks trained by groups of blocks: block b works for network block_net[b] as rank
// block_rank[b] of group_blocks[net]; one barrier per network (zeroed here).
void train_group(const Problem& problem, const int32_t* block_net, const int32_t* block_rank,
                 const int32_t* group_blocks, GroupBarrier* barriers, int networks, int blocks, int epoch_end,
                 int terms, cudaStream_t stream);
// Blocks of the training kernels that can be resident at once on this device.
int resident_train_blocks(int terms);

// Every network on `count` points, in chunks of kEvalChunk over `slots` blocks.
void evaluate(const Problem& problem, int networks, const float* points, const float* targets, const int32_t* labels,
              int count, float* slot_scratch, int64_t slot_floats, int slots, float* probs, double* loss_sums,
              double* correct_sums, cudaStream_t stream);

}  // namespace netsweep::device
