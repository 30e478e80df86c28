// Checkpoints of a running sweep, for preemption (SIGTERM) and crashes
// (kill -9): OUTPUT.ckpt/ holds
//   frames.bin  one fixed record per (network, frame): the frame in the
//               stored frame type, then the network's neuron maps and
//               parameters where it records them; written as frames are made
//               (a crash cannot corrupt it);
//   state.h5    every network's NetworkState, replaced atomically (write to
//               state.h5.tmp, fsync, rename) after the frames it counts are
//               in frames.bin; every dataset checksummed (Fletcher-32), plus
//               the CRC-32 of each frame slot, so a damaged checkpoint (a
//               truncated frames file, flipped bytes) is refused, never used.
// A resumed run continues each network from its last recorded state; the
// final results file is assembled from frames.bin and is identical to that
// of an uninterrupted run.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sys/types.h>
#include <string>
#include <thread>
#include <vector>

#include "netsweep/backend.h"
#include "netsweep/results.h"

namespace netsweep {

constexpr const char* kCheckpointFormat = "netsweep-checkpoint";  // state.h5's attribute 'format'

// The longest interval between checkpoints (--checkpoint-every), a week.
constexpr double kMaxCheckpointInterval = 7 * 86400.0;

// "process N" (or "a process") when another run holds the checkpoint
// directory DIR; "" when none does or there is none.
std::string checkpoint_holder(const std::string& dir);

// The sweep hash and shard label ("3/16"; "" for a whole sweep) a checkpoint
// directory holds; throws ResultsError if DIR/state.h5 is not a netsweep checkpoint.
struct CheckpointOwner {
  std::string sweep_hash, shard;
};
CheckpointOwner checkpoint_owner(const std::string& dir);

class CheckpointStore : public FrameSink, public Checkpointer {
 public:
  // interval_seconds: how often state.h5 is rewritten (0: after every frame).
  CheckpointStore(const std::string& dir, const TrainingProblem& problem, const std::string& sweep_hash,
                  const std::string& shard_label, FrameType frame_type, double interval_seconds);
  ~CheckpointStore() override;

  // The states recorded by an earlier run (none if there is no checkpoint).
  // Throws if the checkpoint belongs to another sweep or shard.
  std::vector<std::optional<NetworkState>> load();
  bool loaded_any() const { return loaded_any_; }

  void write_frame(int index, int frame, const float* values) override;
  bool takes_half() const override { return frame_type_ == FrameType::float16; }
  void write_frame_half(int index, int frame, const uint16_t* bits) override;
  void write_neuron_maps(int index, int frame, const float* maps) override;
  void write_weights(int index, int frame, const float* params) override;
  void snapshot_state(int index, const NetworkState& state) override;
  void stopped_state(int index, const NetworkState& state) override;

  void flush();            // write state.h5 now
  bool resumable() const;  // a state.h5 was loaded or written: --resume can continue from it
  void remove();           // delete the checkpoint directory
  const std::string& directory() const { return dir_; }
  // The file system refused locks (ENOLCK, e.g. NFS without lockd): a second run of the
  // same output would not be refused.
  bool without_lock() const { return without_lock_; }
  // Every recorded frame, in order; `between` runs before each network's (it may throw to stop).
  void replay_frames(FrameSink& sink, const std::function<void()>& between = {});

 private:
  // A (network, frame) record: the frame in the stored type, then what is pending for it.
  void write_record(int index, int frame, const void* stored_frame);
  void read_record(int index, int frame, std::vector<unsigned char>& out) const;
  off_t record_offset(int index, int frame) const;
  static uint32_t crc32_of(const unsigned char* bytes, size_t size);
  std::vector<std::optional<NetworkState>> read_states(const std::string& path);
  void record(int index, const NetworkState& state, bool write_now);
  void write_state_locked();  // throws (and remembers) a failure naming the checkpoint
  void write_state_file();
  void lock_directory();  // throws ResultsError if another process holds it
  void writer_loop();

  std::string dir_;
  const TrainingProblem& problem_;
  std::string hash_, shard_;
  FrameType frame_type_;
  double interval_;
  size_t frame_elements_, element_bytes_, slot_bytes_;
  std::vector<size_t> maps_bytes_, weights_bytes_, record_bytes_;  // per network
  std::vector<int64_t> record_base_;                              // (networks + 1) offsets in frames.bin
  std::vector<std::vector<unsigned char>> pending_;               // per network: maps and parameters awaiting their frame
  int frames_fd_ = -1;
  int lock_fd_ = -1;  // DIR/lock, locked (fcntl) while this run uses the checkpoint
  bool loaded_any_ = false;
  bool without_lock_ = false;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::optional<NetworkState>> latest_;
  std::vector<uint32_t> frame_crc_;  // (networks, frames) CRC-32 of each slot written
  bool dirty_ = false, closing_ = false;
  std::string error_;  // the first failed write; every later write reports it
  std::thread writer_;
};

}  // namespace netsweep
