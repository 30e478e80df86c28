// netsweep's command line: `run` trains a sweep and writes a results file,
// `info` summarizes one, `merge` joins shard files, `slurm` writes (and
// submits) a job array, `bench` times devices side by side. Options are
// parsed here into typed values; the work is done by the library.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli_config.h"
#include "netsweep/bench.h"
#include "netsweep/checkpoint.h"
#include "netsweep/cuda_backend.h"
#include "netsweep/merge.h"
#include "netsweep/results.h"
#include "netsweep/run.h"
#include "netsweep/slurm.h"
#include "netsweep/version.h"
#include "progress.h"

namespace {

using namespace netsweep;

// The demo-sized defaults: the slide sweep's 108-network grid, short enough
// to finish in a few minutes on a 2-core machine without a GPU.
constexpr int kDefaultEpochs = 300;
constexpr int kDefaultSnapshotEvery = 15;
constexpr int kDefaultGrid = 64;

struct CliRun {
  std::vector<int> layers{1, 2, 3, 4, 6, 8};
  std::vector<int> widths{2, 4, 8, 16, 32, 64, 128, 256, 384};
  std::vector<std::string> shapes;
  std::vector<std::string> activations{"sigmoid", "relu"};
  std::vector<std::string> optimizers{"adam"};
  std::vector<float> lr{1e-3f};
  std::vector<int> batch{32};
  int seeds = 1;
  uint64_t seed = 0;
  int epochs = kDefaultEpochs;
  std::string loss = "bce";
  int outputs = 0;
  std::vector<float> l1{0.0f}, l2{0.0f};
  float early_stop = NAN;
  std::vector<float> momentum{0.9f};
  std::vector<std::string> features;  // empty: x1,x2 (x1 for 1-D data)
  int snapshot_every = kDefaultSnapshotEvery;
  int grid = kDefaultGrid;
  std::vector<float> extent;
  std::string neuron_maps = "auto", record_weights = "auto";
  int neuron_grid = kDefaultNeuronGrid;
  DataOptions data;
  RunOptions run;  // filled from the strings below by resolve_run_options
  std::string device = "auto", gpu_path = "auto", precision = "fp32";
  std::string frame_dtype = "f16";
  std::string from;
  std::string shard;
};

SweepSpec make_spec(const CliRun& c) {
  SweepSpec s;
  s.layers = c.layers;
  s.widths = c.widths;
  for (const auto& shape : c.shapes) s.shapes.push_back(parse_shape(shape));
  for (const auto& a : c.activations) s.activations.push_back(parse_activation(a));
  for (const auto& o : c.optimizers) s.optimizers.push_back(parse_optimizer(o));
  s.learning_rates = c.lr;
  s.batch_sizes = c.batch;
  s.seeds = c.seeds;
  s.base_seed = c.seed;
  s.epochs = c.epochs;
  s.loss = parse_loss(c.loss);
  s.outputs = c.outputs;
  s.l1 = c.l1;
  s.l2 = c.l2;
  if (!std::isnan(c.early_stop)) s.early_stop_loss = c.early_stop;
  s.momentum = c.momentum;
  s.features = c.features;
  s.snapshot_every = c.snapshot_every;
  s.grid = c.grid;
  if (!c.extent.empty()) {
    if (c.extent.size() != 4) throw SpecError("--extent: expected x0,x1,y0,y1");
    s.extent = std::array<float, 4>{c.extent[0], c.extent[1], c.extent[2], c.extent[3]};
  }
  s.neuron_maps = parse_inside_rule(c.neuron_maps, "--neuron-maps");
  s.record_weights = parse_inside_rule(c.record_weights, "--record-weights");
  s.neuron_grid = c.neuron_grid;
  return s;
}

std::string joined_command_line(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) s += (i ? " " : "") + std::string(argv[i]);
  return s;
}

// Seeds are unsigned: "-1" must not wrap around to 2^64 - 1.
const CLI::Validator kNonNegativeWhole(
    [](std::string& value) {
      return value.find_first_not_of("0123456789") == std::string::npos && !value.empty() && value.size() <= 19
                 ? std::string()
                 : "'" + value + "' is not a whole number >= 0";
    },
    "UINT");

