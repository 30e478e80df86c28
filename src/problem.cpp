// Data options -> Dataset, and spec + dataset -> TrainingProblem.
#include "netsweep/problem.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "host_util.h"

namespace netsweep {
namespace {

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
  const int64_t one_frame = saturating_mul(saturating_mul(grid_points, outputs), sizeof(float));
  const int64_t memory = saturating_add(saturating_add(saturating_mul(grid_points, inputs * int64_t(sizeof(float))),
                                                       saturating_mul(one_frame, 2 * workers + 1)),
                                        int64_t(256) << 20);
  const int64_t available = available_memory_bytes();
  if (available > 0 && memory > available)
    throw SpecError("--grid " + std::to_string(grid) + ": frames need about " + format_size(memory) +
                    " of memory (one frame is grid x grid x outputs x 4 bytes = " + format_size(one_frame) +
                    "), but only " + format_size(available) + " is available; lower --grid");
}

}  // namespace

namespace {
// The memory limit of this process's cgroup (a SLURM job's --mem, a
// container's), v2 or v1; -1 if none. Its usage is not subtracted: that counts
// page cache the kernel would give back.
int64_t cgroup_memory_limit() {
  std::ifstream cgroups("/proc/self/cgroup");
  std::string line;
  while (std::getline(cgroups, line)) {
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    const bool v2 = line.compare(0, a, "0") == 0 && controllers.empty();
    if (!v2 && ("," + controllers + ",").find(",memory,") == std::string::npos) continue;
    const std::string mount = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
    for (const std::string& dir : {mount + path, mount}) {  // a container may see its own cgroup as the root
      std::ifstream limit(dir + (v2 ? "/memory.max" : "/memory.limit_in_bytes"));
      std::string text;
      if (!(limit >> text)) continue;
      if (text == "max") return -1;
      const long long bytes = std::atoll(text.c_str());
      return bytes > 0 && bytes < (int64_t(1) << 60) ? bytes : -1;  // v1 writes "unlimited" as ~2^63
    }
  }
  return -1;
}
}  // namespace

// The least of: free physical memory, what the address-space limit (ulimit -v)
// leaves this process, and its cgroup's limit; -1 if none is known.
int64_t available_memory_bytes() {
  int64_t least = -1;
  const auto consider = [&](int64_t bytes) {
    if (bytes >= 0 && (least < 0 || bytes < least)) least = bytes;
  };
  const long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
  if (pages > 0 && size > 0) consider(int64_t(pages) * size);
  rlimit address_space{};
  if (getrlimit(RLIMIT_AS, &address_space) == 0 && address_space.rlim_cur != RLIM_INFINITY && size > 0) {
    long long mapped_pages = 0;  // the process's virtual size, the first field of statm
    std::ifstream("/proc/self/statm") >> mapped_pages;
    consider(std::max<int64_t>(0, int64_t(address_space.rlim_cur) - int64_t(mapped_pages) * size));
  }
  consider(cgroup_memory_limit());
  return least;
}

int64_t training_memory_bytes(const TrainingProblem& p, int threads) {
  const int64_t n = int64_t(p.networks.size()), f = int64_t(p.frame_epochs.size());
  // Parameters, the initial copy, Adam's two state buffers and a checkpoint's three copies.
  int64_t bytes = saturating_mul(p.layout.total, 7 * int64_t(sizeof(float)));
  // Per network: epoch losses (twice: results and checkpoint) and four metrics per frame.
  bytes = saturating_add(bytes, saturating_mul(n, saturating_mul(2 * int64_t(p.epochs) + 4 * f, sizeof(float))));
  // Per worker: a network's gradient and candidate step, and activations for a batch.
  int64_t widest = 0, largest = 0;
  for (size_t i = 0; i < p.networks.size(); ++i) {
    const NetworkLayout& net = p.layout.networks[i];
    largest = std::max(largest, net.count);
    widest = std::max(widest, saturating_mul(saturating_mul(int64_t(net.max_width), 2 * int64_t(net.layers.size()) + 4),
                                             effective_batch(p, int(i)) + 16));
  }
  const int64_t workers = worker_threads(threads);
  bytes = saturating_add(bytes, saturating_mul(workers, saturating_mul(saturating_add(4 * largest, widest), 4)));
  return bytes;
}

void check_training_memory(const TrainingProblem& p, int threads) {
  const int64_t need = training_memory_bytes(p, threads), available = available_memory_bytes();
  if (available > 0 && need > available)
    throw SpecError("the sweep needs about " + format_size(need) + " of memory to train (" +
                    std::to_string(p.networks.size()) + " networks, " + std::to_string(p.layout.total) +
                    " parameters, " + std::to_string(p.epochs) + " epochs of losses), but only " +
                    format_size(available) +
                    " is available; sweep fewer or narrower networks (--seeds, --widths, "
                    "--layers), or split it with --shard");
}

namespace {
std::vector<std::string> split_plus(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t plus; (plus = s.find('+', start)) != std::string::npos; start = plus + 1)
    parts.push_back(s.substr(start, plus - start));
  parts.push_back(s.substr(start));
  return parts;
}

