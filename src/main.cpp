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
#include "netsweep/summary.h"
#include "netsweep/version.h"
#include "progress.h"

namespace {

using namespace netsweep;

// The demo-sized defaults: the slide sweep's 108-network grid, short enough
// to finish in a few minutes on a 2-core machine without a GPU.
constexpr int kDefaultEpochs = 300;
constexpr int kDefaultSnapshotEvery = 15;
constexpr int kDefaultGrid = 64;
constexpr int kSlideLayers[] = {1, 2, 3, 4, 6, 8};
constexpr int kSlideWidths[] = {2, 4, 8, 16, 32, 64, 128, 256, 384};

struct CliRun {
  std::vector<int> layers, widths;  // empty: the slide grid, when no --shape is given either
  std::vector<std::string> shapes;
  std::vector<std::string> activations{"sigmoid", "relu"};
  std::vector<std::string> optimizers{"adam"};
  std::vector<float> lr{1e-3f};
  std::vector<int> batch{32};
  int seeds = 1;
  uint64_t seed = 0;
  int epochs = kDefaultEpochs;
  std::string loss;  // "": from the data (mse for 1-D regression, else bce)
  int outputs = 0;
  std::vector<float> l1{0.0f}, l2{0.0f};
  float early_stop = NAN;
  std::vector<float> momentum{0.9f};
  std::vector<std::vector<std::string>> feature_sets;  // each --features one set (an axis); none: x1,x2 (x1 for 1-D)
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
  // The slide sweep's grid is the default only when no shape option is given at all.
  if (s.layers.empty() && s.widths.empty() && s.shapes.empty()) {
    s.layers = std::vector<int>(std::begin(kSlideLayers), std::end(kSlideLayers));
    s.widths = std::vector<int>(std::begin(kSlideWidths), std::end(kSlideWidths));
  }
  for (const auto& a : c.activations) s.activations.push_back(parse_activation(a));
  for (const auto& o : c.optimizers) s.optimizers.push_back(parse_optimizer(o));
  s.learning_rates = c.lr;
  s.batch_sizes = c.batch;
  s.seeds = c.seeds;
  s.base_seed = c.seed;
  s.epochs = c.epochs;
  if (!c.loss.empty()) s.loss = parse_loss(c.loss);
  s.outputs = c.outputs;
  s.l1 = c.l1;
  s.l2 = c.l2;
  if (!std::isnan(c.early_stop)) s.early_stop_loss = c.early_stop;
  s.momentum = c.momentum;
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
  spec(run.add_option("--layers", c.layers,
                      "hidden layer counts (x --widths); without --layers, --widths and --shape: 1,2,3,4,6,8")
           ->delimiter(','));
  spec(run.add_option("--widths", c.widths,
                      "hidden widths (x --layers); without --layers, --widths and --shape: 2,4,...,384")
           ->delimiter(','));
  spec(run.add_option("--shape", c.shapes, "explicit hidden widths, e.g. 3-1-3 (repeatable); alone, just these"));
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
  spec(run.add_option("--loss", c.loss,
                      "bce (sigmoid outputs), mse (linear outputs), softmax; default from the data: mse with one "
                      "linear output for 1-D regression, else bce"));
  spec(run.add_option("--outputs", c.outputs, "output units (0 = from the data)")->capture_default_str());
  spec(run.add_option("--l1", c.l1, "L1 penalties on weights")->delimiter(',')->capture_default_str());
  spec(run.add_option("--l2", c.l2, "L2 penalties on weights")->delimiter(',')->capture_default_str());
  spec(run.add_option("--early-stop-loss", c.early_stop, "stop a network once its epoch loss <= this"));
  spec(run.add_option("--momentum", c.momentum, "momenta of --optimizers momentum (an axis of that optimizer alone)")
           ->delimiter(',')
           ->capture_default_str());
  spec(run.add_option("--features", c.feature_sets,
                      "inputs: x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2) (default x1,x2; x1 for 1-D data); each "
                      "--features is one set, an axis of the sweep")
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
  data(run.add_option("--noise", c.data.noises,
                      "generator noise levels (an axis for generators without their own noise=); default 0")
           ->delimiter(','));
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
  c.run.options = CLI::ConfigTOML().to_config(&app, false, false, "");  // the options given, as --config reads them
  if (c.frame_dtype != "f16" && c.frame_dtype != "f32")
    throw SpecError("--frame-dtype '" + c.frame_dtype + "': expected f16 or f32");
  c.run.frame_type = c.frame_dtype == "f16" ? FrameType::float16 : FrameType::float32;
  c.run.device = parse_device(c.device);
  c.run.cuda = {parse_train_path(c.gpu_path), parse_precision_tf32(c.precision)};
  if (!c.shard.empty()) c.run.shard = parse_shard(c.shard);
}

// One part of the sweep: a data source with a feature set (each part trains
// the whole grid of networks and writes its own results file).
struct SweepPart {
  std::string label;
  SweepSpec spec;
  Dataset data;
};

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : sep) + x;
  return out;
}

