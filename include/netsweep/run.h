// Running a sweep end to end: data options -> Dataset, spec + data ->
// TrainingProblem, and run_sweep (checks, backend, progress, results file).
// Used by the CLI and by the end-to-end tests.
#pragma once

#include <string>
#include <vector>

#include "netsweep/backend.h"
#include "netsweep/dataset.h"
#include "netsweep/results.h"
#include "netsweep/shard.h"
#include "netsweep/spec.h"

namespace netsweep {

struct DataOptions {
  std::vector<std::string> points;    // FILE:LABEL
  std::vector<std::string> csv;       // FILE
  std::vector<std::string> datasets;  // NAME[:key=value,...]
  GeneratorOptions generator;
  float test_fraction = 0.0f;
  uint64_t split_seed = 0;
};

// The built-in dataset used when no data option is given.
constexpr const char* kDefaultDataset = "spiral";

Dataset load_data(const DataOptions& options);                              // throws DataError
TrainingProblem build_problem(const SweepSpec& spec, const Dataset& data);  // throws SpecError/DataError

struct RunOptions {
  std::string output = "netsweep.h5";
  std::string device = "auto";     // auto, cpu, cuda
  std::string gpu_path = "auto";   // cuda: auto, fused or gemm (see device_schedule.h)
  std::string precision = "fp32";  // cuda: fp32 or tf32
  int threads = 0;
  FrameType frame_type = FrameType::float16;
  bool quiet = false;
  std::string command_line;
  ShardId shard;                 // train only this shard of the sweep
  bool resume = false;           // continue from OUTPUT.ckpt if there is one (implies checkpoints)
  double checkpoint_every = -1;  // seconds between checkpoints; < 0: none unless --resume (then 60)
};

// Thrown when a run stops on SIGTERM/SIGINT; `code` is the exit status to use.
struct Interrupted : std::runtime_error {
  int code;
  Interrupted(const std::string& what, int c) : std::runtime_error(what), code(c) {}
};

// Trains and writes the results file. Throws on bad input or interruption;
// returns normally once the file is complete.
void run_sweep(const SweepSpec& spec, const Dataset& data, const RunOptions& options);

// `netsweep merge`: joins the shard files of one sweep into one results file
// in the ordinary layout. Checks one sweep hash, no missing or duplicated network.
void merge_results(const std::vector<std::string>& inputs, const std::string& output, const std::string& command_line,
                   bool quiet);

struct SlurmOptions {
  int shards = 0;
  std::string partition, gres, time, account, mem, job_name;
  int cpus_per_task = 0;
  int signal_seconds = 120;  // SIGTERM this long before the time limit
  bool submit = false;
};

// `netsweep slurm`: writes OUTPUT-stem.plan.h5 (spec + data) and returns the
// job-array script whose task i runs shard i/N with --resume.
std::string write_slurm_job(const SweepSpec& spec, const Dataset& data, const RunOptions& run,
                            const SlurmOptions& slurm, const std::string& netsweep_binary);
// Output path of shard `index`: sweep.h5 -> sweep.shard-3.h5.
std::string shard_output_path(const std::string& output, const std::string& index);

// Bytes of memory available, and free on the output file's filesystem.
int64_t available_memory_bytes();

}  // namespace netsweep
