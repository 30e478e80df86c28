// A Checkpointer for the stop/resume tests: records the states a backend
// reports and asks it to stop after `stop_after` snapshot states.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "netsweep/backend.h"
#include "parity.h"

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

// s on the CPU into `first`, stopped after `snapshots` snapshot states; its states as a resume list.
inline std::vector<std::optional<NetworkState>> stop_cpu_after(SweepRun& first, const SweepSpec& s, const Dataset& d,
                                                               int snapshots) {
  RecordingCheckpointer rec(snapshots);
  run_cpu(first, s, d, rec.control());
  return rec.resume_states(first.problem.networks.size());
}

// diverging_members_spec on the gauss data: the whole run on the CPU, and one
// stopped after its second frame, whose states `resume` resumes.
struct DivergedMembersCheckpoint {
  const SweepSpec spec = diverging_members_spec();
  SweepRun whole, first;
  std::vector<std::optional<NetworkState>> states;
  TrainControl resume;
  DivergedMembersCheckpoint() {
    run_cpu(whole, spec, data("gauss"));
    states = stop_cpu_after(first, spec, data("gauss"), int(whole.problem.networks.size()) * 2);
    resume.resume = &states;
  }
  DivergedMembersCheckpoint(const DivergedMembersCheckpoint&) = delete;
};

}  // namespace netsweep::test
