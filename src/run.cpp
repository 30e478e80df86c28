#include "netsweep/run.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "host_util.h"
#include "netsweep/checkpoint.h"
#include "netsweep/cuda_backend.h"
#include "netsweep/version.h"
#include "progress.h"

namespace netsweep {
namespace {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::pair<std::string, int> split_points_arg(const std::string& arg) {
  const auto colon = arg.rfind(':');
  if (colon == std::string::npos || colon + 1 == arg.size())
    throw DataError("--points '" + arg + "': expected FILE:LABEL, e.g. green.json:0");
  const std::string label = arg.substr(colon + 1);
  size_t used = 0;
  int value = -1;
  try {
    value = std::stoi(label, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != label.size() || value < 0)
    throw DataError("--points '" + arg + "': label '" + label + "' is not a class number >= 0");
  return {arg.substr(0, colon), value};
}

// Refuses, before allocating, a grid whose frames cannot fit in memory:
// the grid's features, a frame buffer and an in-flight copy per worker, and
// the writer's queue.
void check_frame_memory(int grid, int64_t grid_points, int inputs, int outputs) {
  const int64_t workers = std::max(1u, std::thread::hardware_concurrency());
  const int64_t one_frame = grid_points * outputs * int64_t(sizeof(float));
  const int64_t memory =
      grid_points * inputs * int64_t(sizeof(float)) + one_frame * (2 * workers + 1) + (int64_t(256) << 20);
  const int64_t available = available_memory_bytes();
  if (available > 0 && memory > available)
    throw SpecError("--grid " + std::to_string(grid) + ": frames need about " + format_gib(memory) +
                    " of memory (one frame is grid x grid x outputs x 4 bytes = " + format_gib(one_frame) +
                    "), but only " + format_gib(available) + " is available; lower --grid");
}

// Refuses, before any work, frames that cannot fit on the output's disk.
void check_frame_disk(const TrainingProblem& p, const RunOptions& o) {
  const int64_t disk = frame_bytes(p, o.frame_type);
  std::error_code ec;
  auto dir = std::filesystem::absolute(o.output).parent_path();
  const auto space = std::filesystem::space(dir, ec);
  if (ec) throw SpecError("-o " + o.output + ": cannot use directory " + dir.string() + ": " + ec.message());
  if (int64_t(space.available) < disk)
    throw SpecError("-o " + o.output + ": the frames could take up to " + format_gib(disk) +
                    " (networks x frames x grid^2 x outputs, before compression) but " + dir.string() + " has " +
                    format_gib(int64_t(space.available)) +
                    " free; lower --grid, raise --snapshot-every or sweep fewer networks");
}

}  // namespace

int64_t available_memory_bytes() {
  const long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
  return pages > 0 && size > 0 ? int64_t(pages) * size : -1;
}

Dataset load_data(const DataOptions& o) {
  std::vector<PointSet> parts;
  nlohmann::json source = nlohmann::json::array();
  for (const auto& arg : o.points) {
    const auto [file, label] = split_points_arg(arg);
    parts.push_back(load_points_json(file, label));
    source.push_back({{"points", file}, {"label", label}});
  }
  for (const auto& file : o.csv) {
    parts.push_back(load_csv(file));
    source.push_back({{"csv", file}});
  }
  std::vector<std::string> generators = o.datasets;
  if (parts.empty() && generators.empty()) generators.push_back(kDefaultDataset);
  for (const auto& g : generators) {
    parts.push_back(generate_dataset(g, o.generator));
    source.push_back({{"generator", g},
                      {"n_points", o.generator.n_points},
                      {"noise", o.generator.noise},
                      {"seed", o.generator.seed}});
  }
  return make_dataset(parts, o.test_fraction, o.split_seed, source.dump());
}

TrainingProblem build_problem(const SweepSpec& spec, const Dataset& d) {
  spec.validate();
  TrainingProblem p;
  const int dims = d.regression ? 1 : 2;
  std::vector<Feature> features;
  for (const auto& name : spec.features) features.push_back(parse_feature(name, dims));
  if (features.empty())
    features = dims == 1 ? std::vector<Feature>{Feature::x1} : std::vector<Feature>{Feature::x1, Feature::x2};
  p.loss = spec.loss;
  p.classification = !d.regression;
  p.classes = d.classes;
  p.inputs = int(features.size());
  for (Feature f : features) p.feature_names.push_back(to_string(f));
  p.outputs = spec.outputs > 0 ? spec.outputs : default_outputs(d);
  check_outputs(d, p.outputs, to_string(spec.loss), spec.loss == Loss::softmax, spec.loss == Loss::mse);
  p.n_train = int(d.train.size());
  p.n_test = int(d.test.size());
  p.train_x = compute_features(d.train.coords, dims, features);
  p.test_x = compute_features(d.test.coords, dims, features);
  p.train_y = make_targets(d, d.train, p.outputs);
  p.test_y = make_targets(d, d.test, p.outputs);
  p.train_label = d.train.labels;
  p.test_label = d.test.labels;
  const auto e = spec.extent ? *spec.extent : data_extent(d, 0.05f);
  p.grid_w = spec.grid;
  p.grid_h = d.regression ? 1 : spec.grid;
  check_frame_memory(spec.grid, int64_t(p.grid_w) * p.grid_h, p.inputs, p.outputs);
  std::vector<float> coords;
  coords.reserve(size_t(p.grid_w) * size_t(p.grid_h) * size_t(dims));
  for (int j = 0; j < p.grid_h; ++j)
    for (int i = 0; i < p.grid_w; ++i) {
      coords.push_back(e[0] + (e[1] - e[0]) * float(i) / float(p.grid_w - 1));
      if (dims == 2) coords.push_back(e[3] - (e[3] - e[2]) * float(j) / float(p.grid_h - 1));  // row 0 on top
    }
  p.grid_x = compute_features(coords, dims, features);
  p.epochs = spec.epochs;
  p.frame_epochs = snapshot_epochs(spec.epochs, spec.snapshot_every);
  p.l1 = spec.l1;
  p.l2 = spec.l2;
  p.early_stop_loss = spec.early_stop_loss;
  p.networks = expand(spec);
  p.layout = PackedLayout::build(p.networks, p.inputs, p.outputs);
  return p;
}

namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};

extern "C" void on_stop_signal(int sig) {
  g_signal = sig;
  g_stop = true;
}

// Installs SIGTERM/SIGINT handlers for the lifetime of a run.
class StopSignals {
 public:
  StopSignals() {
    g_stop = false;
    g_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old_term_);
    sigaction(SIGINT, &sa, &old_int_);
  }
  ~StopSignals() {
    sigaction(SIGTERM, &old_term_, nullptr);
    sigaction(SIGINT, &old_int_, nullptr);
  }

