#include "netsweep/run.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "netsweep/cuda_backend.h"
#include "netsweep/version.h"
#include "progress.h"

namespace netsweep {
namespace {

std::string gib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", double(bytes) / double(int64_t(1) << 30));
  return buf;
}

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
void check_frame_memory(int64_t grid_points, int inputs, int outputs) {
  const int64_t workers = std::max(1u, std::thread::hardware_concurrency());
  const int64_t one_frame = grid_points * outputs * int64_t(sizeof(float));
  const int64_t memory =
      grid_points * inputs * int64_t(sizeof(float)) + one_frame * (2 * workers + 1) + (int64_t(256) << 20);
  const int64_t available = available_memory_bytes();
  if (available > 0 && memory > available)
    throw SpecError("--grid " + std::to_string(int64_t(std::sqrt(double(grid_points)))) + ": frames need about " +
                    gib(memory) + " of memory (one frame is grid x grid x outputs x 4 bytes = " + gib(one_frame) +
                    "), but only " + gib(available) + " is available; lower --grid");
}

// Refuses, before any work, frames that cannot fit on the output's disk.
void check_frame_disk(const TrainingProblem& p, const RunOptions& o) {
  const int64_t disk = frame_bytes(p, o.frame_type);
  std::error_code ec;
  auto dir = std::filesystem::absolute(o.output).parent_path();
  const auto space = std::filesystem::space(dir, ec);
  if (ec) throw SpecError("-o " + o.output + ": cannot use directory " + dir.string() + ": " + ec.message());
  if (int64_t(space.available) < disk)
    throw SpecError("-o " + o.output + ": the frames could take up to " + gib(disk) +
                    " (networks x frames x grid^2 x outputs, before compression) but " + dir.string() + " has " +
                    gib(int64_t(space.available)) +
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
  check_frame_memory(int64_t(p.grid_w) * p.grid_h, p.inputs, p.outputs);
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

void run_sweep(const SweepSpec& spec, const Dataset& data, const RunOptions& o) {
  TrainingProblem problem = build_problem(spec, data);
  std::unique_ptr<Backend> backend;
  if (o.device == "cpu") {
    backend = make_cpu_backend(o.threads);
  } else if (o.device == "cuda" || o.device == "auto") {
    std::string why_not;
    backend = make_cuda_backend(why_not);
    if (!backend) {
      if (o.device == "cuda") throw SpecError("--device cuda: " + why_not);
      if (!o.quiet) std::fprintf(stderr, "netsweep: no GPU backend (%s); training on the CPU\n", why_not.c_str());
      backend = make_cpu_backend(o.threads);
    }
  } else {
    throw SpecError("--device '" + o.device + "': expected auto, cpu or cuda");
  }
  check_frame_disk(problem, o);

  RunMetadata meta;
  meta.tool_version = kVersion;
  meta.device = backend->device_description();
  meta.created_utc = utc_now();
  meta.spec_json = spec_to_json(spec);
  meta.command_line = o.command_line;
  for (int k = 0; k < problem.inputs; ++k) meta.features.push_back(problem.feature_names[size_t(k)]);
  meta.extent = spec.extent ? *spec.extent : data_extent(data, 0.05f);
  meta.frame_type = o.frame_type;

  std::vector<float> params(size_t(problem.layout.total));
  initialize_parameters(problem.layout, problem.networks, params.data());
  const std::vector<float> initial = params;
  std::vector<NetworkResult> results;
  Progress progress;
  progress.work_total = problem_work(problem);
  ResultsWriter writer(o.output, problem, data, meta);
  if (!o.quiet)
    std::fprintf(stderr,
                 "netsweep: %zu networks x %d epochs on %s, %d train / %d test points, %zu frames of %dx%d -> %s\n",
                 problem.networks.size(), problem.epochs, meta.device.c_str(), problem.n_train, problem.n_test,
                 problem.frame_epochs.size(), problem.grid_w, problem.grid_h, o.output.c_str());
  const auto start = std::chrono::steady_clock::now();
  {
    ProgressReporter reporter(progress, int(problem.networks.size()), !o.quiet);
    backend->train(problem, params, results, writer, progress);
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  writer.finish(initial, params, results, elapsed);
  if (!o.quiet) {
    int diverged = 0;
    for (const auto& r : results) diverged += r.status == NetStatus::diverged;
    std::fprintf(stderr, "netsweep: wrote %s (%.1f s%s)\n", o.output.c_str(), elapsed,
                 diverged ? (", " + std::to_string(diverged) + " diverged").c_str() : "");
  }
}

}  // namespace netsweep