// A generated part of the data: a --dataset value at one --noise level.
struct GeneratedPart {
  std::string value, label, at_noise;  // at_noise: " at --noise 0.1" where --noise is an axis of it
  std::vector<std::string> names;      // the generators joined with '+', as given
  std::vector<GeneratorSpec> generators;
};

// Each generated part the options name, in order (files, if any, come first and are not among them).
std::vector<GeneratedPart> generated_parts(const DataOptions& o, bool files) {
  std::vector<std::string> generators = o.datasets;
  if (!files && generators.empty()) generators.push_back(kDefaultDataset);
  const std::vector<float> noises = o.noises.empty() ? std::vector<float>{o.generator.noise} : o.noises;
  const auto takes_noise_axis = [&](const std::string& value) {
    bool any_default_noise = false;
    for (const auto& g : split_plus(value)) any_default_noise |= !parse_generator(g, o.generator).noise_given;
    return any_default_noise;
  };
  // Refused rather than ignored: noise the user asked for would be missing from the data.
  if (!o.noises.empty() && std::none_of(generators.begin(), generators.end(), takes_noise_axis))
    throw DataError(generators.empty() ? "--noise: the data are files (--points, --csv), which it does not change"
                                       : "--noise: every --dataset sets its own noise=, which wins over it");
  std::vector<GeneratedPart> parts;
  for (const auto& value : generators) {
    const bool noise_axis = takes_noise_axis(value);  // --noise is an axis for generators without their own noise=
    for (size_t k = 0; k < (noise_axis ? noises.size() : 1); ++k) {
      GeneratorOptions defaults = o.generator;
      defaults.noise = noises[k];
      GeneratedPart part{value, value, "", split_plus(value), {}};
      for (const auto& g : part.names) part.generators.push_back(parse_generator(g, defaults));
      if (noise_axis && noises.size() > 1) {
        part.label += " noise=" + format_number(noises[k]);
        part.at_noise = " at --noise " + format_number(noises[k]);
      }
      parts.push_back(std::move(part));
    }
  }
  return parts;
}
}  // namespace

bool generated_points_follow_seed(const DataOptions& o) {
  const bool files = !o.points.empty() || !o.csv.empty();
  DataOptions next = o;
  next.generator.seed = o.generator.seed + 1;
  const std::vector<GeneratedPart> at = generated_parts(o, files), after = generated_parts(next, files);
  for (size_t i = 0; i < at.size(); ++i)
    for (size_t j = 0; j < at[i].generators.size(); ++j) {
      const GeneratorSpec &a = at[i].generators[j], &b = after[i].generators[j];
      if (a.options.seed != b.options.seed && generate(a).coords != generate(b).coords) return true;
    }
  return false;  // each generator's own seed=, or points no seed moves (moons at noise 0)
}

std::vector<DataPart> load_data_parts(const DataOptions& o) {
  std::vector<DataPart> out;
  // Files: one data source, joined (the slide experiment's green and red points).
  {
    // A file given twice (a copied --points FILE:0 left as FILE:1) counts each of its points twice.
    std::vector<std::pair<std::string, std::string>> given;  // (file, as given)
    for (const auto& arg : o.points) given.push_back({split_points_arg(arg).first, "--points " + arg});
    for (const auto& file : o.csv) given.push_back({file, "--csv " + file});
    for (size_t i = 0; i < given.size(); ++i)
      for (size_t j = 0; j < i; ++j) {
        std::error_code ec;
        if (given[i].first == given[j].first || std::filesystem::equivalent(given[i].first, given[j].first, ec))
          throw DataError(given[i].first + ": given twice (" + given[j].second + " and " + given[i].second +
                          "): each of its points would be counted twice");
      }
    std::vector<PointSet> files;
    nlohmann::json source = nlohmann::json::array();
    std::string names;  // the files, for what is wrong with their points together (one class, a gap)
    for (const auto& arg : o.points) {
      const auto [file, label_number] = split_points_arg(arg);
      files.push_back(load_points_json(file, label_number));
      source.push_back({{"points", file}, {"label", label_number}});
      names += (names.empty() ? "" : " + ") + file;
    }
    for (const auto& file : o.csv) {
      files.push_back(load_csv(file));
      source.push_back({{"csv", file}});
      names += (names.empty() ? "" : " + ") + file;
    }
    if (!files.empty()) {
      try {
        out.push_back({o.csv.empty()      ? "points"
                       : o.points.empty() ? "csv"
                                          : "points+csv",
                       make_dataset(files, o.test_fraction, o.generator.seed, source.dump())});
      } catch (const DataError& e) {
        throw DataError(names + ": " + e.what());
      }
    }
  }
  for (const GeneratedPart& part : generated_parts(o, !out.empty())) {
    std::vector<PointSet> sets;
    nlohmann::json source = nlohmann::json::array();
    for (const GeneratorSpec& spec : part.generators) {
      sets.push_back(generate(spec));
      // What was actually generated: the inline settings over the defaults.
      source.push_back({{"generator", spec.name},
                        {"n_points", spec.options.n_points},
                        {"noise", spec.options.noise},
                        {"seed", spec.options.seed}});
    }
    for (size_t i = 0; i < source.size(); ++i)  // circle+circle: each point twice
      for (size_t j = 0; j < i; ++j)
        if (source[i] == source[j])
          throw DataError("--dataset '" + part.value + "': '" + part.names[j] + "' and '" + part.names[i] +
                          "' generate the same points; each would be counted twice");
    // The same data twice (--dataset moons --dataset moons, --noise 0.1,0.10) would train the
    // same networks twice, which the summaries then count as replicas.
    for (const DataPart& earlier : out)
      if (nlohmann::json::parse(earlier.data.description_json).at("source") == source)
        throw DataError("--dataset '" + part.value + "'" + part.at_noise + ": the same data as the part '" +
                        earlier.label + "'; give each data set once");
    out.push_back({part.label, make_dataset(sets, o.test_fraction, o.generator.seed, source.dump())});
  }
  return out;
}

