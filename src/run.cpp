// The run driver: checks, backend choice, checkpoints and signals, the
// progress line, and the results file.
#include "netsweep/run.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <new>

#include "host_util.h"
#include "netsweep/checkpoint.h"
#include "netsweep/stop_signals.h"
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

// Bytes the frames take uncompressed; and what looking inside the networks
// adds (neuron maps in the frame type, parameters in float32, at every frame).
// Both saturate instead of overflowing.
int64_t frame_bytes(const TrainingProblem& p, FrameType type) {
  return saturating_mul(saturating_mul(int64_t(p.networks.size()), int64_t(p.frame_epochs.size())),
                        saturating_mul(saturating_mul(saturating_mul(int64_t(p.grid_h), p.grid_w), p.outputs),
                                       type == FrameType::float16 ? 2 : 4));
}

int64_t inside_bytes(const TrainingProblem& p, FrameType type) {
  int64_t units = 0, params = 0;
  for (size_t i = 0; i < p.networks.size(); ++i) {
    if (p.record_neurons[i]) units += hidden_units(p, int(i));
    if (p.record_weights[i]) params += p.layout.networks[i].count;
  }
  const int64_t frames = int64_t(p.frame_epochs.size());
  const int64_t maps =
      saturating_mul(saturating_mul(units, frames),
                     saturating_mul(int64_t(p.neuron_grid_h) * p.neuron_grid_w, type == FrameType::float16 ? 2 : 4));
  return saturating_add(maps, saturating_mul(saturating_mul(params, frames), 4));
}

// Refuses, before any work, frames (and what is recorded inside the
// networks) that cannot fit on the output's disk: twice with checkpoints,
// which keep them uncompressed until the results file is made from them.
void check_frame_disk(const TrainingProblem& p, const RunOptions& o, bool checkpointing) {
  const int64_t frames = frame_bytes(p, o.frame_type), inside = inside_bytes(p, o.frame_type);
  std::error_code ec;
  auto dir = std::filesystem::absolute(o.output).parent_path();
  const auto space = std::filesystem::space(dir, ec);
  if (ec) throw SpecError("-o " + o.output + ": cannot use directory " + dir.string() + ": " + ec.message());
  const int64_t available = int64_t(space.available);
  if (space.capacity == 0)  // proc, sysfs: nothing there is a disk
    throw SpecError("-o " + o.output + ": the directory " + dir.string() +
                    " has no storage (a virtual file system, as proc or sysfs); choose a directory on a disk");
  if (available < frames)
    throw SpecError("-o " + o.output + ": the frames could take up to " + format_size(frames) +
                    " (networks x frames x grid^2 x outputs, before compression) but " + dir.string() + " has " +
                    format_size(available) + " free; lower --grid, raise --snapshot-every or sweep fewer networks");
  if (available < saturating_add(frames, inside))
    throw SpecError("-o " + o.output + ": the neuron maps and parameter snapshots could take up to " +
                    format_size(inside) + " beside " + format_size(frames) + " of frames, but " + dir.string() +
                    " has " + format_size(available) +
                    " free; lower --neuron-grid, use --neuron-maps none or --record-weights none, or raise "
                    "--snapshot-every");
  if (!checkpointing) return;
  const int64_t recorded = saturating_add(frames, inside);
  // A resumed run's frames.bin already holds its part: what is allocated (records
  // are written at their places, so the file is sparse until complete).
  struct stat bin {};
  const int64_t kept =
      ::stat((o.output + ".ckpt/frames.bin").c_str(), &bin) == 0 ? std::min(int64_t(bin.st_blocks) * 512, recorded) : 0;
  const int64_t needed = saturating_add(recorded, recorded - kept);
  if (available < needed)
    throw SpecError("-o " + o.output + ": with checkpoints (--resume, --checkpoint-every) the frames and what is " +
                    "recorded inside the networks are kept in " + o.output + ".ckpt until the results file is made " +
                    "from them: up to " + format_size(needed) + " in all, but " + dir.string() + " has " +
                    format_size(available) +
                    " free; make room, lower --grid or --neuron-grid, raise --snapshot-every, " +
                    "or use --neuron-maps none or --record-weights none");
}

