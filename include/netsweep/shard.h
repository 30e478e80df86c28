// Splitting a sweep into shards (SLURM job arrays) and identifying a sweep.
#pragma once

#include <string>
#include <vector>

#include "netsweep/backend.h"
#include "netsweep/dataset.h"
#include "netsweep/spec.h"

namespace netsweep {

struct ShardId {
  int index = 0, count = 0;  // count 0: not sharded
  bool sharded() const { return count > 0; }
  std::string label() const;  // "3/16"
};
ShardId parse_shard(const std::string& text);  // "I/N", throws SpecError

// Balances networks over `count` shards by estimated work (multiply-adds of
// training and frames), largest first onto the least-loaded shard; returns
// each shard's network indices in ascending order. Deterministic.
std::vector<std::vector<int>> assign_shards(const TrainingProblem& problem, int count);

// The problem restricted to some networks (ids stay global; layout is rebuilt).
TrainingProblem select_networks(const TrainingProblem& problem, const std::vector<int>& indices);

// A hash of everything that defines the sweep's results: the spec and the
// data (16 hex digits). Shards of one sweep share it; merge checks it.
std::string sweep_hash(const SweepSpec& spec, const Dataset& data);

}  // namespace netsweep
