// Reading a checkpoint (checkpoint.h): state.h5 checked against this sweep, its
// states against what training makes, and the frames they count against
// frames.bin, before any network resumes from it.
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "h5.h"
#include "host_util.h"
#include "netsweep/checkpoint.h"

namespace netsweep {
namespace fs = std::filesystem;
namespace {
// A readable checkpoint of another sweep or shard (not a damaged one).
struct ForeignCheckpoint : ResultsError {
  using ResultsError::ResultsError;
};
}  // namespace

std::vector<std::optional<NetworkState>> CheckpointStore::load() {
  const std::string path = dir_ + "/state.h5";
  std::vector<std::optional<NetworkState>> states(problem_.networks.size());
  if (!fs::exists(path)) return states;
  try {
    states = read_states(path);
  } catch (const ForeignCheckpoint&) {
    throw;  // whole, but not this run's
  } catch (const std::exception& e) {
    throw ResultsError(std::string(e.what()) + "; the checkpoint in " + dir_ +
                       " is damaged and was not used (remove it to start over)");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  latest_ = states;
  return states;
}

// Reads and checks state.h5: every dataset is checksummed (Fletcher-32) and
// sized for this sweep, every value in range, and every frame a state counts
// is in frames.bin with the checksum recorded when it was written.
namespace {
CheckpointOwner owner_of(hid_t file, const std::string& path) {
  if (!h5::has_attr(file, "format") || h5::get_string_attr(file, "format", path) != kCheckpointFormat)
    throw ResultsError(path + ": not a netsweep checkpoint");
  return {h5::get_string_attr(file, "sweep_hash", path), h5::get_string_attr(file, "shard", path)};
}
}  // namespace

CheckpointOwner checkpoint_owner(const std::string& dir) {
  const std::string path = dir + "/state.h5";
  h5::silence_errors();
  return owner_of(h5::open_for_reading(path), path);
}

std::vector<std::optional<NetworkState>> CheckpointStore::read_states(const std::string& path) {
  h5::silence_errors();
  h5::Handle file = h5::open_for_reading(path);
  const auto [hash, shard] = owner_of(file, path);
  if (hash != hash_ || shard != shard_)
    throw ForeignCheckpoint(path + ": checkpoint of another sweep or shard (sweep " + hash + ", " +
                            (shard.empty() ? "whole" : "shard " + shard) + "; this run is sweep " + hash_ + ", " +
                            (shard_.empty() ? "whole" : "shard " + shard_) + "); remove " + dir_ + " to start over");
  // frames.bin holds frames in the type they were made with (a checkpoint of
  // an earlier build has no attribute: its frames are checked by size below).
  if (h5::has_attr(file, "frame_dtype")) {
    const std::string stored = h5::get_string_attr(file, "frame_dtype", path);
    if (stored != frame_dtype_name(frame_type_))
      throw ForeignCheckpoint(path + ": checkpoint made with --frame-dtype " + printable(stored) +
                              "; this run asks for " + frame_dtype_name(frame_type_) + ": rerun with --frame-dtype " +
                              printable(stored) + " to resume it, or remove " + dir_ + " to start over");
  }
  const size_t n = problem_.networks.size(), e = size_t(problem_.epochs), f = problem_.frame_epochs.size();
  const size_t p = size_t(problem_.layout.total);
  auto read = [&](const char* name, size_t expected, auto type_tag) {
    using T = decltype(type_tag);
    auto v = h5::read<T>(file, name, path);
    if (v.size() != expected)
      throw ResultsError(path + ": dataset '" + name + "' has " + std::to_string(v.size()) + " values, expected " +
                         std::to_string(expected));
    return v;
  };
  const auto has = read("has_state", n, int8_t{});
  const auto epoch = read("epoch", n, int32_t{});
  const auto next_sample = read("next_sample", n, int32_t{});
  const auto loss_sum = read("loss_sum", n, double{});
  const auto step = read("step", n, int64_t{});
  const auto active = read("active", n, int8_t{});
  const auto frames_done = read("frames_done", n, int32_t{});
  const auto status = read("status", n, int32_t{});
  const auto trained = read("epochs_trained", n, int32_t{});
  const auto wall = read("wall_seconds", n, double{});
  const auto crc = read("frame_crc", n * f, uint32_t{});
  const auto params = read("params", p, float{});
  const auto state1 = read("state1", p, float{});
  const auto state2 = read("state2", p, float{});
  const auto epoch_loss = read("epoch_loss", n * e, float{});
  const char* snap_names[4] = {"snapshot_train_loss", "snapshot_test_loss", "snapshot_train_accuracy",
                               "snapshot_test_accuracy"};
  std::vector<float> snaps[4];
  for (int k = 0; k < 4; ++k) snaps[k] = read(snap_names[k], n * f, float{});

  std::vector<std::optional<NetworkState>> states(n);
  std::vector<unsigned char> slot;
  for (size_t i = 0; i < n; ++i) {
    if (!has[i]) continue;
    const std::string net_name = path + ": network " + std::to_string(i);
    const bool in_range = epoch[i] >= 0 && size_t(epoch[i]) <= e && next_sample[i] >= 0 &&
                          next_sample[i] < std::max(problem_.n_train, 1) && step[i] >= 0 && frames_done[i] >= 0 &&
                          size_t(frames_done[i]) <= f && status[i] >= 0 && status[i] <= 2 && trained[i] >= 0 &&
                          trained[i] <= epoch[i] && std::isfinite(loss_sum[i]) && std::isfinite(wall[i]) &&
                          (frames_done[i] == 0 || problem_.frame_epochs[size_t(frames_done[i]) - 1] <= epoch[i]) &&
                          // and none behind: a state is captured with every frame due by its epoch emitted, and a
                          // resumed network emits only frame_epochs[frames_done] == epoch, so a lagging count
                          // would leave the rest of its frames unwritten without a word
                          (size_t(frames_done[i]) == f || problem_.frame_epochs[size_t(frames_done[i])] > epoch[i]);
    if (!in_range) throw ResultsError(net_name + ": its training state is out of range");
    const auto& net = problem_.layout.networks[i];
    if (active[i]) {  // still training: what its training so far makes of it (an edit would train on from there)
      const int64_t batch = effective_batch(problem_, int(i)), batches = batches_per_epoch(problem_, int(i));
      const auto block = [&](const std::vector<float>& v, auto ok) {
        return std::all_of(v.begin() + net.offset, v.begin() + net.offset + net.count, ok);
      };
      const char* wrong =
          status[i] != int32_t(NetStatus::trained)                   ? "its status is not training's"
          : trained[i] != epoch[i]                                   ? "its epochs trained are not its epochs"
          : next_sample[i] % batch != 0                              ? "its next sample does not begin a batch"
          : step[i] != epoch[i] * batches + next_sample[i] / batch   ? "its optimizer steps are not its batches"
          : !block(params, [](float x) { return std::isfinite(x); }) ? "its parameters are not finite"
          : !block(state1, [](float x) { return !std::isnan(x); })   ? "its optimizer state is NaN"
          : !block(state2, [](float x) { return x >= 0; }) ? "its optimizer's second moments are negative or NaN"
                                                           : nullptr;
      if (wrong) throw ResultsError(net_name + ": " + wrong + " (a network still training)");
    }
    for (int k = 0; k < frames_done[i]; ++k) {
      read_record(int(i), k, slot);
      if (crc32_of(slot.data(), slot.size()) != crc[i * f + size_t(k)])
        throw ResultsError(dir_ + "/frames.bin: frame " + std::to_string(k) + " of network " + std::to_string(i) +
                           " is damaged or missing (its checksum does not match)");
      frame_crc_[i * f + size_t(k)] = crc[i * f + size_t(k)];
    }
    NetworkState s;
    s.epoch = epoch[i];
    s.next_sample = next_sample[i];
    s.loss_sum = loss_sum[i];
    s.step = step[i];
    s.active = active[i] != 0;
    s.frames_done = frames_done[i];
    s.save_parameters(params.data() + net.offset, state1.data() + net.offset, state2.data() + net.offset, net.count);
    s.result.status = NetStatus(status[i]);
    s.result.epochs_trained = trained[i];
    s.result.wall_seconds = wall[i];
    s.result.epoch_loss.assign(epoch_loss.begin() + long(i * e), epoch_loss.begin() + long((i + 1) * e));
    std::vector<float>* dst[4] = {&s.result.snapshot_train_loss, &s.result.snapshot_test_loss,
                                  &s.result.snapshot_train_accuracy, &s.result.snapshot_test_accuracy};
    for (int k = 0; k < 4; ++k) dst[k]->assign(snaps[k].begin() + long(i * f), snaps[k].begin() + long((i + 1) * f));
    states[i] = std::move(s);
    loaded_any_ = true;
  }
  return states;
}

}  // namespace netsweep
