#include "netsweep/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "h5.h"
#include "host_util.h"

namespace netsweep {
namespace fs = std::filesystem;

CheckpointStore::CheckpointStore(const std::string& dir, const TrainingProblem& problem, const std::string& hash,
                                 const std::string& shard, FrameType frame_type, double interval)
    : dir_(dir),
      problem_(problem),
      hash_(hash),
      shard_(shard),
      frame_type_(frame_type),
      interval_(interval),
      frame_elements_(size_t(problem.grid_h) * size_t(problem.grid_w) * size_t(problem.outputs)),
      element_bytes_(frame_type == FrameType::float16 ? 2 : 4),
      slot_bytes_(frame_elements_ * element_bytes_),
      latest_(problem.networks.size()),
      frame_crc_(problem.networks.size() * problem.frame_epochs.size(), 0) {
  h5::silence_errors();
  // One record per (network, frame): the frame, then the network's neuron
  // maps and parameters where it records them. Network i's records start at record_base_[i].
  const size_t n = problem.networks.size(), f = problem.frame_epochs.size();
  const size_t map_points = size_t(problem.neuron_grid_h) * size_t(problem.neuron_grid_w);
  record_bytes_.resize(n);
  record_base_.resize(n + 1, 0);
  pending_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    maps_bytes_.push_back(
        problem.record_neurons[i] ? size_t(hidden_units(problem, int(i))) * map_points * element_bytes_ : 0);
    weights_bytes_.push_back(problem.record_weights[i] ? size_t(problem.layout.networks[i].count) * sizeof(float) : 0);
    record_bytes_[i] = slot_bytes_ + maps_bytes_[i] + weights_bytes_[i];
    record_base_[i + 1] = record_base_[i] + int64_t(record_bytes_[i]) * int64_t(f);
  }
  if (!(interval >= 0 && interval <= kMaxCheckpointInterval))
    throw SpecError("--checkpoint-every: must be between 0 and " + std::to_string(int(kMaxCheckpointInterval)) +
                    " seconds");
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw ResultsError(dir_ + ": cannot create the checkpoint directory: " + ec.message());
  lock_directory();
  const std::string frames = dir_ + "/frames.bin";
  frames_fd_ = ::open(frames.c_str(), O_RDWR | O_CREAT, 0644);
  if (frames_fd_ < 0) throw ResultsError(frames + ": cannot open: " + std::strerror(errno));
  if (interval_ > 0) writer_ = std::thread([this] { writer_loop(); });
}

CheckpointStore::~CheckpointStore() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (frames_fd_ >= 0) ::close(frames_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
}

void CheckpointStore::write_frame(int index, int frame, const float* values) {
  if (frame_type_ == FrameType::float32) return write_record(index, frame, values);
  std::vector<uint16_t> bits(frame_elements_);
  for (size_t k = 0; k < frame_elements_; ++k) bits[k] = float_to_half_bits(values[k]);
  write_record(index, frame, bits.data());
}

void CheckpointStore::write_frame_half(int index, int frame, const uint16_t* bits) {
  if (!takes_half()) FrameSink::write_frame_half(index, frame, bits);
  write_record(index, frame, bits);
}

// Maps and parameters wait for their frame: a record is written whole, once.
void CheckpointStore::write_neuron_maps(int index, int, const float* maps) {
  std::vector<unsigned char>& p = pending_[size_t(index)];
  p.resize(maps_bytes_[size_t(index)] + weights_bytes_[size_t(index)]);
  const size_t n = maps_bytes_[size_t(index)] / element_bytes_;
  if (frame_type_ == FrameType::float32) {
    std::memcpy(p.data(), maps, n * sizeof(float));
  } else {
    auto* out = reinterpret_cast<uint16_t*>(p.data());
    for (size_t k = 0; k < n; ++k) out[k] = float_to_half_bits(maps[k]);
  }
}

void CheckpointStore::write_weights(int index, int, const float* params) {
  std::vector<unsigned char>& p = pending_[size_t(index)];
  p.resize(maps_bytes_[size_t(index)] + weights_bytes_[size_t(index)]);
  std::memcpy(p.data() + maps_bytes_[size_t(index)], params, weights_bytes_[size_t(index)]);
}

uint32_t CheckpointStore::crc32_of(const unsigned char* bytes, size_t size) {
  return uint32_t(crc32_z(crc32_z(0L, Z_NULL, 0), bytes, size));
}

off_t CheckpointStore::record_offset(int index, int frame) const {
  return off_t(record_base_[size_t(index)] + int64_t(frame) * int64_t(record_bytes_[size_t(index)]));
}