// The sweep to run: stored in a results or plan file (--from), or from the
// options: every data source x every feature set.
std::vector<SweepPart> sweep_parts(const CliRun& c, const std::vector<CLI::Option*>& spec_options) {
  if (!c.from.empty()) {
    for (const auto* o : spec_options)
      if (o->count() > 0)
        throw SpecError("--from reruns the stored sweep exactly: drop " + o->get_name() +
                        " (only -o, --device, --gpu-path, --precision, --threads, --frame-dtype, --quiet and the "
                        "cluster options apply)");
    SweepSource source = read_sweep_source(c.from);
    return {{"", std::move(source.spec), std::move(source.data)}};
  }
  const SweepSpec base = make_spec(c);
  const std::vector<DataPart> data = load_data_parts(c.data);
  const std::vector<std::vector<std::string>> sets =
      c.feature_sets.empty() ? std::vector<std::vector<std::string>>{{}} : c.feature_sets;
  std::vector<SweepPart> parts;
  for (const DataPart& d : data)
    for (const auto& features : sets) {
      SweepPart part{d.label, base, d.data};
      part.spec.features = features;
      if (c.loss.empty()) part.spec.loss = d.data.regression ? Loss::mse : Loss::bce;  // defaults follow the data
      if (sets.size() > 1)
        part.label += (part.label.empty() ? "" : " · ") + std::string("features ") + join(features, ",");
      parts.push_back(std::move(part));
    }
  if (parts.size() > 1)
    for (const auto& p : parts) build_problem(p.spec, p.data);  // every part checked before any trains
  return parts;
}

// Commands that take a single part (bench, slurm).
SweepPart single_part(std::vector<SweepPart> parts, const char* command) {
  if (parts.size() != 1)
    throw SpecError(std::string(command) + " takes one data source and one feature set (these options name " +
                    std::to_string(parts.size()) + "); run it for each, or join generators with '+'");
  return std::move(parts[0]);
}

std::string self_path(const char* argv0) {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::absolute(argv0).string() : p.string();
}

struct InfoOptions {
  std::vector<std::string> files;
  std::string by, format = "table", target_set = "train";
  float target_accuracy = 0.95f;
};

