#include "netsweep/device_schedule.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>

#include "host_util.h"
#include "netsweep/random.h"

namespace netsweep {

namespace {
// A network's place in training, between NetworkState and device::Net.
void restore_position(device::Net& net, const NetworkState& st) {
  net.epoch = st.epoch;
  net.next_sample = st.next_sample;
  net.loss_sum = st.loss_sum;
  net.step = st.step;
  net.active = st.active;
  net.status = int32_t(st.result.status);
  net.epochs_trained = st.result.epochs_trained;
}
void save_position(NetworkState& st, const device::Net& net) {
  st.epoch = net.epoch;
  st.next_sample = net.next_sample;
  st.loss_sum = net.loss_sum;
  st.step = net.step;
  st.active = net.active != 0;
}
}  // namespace

DeviceBufferSizes device_buffer_sizes(const DevicePlan& plan, const TrainingProblem& p, int eval_slots) {
  const int64_t n = int64_t(plan.nets.size()), grid = int64_t(p.grid_h) * p.grid_w;
  const int64_t chunks = (std::max({p.n_train, p.n_test, 1}) + device::kEvalChunk - 1) / device::kEvalChunk;
  const int64_t f = sizeof(float), i = sizeof(int32_t), d = sizeof(double);
  DeviceBufferSizes s{};
  auto set = [&](DeviceBuffer b, const char* name, int64_t count, int64_t bytes) {
    s[size_t(b)] = {name, count, bytes};
  };
  set(DeviceBuffer::layers, "layers", int64_t(plan.layers.size()), sizeof(device::Layer));
  set(DeviceBuffer::nets, "nets", n, sizeof(device::Net));
  set(DeviceBuffer::params, "params", plan.param_floats, f);
  set(DeviceBuffer::state1, "state1", plan.param_floats, f);
  set(DeviceBuffer::state2, "state2", plan.param_floats, f);
  set(DeviceBuffer::grad, "grad", plan.grad_floats, f);
  set(DeviceBuffer::next, "next", plan.grad_floats, f);
  set(DeviceBuffer::scratch, "scratch", plan.scratch_floats, f);
  set(DeviceBuffer::eval_scratch, "eval_scratch", int64_t(eval_slots) * plan.eval_scratch_floats, f);
  set(DeviceBuffer::perm, "perm", n * p.n_train, i);
  set(DeviceBuffer::epoch_loss, "epoch_loss", n * p.epochs, f);
  set(DeviceBuffer::train_x, "train_x", int64_t(p.train_x.size()), f);
  set(DeviceBuffer::test_x, "test_x", int64_t(p.test_x.size()), f);
  set(DeviceBuffer::grid_x, "grid_x", int64_t(p.grid_x.size()), f);
  set(DeviceBuffer::train_y, "train_y", int64_t(p.train_y.size()), f);
  set(DeviceBuffer::test_y, "test_y", int64_t(p.test_y.size()), f);
  set(DeviceBuffer::train_labels, "train_labels", int64_t(p.train_label.size()), i);
  set(DeviceBuffer::test_labels, "test_labels", int64_t(p.test_label.size()), i);
  set(DeviceBuffer::neuron_grid_x, "neuron_grid_x", int64_t(p.neuron_grid_x.size()), f);
  set(DeviceBuffer::neuron_maps, "neuron_maps", neuron_map_offsets(p).back(), f);
  set(DeviceBuffer::frames, "frames", n * grid * p.outputs, f);
  set(DeviceBuffer::half_frames, "half_frames", n * grid * p.outputs, 2);
  set(DeviceBuffer::grid_a, "grid_a", int64_t(grid_max_width(p)) * grid, f);
  set(DeviceBuffer::grid_b, "grid_b", int64_t(grid_max_width(p)) * grid, f);
  set(DeviceBuffer::loss_sums, "loss_sums", n * chunks, d);
  set(DeviceBuffer::correct_sums, "correct_sums", n * chunks, d);
  set(DeviceBuffer::single_nets, "single_nets", int64_t(plan.single_block_nets.size()), i);
  set(DeviceBuffer::group_block_net, "group_block_net", int64_t(plan.group_block_net.size()), i);
  set(DeviceBuffer::group_block_rank, "group_block_rank", int64_t(plan.group_block_rank.size()), i);
  set(DeviceBuffer::group_blocks, "group_blocks", int64_t(plan.blocks.size()), i);
  set(DeviceBuffer::barriers, "barriers", n, 2 * sizeof(unsigned int));
  set(DeviceBuffer::gemm_state, "gemm_state", n, sizeof(device::GemmNetState));
  set(DeviceBuffer::gemm_members, "gemm_members", int64_t(plan.gemm_members.size()), i);
  set(DeviceBuffer::gemm_table, "gemm_table", plan.gemm_table_entries, sizeof(float*));
  return s;
}

int64_t device_bytes(const DeviceBufferSizes& sizes) {
  int64_t total = 0;
  for (const auto& b : sizes) total += b.bytes();
  return total;
}

void check_device_memory(const DeviceBufferSizes& sizes, int64_t extra, int64_t free_bytes,
                         const std::string& device_name) {
  const int64_t need = device_bytes(sizes) + extra;
  if (need <= free_bytes) return;
  std::vector<DeviceBufferSize> largest(sizes.begin(), sizes.end());
  std::sort(largest.begin(), largest.end(), [](const auto& a, const auto& b) { return a.bytes() > b.bytes(); });
  std::string top;
  for (size_t k = 0; k < 3; ++k)
    top += (k ? ", " : "") + std::string(largest[k].name) + " " + format_size(largest[k].bytes());
  throw SpecError("the sweep needs about " + format_size(need) + " of GPU memory but " + device_name + " has " +
                  format_size(free_bytes) + " free (largest: " + top +
                  "); lower --grid (frames are evaluated on the device), use fewer --seeds or networks, "
                  "or a smaller full batch (--batch 0 keeps every training point's activations)");
}

device::Problem describe_problem(const TrainingProblem& p, const DeviceBuffers& b) {
  return device::Problem{p.loss,
                         p.inputs,
                         p.outputs,
                         p.classes,
                         p.n_train,
                         p.epochs,
                         p.early_stop_loss.has_value(),
                         p.early_stop_loss.value_or(0.0f),
                         b.train_x,
                         b.train_y,
                         b.layers,
                         b.nets,
                         b.params,
                         b.state1,
                         b.state2,
                         b.grad,
                         b.next,
                         b.scratch,
                         b.perm,
                         b.epoch_loss,
                         b.gemm_state};
}

TrainPath parse_train_path(const std::string& name) {
  if (name == "auto") return TrainPath::automatic;
  if (name == "fused") return TrainPath::fused;
  if (name == "gemm") return TrainPath::gemm;
  throw SpecError("--gpu-path '" + name + "': expected auto, fused or gemm");
}

const char* to_string(TrainPath path) {
  switch (path) {
    case TrainPath::automatic: return "auto";
    case TrainPath::fused: return "fused";
    case TrainPath::gemm: return "gemm";
  }
  return "?";
}

std::vector<int> plan_group_blocks(const TrainingProblem& p, int budget, int64_t macs_per_block,
                                   const std::vector<uint8_t>* skip) {
  const size_t n = p.networks.size();
  std::vector<int> blocks(n, 1);
  if (skip)
    for (size_t i = 0; i < n; ++i)
      if ((*skip)[i]) blocks[i] = 0;
  if (budget <= 0) return blocks;
  std::vector<int64_t> step_macs(n);
  int64_t wanted = 0;
  for (size_t i = 0; i < n; ++i) {
    if (blocks[i] == 0) continue;
    step_macs[i] = forward_macs(p.layout.networks[i]) * effective_batch(p, int(i));
    const int64_t k = std::min<int64_t>(kMaxGroupBlocks, step_macs[i] / macs_per_block);
    if (k >= 2) wanted += k;
  }
  // Scale down evenly if the wide networks want more blocks than the budget;
  // past it (each group keeps 2 blocks at least), the networks with the least
  // work train in one block: a group's blocks must all be resident at once.
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return step_macs[a] > step_macs[b]; });
  int64_t used = 0;
  for (size_t i : order) {
    if (blocks[i] == 0) continue;
    int64_t k = std::min<int64_t>(kMaxGroupBlocks, step_macs[i] / macs_per_block);
    if (k < 2) continue;
    if (wanted > budget) k = std::max<int64_t>(2, k * budget / wanted);
    if (used + k > budget) continue;
    used += k;
    blocks[i] = int(k);
  }
  return blocks;
}