void CheckpointStore::read_record(int index, int frame, std::vector<unsigned char>& out) const {
  out.resize(record_bytes_[size_t(index)]);
  const off_t offset = record_offset(index, frame);
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t r = ::pread(frames_fd_, out.data() + done, out.size() - done, offset + off_t(done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0)
      throw ResultsError(dir_ + "/frames.bin: frame " + std::to_string(frame) + " of network " + std::to_string(index) +
                         " is missing (the file is shorter than the checkpoint says: truncated?)");
    done += size_t(r);
  }
}

void CheckpointStore::write_record(int index, int frame, const void* stored) {
  std::vector<unsigned char> record(record_bytes_[size_t(index)], 0);
  std::memcpy(record.data(), stored, slot_bytes_);
  const std::vector<unsigned char>& p = pending_[size_t(index)];
  if (record.size() > slot_bytes_) {
    if (p.size() != record.size() - slot_bytes_)
      throw std::logic_error("checkpoint: a frame of network " + std::to_string(index) +
                             " came without its neuron maps or parameters");
    std::memcpy(record.data() + slot_bytes_, p.data(), p.size());
  }
  pending_[size_t(index)].clear();
  {
    const uint32_t crc = crc32_of(record.data(), record.size());
    std::lock_guard<std::mutex> lock(mutex_);
    frame_crc_[size_t(index) * problem_.frame_epochs.size() + size_t(frame)] = crc;
  }
  const off_t offset = record_offset(index, frame);
  size_t done = 0;
  while (done < record.size()) {
    const ssize_t w = ::pwrite(frames_fd_, record.data() + done, record.size() - done, offset + off_t(done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw ResultsError(dir_ + "/frames.bin: write failed: " + std::strerror(errno));
    done += size_t(w);
  }
}

void CheckpointStore::record(int index, const NetworkState& state, bool write_now) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!error_.empty()) throw ResultsError(error_);  // the background writer's failure: stop, not train on unsaved
  latest_[size_t(index)] = state;
  dirty_ = true;
  if (write_now) write_state_locked();
}

void CheckpointStore::snapshot_state(int index, const NetworkState& state) { record(index, state, interval_ <= 0); }
void CheckpointStore::stopped_state(int index, const NetworkState& state) { record(index, state, false); }

void CheckpointStore::flush() {
  std::lock_guard<std::mutex> lock(mutex_);
  write_state_locked();
}

void CheckpointStore::writer_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto period = std::chrono::milliseconds(int64_t(std::min(interval_, kMaxCheckpointInterval) * 1000));
  while (!wake_.wait_for(lock, period, [&] { return closing_; })) {
    if (!dirty_ || !error_.empty()) continue;
    try {
      write_state_locked();
    } catch (const std::exception& e) {
      error_ = e.what();  // reported by the next record() or flush()
    }
  }
}

void CheckpointStore::write_state_locked() {
  if (!error_.empty()) throw ResultsError(error_);
  try {
    write_state_file();
  } catch (const std::exception& e) {
    std::error_code ec;
    std::string note;
    const auto space = fs::space(dir_, ec);
    if (!ec && space.available < (uintmax_t(1) << 20))
      note = " (no space left: " + std::to_string(space.available) + " bytes free on its disk)";
    fs::remove(dir_ + "/state.h5.tmp", ec);
    error_ = dir_ + "/state.h5: cannot write the checkpoint: " + e.what() + note;
    throw ResultsError(error_);
  }
}

bool CheckpointStore::resumable() const { return loaded_any_ || fs::exists(dir_ + "/state.h5"); }

