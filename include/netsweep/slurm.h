// `netsweep slurm`: a sweep as a SLURM job array, one shard per task.
#pragma once

#include <string>

#include "netsweep/run.h"

namespace netsweep {

struct SlurmOptions {
  int shards = 0;
  std::string partition, gres, time, account, mem, job_name;
  int cpus_per_task = 0;
  int signal_seconds = 120;  // SIGTERM this long before the time limit
  bool submit = false;
};

// Writes OUTPUT-stem.plan.h5 (spec + data) and returns the job-array script
// whose task i runs shard i/N with --resume.
std::string write_slurm_job(const SweepSpec& spec, const Dataset& data, const RunOptions& run,
                            const SlurmOptions& slurm, const std::string& netsweep_binary);
// Saves the script beside the output (OUTPUT-stem.sbatch) and submits it
// with sbatch; throws SpecError if sbatch fails.
struct SubmittedJob {
  std::string script_path, job_id;
};
SubmittedJob submit_slurm_job(const std::string& script, const std::string& output);
// Output path of shard `index`: sweep.h5 -> sweep.shard-3.h5.
std::string shard_output_path(const std::string& output, const std::string& index);

}  // namespace netsweep