 private:
  struct sigaction old_term_ {
  }, old_int_{};
};

std::unique_ptr<Backend> choose_backend(const RunOptions& o) {
  const CudaOptions cuda{parse_train_path(o.gpu_path), parse_precision_tf32(o.precision)};
  if (o.device == "cpu") return make_cpu_backend(o.threads);
  if (o.device != "cuda" && o.device != "auto")
    throw SpecError("--device '" + o.device + "': expected auto, cpu or cuda");
  std::string why_not;
  auto backend = make_cuda_backend(why_not, cuda);
  if (backend) return backend;
  if (o.device == "cuda") throw SpecError("--device cuda: " + why_not);
  if (!o.quiet) log_line("no GPU backend (" + why_not + "); training on the CPU");
  return make_cpu_backend(o.threads);
}

bool output_is_complete(const std::string& path, const std::string& hash) {
  try {
    ResultsFile f(path);
    return f.has_attribute("sweep_hash") && f.attribute("sweep_hash") == hash;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

std::string shard_output_path(const std::string& output, const std::string& index) {
  const std::filesystem::path p(output);
  const std::string ext = p.has_extension() ? p.extension().string() : ".h5";
  return (p.parent_path() / (p.stem().string() + ".shard-" + index + ext)).string();
}

void run_sweep(const SweepSpec& spec, const Dataset& data, const RunOptions& o) {
  const TrainingProblem whole = build_problem(spec, data);
  const std::string hash = sweep_hash(spec, data);
  set_log_shard(o.shard.sharded() ? o.shard.label() : "");
  if (o.shard.sharded() && size_t(o.shard.count) > whole.networks.size())
    throw SpecError("--shard " + o.shard.label() + ": the sweep has only " + std::to_string(whole.networks.size()) +
                    " networks; use at most that many shards");
  TrainingProblem problem =
      o.shard.sharded() ? select_networks(whole, assign_shards(whole, o.shard.count)[size_t(o.shard.index)]) : whole;
  if (o.resume && output_is_complete(o.output, hash)) {
    if (!o.quiet) log_line(o.output + " is already complete; nothing to do");
    return;
  }
  std::unique_ptr<Backend> backend = choose_backend(o);
  check_frame_disk(problem, o);

  RunMetadata meta;
  meta.tool_version = kVersion;
  meta.device = backend->device_description();
  meta.created_utc = utc_now();
  meta.spec_json = spec_to_json(spec);
  meta.command_line = o.command_line;
  meta.extent = spec.extent ? *spec.extent : data_extent(data, 0.05f);
  meta.frame_type = o.frame_type;
  meta.sweep_hash = hash;
  meta.shard_index = o.shard.index;
  meta.shard_count = o.shard.count;

  std::vector<float> params(size_t(problem.layout.total));
  initialize_parameters(problem.layout, problem.networks, params.data());
  const std::vector<float> initial = params;
  std::vector<NetworkResult> results;
  Progress progress;
  progress.work_total = problem_work(problem);

  // With checkpoints, frames go to the checkpoint and the results file is
  // assembled at the end; without, they stream straight into the results file.
  const bool checkpointing = o.resume || o.checkpoint_every >= 0;
  std::unique_ptr<CheckpointStore> checkpoint;
  std::unique_ptr<ResultsWriter> writer;
  std::vector<std::optional<NetworkState>> resume_states;
  TrainControl control;
  control.stop = &g_stop;
  if (checkpointing) {
    checkpoint =
        std::make_unique<CheckpointStore>(o.output + ".ckpt", problem, hash, o.shard.sharded() ? o.shard.label() : "",
                                          o.frame_type, o.checkpoint_every >= 0 ? o.checkpoint_every : 60.0);
    if (o.resume) resume_states = checkpoint->load();
    control.checkpointer = checkpoint.get();
    control.resume = &resume_states;
  } else {
    writer = std::make_unique<ResultsWriter>(o.output, problem, data, meta);
  }
  if (!o.quiet) {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "%zu networks x %d epochs on %s, %d train / %d test points, %zu frames of %dx%d -> %s",
                  problem.networks.size(), problem.epochs, meta.device.c_str(), problem.n_train, problem.n_test,
                  problem.frame_epochs.size(), problem.grid_w, problem.grid_h, o.output.c_str());
    log_line(buf);
    if (checkpoint && checkpoint->loaded_any()) log_line("resuming from " + checkpoint->directory());
  }
  const auto start = std::chrono::steady_clock::now();
  bool completed;
  {
    StopSignals signals;
    ProgressReporter reporter(progress, int(problem.networks.size()), !o.quiet);
    completed = backend->train(problem, params, results, writer ? static_cast<FrameSink&>(*writer) : *checkpoint,
                               progress, control);
  }
  if (!completed) {
    const int sig = g_signal.load();
    const std::string name = sig == SIGINT ? "SIGINT" : "SIGTERM";
    if (checkpoint) {
      checkpoint->flush();
      throw Interrupted("stopped by " + name + "; checkpoint written to " + checkpoint->directory() +
                            " (rerun the same command with --resume to continue)",
                        128 + sig);
    }
    throw Interrupted(
        "stopped by " + name + "; no checkpoint (use --resume or --checkpoint-every to make runs resumable)",
        128 + sig);
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (checkpoint) {
    checkpoint->flush();
    writer = std::make_unique<ResultsWriter>(o.output, problem, data, meta);
    checkpoint->replay_frames(*writer);
  }
  writer->finish(initial, params, results, elapsed);
  if (checkpoint) checkpoint->remove();
  if (!o.quiet) {
    int diverged = 0;
    for (const auto& r : results) diverged += r.status == NetStatus::diverged;
    char buf[512];
    std::snprintf(buf, sizeof buf, "wrote %s (%.1f s%s)", o.output.c_str(), elapsed,
                  diverged ? (", " + std::to_string(diverged) + " diverged").c_str() : "");
    log_line(buf);
  }
}

void merge_results(const std::vector<std::string>& inputs, const std::string& output, const std::string& command_line,
                   bool quiet) {
  if (inputs.empty()) throw ResultsError("merge: no input files");
  std::vector<ResultsFile> files;
  for (const auto& path : inputs) files.emplace_back(path);
  const auto hash_of = [](const ResultsFile& f) {
    return f.has_attribute("sweep_hash") ? f.attribute("sweep_hash") : std::string("(none)");
  };
  const std::string hash = hash_of(files[0]);
  for (size_t k = 1; k < files.size(); ++k)
    if (hash_of(files[k]) != hash)
      throw ResultsError("merge: " + inputs[k] + " belongs to sweep " + hash_of(files[k]) + " but " + inputs[0] +
                         " to sweep " + hash + ": shards of different sweeps cannot be merged");
  const SweepSpec spec = spec_from_json(files[0].attribute("spec"));
  const Dataset data = files[0].dataset();
  const TrainingProblem problem = build_problem(spec, data);
  if (sweep_hash(spec, data) != hash)
    throw ResultsError("merge: " + inputs[0] + ": sweep hash does not match its spec");

  // Where each network id lives: (file, row).
  const size_t n = problem.networks.size();
  std::vector<std::pair<int, int>> where(n, {-1, -1});
  for (size_t k = 0; k < files.size(); ++k) {
    const auto rows = files[k].networks();
    for (size_t r = 0; r < rows.size(); ++r) {
      const int id = rows[r].id;
      if (id < 0 || size_t(id) >= n)
        throw ResultsError("merge: " + inputs[k] + ": network id " + std::to_string(id) + " is not in the sweep");
      if (where[size_t(id)].first >= 0)
        throw ResultsError("merge: network " + std::to_string(id) + " (" + rows[r].hidden_shape + " " +
                           rows[r].activation + ") is in both " + inputs[size_t(where[size_t(id)].first)] + " and " +
                           inputs[k]);
      where[size_t(id)] = {int(k), int(r)};
    }
  }
  std::string missing;
  int missing_count = 0;
  for (size_t id = 0; id < n; ++id)
    if (where[id].first < 0 && missing_count++ < 10)
      missing += (missing.empty() ? "" : ", ") + std::to_string(id) + " (" + problem.networks[id].shape_label() + " " +
                 to_string(problem.networks[id].activation) + ")";
  if (missing_count)
    throw ResultsError("merge: " + std::to_string(missing_count) + " of " + std::to_string(n) +
                       " networks are missing, e.g. " + missing + "; is a shard file left out or unfinished?");

  RunMetadata meta;
  meta.tool_version = kVersion;
  meta.device = files[0].attribute("device");
  meta.created_utc = utc_now();
  meta.spec_json = files[0].attribute("spec");
  meta.command_line = command_line;
  meta.extent = files[0].extent();
  meta.frame_type = files[0].frame_type();
  meta.sweep_hash = hash;
  std::vector<float> initial(size_t(problem.layout.total), 0.0f), final_params = initial;
  std::vector<NetworkResult> results(n);
  double elapsed = 0;  // shards run side by side: the longest one
  for (const auto& f : files) elapsed = std::max(elapsed, f.double_attribute("elapsed_seconds"));
  ResultsWriter writer(output, problem, data, meta);
  const int frames = int(problem.frame_epochs.size());
  for (size_t id = 0; id < n; ++id) {
    const ResultsFile& f = files[size_t(where[id].first)];
    const int row = where[id].second;
    results[id] = f.network_result(row);
    const auto& net = problem.layout.networks[id];
    const auto w0 = f.weights(row, false), w1 = f.weights(row, true);
    std::copy(w0.begin(), w0.end(), initial.begin() + net.offset);
    std::copy(w1.begin(), w1.end(), final_params.begin() + net.offset);
    for (int fr = 0; fr < frames; ++fr) writer.write_frame(int(id), fr, f.frame(row, fr).data());
  }
  writer.finish(initial, final_params, results, elapsed);
  if (!quiet)
    log_line("merged " + std::to_string(files.size()) + " files (" + std::to_string(n) + " networks) into " + output);
}

std::string write_slurm_job(const SweepSpec& spec, const Dataset& data, const RunOptions& run, const SlurmOptions& s,
                            const std::string& binary) {
  if (s.shards < 1) throw SpecError("--shards: must be >= 1");
  const TrainingProblem problem = build_problem(spec, data);  // validates everything before any job is queued
  if (size_t(s.shards) > problem.networks.size())
    throw SpecError("--shards " + std::to_string(s.shards) + ": the sweep has only " +
                    std::to_string(problem.networks.size()) + " networks");
  namespace fs = std::filesystem;
  const fs::path out = fs::absolute(run.output);
  const std::string stem = out.stem().string();
  const fs::path plan = out.parent_path() / (stem + ".plan.h5");
  write_plan_file(plan.string(), spec, data, problem, sweep_hash(spec, data));
  auto quote = [](const std::string& v) {
    std::string q = "'";
    for (char c : v) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  };
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
  script += "# When all tasks are done: " + quote(binary) + " merge " + quote(shard_prefix) + "*" +
            quote(shard_suffix) + " -o " + quote(out.string()) + "\n";
  script += "set -euo pipefail\n";
  script +=
      "exec " + quote(binary) + " run --from " + quote(plan.string()) + " --shard \"${SLURM_ARRAY_TASK_ID}/" +
      std::to_string(s.shards) + "\" --resume --device " + quote(run.device) +
      (run.gpu_path != "auto" ? " --gpu-path " + quote(run.gpu_path) : std::string()) +
      (run.precision != "fp32" ? " --precision " + quote(run.precision) : std::string()) +
      (run.threads > 0 ? " --threads " + std::to_string(run.threads) : std::string()) +
      (run.checkpoint_every >= 0 ? " --checkpoint-every " + std::to_string(run.checkpoint_every) : std::string()) +
      " --frame-dtype " + (run.frame_type == FrameType::float16 ? "f16" : "f32") + " -o " + quote(shard_prefix) +
      "\"${SLURM_ARRAY_TASK_ID}\"" + quote(shard_suffix) + "\n";
  return script;
}

}  // namespace netsweep