void print_info(const InfoOptions& o) {
  const SummaryFormat format = parse_summary_format(o.format);
  if (o.target_set != "train" && o.target_set != "test")
    throw SpecError("--target-set '" + o.target_set + "': expected train or test");
  if (!(o.target_accuracy >= 0 && o.target_accuracy <= 1))
    throw SpecError("--target-accuracy: must be between 0 and 1");
  SummaryOptions options;
  options.target_accuracy = o.target_accuracy;
  options.target_on_test = o.target_set == "test";
  const std::vector<std::string> axes = o.by.empty() ? std::vector<std::string>{} : parse_axes(o.by);
  const std::vector<NetworkSummary> networks = summarize_networks(o.files, options);
  if (format == SummaryFormat::table)  // a header per file
    for (const auto& path : o.files) {
      ResultsFile f(path);
      const auto shape = f.frame_shape();
      std::printf("%s: netsweep %s, format %lld, created %s%s\n", path.c_str(), f.attribute("tool_version").c_str(),
                  static_cast<long long>(f.format_version()), f.attribute("created").c_str(),
                  f.has_attribute("part_label") ? (", part " + f.attribute("part_label")).c_str() : "");
      std::printf("device: %s\n", f.attribute("device").c_str());
      std::printf("networks: %d, frames: %d of %dx%d x %d outputs, loss: %s\n", shape[0], shape[1], shape[3], shape[2],
                  shape[4], f.attribute("loss").c_str());
    }
  const std::string text = axes.empty() ? format_networks(networks, format)
                                        : format_groups(group_networks(networks, axes), axes, format, options);
  std::fputs(text.c_str(), stdout);
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
  app.config_formatter(std::make_shared<StrictTomlConfig>(config_keys(*run, {"features"}), "run", config_path));
  app.set_config("--config", "", "run: TOML file with run options (keys are the long option names)");
  app.allow_config_extras(CLI::config_extras_mode::error);
  run->fallthrough();  // `netsweep run --config FILE`

  InfoOptions info_options;
  CLI::App* info = app.add_subcommand(
      "info", "one row per network of results files, or per group of networks (--by) with their distribution");
  info->add_option("files", info_options.files, "results files (the parts of one sweep, or several sweeps)")
      ->required();
  info->add_option("--by", info_options.by,
                   "group by these axes, e.g. layers,width,activation (part, features, shape, layers, width, "
                   "activation, optimizer, lr, batch, l1, l2, momentum, seed, replica, status)");
  info->add_option("--format", info_options.format, "table, csv or json")->capture_default_str();
  info->add_option("--target-accuracy", info_options.target_accuracy,
                   "the accuracy whose reach --by counts (share of replicas, median epochs to it)")
      ->capture_default_str();
  info->add_option("--target-set", info_options.target_set, "measure it on the train or test set")
      ->capture_default_str();

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
      ->add_option(
          "--devices", bench_devices,
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
      const std::vector<SweepPart> parts = sweep_parts(c, spec_options);
      if (parts.size() == 1) {
        run_sweep(parts[0].spec, parts[0].data, c.run);
      } else {
        std::vector<std::string> written;
        for (size_t k = 0; k < parts.size(); ++k) {
          RunOptions o = c.run;
          o.output = part_output_path(c.run.output, int(k));
          o.part = {int(k), int(parts.size()), parts[k].label};
          if (!o.quiet)
            log_line("part " + std::to_string(k + 1) + "/" + std::to_string(parts.size()) + ": " + parts[k].label +
                     " -> " + o.output);
          run_sweep(parts[k].spec, parts[k].data, o);
          written.push_back(o.output);
        }
        if (!c.run.quiet)
          log_line("wrote " + std::to_string(parts.size()) + " parts; render them as one gallery: netsweep-render " +
                   join(written, " ") + " -o gallery/");
      }
    } else if (*info) {
      print_info(info_options);
    } else if (*bench) {
      resolve_run_options(bc, argc, argv, *bench);
      std::vector<BenchDevice> devices;
      for (const auto& name : bench_devices) devices.push_back(parse_bench_device(name, bc.run.cuda));
      const SweepPart part = single_part(sweep_parts(bc, bench_spec_options), "bench");
      std::fputs(format_bench(run_bench(part.spec, part.data, devices, bc.run.threads), bench_json).c_str(), stdout);
    } else if (*merge) {
      merge_results(merge_inputs, merge_output, joined_command_line(argc, argv), merge_quiet);
    } else if (*slurm) {
      resolve_run_options(sc, argc, argv, *slurm);
      const SweepPart part = single_part(sweep_parts(sc, slurm_spec_options), "slurm");
      const std::string script = write_slurm_job(part.spec, part.data, sc.run, slurm_options, self_path(argv[0]));
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
