// The options of `netsweep run` (shared by `slurm` and `bench`) as CLI11
// options, and their conversion into the sweep's parts (spec and data) and
// RunOptions. One list, used by the command line (main.cpp) and by the
// --config fuzz harness, so that a config file is checked against exactly the
// keys the CLI takes.
#pragma once

#include <CLI/CLI.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "netsweep/dataset.h"
#include "netsweep/problem.h"
#include "netsweep/run.h"
#include "netsweep/spec.h"

namespace netsweep {

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
  // --data-seed given: refused in sweep_parts where every seed gives the same points.
  bool data_seed_given = false;
  RunOptions run;  // filled from the strings below by resolve_run_options
  std::string device = "auto", gpu_path = "auto", precision = "fp32";
  std::string frame_dtype = "f16";
  std::string from;
  std::string shard;
};

// The sweep the options describe (not yet validated; the loss and features of
// each part follow its data in sweep_parts).
SweepSpec make_spec(const CliRun& c);
// argv joined with spaces, as results files record it.
std::string joined_command_line(int argc, char** argv);
// The sweep, data and run options (spec options are also collected in spec_options, for --from).
void add_run_options(CLI::App& run, CliRun& c, std::vector<CLI::Option*>& spec_options);
// --shard, --resume, --checkpoint-every (`run` only).
void add_checkpoint_options(CLI::App& run, CliRun& c);
// --config FILE on the main app, read strictly (cli_config.h) with `run`'s keys.
void add_run_config(CLI::App& app, CLI::App& run, const std::string& config_path);
// The typed RunOptions from the parsed strings; throws SpecError.
void resolve_run_options(CliRun& c, int argc, char** argv, const CLI::App& app);

// One part of the sweep: a data source with a feature set (each part trains
// the whole grid of networks and writes its own results file).
struct SweepPart {
  std::string label;
  SweepSpec spec;
  Dataset data;
};
// The sweep to run: stored in a results or plan file (--from), or from the
// options: every data source x every feature set.
std::vector<SweepPart> sweep_parts(const CliRun& c, const std::vector<CLI::Option*>& spec_options);
// Commands that take a single part (bench, slurm).
SweepPart single_part(std::vector<SweepPart> parts, const char* command);

}  // namespace netsweep
