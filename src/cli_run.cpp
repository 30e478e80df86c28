#include "cli_run.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "cli_config.h"
#include "netsweep/checkpoint.h"
#include "netsweep/cuda_backend.h"
#include "netsweep/text.h"

namespace netsweep {

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
  // A value given twice would train the same networks twice, which the summaries then count as replicas.
  // (Checked here, not in validate(): files of earlier versions may hold such a spec.)
  auto once = [](const auto& values, const char* option) {
    for (size_t i = 0; i < values.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (values[j] == values[i]) throw SpecError(std::string(option) + ": a value is given twice");
  };
  once(s.layers, "--layers");
  once(s.widths, "--widths");
  once(s.shapes, "--shape");
  once(s.activations, "--activations");
  once(s.optimizers, "--optimizers");
  once(s.learning_rates, "--lr");
  once(s.batch_sizes, "--batch");
  once(s.l1, "--l1");
  once(s.l2, "--l2");
  once(s.momentum, "--momentum");
  for (const auto& shape : s.shapes)  // 2-2 with --layers 2 --widths 2: one network trained twice, alike
    if (!shape.empty() && std::count(shape.begin(), shape.end(), shape[0]) == long(shape.size()) &&
        std::count(s.layers.begin(), s.layers.end(), int(shape.size())) &&
        std::count(s.widths.begin(), s.widths.end(), shape[0])) {
      std::string text;
      for (int w : shape) text += (text.empty() ? "" : "-") + std::to_string(w);
      throw SpecError("--shape " + text + ": also a --layers x --widths shape (" + std::to_string(shape.size()) +
                      " x " + std::to_string(shape[0]) + "); give it once");
    }
  // Losses are never negative: below 0 it would never stop a network. (Here too, not in validate().)
  if (s.early_stop_loss && *s.early_stop_loss < 0) throw SpecError("--early-stop-loss: must be >= 0");
  for (float m : s.momentum)  // above 1 each past step weighs more than the last: the steps grow without bound
    if (m > 1) throw SpecError("--momentum: must be from 0 to 1, as in Keras (got " + format_number(m) + ")");
  const auto has = [&](Optimizer o) { return std::count(s.optimizers.begin(), s.optimizers.end(), o) > 0; };
  if (has(Optimizer::sgd) && has(Optimizer::momentum) && std::count(s.momentum.begin(), s.momentum.end(), 0.0f))
    throw SpecError(
        "--momentum 0 with --optimizers sgd and momentum: momentum 0 steps as sgd does, so those "
        "networks would train twice, alike; drop one");
  return s;
}

std::string joined_command_line(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) s += (i ? " " : "") + std::string(argv[i]);
  return s;
}

// Seeds are unsigned 64-bit: "-1" must not wrap around to 2^64 - 1, nor 2^64 to 0.
const CLI::Validator kNonNegativeWhole(
    [](std::string& value) {
      uint64_t v = 0;
      const char* end = value.data() + value.size();
      const auto [stop, ec] = std::from_chars(value.data(), end, v);
      return !value.empty() && ec == std::errc() && stop == end
                 ? std::string()
                 : "'" + value + "' is not a whole number from 0 to 18446744073709551615";
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
  spec(run.add_option("--early-stop-loss", c.early_stop, "stop a network once its epoch loss <= this")
           ->check(  // NaN stands for "not given": a NaN given must not read as that
               [](const std::string& v) {
                 return std::string(std::isnan(std::strtod(v.c_str(), nullptr)) ? "must be finite" : "");
               },
               "FINITE"));
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
                 "cuda: auto (networks wider than 32 as batched GEMMs, the rest in fused blocks), fused or gemm")
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
  const auto given = [&](const char* name) {
    const CLI::Option* o = app.get_option_no_throw(name);
    return o && o->count() > 0;
  };
  // CLI11 drops a list's empty items: "--lr 0.1,,0.2" would train two rates, silently. Every word
  // the option takes is checked ("--lr 0.1 ,,0.2" too); a comma at a word's end is kept ("--layers 1, 2").
  const auto option_like = [](const std::string& w) {  // "-0.5" is a value
    return w.size() > 1 && w[0] == '-' && !std::isdigit(static_cast<unsigned char>(w[1])) && w[1] != '.';
  };
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_delimiter() == '\0' || o->count() == 0) continue;
    const std::string name = o->get_name(), with_value = name + "=";
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg != name && arg.rfind(with_value, 0) != 0) continue;
      std::vector<std::string> words;
      if (arg != name)
        words.push_back(arg.substr(with_value.size()));
      else
        for (int k = i + 1; k < argc && !option_like(argv[k]); ++k) words.push_back(argv[k]);
      for (const std::string& list : words)
        if (list.rfind(',', 0) == 0 || list.find(",,") != std::string::npos)
          throw SpecError(name + " '" + printable(list) + "': an empty item in the list (a comma too many?)");
    }
  }
  std::error_code same_error;  // a rerun written over its own source (merge refuses the same of its inputs)
  if (!c.from.empty() && app.get_option_no_throw("--output") &&
      std::filesystem::equivalent(c.from, c.run.output, same_error))
    throw SpecError("-o " + c.run.output + ": is the --from file, which the results would replace; give a new file");
  if (given("--checkpoint-every"))
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
  // Options that would change nothing are refused rather than ignored: a
  // user who asked for them expects them to act.
  if (c.run.device == DeviceChoice::cpu && c.run.cuda.tf32)
    throw SpecError("--precision tf32: the GPU's GEMMs only; --device cpu trains in FP32");
  if (c.run.device == DeviceChoice::cpu && c.run.cuda.path != TrainPath::automatic)
    throw SpecError("--gpu-path " + c.gpu_path + ": the GPU's only; --device cpu trains on the CPU");
  const bool files_only = c.data.datasets.empty() && !(c.data.points.empty() && c.data.csv.empty());
  if (files_only && given("--n-points"))
    throw SpecError("--n-points: the data are files (--points, --csv); it sets the generators' (--dataset) size");
  c.data_seed_given = given("--data-seed");
  if (files_only && c.data_seed_given && c.data.test_fraction == 0)
    throw SpecError("--data-seed: the data are files (--points, --csv) and none is held out (--test-fraction 0)");
  if (given("--neuron-grid") && c.neuron_maps == "none")
    throw SpecError("--neuron-grid: --neuron-maps none records no neuron maps");
  if (c.from.empty() && given("--momentum") &&  // (--from refuses every spec option)
      std::none_of(c.optimizers.begin(), c.optimizers.end(),
                   [](const std::string& o) { return parse_optimizer(o) == Optimizer::momentum; }))
    throw SpecError(
        "--momentum: only the momentum optimizer uses it (Keras's SGD with momentum); add momentum "
        "to --optimizers (sgd is plain SGD)");
}