Dataset load_data(const DataOptions& o) {
  std::vector<DataPart> parts = load_data_parts(o);
  if (parts.size() != 1)
    throw DataError("this needs one data source, but the options name " + std::to_string(parts.size()) +
                    " (each --dataset and --noise level is one; join generators with '+', e.g. circle+xor)");
  return std::move(parts[0].data);
}

std::array<float, 4> frame_extent(const SweepSpec& spec, const Dataset& data) {
  return spec.extent ? *spec.extent : data_extent(data, 0.05f);
}

namespace {
// Every column (row) of the frame grid at its own coordinate: a plane only a
// few float steps wide at its magnitude repeats them (--extent 1,1.0000001).
void check_grid_steps(const std::array<float, 4>& e, int w, int h, bool asked) {
  const std::string which = asked ? "--extent" : "the plane around the data";
  for (int i = 1; i < w; ++i)
    if (!(grid_column_x(e, i, w) > grid_column_x(e, i - 1, w)))
      throw SpecError(which + " (x from " + format_number(e[0], "%.9g") + " to " + format_number(e[1], "%.9g") +
                      ") is too narrow for --grid " + std::to_string(w) +
                      " in float32: columns repeat a coordinate; widen it or lower --grid");
  for (int j = 1; j < h; ++j)
    if (!(grid_row_y(e, j, h) < grid_row_y(e, j - 1, h)))
      throw SpecError(which + " (y from " + format_number(e[2], "%.9g") + " to " + format_number(e[3], "%.9g") +
                      ") is too narrow for --grid " + std::to_string(h) +
                      " in float32: rows repeat a coordinate; widen it or lower --grid");
}
}  // namespace

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
  p.extent = frame_extent(spec, d);
  p.grid_w = spec.grid;
  p.grid_h = d.regression ? 1 : spec.grid;
  check_frame_memory(spec.grid, int64_t(p.grid_w) * p.grid_h, p.inputs, p.outputs);
  check_grid_steps(p.extent, p.grid_w, p.grid_h, spec.extent.has_value());
  std::vector<float> coords;
  coords.reserve(size_t(p.grid_w) * size_t(p.grid_h) * size_t(dims));
  for (int j = 0; j < p.grid_h; ++j)
    for (int i = 0; i < p.grid_w; ++i) {
      coords.push_back(grid_column_x(p.extent, i, p.grid_w));
      if (dims == 2) coords.push_back(grid_row_y(p.extent, j, p.grid_h));
    }
  p.grid_x = compute_features(coords, dims, features);
  p.epochs = spec.epochs;
  p.frame_epochs = snapshot_epochs(spec.epochs, spec.snapshot_every);
  p.early_stop_loss = spec.early_stop_loss;
  p.networks = expand(spec);
  p.layout = PackedLayout::build(p.networks, p.inputs, p.outputs);
  // Inside the networks: which ones, and the neuron grid (the frames' plane, coarser).
  for (size_t i = 0; i < p.networks.size(); ++i) {
    const int units = hidden_units(p, int(i));
    p.record_neurons.push_back(spec.neuron_maps == InsideRule::all ||
                               (spec.neuron_maps == InsideRule::automatic && units <= kAutoNeuronMapUnits));
    p.record_weights.push_back(
        spec.record_weights == InsideRule::all ||
        (spec.record_weights == InsideRule::automatic && p.layout.networks[i].count <= kAutoWeightParameters));
  }
  p.neuron_grid_w = spec.neuron_grid;
  p.neuron_grid_h = d.regression ? 1 : spec.neuron_grid;
  std::vector<float> neuron_coords;
  for (int j = 0; j < p.neuron_grid_h; ++j)
    for (int i = 0; i < p.neuron_grid_w; ++i) {
      neuron_coords.push_back(grid_column_x(p.extent, i, p.neuron_grid_w));
      if (dims == 2) neuron_coords.push_back(grid_row_y(p.extent, j, p.neuron_grid_h));
    }
  p.neuron_grid_x = compute_features(neuron_coords, dims, features);
  return p;
}

}  // namespace netsweep
