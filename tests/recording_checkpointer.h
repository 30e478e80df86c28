// A Checkpointer for the stop/resume tests: records the states a backend
// reports and asks it to stop after `stop_after` snapshot states.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "netsweep/backend.h"

namespace netsweep::test {

struct RecordingCheckpointer : Checkpointer {
  explicit RecordingCheckpointer(int stop_after_snapshots) : stop_after(stop_after_snapshots) {}
  std::mutex mutex;
  std::atomic<bool> stop{false};
  int snapshots = 0, stop_after = 0;
  std::map<int, NetworkState> latest;
  void snapshot_state(int index, const NetworkState& s) override {
    std::lock_guard<std::mutex> lock(mutex);
    latest[index] = s;
    if (++snapshots == stop_after) stop = true;
  }
  void stopped_state(int index, const NetworkState& s) override {
    std::lock_guard<std::mutex> lock(mutex);
    latest[index] = s;
  }
  // Stop on request, checkpoints here.
  TrainControl control() {
    TrainControl c;
    c.stop = &stop;
    c.checkpointer = this;
    return c;
  }
  // The recorded states as a resume list (networks never started: none).
  std::vector<std::optional<NetworkState>> resume_states(size_t networks) const {
    std::vector<std::optional<NetworkState>> states(networks);
    for (const auto& [index, state] : latest) states[size_t(index)] = state;
    return states;
  }
};

}  // namespace netsweep::test