// With --resume: true if OUTPUT is this sweep's and shard's complete file, of
// this run's frame type (nothing to do); throws if it is another's, which the run would replace (a
// copied command with the wrong -o or --shard). Anything else is trained over.
bool output_is_complete(const std::string& path, const std::string& hash, const ShardId& shard, FrameType frames) {
  std::string stored_hash;
  ShardId stored_shard;
  FrameType stored_frames;
  try {
    const ResultsFile f(path);
    stored_hash = f.sweep_hash();
    stored_shard = f.shard();
    stored_frames = f.frame_type();
  } catch (const std::exception&) {
    return false;  // not a complete results file
  }
  // Shard files of one sweep share its hash: the shard must be this one too.
  const bool same_shard = stored_shard.index == shard.index && stored_shard.count == shard.count;
  if (stored_hash == hash && same_shard && stored_frames == frames) return true;
  const auto shard_text = [](const ShardId& id) {
    return id.sharded() ? "shard " + id.label() + " of this sweep" : std::string("this whole sweep");
  };
  std::string found;
  if (stored_hash != hash)
    found = "of another sweep (" + (stored_hash.empty() ? "unknown" : stored_hash) + "; this run's is " + hash + ")";
  else if (!same_shard)
    found = "of " + shard_text(stored_shard) + " (this run trains " + shard_text(shard) + ")";
  else  // the frames' type is not in the sweep's hash
    found = std::string("of this sweep with --frame-dtype ") + frame_dtype_name(stored_frames) + " (this run writes " +
            frame_dtype_name(frames) + ")";
  throw ResultsError(path + ": holds the complete results " + found +
                     "; --resume would replace them: remove it or give another -o");
}
}  // namespace

std::string part_output_path(const std::string& output, int index) {
  const std::filesystem::path p(output);
  const std::string ext = p.has_extension() ? p.extension().string() : ".h5";
  return (p.parent_path() / (p.stem().string() + ".part-" + std::to_string(index) + ext)).string();
}

DeviceChoice parse_device(const std::string& name) {
  if (name == "auto") return DeviceChoice::automatic;
  if (name == "cpu") return DeviceChoice::cpu;
  if (name == "cuda") return DeviceChoice::cuda;
  throw SpecError("--device '" + name + "': expected auto, cpu or cuda");
}

const char* to_string(DeviceChoice device) {
  switch (device) {
    case DeviceChoice::automatic: return "auto";
    case DeviceChoice::cpu: return "cpu";
    case DeviceChoice::cuda: return "cuda";
  }
  return "?";
}

std::unique_ptr<Backend> choose_backend(const RunOptions& o) {
  if (o.device == DeviceChoice::cpu) return make_cpu_backend(o.threads);
  std::string why_not;
  auto backend = make_cuda_backend(why_not, o.cuda);
  if (backend) return backend;
  if (o.device == DeviceChoice::cuda) throw SpecError("--device cuda: " + why_not);
  const bool gpu_options = o.cuda.tf32 || o.cuda.path != TrainPath::automatic;  // which the CPU has no use for
  if (!o.quiet)
    log_line("no GPU backend (" + why_not + "); training on the CPU" +
             (gpu_options ? " (--gpu-path and --precision apply to the GPU only: FP32 on the CPU)" : ""));
  return make_cpu_backend(o.threads);
}

RunMetadata run_metadata(const SweepSpec& spec, const Dataset& data, const std::string& device,
                         const std::string& command_line, FrameType frame_type) {
  RunMetadata meta;
  meta.tool_version = kVersion;
  meta.device = device;
  meta.created_utc = utc_now();
  meta.spec_json = spec_to_json(spec);
  meta.command_line = command_line;
  meta.frame_type = frame_type;
  meta.sweep_hash = sweep_hash(spec, data);
  return meta;
}

Interrupted interrupted_by_signal(const std::string& before, const std::string& after) {
  const int sig = g_stop_signal.load();
  return Interrupted(before + "stopped by " + signal_name(sig) + after, 128 + sig);
}

namespace {
void train_and_write(const SweepSpec& spec, const Dataset& data, const RunOptions& o,
                     std::unique_ptr<CheckpointStore>& checkpoint);
}  // namespace

