// `netsweep slurm`: the plan file, the job-array script, and its submission.
#include "netsweep/slurm.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

#include "netsweep/checkpoint.h"
#include "netsweep/results.h"
#include "netsweep/text.h"
#include "netsweep/version.h"

namespace netsweep {
namespace {
// A word the shell reads back as exactly `v`.
std::string shell_quote(const std::string& v) {
  std::string q = "'";
  for (char c : v) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The shard files and checkpoints beside OUTPUT that belong to another sweep,
// or to another --shards of this one: each task would refuse to replace its
// own (exit 2 on the cluster, after the queue), so they are named up front.
std::vector<std::string> stale_shard_files(const std::filesystem::path& out, const std::string& hash, int shards) {
  namespace fs = std::filesystem;
  const std::string prefix = out.stem().string() + ".shard-",
                    ext = out.has_extension() ? out.extension().string() : ".h5";
  const std::string count = "/" + std::to_string(shards);
  std::vector<std::string> stale;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(out.parent_path(), ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    std::string index = name.substr(prefix.size());  // "3.h5" or "3.h5.ckpt"
    const auto strip = [&index](const std::string& suffix) {
      const bool has =
          index.size() > suffix.size() && index.compare(index.size() - suffix.size(), suffix.size(), suffix) == 0;
      if (has) index.resize(index.size() - suffix.size());
      return has;
    };
    const bool checkpoint = strip(ext + ".ckpt");
    if ((!checkpoint && !strip(ext)) || index.empty() || index.find_first_not_of("0123456789") != std::string::npos)
      continue;
    try {  // unreadable ones (partial, damaged) are the tasks' to report
      if (checkpoint) {
        const auto [owner_hash, shard] = checkpoint_owner(e.path().string());
        if (owner_hash != hash || shard.size() < count.size() ||
            shard.compare(shard.size() - count.size(), count.size(), count) != 0)
          stale.push_back(e.path().string());
      } else {
        const ResultsFile f(e.path().string());
        if (f.sweep_hash() != hash || f.shard().count != shards) stale.push_back(e.path().string());
      }
    } catch (const std::exception&) {
    }
  }
  std::sort(stale.begin(), stale.end());
  return stale;
}
}  // namespace

std::string shard_output_path(const std::string& output, const std::string& index) {
  const std::filesystem::path p(output);
  const std::string ext = p.has_extension() ? p.extension().string() : ".h5";
  return (p.parent_path() / (p.stem().string() + ".shard-" + index + ext)).string();
}

std::string write_slurm_job(const SweepSpec& spec, const Dataset& data, const RunOptions& run, const SlurmOptions& s,
                            const std::string& binary) {
  if (s.shards < 1) throw SpecError("--shards: must be >= 1");
  if (s.cpus_per_task < 0) throw SpecError("--cpus-per-task: must be >= 1");
  // Each value is the rest of one #SBATCH line: a space ends it early, a newline starts another directive.
  for (const auto& [option, value] : {std::pair<const char*, const std::string&>{"--partition", s.partition},
                                      {"--gres", s.gres},
                                      {"--time", s.time},
                                      {"--account", s.account},
                                      {"--mem", s.mem},
                                      {"--job-name", s.job_name}})
    for (unsigned char c : value)
      if (c <= ' ' || c == 0x7f)
        throw SpecError(std::string(option) + " '" + value + "': no spaces or control characters (sbatch reads " +
                        "each as one word of an #SBATCH line)");
  // sbatch's time formats; a typo would fail only at sbatch, or on the cluster.
  static const std::regex time_format(R"(\d+(:\d+){0,2}|\d+-\d+(:\d+){0,2}|UNLIMITED|INFINITE)", std::regex::icase);
  if (!s.time.empty() && !std::regex_match(s.time, time_format))
    throw SpecError("--time '" + s.time +
                    "': expected sbatch's MINUTES, MINUTES:SECONDS, HOURS:MINUTES:SECONDS, DAYS-HOURS, "
                    "DAYS-HOURS:MINUTES or DAYS-HOURS:MINUTES:SECONDS");
  // In any case: GPU:1 as much as gpu:1 asks for a GPU the tasks would not use.
  if (run.device == DeviceChoice::cpu && std::regex_search(s.gres, std::regex("gpu", std::regex::icase)))
    throw SpecError("--gres " + s.gres +
                    ": the tasks train on the CPU (--device cpu); drop --gres or use --device "
                    "cuda or auto");
  // sbatch takes 0 to 65535 seconds.
  if (s.signal_seconds < 0 || s.signal_seconds > 65535)
    throw SpecError("--signal-seconds " + std::to_string(s.signal_seconds) + ": must be from 0 to 65535");
  check_output_path(run.output);  // where merge will write: a file name in a writable directory
  // The output's directory and name are in the #SBATCH --output line too.
  const std::string absolute_output = std::filesystem::absolute(run.output).string();
  for (unsigned char c : absolute_output)
    if (c <= ' ' || c == 0x7f)
      throw SpecError("-o '" + printable(absolute_output) + "': no spaces or control characters (the tasks' logs go " +
                      "beside it, named in an #SBATCH --output line, which a space ends early)");
  const TrainingProblem problem = build_problem(spec, data);  // validates everything before any job is queued
  if (size_t(s.shards) > problem.networks.size())
    throw SpecError("--shards " + std::to_string(s.shards) + ": the sweep has only " +
                    std::to_string(problem.networks.size()) + " networks");
  namespace fs = std::filesystem;
  const fs::path out = fs::absolute(run.output);
  const std::string stem = out.stem().string();
  const fs::path plan = out.parent_path() / (stem + ".plan.h5");
  check_output_path(plan.string());
  if (const std::vector<std::string> stale = stale_shard_files(out, sweep_hash(spec, data), s.shards); !stale.empty())
    throw SpecError(stale[0] + (stale.size() > 1 ? " (and " + std::to_string(stale.size() - 1) + " more)" : "") +
                    ": shard results or checkpoints of another sweep, or of another --shards, which the tasks would "
                    "refuse to replace; remove them, or give another -o");
  for (const std::string& line : clear_stale_partials(plan.string()))  // stderr: the script goes to stdout
    std::fprintf(stderr, "netsweep: %s\n", one_line(line).c_str());
  write_plan_file(plan.string(), spec, data, problem, sweep_hash(spec, data));
  std::string script = "#!/bin/bash\n";
  script += "#SBATCH --job-name=" + (s.job_name.empty() ? "netsweep-" + stem : s.job_name) + "\n";
  script += "#SBATCH --array=0-" + std::to_string(s.shards - 1) + "\n";
  script += "#SBATCH --output=" + (out.parent_path() / (stem + ".%A_%a.log")).string() + "\n";
  script += "#SBATCH --open-mode=append\n";
  script += "#SBATCH --requeue\n";
  script += "#SBATCH --signal=B:TERM@" + std::to_string(s.signal_seconds) + "\n";
  if (!s.partition.empty()) script += "#SBATCH --partition=" + s.partition + "\n";
  if (!s.gres.empty()) script += "#SBATCH --gres=" + s.gres + "\n";
  if (!s.time.empty()) script += "#SBATCH --time=" + s.time + "\n";
  if (!s.account.empty()) script += "#SBATCH --account=" + s.account + "\n";
  if (!s.mem.empty()) script += "#SBATCH --mem=" + s.mem + "\n";
  if (s.cpus_per_task > 0) script += "#SBATCH --cpus-per-task=" + std::to_string(s.cpus_per_task) + "\n";
  script += "# netsweep " + std::string(kVersion) + ": " + std::to_string(problem.networks.size()) + " networks in " +
            std::to_string(s.shards) + " shards balanced by estimated work; sweep " + sweep_hash(spec, data) + "\n";
  script += "# Each task trains its shard and resumes from its checkpoint after a requeue or a resubmission.\n";
  // sweep.h5 -> sweep.shard-<task>.h5
  const std::string templ = shard_output_path(out.string(), "@");
  const std::string shard_prefix = templ.substr(0, templ.find('@')), shard_suffix = templ.substr(templ.find('@') + 1);
  script += "# When all tasks are done: " + shell_quote(binary) + " merge " + shell_quote(shard_prefix) + "*" +
            shell_quote(shard_suffix) + " -o " + shell_quote(out.string()) + "\n";
  script += "set -euo pipefail\n";
  script +=
      "exec " + shell_quote(binary) + " run --from " + shell_quote(plan.string()) +
      " --shard \"${SLURM_ARRAY_TASK_ID}/" + std::to_string(s.shards) + "\" --resume --device " +
      to_string(run.device) +
      (run.cuda.path != TrainPath::automatic ? " --gpu-path " + std::string(to_string(run.cuda.path)) : std::string()) +
      (run.cuda.tf32 ? " --precision tf32" : "") +
      (run.threads > 0 ? " --threads " + std::to_string(run.threads) : std::string()) +
      (run.checkpoint_every >= 0 ? " --checkpoint-every " + std::to_string(run.checkpoint_every) : std::string()) +
      " --frame-dtype " + frame_dtype_name(run.frame_type) + " -o " + shell_quote(shard_prefix) +
      "\"${SLURM_ARRAY_TASK_ID}\"" + shell_quote(shard_suffix) + "\n";
  return script;
}

SubmittedJob submit_slurm_job(const std::string& script, const std::string& output) {
  const auto out = std::filesystem::absolute(output);
  const std::string path = (out.parent_path() / (out.stem().string() + ".sbatch")).string();
  std::ofstream(path) << script;
  const std::string command = "sbatch --parsable " + shell_quote(path);
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw SpecError("--submit: cannot run sbatch");
  char buf[256] = {0};
  const bool got = std::fgets(buf, sizeof buf, pipe) != nullptr;
  const int status = pclose(pipe);
  if (!got || status != 0) throw SpecError("--submit: sbatch " + path + " failed (is SLURM installed and reachable?)");
  const std::string id = buf;
  return {path, id.substr(0, id.find_first_of(";\n"))};
}

}  // namespace netsweep
