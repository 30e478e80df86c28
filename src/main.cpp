// netsweep's command line: `run` trains a sweep and writes a results file,
// `info` summarizes one.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "netsweep/cuda_backend.h"
#include "netsweep/results.h"
#include "netsweep/run.h"
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
  float l1 = 0, l2 = 0;
  float early_stop = NAN;
  float momentum = 0.9f;
  std::vector<std::string> features;  // empty: x1,x2 (x1 for 1-D data)
  int snapshot_every = kDefaultSnapshotEvery;
  int grid = kDefaultGrid;
  std::vector<float> extent;
  DataOptions data;
  RunOptions run;
  std::string frame_dtype = "f16";
  std::string from;
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
  return s;
}

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
  spec(run.add_option("--seed", c.seed, "base seed (replica r uses seed+r)")->capture_default_str());
  spec(run.add_option("--epochs", c.epochs, "epochs per network")->capture_default_str());
  spec(run.add_option("--loss", c.loss, "bce (sigmoid outputs), mse (linear outputs), softmax")->capture_default_str());
  spec(run.add_option("--outputs", c.outputs, "output units (0 = from the data)")->capture_default_str());
  spec(run.add_option("--l1", c.l1, "L1 penalty on weights")->capture_default_str());
  spec(run.add_option("--l2", c.l2, "L2 penalty on weights")->capture_default_str());
  spec(run.add_option("--early-stop-loss", c.early_stop, "stop a network once its epoch loss <= this"));
  spec(run.add_option("--momentum", c.momentum, "momentum of --optimizers momentum")->capture_default_str());
  spec(run.add_option("--features", c.features,
                      "inputs: x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2) (default x1,x2; x1 for 1-D data)")
           ->delimiter(','));
  spec(run.add_option("--snapshot-every", c.snapshot_every, "epochs between frames (0 = first and last only)")
           ->capture_default_str());
  spec(
      run.add_option("--grid", c.grid, "frame resolution (grid x grid; grid x 1 for 1-D data)")->capture_default_str());
  spec(run.add_option("--extent", c.extent, "frame plane x0,x1,y0,y1 (default: data bounds + margin)")->delimiter(','));

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
           ->capture_default_str());
  data(run.add_option("--test-fraction", c.data.test_fraction, "share of points held out as the test set")
           ->capture_default_str());

  run.add_option("-o,--output", c.run.output, "results file (HDF5)")->capture_default_str();
  run.add_option("--device", c.run.device, "auto, cpu or cuda")->capture_default_str();
  run.add_option("--threads", c.run.threads, "CPU threads (0 = all cores)")->capture_default_str();
  run.add_option("--frame-dtype", c.frame_dtype, "stored frame type: f16 or f32")->capture_default_str();
  run.add_option("--from", c.from, "rerun the sweep stored in a results file (its spec and data)");
  run.add_flag("-q,--quiet", c.run.quiet, "no progress output");
}

// CLI11 reads config files on the main app only: this formatter files the
// config's top-level keys under `run`, so a sweep.toml holds plain run options
// (`layers = [1, 2]`, `epochs = 4000`, ...). Options given on the command line
// win over the file.
class RunConfig : public CLI::ConfigTOML {
 public:
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    auto items = CLI::ConfigTOML::from_config(input);
    for (auto& item : items)
      if (item.parents.empty() || item.parents.front() != "run") item.parents.insert(item.parents.begin(), "run");
    return items;
  }
};

void print_info(const std::string& path) {
  ResultsFile f(path);
  const auto rows = f.networks();
  const auto shape = f.frame_shape();
  std::printf("%s: netsweep %s, format %d, created %s\n", path.c_str(), f.attribute("tool_version").c_str(),
              f.format_version(), f.attribute("created").c_str());
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

std::string joined_command_line(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) s += (i ? " " : "") + std::string(argv[i]);
  return s;
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
  app.config_formatter(std::make_shared<RunConfig>());
  app.set_config("--config", "", "run: TOML file with run options (keys are the long option names)");
  app.allow_config_extras(CLI::config_extras_mode::error);
  run->fallthrough();  // `netsweep run --config FILE`

  std::string info_path;
  CLI::App* info = app.add_subcommand("info", "one row per network of a results file");
  info->add_option("file", info_path, "results file")->required();

  CLI11_PARSE(app, argc, argv);
  try {
    if (*run) {
      c.run.command_line = joined_command_line(argc, argv);
      if (c.frame_dtype != "f16" && c.frame_dtype != "f32")
        throw SpecError("--frame-dtype '" + c.frame_dtype + "': expected f16 or f32");
      c.run.frame_type = c.frame_dtype == "f16" ? FrameType::float16 : FrameType::float32;
      if (!c.from.empty()) {
        for (const auto* o : spec_options)
          if (o->count() > 0)
            throw SpecError("--from reruns the stored sweep exactly: drop " + o->get_name() +
                            " (only -o, --device, --threads, --frame-dtype and --quiet apply)");
        ResultsFile source(c.from);
        run_sweep(spec_from_json(source.attribute("spec")), source.dataset(), c.run);
      } else {
        run_sweep(make_spec(c), load_data(c.data), c.run);
      }
    } else if (*info) {
      print_info(info_path);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nnetsweep: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