void add_run_options(CLI::App& run, CliRun& c, std::vector<CLI::Option*>& spec_options) {
  auto spec = [&](CLI::Option* o) {
    o->group("Sweep");
    spec_options.push_back(o);
    return o;
  };
  spec(run.add_option("--layers", c.layers, "hidden layer counts (x --widths)")->delimiter(',')->capture_default_str());
  spec(run.add_option("--widths", c.widths, "hidden widths (x --layers)")->delimiter(',')->capture_default_str());
  spec(run.add_option("--shape", c.shapes, "explicit hidden widths, e.g. 3-1-3 (repeatable)"));
  spec(run.add_option("--activations", c.activations, "sigmoid, tanh, relu, linear, leaky_relu, elu, gelu, sine")
           ->delimiter(',')
           ->capture_default_str());
  spec(run.add_option("--optimizers", c.optimizers, "adam, sgd, momentum")->delimiter(',')->capture_default_str());
  spec(run.add_option("--lr", c.lr, "learning rates")->delimiter(',')->capture_default_str());
  spec(run.add_option("--batch", c.batch, "batch sizes (0 = full batch)")->delimiter(',')->capture_default_str());
  spec(run.add_option("--seeds", c.seeds, "networks per configuration, with different initial weights and shuffles")
           ->capture_default_str());
  spec(run.add_option("--seed", c.seed, "base seed (replica r uses seed+r)")
           ->capture_default_str()
           ->check(kNonNegativeWhole));
  spec(run.add_option("--epochs", c.epochs, "epochs per network")->capture_default_str());
  spec(run.add_option("--loss", c.loss, "bce (sigmoid outputs), mse (linear outputs), softmax")->capture_default_str());
  spec(run.add_option("--outputs", c.outputs, "output units (0 = from the data)")->capture_default_str());
  spec(run.add_option("--l1", c.l1, "L1 penalties on weights")->delimiter(',')->capture_default_str());
  spec(run.add_option("--l2", c.l2, "L2 penalties on weights")->delimiter(',')->capture_default_str());
  spec(run.add_option("--early-stop-loss", c.early_stop, "stop a network once its epoch loss <= this"));
  spec(run.add_option("--momentum", c.momentum, "momenta of --optimizers momentum (an axis of that optimizer alone)")
           ->delimiter(',')
           ->capture_default_str());
  spec(run.add_option("--features", c.features,
                      "inputs: x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2) (default x1,x2; x1 for 1-D data)")
           ->delimiter(','));
  spec(run.add_option("--snapshot-every", c.snapshot_every, "epochs between frames (0 = first and last only)")
           ->capture_default_str());
  spec(
      run.add_option("--grid", c.grid, "frame resolution (grid x grid; grid x 1 for 1-D data)")->capture_default_str());
  spec(run.add_option("--extent", c.extent, "frame plane x0,x1,y0,y1 (default: data bounds + margin)")->delimiter(','));
  auto inside = [&](CLI::Option* o) {
    o->group("Inside the networks");
    spec_options.push_back(o);
    return o;
  };
  inside(run.add_option("--neuron-maps", c.neuron_maps,
                        "record every hidden unit's activation over the plane at every frame: auto (networks with at "
                        "most 64 hidden units), all or none")
             ->capture_default_str());
  inside(run.add_option("--neuron-grid", c.neuron_grid, "resolution of the neuron maps (grid x grid)")
             ->capture_default_str());
  inside(run.add_option("--record-weights", c.record_weights,
                        "record every parameter at every frame: auto (networks with at most 20000 parameters), all "
                        "or none")
             ->capture_default_str());

  auto data = [&](CLI::Option* o) {
    o->group("Data");
    spec_options.push_back(o);
    return o;
  };
  data(run.add_option("--points", c.data.points, "points JSON [{\"x\":..,\"y\":..}] as FILE:LABEL (repeatable)"));
  data(run.add_option("--csv", c.data.csv, "CSV with header x1,x2,label or x,y (repeatable)"));
  data(run.add_option("--dataset", c.data.datasets,
                      "generator NAME[:n=..,noise=..,seed=..]: circle, xor, gauss, spiral, rings, thin-rings, "
                      "three-blobs, moons, poly, damped-sine (default when no data is given: spiral)"));
  data(run.add_option("--n-points", c.data.generator.n_points, "points per generator")->capture_default_str());
  data(run.add_option("--noise", c.data.generator.noise, "generator noise")->capture_default_str());
  data(run.add_option("--data-seed", c.data.generator.seed, "generator seed (also splits train/test)")
           ->capture_default_str()
           ->check(kNonNegativeWhole));
  data(run.add_option("--test-fraction", c.data.test_fraction, "share of points held out as the test set")
           ->capture_default_str());

  run.add_option("-o,--output", c.run.output, "results file (HDF5)")->capture_default_str();
  run.add_option("--device", c.device, "auto, cpu or cuda")->capture_default_str();
  run.add_option("--gpu-path", c.gpu_path,
                 "cuda: auto (networks wider than 64 as batched GEMMs, the rest in fused blocks), fused or gemm")
      ->capture_default_str();
  run.add_option("--precision", c.precision,
                 "cuda GEMMs: fp32, or tf32 (tensor cores; not bit-comparable with the CPU)")
      ->capture_default_str();
  run.add_option("--threads", c.run.threads, "CPU threads (0 = all cores)")->capture_default_str();
  run.add_option("--frame-dtype", c.frame_dtype, "stored frame type: f16 or f32")->capture_default_str();
  run.add_option("--from", c.from, "rerun the sweep stored in a results file (its spec and data)");
  run.add_flag("-q,--quiet", c.run.quiet, "no progress output");
}