void add_run_config(CLI::App& app, CLI::App& run, const std::string& config_path) {
  // CLI11 reads config files on the main app only: the strict TOML reader
  // files the config's keys under `run`, so a sweep.toml holds plain run
  // options (`layers = [1, 2]`, `epochs = 4000`, ...). Options given on the
  // command line win over the file.
  app.config_formatter(std::make_shared<StrictTomlConfig>(config_keys(run, {"features"}), "run", config_path));
  app.set_config("--config", "", "run: TOML file with run options (keys are the long option names)");
  app.allow_config_extras(CLI::config_extras_mode::error);
  run.fallthrough();  // `netsweep run --config FILE`
  run.footer("--config FILE: a TOML file with these options (keys are the long option names; the command line wins)");
}

namespace {
std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : sep) + x;
  return out;
}
}  // namespace

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
  if (c.data_seed_given) {  // as the options above: one that changes nothing is refused, not ignored
    // The seed draws each held-out split; without one, only the generators' points can follow it.
    const bool acts = std::any_of(data.begin(), data.end(), [](const DataPart& p) { return p.data.test.size() > 0; }) ||
                      generated_points_follow_seed(c.data);
    if (!acts)
      throw SpecError("--data-seed " + std::to_string(c.data.generator.seed) +
                      ": every seed gives these points (moons and spiral at noise 0, generators with their own "
                      "seed=, files; no point held out by --test-fraction); drop it");
  }
  const std::vector<std::vector<std::string>> sets =
      c.feature_sets.empty() ? std::vector<std::vector<std::string>>{{}} : c.feature_sets;
  for (size_t i = 0; i < sets.size(); ++i)  // the same inputs in another order: the same part twice
    for (size_t j = 0; j < i; ++j) {
      std::vector<std::string> a = sets[i], b = sets[j];
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      if (a == b)
        throw SpecError("--features: the sets " + CLI::detail::join(sets[j], ",") + " and " +
                        CLI::detail::join(sets[i], ",") + " hold the same inputs");
    }
  // --batch 0,600 of 500 points: the same full batch twice (where every part is that small;
  // over parts of several sizes, 100 and 0 differ for the larger).
  const auto full = [](int batch, const DataPart& d) { return batch == 0 || batch >= int(d.data.train.size()); };
  for (size_t i = 0; i < base.batch_sizes.size(); ++i)
    for (size_t j = 0; j < i; ++j) {
      const int a = base.batch_sizes[j], b = base.batch_sizes[i];
      if (std::all_of(data.begin(), data.end(), [&](const DataPart& d) { return full(a, d) && full(b, d); })) {
        const DataPart& largest = *std::max_element(data.begin(), data.end(), [](const DataPart& x, const DataPart& y) {
          return x.data.train.size() < y.data.train.size();
        });
        throw SpecError("--batch " + std::to_string(a) + " and " + std::to_string(b) + ": both the full batch (" +
                        std::string(data.size() > 1 ? "the largest part, " : "") + largest.label + " has " +
                        std::to_string(largest.data.train.size()) + " training points); give one");
      }
    }
  std::vector<SweepPart> parts;
  for (const DataPart& d : data)
    for (const auto& features : sets) {
      for (size_t i = 0; i < features.size(); ++i)  // the same input twice: a copy of a column, not a feature
        if (std::find(features.begin(), features.begin() + long(i), features[i]) != features.begin() + long(i))
          throw SpecError("--features: '" + features[i] + "' given twice in one set");
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

}  // namespace netsweep