namespace {
// A run begun by an earlier netsweep (its networks' streams followed their ids) resumes as it began: its
// checkpoint, or its complete output, is this command's sweep under the id rule. Not a shard or a part:
// the others, decided alone, could take the other rule (and shards then not merge); those are refused.
bool begun_under_id_rule(const SweepSpec& spec, const Dataset& data, const RunOptions& o) {
  if (!o.resume || spec.streams != StreamRule::shape || o.shard.sharded() || o.part.count > 1) return false;
  SweepSpec earlier = spec;
  earlier.streams = StreamRule::id;
  const std::string hash = sweep_hash(earlier, data);
  try {
    if (std::filesystem::exists(o.output + ".ckpt/state.h5")) {
      const CheckpointOwner owner = checkpoint_owner(o.output + ".ckpt");
      return owner.sweep_hash == hash && owner.shard.empty();
    }
    const ResultsFile file(o.output);
    return file.sweep_hash() == hash && !file.shard().sharded();
  } catch (const std::exception&) {
    return false;  // refused, or trained over, as it would be anyway
  }
}
}  // namespace

void run_sweep(const SweepSpec& spec, const Dataset& data, const RunOptions& o) {
  if (begun_under_id_rule(spec, data, o)) {
    SweepSpec earlier = spec;
    earlier.streams = StreamRule::id;
    if (!o.quiet)
      log_line(o.output + ": begun by an earlier netsweep, whose networks' random streams follow their place in " +
               "the sweep; it resumes so (a new run of this command starts each network by its seed and shape)");
    return run_sweep(earlier, data, o);
  }
  std::unique_ptr<CheckpointStore> checkpoint;
  try {
    train_and_write(spec, data, o, checkpoint);
  } catch (const Interrupted&) {
    throw;  // the checkpoint is what --resume continues from
  } catch (...) {
    // A checkpoint this run made but never wrote a state into is no use to
    // --resume: nothing is left behind that looks like one.
    if (checkpoint && !checkpoint->resumable()) {
      checkpoint->remove();  // while it holds the directory's lock
      checkpoint.reset();
    }
    throw;
  }
}