void add_checkpoint_options(CLI::App& run, CliRun& c) {
  run.add_option("--shard", c.shard, "train only shard I/N of the sweep (balanced by estimated work)")
      ->group("Cluster");
  run.add_flag("--resume", c.run.resume,
               "continue from OUTPUT.ckpt if present (checkpoints on; exits at once if OUTPUT is complete)")
      ->group("Cluster");
  run.add_option("--checkpoint-every", c.run.checkpoint_every,
                 "seconds between checkpoints (0: at every frame; default with --resume: 60)")
      ->group("Cluster");
}

void resolve_run_options(CliRun& c, int argc, char** argv, const CLI::App& app) {
  if (const CLI::Option* every = app.get_option_no_throw("--checkpoint-every"); every && every->count() > 0)
    if (!(c.run.checkpoint_every >= 0 && c.run.checkpoint_every <= kMaxCheckpointInterval))
      throw SpecError("--checkpoint-every: must be between 0 and " + std::to_string(int(kMaxCheckpointInterval)) +
                      " seconds (a week)");
  if (c.run.threads < 0 || c.run.threads > 4096) throw SpecError("--threads: must be between 0 (all cores) and 4096");
  c.run.command_line = joined_command_line(argc, argv);
  if (c.frame_dtype != "f16" && c.frame_dtype != "f32")
    throw SpecError("--frame-dtype '" + c.frame_dtype + "': expected f16 or f32");
  c.run.frame_type = c.frame_dtype == "f16" ? FrameType::float16 : FrameType::float32;
  c.run.device = parse_device(c.device);
  c.run.cuda = {parse_train_path(c.gpu_path), parse_precision_tf32(c.precision)};
  if (!c.shard.empty()) c.run.shard = parse_shard(c.shard);
}

// The sweep to run: stored in a results or plan file (--from), or from the options.
SweepSource sweep_source(const CliRun& c, const std::vector<CLI::Option*>& spec_options) {
  if (c.from.empty()) return {make_spec(c), load_data(c.data)};
  for (const auto* o : spec_options)
    if (o->count() > 0)
      throw SpecError("--from reruns the stored sweep exactly: drop " + o->get_name() +
                      " (only -o, --device, --gpu-path, --precision, --threads, --frame-dtype, --quiet and the cluster "
                      "options apply)");
  return read_sweep_source(c.from);
}

std::string self_path(const char* argv0) {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::absolute(argv0).string() : p.string();
}