void CheckpointStore::write_state_file() {
  h5::silence_errors();  // any thread may get here
  // The frames a state counts are on disk before the state is (a full disk
  // may show only here).
  if (::fdatasync(frames_fd_) != 0)
    throw ResultsError(dir_ + "/frames.bin: cannot write to disk: " + std::strerror(errno));
  const size_t n = problem_.networks.size(), e = size_t(problem_.epochs), f = problem_.frame_epochs.size();
  const size_t p = size_t(problem_.layout.total);
  std::vector<int8_t> has(n, 0), active(n, 0);
  std::vector<int32_t> epoch(n, 0), next_sample(n, 0), frames_done(n, 0), status(n, 0), trained(n, 0);
  std::vector<double> loss_sum(n, 0), wall(n, 0);
  std::vector<int64_t> step(n, 0);
  std::vector<float> params(p, 0), state1(p, 0), state2(p, 0), epoch_loss(n * e, NAN);
  std::vector<float> snaps[4];
  for (auto& s : snaps) s.assign(n * f, NAN);
  for (size_t i = 0; i < n; ++i) {
    if (!latest_[i]) continue;
    const NetworkState& s = *latest_[i];
    const auto& net = problem_.layout.networks[i];
    has[i] = 1;
    epoch[i] = s.epoch;
    next_sample[i] = s.next_sample;
    loss_sum[i] = s.loss_sum;
    step[i] = s.step;
    active[i] = s.active;
    frames_done[i] = s.frames_done;
    status[i] = int32_t(s.result.status);
    trained[i] = s.result.epochs_trained;
    wall[i] = s.result.wall_seconds;
    std::copy(s.params.begin(), s.params.end(), params.begin() + net.offset);
    std::copy(s.state1.begin(), s.state1.end(), state1.begin() + net.offset);
    std::copy(s.state2.begin(), s.state2.end(), state2.begin() + net.offset);
    std::copy(s.result.epoch_loss.begin(), s.result.epoch_loss.end(), epoch_loss.begin() + long(i * e));
    const std::vector<float>* src[4] = {&s.result.snapshot_train_loss, &s.result.snapshot_test_loss,
                                        &s.result.snapshot_train_accuracy, &s.result.snapshot_test_accuracy};
    for (int k = 0; k < 4; ++k) std::copy(src[k]->begin(), src[k]->end(), snaps[k].begin() + long(i * f));
  }
  const std::string tmp = dir_ + "/state.h5.tmp", path = dir_ + "/state.h5";
  {
    h5::Handle file = h5::create_file(tmp, tmp + ": cannot create checkpoint");
    h5::set_attr(file, "format", std::string(kCheckpointFormat));
    h5::set_attr(file, "sweep_hash", hash_);
    h5::set_attr(file, "shard", shard_);
    h5::set_attr(file, "frame_dtype", std::string(frame_dtype_name(frame_type_)));
    h5::write(file, "has_state", has, true);
    h5::write(file, "epoch", epoch, true);
    h5::write(file, "next_sample", next_sample, true);
    h5::write(file, "loss_sum", loss_sum, true);
    h5::write(file, "step", step, true);
    h5::write(file, "active", active, true);
    h5::write(file, "frames_done", frames_done, true);
    h5::write(file, "status", status, true);
    h5::write(file, "epochs_trained", trained, true);
    h5::write(file, "wall_seconds", wall, true);
    h5::write(file, "params", params, true);
    h5::write(file, "state1", state1, true);
    h5::write(file, "state2", state2, true);
    h5::write(file, "epoch_loss", {hsize_t(n), hsize_t(e)}, epoch_loss, true);
    const char* names[4] = {"snapshot_train_loss", "snapshot_test_loss", "snapshot_train_accuracy",
                            "snapshot_test_accuracy"};
    for (int k = 0; k < 4; ++k) h5::write(file, names[k], {hsize_t(n), hsize_t(f)}, snaps[k], true);
    h5::write(file, "frame_crc", {hsize_t(n), hsize_t(f)}, frame_crc_, true);
    h5::close_written_file(file, tmp);  // never a short file renamed over a good one
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw ResultsError(path + ": cannot replace checkpoint: " + ec.message());
  sync_parent_directory(path);
  dirty_ = false;
}

void CheckpointStore::replay_frames(FrameSink& sink, const std::function<void()>& between) {
  std::vector<unsigned char> record;
  std::vector<float> values(frame_elements_), maps, params;
  const size_t f = problem_.frame_epochs.size();
  auto widen = [&](const unsigned char* bytes, size_t n, std::vector<float>& out) {
    out.resize(n);
    if (frame_type_ == FrameType::float32) {
      std::memcpy(out.data(), bytes, n * sizeof(float));
    } else {
      const auto* in = reinterpret_cast<const uint16_t*>(bytes);
      for (size_t j = 0; j < n; ++j) out[j] = half_bits_to_float(in[j]);
    }
  };
  for (size_t i = 0; i < latest_.size(); ++i) {
    if (between) between();
    const int done = latest_[i] ? latest_[i]->frames_done : 0;
    for (int k = 0; k < done; ++k) {
      read_record(int(i), k, record);
      if (crc32_of(record.data(), record.size()) != frame_crc_[i * f + size_t(k)])
        throw ResultsError(dir_ + "/frames.bin: frame " + std::to_string(k) + " of network " + std::to_string(i) +
                           " changed on disk since it was written (damaged)");
      if (maps_bytes_[i] > 0) {
        widen(record.data() + slot_bytes_, maps_bytes_[i] / element_bytes_, maps);
        sink.write_neuron_maps(int(i), k, maps.data());
      }
      if (weights_bytes_[i] > 0) {
        params.resize(weights_bytes_[i] / sizeof(float));
        std::memcpy(params.data(), record.data() + slot_bytes_ + maps_bytes_[i], weights_bytes_[i]);
        sink.write_weights(int(i), k, params.data());
      }
      if (frame_type_ == FrameType::float16 && sink.takes_half()) {
        sink.write_frame_half(int(i), k, reinterpret_cast<const uint16_t*>(record.data()));
        continue;
      }
      widen(record.data(), frame_elements_, values);
      sink.write_frame(int(i), k, values.data());
    }
  }
}

void CheckpointStore::remove() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

}  // namespace netsweep