int64_t fused_phase_items(const NetworkLayout& layout, int batch) {
  int64_t items = int64_t(device::row_groups(layout.max_width)) * batch;
  for (const LayerView& l : layout.layers) items = std::max(items, int64_t(device::row_groups(l.out)) * (l.in + 1));
  const int64_t per_pass = int64_t(device::kUpdateChunk) * kFittedUpdatePasses;
  return std::max(items, (layout.count + per_pass - 1) / per_pass);
}

int fitted_block_threads(int64_t items, int limit) {
  int threads = 32;
  while (threads < limit && threads < items) threads *= 2;
  return std::min(threads, limit);
}

DevicePlan plan_device(const TrainingProblem& p, int block_threads,
                       const std::vector<std::optional<NetworkState>>* resume, int group_budget, int64_t macs_per_block,
                       TrainPath path, int gemm_min_width, bool merge_depths, bool fitted_blocks) {
  if (p.outputs > device::kMaxOutputs)
    throw SpecError("--outputs " + std::to_string(p.outputs) + ": the GPU backend supports at most " +
                    std::to_string(device::kMaxOutputs) + " outputs");
  DevicePlan plan;
  plan.block_threads = block_threads;
  plan.param_floats = p.layout.total;
  plan.uses_gemm.assign(p.networks.size(), 0);
  for (size_t n = 0; n < p.networks.size(); ++n)
    plan.uses_gemm[n] =
        path == TrainPath::gemm || (path == TrainPath::automatic && p.layout.networks[n].max_width >= gemm_min_width);
  plan.blocks = plan_group_blocks(p, group_budget, macs_per_block, &plan.uses_gemm);
  for (size_t n = 0; n < p.networks.size(); ++n) {
    if (plan.blocks[n] == 1) plan.single_block_nets.push_back(int(n));
    for (int r = 0; plan.blocks[n] > 1 && r < plan.blocks[n]; ++r) {
      plan.group_block_net.push_back(int(n));
      plan.group_block_rank.push_back(r);
    }
  }
  // Largest blocks first (a launch a block size), and within a launch longest
  // first: with more single-block networks than resident blocks (e.g. --seeds
  // 10), blocks start as others finish, and the sweep's deepest networks,
  // listed last, would start last and finish alone. A block's epoch is steps x
  // layers phases one after another (each a barrier and a chain of loads), then
  // its arithmetic. Keys drawn once: (threads, steps x layers, work).
  std::vector<std::tuple<int, int64_t, int64_t>> order(p.networks.size());
  for (int n : plan.single_block_nets) {
    const NetworkLayout& layout = p.layout.networks[size_t(n)];
    const int batch = effective_batch(p, n);
    const int threads =
        fitted_blocks ? fitted_block_threads(fused_phase_items(layout, batch), block_threads) : block_threads;
    order[size_t(n)] = {threads, batches_per_epoch(p, n) * int64_t(layout.layers.size()), epoch_work(p, layout)};
  }
  std::stable_sort(plan.single_block_nets.begin(), plan.single_block_nets.end(),
                   [&](int a, int b) { return order[size_t(a)] > order[size_t(b)]; });
  for (int k = 0; k < int(plan.single_block_nets.size()); ++k) {
    const int t = std::get<0>(order[size_t(plan.single_block_nets[size_t(k)])]);
    if (plan.single_launches.empty() || plan.single_launches.back().threads != t)
      plan.single_launches.push_back({t, k, 0});
    ++plan.single_launches.back().count;
  }
  for (size_t n = 0; n < p.networks.size(); ++n) {
    const NetworkConfig& cfg = p.networks[n];
    const NetworkLayout& layout = p.layout.networks[n];
    device::Net net{};
    net.first_layer = int32_t(plan.layers.size());
    net.layers = int32_t(layout.layers.size());
    for (const LayerView& l : layout.layers) plan.layers.push_back({l.in, l.out, l.weights, l.biases});
    net.batch = effective_batch(p, int(n));
    net.max_width = layout.max_width;
    net.param_offset = layout.offset;
    net.param_count = layout.count;
    net.grad_offset = plan.grad_floats;
    plan.grad_floats += (layout.count + 31) / 32 * 32;
    net.scratch_offset = plan.scratch_floats;
    const int64_t scratch = device::train_scratch_floats(plan.layers.data() + net.first_layer, net.layers,
                                                         net.max_width, net.batch, !plan.uses_gemm[n]);
    plan.scratch_floats += (scratch + 31) / 32 * 32;
    plan.eval_scratch_floats = std::max(plan.eval_scratch_floats,
                                        device::eval_scratch_floats(plan.layers.data() + net.first_layer, net.layers));
    net.activation = cfg.activation;
    net.optimizer = cfg.optimizer;
    net.stream_key = cfg.stream_key();
    net.active = 1;
    net.status = int32_t(NetStatus::trained);
    if (resume && (*resume)[n]) restore_position(net, *(*resume)[n]);
    plan.nets.push_back(net);
  }
  plan.eval_scratch_floats = (plan.eval_scratch_floats + 31) / 32 * 32;

  plan.gemm_groups = group_gemm_networks(plan.nets, plan.layers, plan.uses_gemm, merge_depths);
  for (GemmGroupPlan& g : plan.gemm_groups) {
    g.member_offset = int64_t(plan.gemm_members.size());
    plan.gemm_members.insert(plan.gemm_members.end(), g.nets.begin(), g.nets.end());
    g.table_offset = plan.gemm_table_entries;
    plan.gemm_table_entries += int64_t(g.in.size()) * kGemmKinds * 3 * int64_t(g.nets.size());
  }
  return plan;
}