void print_info(const std::string& path) {
  ResultsFile f(path);
  const auto rows = f.networks();
  const auto shape = f.frame_shape();
  std::printf("%s: netsweep %s, format %lld, created %s\n", path.c_str(), f.attribute("tool_version").c_str(),
              static_cast<long long>(f.format_version()), f.attribute("created").c_str());
  std::printf("device: %s\n", f.attribute("device").c_str());
  std::printf("networks: %zu, frames: %d of %dx%d x %d outputs, loss: %s\n", rows.size(), shape[1], shape[3], shape[2],
              shape[4], f.attribute("loss").c_str());
  std::printf("%5s %-16s %-10s %-9s %9s %6s %5s %-13s %6s %11s %11s %9s %9s %9s\n", "id", "shape", "activation",
              "optimizer", "lr", "batch", "seed", "status", "epochs", "epoch_loss", "train_loss", "train_acc",
              "test_acc", "time_s");
  for (const auto& r : rows)
    std::printf("%5d %-16s %-10s %-9s %9.3g %6d %5llu %-13s %6d %11.5f %11.5f %9.4f %9.4f %9.2f\n", r.id,
                r.hidden_shape.c_str(), r.activation.c_str(), r.optimizer.c_str(), double(r.lr), r.batch,
                static_cast<unsigned long long>(r.seed), r.status.c_str(), r.epochs_trained, double(r.final_epoch_loss),
                double(r.final_train_loss), double(r.final_train_accuracy), double(r.final_test_accuracy),
                r.wall_seconds);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"netsweep: train sweeps of small neural networks on 2-D data at once and record their decision fields"};
  app.set_version_flag("--version", std::string("netsweep ") + kVersion);
  app.require_subcommand(1);

  CliRun c;
  std::vector<CLI::Option*> spec_options;
  CLI::App* run = app.add_subcommand("run", "train a sweep and write one HDF5 results file");
  add_run_options(*run, c, spec_options);
  add_checkpoint_options(*run, c);
  // CLI11 reads config files on the main app only: the strict TOML reader
  // files the config's keys under `run`, so a sweep.toml holds plain run
  // options (`layers = [1, 2]`, `epochs = 4000`, ...). Options given on the
  // command line win over the file.
  const std::string config_path = config_path_in(argc, argv);
  app.config_formatter(std::make_shared<StrictTomlConfig>(config_keys(*run), "run", config_path));
  app.set_config("--config", "", "run: TOML file with run options (keys are the long option names)");
  app.allow_config_extras(CLI::config_extras_mode::error);
  run->fallthrough();  // `netsweep run --config FILE`

  std::string info_path;
  CLI::App* info = app.add_subcommand("info", "one row per network of a results file");
  info->add_option("file", info_path, "results file")->required();

  std::vector<std::string> merge_inputs;
  std::string merge_output;
  bool merge_quiet = false;
  CLI::App* merge = app.add_subcommand("merge", "join the shard files of one sweep into one results file");
  merge->add_option("shards", merge_inputs, "shard files (e.g. sweep.shard-*.h5)")->required();
  merge->add_option("-o,--output", merge_output, "merged results file")->required();
  merge->add_flag("-q,--quiet", merge_quiet, "no output");

  CliRun sc;
  std::vector<CLI::Option*> slurm_spec_options;
  SlurmOptions slurm_options;
  CLI::App* slurm = app.add_subcommand(
      "slurm", "write a SLURM job-array script (stdout) that trains the sweep in shards; --submit to sbatch it");
  add_run_options(*slurm, sc, slurm_spec_options);
  slurm->add_option("--shards", slurm_options.shards, "number of array tasks")->required()->group("SLURM");
  slurm->add_option("--partition", slurm_options.partition, "sbatch --partition")->group("SLURM");
  slurm->add_option("--gres", slurm_options.gres, "sbatch --gres, e.g. gpu:1")->group("SLURM");
  slurm->add_option("--time", slurm_options.time, "sbatch --time, e.g. 00:30:00")->group("SLURM");
  slurm->add_option("--account", slurm_options.account, "sbatch --account")->group("SLURM");
  slurm->add_option("--mem", slurm_options.mem, "sbatch --mem")->group("SLURM");
  slurm->add_option("--cpus-per-task", slurm_options.cpus_per_task, "sbatch --cpus-per-task")->group("SLURM");
  slurm->add_option("--job-name", slurm_options.job_name, "sbatch --job-name")->group("SLURM");
  slurm
      ->add_option("--signal-seconds", slurm_options.signal_seconds,
                   "send SIGTERM this long before the time limit (checkpoint and exit)")
      ->capture_default_str()
      ->group("SLURM");
  slurm
      ->add_option("--checkpoint-every", sc.run.checkpoint_every,
                   "seconds between each task's checkpoints (default 60; SIGTERM always checkpoints)")
      ->group("SLURM");
  slurm->add_flag("--submit", slurm_options.submit, "run sbatch on the script and print the job id")->group("SLURM");

  CliRun bc;
  std::vector<CLI::Option*> bench_spec_options;
  std::vector<std::string> bench_devices{"cpu", "cuda"};
  bool bench_json = false;
  CLI::App* bench = app.add_subcommand(
      "bench", "time a sweep on the CPU and on the GPU side by side (steps/s, s/epoch, frames/s, GFLOP/s, speedup)");
  add_run_options(*bench, bc, bench_spec_options);
  bench
      ->add_option("--devices", bench_devices,
                   "devices to time, in order (speedups are relative to the first): cpu, cuda, or cuda with "
                   "-fused, -gemm, -tf32, -connN (e.g. cuda-gemm-tf32, cuda-conn8) overriding --gpu-path, --precision and "
                   "CUDA_DEVICE_MAX_CONNECTIONS; each CUDA variant runs in a process of its own")
      ->delimiter(',')
      ->capture_default_str();
  bench->add_flag("--json", bench_json, "JSON instead of a table");

  try {
    if (!config_path.empty()) check_config_file(config_path);
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ConfigError& e) {
    std::fprintf(stderr, "netsweep: error: %s\n", e.what());
    return 2;
  } catch (const CLI::ParseError& e) {
    // One line and status 2, like every other bad input (CLI11's own codes
    // and its "Run with --help" line are not part of netsweep's contract).
    std::string what = e.what();
    if (what.empty()) what = e.get_name();
    std::fprintf(stderr, "netsweep: error: %s (see netsweep --help)\n", what.c_str());
    return 2;
  }
  try {
    if (*run) {
      resolve_run_options(c, argc, argv, *run);
      const SweepSource source = sweep_source(c, spec_options);
      run_sweep(source.spec, source.data, c.run);
    } else if (*info) {
      print_info(info_path);
    } else if (*bench) {
      resolve_run_options(bc, argc, argv, *bench);
      std::vector<BenchDevice> devices;
      for (const auto& name : bench_devices) devices.push_back(parse_bench_device(name, bc.run.cuda));
      const SweepSource source = sweep_source(bc, bench_spec_options);
      std::fputs(format_bench(run_bench(source.spec, source.data, devices, bc.run.threads), bench_json).c_str(),
                 stdout);
    } else if (*merge) {
      merge_results(merge_inputs, merge_output, joined_command_line(argc, argv), merge_quiet);
    } else if (*slurm) {
      resolve_run_options(sc, argc, argv, *slurm);
      const SweepSource source = sweep_source(sc, slurm_spec_options);
      const std::string script = write_slurm_job(source.spec, source.data, sc.run, slurm_options, self_path(argv[0]));
      if (!slurm_options.submit) {
        std::fputs(script.c_str(), stdout);
      } else {
        const SubmittedJob job = submit_slurm_job(script, sc.run.output);
        std::printf("%s\n", job.job_id.c_str());
        std::fprintf(stderr, "netsweep: submitted %s as job %s\n", job.script_path.c_str(), job.job_id.c_str());
      }
    }
  } catch (const Interrupted& e) {
    std::fprintf(stderr, "\n%s%s\n", log_prefix().c_str(), e.what());
    return e.code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nnetsweep: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
