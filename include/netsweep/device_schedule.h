// The GPU backend's host side, shared by the CUDA executor and the host
// emulation used in the tests: the device plan (descriptors and sizes) and
// the schedule (train to the next frame epoch, evaluate, emit, checkpoint).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "netsweep/backend.h"
#include "netsweep/device_eval.h"
#include "netsweep/gemm_plan.h"

namespace netsweep {

// How networks train on the device: each in a fused block (or group of
// blocks), each in a GEMM group, or chosen per network by width.
enum class TrainPath { automatic, fused, gemm };
// automatic: networks with a layer at least this wide take the GEMM path. On
// an H200 (slide data, batch 32, 100 epochs of 2 networks) 8 x 32 trained
// 1.3x faster fused and 8 x 64 1.1x faster as a GEMM group; in the whole
// slide sweep a split at 65 (129) was 4% (77%) slower than at 33.
constexpr int kGemmMinWidth = 33;
TrainPath parse_train_path(const std::string& name);  // throws SpecError
const char* to_string(TrainPath path);

// The single-block networks launch in classes of one block size, a range of
// DevicePlan::single_block_nets each (largest blocks first), side by side.
struct SingleBlockLaunch {
  int threads, first, count;
};
// Block size for a single-block network when blocks are fitted: the smallest
// power of two from a warp (32) to `limit` that holds the items of its widest
// phase, one a thread (fused_phase_items). A block of 256 threads for a 1 x 2
// network leaves 224 idle and holds the registers of 256: fitted, more
// networks are resident at once (--seeds 10: 600 single-block networks
// against 264 blocks of 256 on an H200).
int fitted_block_threads(int64_t items, int limit);
// Items of a fused step's widest phase: the forward and delta sums'
// row_groups(units) x batch, a layer's weight gradients' row_groups(out) x
// (in + 1), and the update's parameters in at most kFittedUpdatePasses passes
// of device::kUpdateChunk a thread.
constexpr int kFittedUpdatePasses = 4;
int64_t fused_phase_items(const NetworkLayout& layout, int batch);

struct DevicePlan {
  std::vector<device::Layer> layers;
  std::vector<device::Net> nets;    // state initialised fresh (or from resume states)
  int64_t param_floats = 0;         // packed buffer (params, state1, state2 each)
  int64_t grad_floats = 0;          // grad and next each
  int64_t scratch_floats = 0;       // training scratch, all networks
  int64_t eval_scratch_floats = 0;  // one evaluation slot (the largest network)
  int block_threads = device::kBlockThreads;
  // Blocks that train each network together (1 for most; more for the widest).
  std::vector<int> blocks;
  std::vector<int> single_block_nets;              // networks trained by one block each
  std::vector<SingleBlockLaunch> single_launches;  // ranges of single_block_nets by block size
  std::vector<int> group_block_net;                // for the multi-block kernel: network of each block
  std::vector<int> group_block_rank;               // and its rank within the network's group
  // The GEMM path: groups of equal shape, batch and starting point.
  std::vector<uint8_t> uses_gemm;          // per network
  std::vector<GemmGroupPlan> gemm_groups;  // members in gemm_members[member_offset...]
  std::vector<int32_t> gemm_members;
  int64_t gemm_table_entries = 0;  // pointers in the GEMM pointer tables
};

// Every buffer an executor keeps on the device, in one list: the CUDA
// executor allocates exactly these (and the emulation sizes its own from
// them), and the memory estimate is their sum, so the two cannot disagree.
enum class DeviceBuffer : int {
  layers,            // (layers) device::Layer
  nets,              // (networks) device::Net
  params,            // (packed) parameters
  state1,            // (packed) optimizer state
  state2,            // (packed)
  grad,              // (grad floats) per-network gradients
  next,              // (grad floats) candidate parameters of a step
  scratch,           // (scratch floats) training activations
  eval_scratch,      // (slots, eval scratch floats)
  perm,              // (networks, n_train) int32 epoch order
  epoch_loss,        // (networks, epochs)
  train_x,           // (n_train, inputs)
  test_x,            // (n_test, inputs)
  grid_x,            // (grid points, inputs)
  train_y,           // (n_train, outputs)
  test_y,            // (n_test, outputs)
  train_labels,      // (n_train) int32
  test_labels,       // (n_test) int32
  neuron_grid_x,     // (neuron grid points, inputs)
  neuron_maps,       // (recorded hidden units, neuron grid points)
  frames,            // (networks, grid points, outputs) float
  half_frames,       // (networks, grid points, outputs) float16 bits
  grid_a,            // (max width, grid points) the grid GEMMs' activations
  grid_b,            // (max width, grid points)
  loss_sums,         // (networks, chunks) double
  correct_sums,      // (networks, chunks) double
  single_nets,       // (single-block networks) int32
  group_block_net,   // (group blocks) int32
  group_block_rank,  // (group blocks) int32
  group_blocks,      // (networks) int32
  barriers,          // (networks) two unsigned ints each
  gemm_state,        // (networks) device::GemmNetState
  gemm_members,      // (GEMM members) int32
  gemm_table,        // (table entries) float*
};
constexpr int kDeviceBufferCount = int(DeviceBuffer::gemm_table) + 1;

struct DeviceBufferSize {
  const char* name;
  int64_t count;          // elements
  int64_t element_bytes;  // bytes per element
  int64_t bytes() const { return count * element_bytes; }
};
using DeviceBufferSizes = std::array<DeviceBufferSize, kDeviceBufferCount>;
// For `eval_slots` concurrent evaluation blocks.
DeviceBufferSizes device_buffer_sizes(const DevicePlan& plan, const TrainingProblem& p, int eval_slots);
int64_t device_bytes(const DeviceBufferSizes& sizes);  // their sum
// Refuses, before anything is allocated, a sweep whose buffers plus `extra`
// bytes (library workspaces, context) do not fit in `free_bytes` of the
// device: the message says how much is needed, the largest buffers and what
// to lower. Throws SpecError.
void check_device_memory(const DeviceBufferSizes& sizes, int64_t extra, int64_t free_bytes,
                         const std::string& device_name);

// Blocks for networks whose per-step work (multiply-adds x batch) is large:
// one block per kMacsPerBlock, at most kMaxGroupBlocks, within a budget of
// `group_budget` blocks in all (what can be resident beside the rest): past
// it, the networks with the least work train in one block.
constexpr int64_t kMacsPerBlock = int64_t(1) << 21;
constexpr int kMaxGroupBlocks = 32;
// Networks with `skip` set (the GEMM path's) get 0 blocks.
std::vector<int> plan_group_blocks(const TrainingProblem& p, int group_budget, int64_t macs_per_block = kMacsPerBlock,
                                   const std::vector<uint8_t>* skip = nullptr);

// Throws SpecError if a network has more than device::kMaxOutputs outputs.
// group_budget 0: every network trains in one block. merge_depths: GEMM
// groups of every shape of one depth (GemmGroupPlan::shapes), else one a shape.
// fitted_blocks: single-block networks get fitted_block_threads(.., block_threads),
// else all block_threads (one launch).
DevicePlan plan_device(const TrainingProblem& p, int block_threads,
                       const std::vector<std::optional<NetworkState>>* resume = nullptr, int group_budget = 0,
                       int64_t macs_per_block = kMacsPerBlock, TrainPath path = TrainPath::fused,
                       int gemm_min_width = kGemmMinWidth, bool merge_depths = false, bool fitted_blocks = false);

// Where an executor keeps the buffers device::Problem points to.
struct DeviceBuffers {
  const float *train_x, *train_y;
  const device::Layer* layers;
  device::Net* nets;
  float *params, *state1, *state2, *grad, *next, *scratch;
  int32_t* perm;
  float* epoch_loss;
  device::GemmNetState* gemm_state;
};
device::Problem describe_problem(const TrainingProblem& p, const DeviceBuffers& b);

// The grid (frames) as chains of big GEMMs: for every network and layer,
// Z (out x G) = W (out x in) A (in x G) over all G grid points, then bias and
// activation in place. Matrices are column-major as in BLAS: A (in x G) with
// leading dimension `in` is the grid's (G, in) row-major features, and the
// last Z (outputs x G) is the frame's (G, outputs) layout. The device
// implements the ops with cuBLAS and kernels; the tests with host loops.
class GridOps {
 public:
  virtual ~GridOps() = default;
  // C (m x n) = op(A) op(B), column-major, op = transpose when trans_*.
  virtual void gemm(bool trans_a, bool trans_b, int m, int n, int k, const float* A, int lda, const float* B, int ldb,
                    float* C, int ldc) = 0;
  // Z (units x points) += bias; then the hidden activation, or (output layer) the loss's output activation.
  virtual void bias_activate(float* Z, const float* bias, int units, int points, Activation act, bool output,
                             Loss loss) = 0;
  // The neuron maps' layout: Z (points x units) column-major (each unit's map contiguous) += bias, then
  // the hidden activation.
  virtual void bias_activate_columns(float* Z, const float* bias, int points, int units, Activation act) = 0;
};

// Every network's outputs on the grid into probs (networks, G, outputs).
// work_a and work_b hold max_width x G floats each.
void evaluate_grid_gemm(const TrainingProblem& p, GridOps& ops, const float* params, const float* grid_x, float* probs,
                        float* work_a, float* work_b);
int grid_max_width(const TrainingProblem& p);

// Offsets (networks + 1, in floats) of each recording network's neuron maps,
// (hidden units, neuron grid points), in one buffer.
std::vector<int64_t> neuron_map_offsets(const TrainingProblem& p);
// Every recording network's hidden units on the neuron grid, as chains of
// GEMMs in the maps' own layout: layer l's maps (points x units_l) column-
// major are the next layer's input. maps: neuron_map_offsets(p).back() floats.
void evaluate_neuron_maps_gemm(const TrainingProblem& p, GridOps& ops, const float* params, const float* neuron_grid_x,
                               float* maps);

// The point sets a device evaluates every network on.
enum class EvalSet { train, test, grid };

// A device the schedule drives.
class DeviceExecutor {
 public:
  virtual ~DeviceExecutor() = default;
  virtual std::string description() const = 0;
  // Blocks the widest networks may use together (0: one block per network).
  virtual int group_budget() const { return 0; }
  virtual int64_t macs_per_block() const { return kMacsPerBlock; }
  virtual TrainPath train_path() const { return TrainPath::fused; }
  virtual int gemm_min_width() const { return kGemmMinWidth; }  // on the automatic path
  virtual bool merge_gemm_depths() const { return false; }      // plan_device's merge_depths
  virtual bool fitted_blocks() const { return false; }          // plan_device's fitted_blocks
  // Peak device memory held since upload(), measured (0 where not measured).
  virtual int64_t device_bytes_in_use() const { return 0; }
  // Allocates and copies everything; params/state1/state2 are packed buffers,
  // epoch_loss is (networks, epochs).
  virtual void upload(const DevicePlan& plan, const TrainingProblem& p, const std::vector<float>& params,
                      const std::vector<float>& state1, const std::vector<float>& state2,
                      const std::vector<float>& epoch_loss) = 0;
  virtual void train_until(int epoch_end) = 0;  // every network
  // Asynchronous form: start, do host work, then wait (default: synchronous).
  virtual void start_train_until(int epoch_end) { train_until(epoch_end); }
  virtual void wait_train() {}
  // Every network on a point set: probs (networks, points, outputs) if given;
  // with targets (train/test), per-network loss and correct-prediction sums.
  virtual void evaluate(EvalSet set, std::vector<float>* probs, std::vector<double>* loss_sum,
                        std::vector<double>* correct) = 0;
  // Every network's frame (networks, grid points, outputs) from the current
  // parameters: started here (the device copies it back while it goes on),
  // as float16 bits when `half`, else floats. The frames started before must have been
  // waited for (frames()): nothing orders a second start, or an evaluate with probs, after
  // the first one's copy on the device.
  virtual void start_frames(bool half) = 0;
  // Waits for the frames started last; valid until the next start_frames().
  virtual const void* frames() = 0;
  // The networks' state and per-epoch losses (small), and the packed buffers (large).
  virtual void download_state(std::vector<device::Net>& nets, std::vector<float>& epoch_loss) = 0;
  virtual void download_params(std::vector<float>& params, std::vector<float>& state1, std::vector<float>& state2) = 0;
  // The parameters alone (for the networks that record them at every frame).
  virtual void download_params_only(std::vector<float>& params) {
    std::vector<float> s1, s2;
    download_params(params, s1, s2);
  }
  // Every recording network's neuron maps from the current parameters (neuron_map_offsets layout).
  virtual void neuron_maps(std::vector<float>& maps) = 0;
};

// Trains the problem on an executor, with the same contract as Backend::train.
bool run_device_schedule(const TrainingProblem& p, DeviceExecutor& exec, std::vector<float>& params,
                         std::vector<NetworkResult>& results, FrameSink& frames, Progress& progress,
                         const TrainControl& control);

}  // namespace netsweep