namespace {
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

NetworkState capture(const TrainingProblem& p, size_t n, const device::Net& net, const std::vector<float>& params,
                     const std::vector<float>& state1, const std::vector<float>& state2, const NetworkResult& result,
                     int frames_done) {
  const NetworkLayout& layout = p.layout.networks[n];
  NetworkState st;
  save_position(st, net);
  st.frames_done = frames_done;
  st.save_parameters(params.data() + layout.offset, state1.data() + layout.offset, state2.data() + layout.offset,
                     layout.count);
  st.result = result;
  return st;
}
}  // namespace

bool run_device_schedule(const TrainingProblem& p, DeviceExecutor& exec, std::vector<float>& params,
                         std::vector<NetworkResult>& results, FrameSink& frames, Progress& progress,
                         const TrainControl& control) {
  const auto start = std::chrono::steady_clock::now();
  const size_t n = p.networks.size(), f_count = p.frame_epochs.size(), e_count = size_t(p.epochs);
  const auto* resume = control.resume;
  DevicePlan plan =
      plan_device(p, device::kBlockThreads, resume, exec.group_budget(), exec.macs_per_block(), exec.train_path(),
                  exec.gemm_min_width(), exec.merge_gemm_depths(), exec.fitted_blocks());
  std::vector<float> state1(params.size(), 0.0f), state2(params.size(), 0.0f), epoch_loss(n * e_count, kNaN);
  std::vector<int> frames_done(n, 0);
  std::vector<double> wall_before(n, 0.0);
  std::vector<int64_t> resumed_epoch(n, 0);  // epochs a checkpoint had done
  results.assign(n, NetworkResult{});
  for (size_t i = 0; i < n; ++i) {
    NetworkResult& r = results[i];
    for (auto* v :
         {&r.snapshot_train_loss, &r.snapshot_test_loss, &r.snapshot_train_accuracy, &r.snapshot_test_accuracy})
      v->assign(f_count, kNaN);
    if (resume && (*resume)[i]) {
      const NetworkState& st = *(*resume)[i];
      const int64_t at = p.layout.networks[i].offset;
      st.restore_parameters(params.data() + at, state1.data() + at, state2.data() + at);
      std::copy(st.result.epoch_loss.begin(), st.result.epoch_loss.end(), epoch_loss.begin() + long(i * e_count));
      r = st.result;
      frames_done[i] = st.frames_done;
      wall_before[i] = st.result.wall_seconds;
      resumed_epoch[i] = st.epoch;
    }
  }
  exec.upload(plan, p, params, state1, state2, epoch_loss);

  const bool half = frames.takes_half();  // converted where they are made
  const int64_t grid_values = int64_t(p.grid_h) * p.grid_w * p.outputs;
  // The small per-network state every frame; the packed buffers only for checkpoints and at the end.
  auto sync_results = [&](bool with_params) {
    exec.download_state(plan.nets, epoch_loss);
    if (with_params) exec.download_params(params, state1, state2);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (size_t i = 0; i < n; ++i) {
      NetworkResult& r = results[i];
      r.epoch_loss.assign(epoch_loss.begin() + long(i * e_count), epoch_loss.begin() + long((i + 1) * e_count));
      r.status = NetStatus(plan.nets[i].status);
      r.epochs_trained = plan.nets[i].epochs_trained;
      // All networks train at once; one that had finished before a resume trains no more.
      r.wall_seconds = wall_before[i] + (resumed_epoch[i] >= p.epochs ? 0.0 : elapsed);
    }
  };
  const std::vector<int64_t> map_offsets = neuron_map_offsets(p);
  std::vector<float> maps;
  const bool any_neurons = map_offsets.back() > 0;
  const bool any_weights = std::any_of(p.record_weights.begin(), p.record_weights.end(), [](uint8_t r) { return r; });
  std::vector<size_t> due_frames;  // frames some network still needs
  for (size_t f = 0; f < f_count; ++f)
    for (size_t i = 0; i < n; ++i)
      if (frames_done[i] <= int(f)) {
        due_frames.push_back(f);
        break;
      }
  // What a checkpoint had done counts as done, not toward this run's rate (as on the CPU). The work's
  // share in double: work_total x network-epochs can pass int64 (~1e16 multiply-adds at epoch 900).
  const auto work_share = [&](int64_t network_epochs) {
    return int64_t(double(progress.work_total) * double(network_epochs) /
                   (double(std::max<size_t>(n, 1)) * std::max(1, p.epochs)));
  };
  int64_t epochs_seen = std::accumulate(resumed_epoch.begin(), resumed_epoch.end(), int64_t(0));
  progress.network_epochs.fetch_add(epochs_seen);
  progress.network_epochs_resumed.fetch_add(epochs_seen);
  progress.work_done.store(work_share(epochs_seen));
  bool training = false;  // a segment started and not yet waited for
  for (size_t d = 0; d < due_frames.size(); ++d) {
    const size_t f = due_frames[d];
    const int epoch = p.frame_epochs[f];
    if (training)
      exec.wait_train();
    else if (epoch > 0)
      exec.train_until(epoch);
    training = false;
    exec.start_frames(half);
    std::vector<double> train_loss, train_correct, test_loss, test_correct;
    exec.evaluate(EvalSet::train, nullptr, &train_loss, &train_correct);
    if (p.n_test > 0) exec.evaluate(EvalSet::test, nullptr, &test_loss, &test_correct);
    const bool stopping = control.stop && control.stop->load() && d + 1 < due_frames.size();
    const bool all_params = control.checkpointer != nullptr || stopping;
    sync_results(all_params);
    // Inside the networks, from the parameters of this frame (before the next segment changes them).
    if (any_neurons) exec.neuron_maps(maps);
    if (any_weights && !all_params) exec.download_params_only(params);
    // The device trains the next segment while the host hands these frames on.
    if (!stopping && d + 1 < due_frames.size()) {
      exec.start_train_until(p.frame_epochs[due_frames[d + 1]]);
      training = true;
    }
    const void* grid = exec.frames();  // copied back while the next segment started
    for (size_t i = 0; i < n; ++i) {
      if (frames_done[i] > int(f)) continue;
      if (p.record_neurons[i]) frames.write_neuron_maps(int(i), int(f), maps.data() + map_offsets[i]);
      if (p.record_weights[i]) frames.write_weights(int(i), int(f), params.data() + p.layout.networks[i].offset);
      NetworkResult& r = results[i];
      r.snapshot_train_loss[f] = float(train_loss[i] / p.n_train);
      if (p.classification) r.snapshot_train_accuracy[f] = float(train_correct[i]) / float(p.n_train);
      if (p.n_test > 0) {
        r.snapshot_test_loss[f] = float(test_loss[i] / p.n_test);
        if (p.classification) r.snapshot_test_accuracy[f] = float(test_correct[i]) / float(p.n_test);
      }
      if (half)
        frames.write_frame_half(int(i), int(f), static_cast<const uint16_t*>(grid) + int64_t(i) * grid_values);
      else
        frames.write_frame(int(i), int(f), static_cast<const float*>(grid) + int64_t(i) * grid_values);
      frames_done[i] = int(f) + 1;
      if (control.checkpointer)
        control.checkpointer->snapshot_state(int(i),
                                             capture(p, i, plan.nets[i], params, state1, state2, r, frames_done[i]));
    }
    int64_t now = 0;  // every network at the frame's epoch, or beyond it if resumed there
    for (size_t i = 0; i < n; ++i) now += std::max<int64_t>(epoch, resumed_epoch[i]);
    progress.network_epochs.fetch_add(now - epochs_seen);
    progress.work_done.store(work_share(now));
    epochs_seen = now;
    if (stopping) {
      // Stop between frames: every network's state was just recorded.
      for (size_t i = 0; i < n; ++i)
        if (control.checkpointer)
          control.checkpointer->stopped_state(
              int(i), capture(p, i, plan.nets[i], params, state1, state2, results[i], frames_done[i]));
      return false;
    }
  }
  if (training) exec.wait_train();
  sync_results(true);
  progress.networks_done.store(int(n));
  progress.work_done.store(progress.work_total);
  return true;
}

}  // namespace netsweep