namespace {
void train_and_write(const SweepSpec& spec, const Dataset& data, const RunOptions& o,
                     std::unique_ptr<CheckpointStore>& checkpoint) {
  // Held from before any file is made to the end of the write: a signal then
  // never kills the run half-way (leaving OUT.partial-HOST-PID or a checkpoint
  // without a state); it is taken where stop_if_asked looks.
  StopSignals signals;
  const TrainingProblem whole = build_problem(spec, data);
  const std::string hash = sweep_hash(spec, data);
  set_log_shard(o.shard.sharded() ? o.shard.label() : "");
  if (o.shard.sharded() && size_t(o.shard.count) > whole.networks.size())
    throw SpecError("--shard " + o.shard.label() + ": the sweep has only " + std::to_string(whole.networks.size()) +
                    " networks; use at most that many shards");
  TrainingProblem problem =
      o.shard.sharded() ? select_networks(whole, assign_shards(whole, o.shard.count)[size_t(o.shard.index)]) : whole;
  if (o.resume && output_is_complete(o.output, hash, o.shard, o.frame_type)) {
    if (!o.quiet) log_line(o.output + " is already complete; nothing to do");
    return;
  }
  check_output_path(o.output);  // before any training
  // What killed runs left of the output goes before the disk check counts it.
  for (const std::string& line : claim_output(o.output)) log_line(line);
  check_training_memory(problem, o.threads);
  std::unique_ptr<Backend> backend = choose_backend(o);
  // With checkpoints, frames go to the checkpoint and the results file is
  // assembled at the end; without, they stream straight into the results file.
  const bool checkpointing = o.resume || o.checkpoint_every >= 0;
  check_frame_disk(problem, o, checkpointing);

  RunMetadata meta = run_metadata(spec, data, backend->device_description(), o.command_line, o.frame_type);
  meta.options = o.options;
  meta.shard_index = o.shard.index;
  meta.shard_count = o.shard.count;
  meta.part = o.part;

  std::vector<float> params(size_t(problem.layout.total));
  initialize_parameters(problem.layout, problem.networks, params.data());
  const std::vector<float> initial = params;
  std::vector<NetworkResult> results;
  Progress progress;
  progress.work_total = problem_work(problem);
  progress.network_epochs_total = int64_t(problem.networks.size()) * problem.epochs;

  if (!checkpointing && std::filesystem::exists(o.output + ".ckpt"))
    log_line(o.output + ".ckpt: a checkpoint of an earlier run, not used without --resume (this run starts over); " +
             "remove it if it is not needed");
  std::unique_ptr<ResultsWriter> writer;
  std::vector<std::optional<NetworkState>> resume_states;
  TrainControl control;
  control.stop = &g_stop_requested;
  if (checkpointing) {
    checkpoint =
        std::make_unique<CheckpointStore>(o.output + ".ckpt", problem, hash, o.shard.sharded() ? o.shard.label() : "",
                                          o.frame_type, o.checkpoint_every >= 0 ? o.checkpoint_every : 60.0);
    control.checkpointer = checkpoint.get();
    if (checkpoint->without_lock())  // even with -q
      log_line(checkpoint->directory() + ": its file system has no locks (ENOLCK): a second run of " + o.output +
               " at the same time would not be refused");
    // Its lock held: an earlier run's state, which this run would overwrite and remove at its end.
    if (!o.resume && std::filesystem::exists(checkpoint->directory() + "/state.h5"))
      throw ResultsError(checkpoint->directory() +
                         ": holds the checkpoint of an earlier run, which --checkpoint-every without --resume "
                         "would replace; add --resume to continue it, or remove it to start over");
    if (o.resume) {
      resume_states = checkpoint->load();
      control.resume = &resume_states;
    }
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
  // A stop asked for: the checkpoint (if any) written, the partial file
  // removed (the writer's destructor, as the exception unwinds).
  const auto stop_if_asked = [&](const char* when) {
    if (!g_stop_requested) return;
    if (checkpoint) {
      checkpoint->flush();
      throw interrupted_by_signal("", std::string(when) + "; checkpoint written to " + checkpoint->directory() +
                                          " (rerun the same command with --resume to continue)");
    }
    throw interrupted_by_signal(
        "", std::string(when) + "; no checkpoint (use --resume or --checkpoint-every to make runs resumable)");
  };
  {
    ProgressReporter reporter(progress, int(problem.networks.size()), !o.quiet);
    completed = backend->train(problem, params, results, writer ? static_cast<FrameSink&>(*writer) : *checkpoint,
                               progress, control);
  }
  if (!completed) {
    stop_if_asked("");
    throw std::logic_error("training ended early without a stop signal");  // the backends stop only when asked
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (checkpoint) checkpoint->flush();
  try {
    if (checkpoint) {
      const std::string while_writing = " while writing " + o.output + " (nothing written)";
      writer = std::make_unique<ResultsWriter>(o.output, problem, data, meta);
      if (!o.quiet) log_line("writing " + o.output + " from " + checkpoint->directory());
      CountProgress writing("writing " + o.output, int64_t(problem.networks.size()), !o.quiet);
      int64_t replayed = 0;
      checkpoint->replay_frames(*writer, [&] {
        stop_if_asked(while_writing.c_str());
        writing.done(replayed++);
      });
      stop_if_asked(while_writing.c_str());
    }
    // The last step (the tables, the rename) runs to its end, as does all the
    // write without a checkpoint (the training is only in memory): a signal
    // arriving then is noted below, and the file is complete.
    writer->finish(initial, params, results, elapsed);
  } catch (const Interrupted&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {  // a full disk, a path taken meanwhile: with a checkpoint the training is kept
    if (!checkpoint) throw;
    throw ResultsError(std::string(e.what()) + "; the training is kept in " + checkpoint->directory() +
                       ": rerun the same command with --resume, once that is fixed, to write the file");
  }
  if (checkpoint) checkpoint->remove();
  if (const std::string warning = writer->beyond_f16_warning(); !warning.empty()) log_line(warning);  // even with -q
  if (!o.quiet) {
    int diverged = 0;
    for (const auto& r : results) diverged += r.status == NetStatus::diverged;
    char buf[512];
    std::snprintf(buf, sizeof buf, "wrote %s (%.1f s%s)", o.output.c_str(), elapsed,
                  diverged ? (", " + std::to_string(diverged) + " diverged").c_str() : "");
    log_line(buf);
    if (g_stop_requested)
      log_line(std::string(signal_name(g_stop_signal.load())) + " arrived as the file was completed; it is complete");
  }
}
}  // namespace

}  // namespace netsweep
