// `netsweep run`: trains a sweep end to end (checks, backend, checkpoints,
// signals, progress) and writes its results file. Used by the CLI and by the
// end-to-end tests. The options arrive parsed (typed) from the command line.
#pragma once

#include <stdexcept>
#include <string>

#include "netsweep/cuda_backend.h"
#include "netsweep/dataset.h"
#include "netsweep/problem.h"
#include "netsweep/results.h"
#include "netsweep/shard.h"
#include "netsweep/spec.h"

namespace netsweep {

// --device: the GPU when there is one (auto), or exactly the one named.
enum class DeviceChoice { automatic, cpu, cuda };
DeviceChoice parse_device(const std::string& name);  // throws SpecError
const char* to_string(DeviceChoice device);

struct RunOptions {
  std::string output = "netsweep.h5";
  DeviceChoice device = DeviceChoice::automatic;
  CudaOptions cuda;  // --gpu-path, --precision
  int threads = 0;
  FrameType frame_type = FrameType::float16;
  bool quiet = false;
  std::string command_line;
  std::string options;           // every option's value (TOML, as --config reads it), stored in the file
  ShardId shard;                 // train only this shard of the sweep
  bool resume = false;           // continue from OUTPUT.ckpt if there is one (implies checkpoints)
  double checkpoint_every = -1;  // seconds between checkpoints; < 0: none unless --resume (then 60)
  PartInfo part;                 // which part of a sweep of several data sources / feature sets
};

// sweep.h5 -> sweep.part-2.h5: the results file of part `index` of a sweep of several parts.
std::string part_output_path(const std::string& output, int index);

// Thrown when a run stops on SIGTERM/SIGINT; `code` is the exit status to use.
struct Interrupted : std::runtime_error {
  int code;
  Interrupted(const std::string& what, int c) : std::runtime_error(what), code(c) {}
};

// The Interrupted for the signal that asked to stop (g_stop_signal):
// "<before>stopped by SIGTERM<after>", exit status 128 + the signal.
Interrupted interrupted_by_signal(const std::string& before, const std::string& after);

// Trains and writes the results file. Throws on bad input or interruption;
// returns normally once the file is complete.
void run_sweep(const SweepSpec& spec, const Dataset& data, const RunOptions& options);

// The backend a run's options ask for (with --device auto, the CPU when no GPU is usable).
std::unique_ptr<Backend> choose_backend(const RunOptions& options);

// The metadata every results file records about the run that made it.
RunMetadata run_metadata(const SweepSpec& spec, const Dataset& data, const std::string& device,
                         const std::string& command_line, FrameType frame_type);

}  // namespace netsweep
