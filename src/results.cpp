#include "netsweep/results.h"

#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>
#include <type_traits>

#include "frame_pipeline.h"
#include "h5.h"
#include "host_util.h"
#include "netsweep/problem.h"

namespace netsweep {
namespace {

size_t frame_elements(const TrainingProblem& p) { return size_t(p.grid_h) * size_t(p.grid_w) * size_t(p.outputs); }

// " (no space left ...)" when the disk of `path` is (nearly) full: the likely cause of a failed write.
std::string space_note(const std::string& path) {
  std::error_code ec;
  const auto space = std::filesystem::space(std::filesystem::absolute(path).parent_path(), ec);
  if (ec || space.available >= (uintmax_t(1) << 20)) return "";
  return " (no space left: " + std::to_string(space.available) + " bytes free on its disk)";
}

float last_finite(const std::vector<float>& v) {
  for (auto it = v.rbegin(); it != v.rend(); ++it)
    if (std::isfinite(*it)) return *it;
  return NAN;
}

void write_points(hid_t group, const std::string& prefix, const PointSet& points, const std::vector<float>& targets,
                  int outputs, bool regression) {
  const hsize_t n = points.size();
  h5::write(group, prefix + "_points", {n, hsize_t(points.dims)}, points.coords);
  h5::write(group, prefix + "_labels", {n}, points.labels);
  h5::write(group, prefix + "_targets", {n, hsize_t(outputs)}, targets);
  if (regression) h5::write(group, prefix + "_values", {n}, points.values);
}

void write_data_group(hid_t file, const TrainingProblem& problem, const Dataset& data) {
  auto g = h5::create_group(file, "data");
  h5::set_attr(g, "kind", std::string(data.regression ? "regression-1d" : "classification-2d"));
  h5::set_attr(g, "classes", int64_t(data.classes));
  h5::set_attr(g, "inputs", int64_t(problem.inputs));
  h5::set_attr(g, "outputs", int64_t(problem.outputs));
  h5::write_strings(g, "features", problem.feature_names);
  write_points(g, "train", data.train, problem.train_y, problem.outputs, data.regression);
  write_points(g, "test", data.test, problem.test_y, problem.outputs, data.regression);
}

Dataset read_data_group(hid_t file, const std::string& where, const std::string& description) {
  auto g = h5::open_group(file, "data");
  Dataset d;
  d.regression = h5::get_string_attr(g, "kind", where) == "regression-1d";
  d.classes = int(h5::get_int_attr(g, "classes", where));
  d.description_json = description;
  for (auto [set, prefix] : {std::pair<PointSet*, const char*>{&d.train, "train"}, {&d.test, "test"}}) {
    const std::string p = prefix;
    const auto dims = h5::shape(g, p + "_points", where);
    set->dims = dims.size() == 2 ? int(dims[1]) : (d.regression ? 1 : 2);
    set->coords = h5::read<float>(g, p + "_points", where);
    set->labels = h5::read<int32_t>(g, p + "_labels", where);
    if (d.regression) set->values = h5::read<float>(g, p + "_values", where);
  }
  validate_dataset(d, where + ": stored data");  // what would be refused as input is refused here too
  return d;
}

constexpr const char* kPlanFormat = "netsweep-plan";

// Refuses anything but a netsweep results file (or, with plan_ok, a plan
// file) of the format version this build reads.
void check_format(hid_t file, const std::string& path, bool plan_ok) {
  const std::string format = h5::has_attr(file, "format") ? h5::get_string_attr(file, "format", path) : "";
  if (format != kFormatName && !(plan_ok && format == kPlanFormat))
    throw ResultsError(plan_ok ? path + ": neither a netsweep results file nor a plan file"
                               : path + ": not a netsweep results file (root attribute 'format' is not '" +
                                     std::string(kFormatName) + "')");
  const int64_t version = h5::get_int_attr(file, "format_version", path);
  if (version != kFormatVersion)
    throw ResultsError(path + ": format version " + std::to_string(version) + ", this netsweep reads version " +
                       std::to_string(kFormatVersion));
}

// Columns files of earlier versions lack: read as NaN there.
constexpr bool kAddedInVersion1_1 = true;

// The networks table: one dataset per NetworkRow field, written and read
// through this one list (in this order).
template <typename F>
void for_each_network_column(F&& column_of) {
  auto column = [&](const char* name, auto member, bool optional = false) { column_of(name, member, optional); };
  column("id", &NetworkRow::id);
  column("hidden_shape", &NetworkRow::hidden_shape);
  column("hidden_layers", &NetworkRow::hidden_layers);
  column("width", &NetworkRow::width);
  column("uniform", &NetworkRow::uniform);
  column("activation", &NetworkRow::activation);
  column("optimizer", &NetworkRow::optimizer);
  column("lr", &NetworkRow::lr);
  column("batch", &NetworkRow::batch);
  column("l1", &NetworkRow::l1, kAddedInVersion1_1);
  column("l2", &NetworkRow::l2, kAddedInVersion1_1);
  column("momentum", &NetworkRow::momentum, kAddedInVersion1_1);
  column("seed", &NetworkRow::seed);
  column("replica", &NetworkRow::replica);
  column("status", &NetworkRow::status);
  column("epochs_trained", &NetworkRow::epochs_trained);
  column("parameters", &NetworkRow::parameters);
  column("final_epoch_loss", &NetworkRow::final_epoch_loss);
  column("final_train_loss", &NetworkRow::final_train_loss);
  column("final_test_loss", &NetworkRow::final_test_loss);
  column("final_train_accuracy", &NetworkRow::final_train_accuracy);
  column("final_test_accuracy", &NetworkRow::final_test_accuracy);
  column("wall_seconds", &NetworkRow::wall_seconds);
}

// How a NetworkRow field is stored: ints as int32, flags as int8, the rest as they are.
template <typename T>
struct Stored {
  using type = T;
};
template <>
struct Stored<int> {
  using type = int32_t;
};
template <>
struct Stored<bool> {
  using type = int8_t;
};

template <typename T>
void write_column(hid_t group, const char* name, const std::vector<NetworkRow>& rows, T NetworkRow::*member) {
  if constexpr (std::is_same_v<T, std::string>) {
    std::vector<std::string> values;
    for (const auto& r : rows) values.push_back(r.*member);
    h5::write_strings(group, name, values);
  } else {
    std::vector<typename Stored<T>::type> values;
    for (const auto& r : rows) values.push_back(typename Stored<T>::type(r.*member));
    h5::write(group, name, values);
  }
}

template <typename T>
void read_column(hid_t group, const char* name, std::vector<NetworkRow>& rows, T NetworkRow::*member,
                 const std::string& where, bool optional) {
  if constexpr (std::is_floating_point_v<T>) {
    if (optional && !h5::exists(group, name)) {
      for (auto& r : rows) r.*member = T(NAN);
      return;
    }
  }
  auto values = [&] {
    if constexpr (std::is_same_v<T, std::string>)
      return h5::read_strings(group, name, where);
    else
      return h5::read<typename Stored<T>::type>(group, name, where);
  }();
  if (values.size() != rows.size())
    throw ResultsError(where + ": networks/" + name + " has " + std::to_string(values.size()) +
                       " rows but networks/id has " + std::to_string(rows.size()));
  for (size_t i = 0; i < rows.size(); ++i) rows[i].*member = T(values[i]);
}

NetworkRow network_row(const TrainingProblem& p, size_t i, const NetworkResult& r) {
  const NetworkConfig& c = p.networks[i];
  NetworkRow row;
  row.id = c.id;
  row.hidden_shape = c.shape_label();
  row.hidden_layers = int(c.hidden.size());
  row.width = c.uniform && !c.hidden.empty() ? c.hidden[0] : -1;
  row.uniform = c.uniform;
  row.activation = to_string(c.activation);
  row.optimizer = to_string(c.optimizer.kind);
  row.lr = float(c.optimizer.lr);
  row.l1 = float(c.optimizer.l1);
  row.l2 = float(c.optimizer.l2);
  row.momentum = c.optimizer.kind == Optimizer::momentum ? float(c.optimizer.momentum) : NAN;
  row.batch = c.batch;
  row.seed = c.seed;
  row.replica = c.replica;
  row.status = to_string(r.status);
  row.epochs_trained = r.epochs_trained;
  row.parameters = p.layout.networks[i].count;
  row.final_epoch_loss = last_finite(r.epoch_loss);
  row.final_train_loss = r.snapshot_train_loss.back();
  row.final_test_loss = r.snapshot_test_loss.back();
  row.final_train_accuracy = r.snapshot_train_accuracy.back();
  row.final_test_accuracy = r.snapshot_test_accuracy.back();
  row.wall_seconds = r.wall_seconds;
  return row;
}

}  // namespace

int64_t frame_bytes(const TrainingProblem& p, FrameType type) {
  return saturating_mul(saturating_mul(int64_t(p.networks.size()), int64_t(p.frame_epochs.size())),
                        saturating_mul(int64_t(frame_elements(p)), type == FrameType::float16 ? 2 : 4));
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

// Frames are converted to the stored type by the caller's thread, then
// compressed and written by the frame pipeline.
struct ResultsWriter::Impl {
  const TrainingProblem& problem;
  const Dataset& data;
  RunMetadata meta;
  std::string final_path, partial;
  h5::Handle file, frames, neuron_maps, weight_snapshots;
  size_t element_size = 2;
  std::vector<int64_t> neuron_offsets, snapshot_offsets;  // (networks + 1) see docs/results-format.md
  std::unique_ptr<FramePipeline> pipeline;
  bool finished = false;

  // A chunked dataset of the frame type, one chunk per `chunk`, shuffle + deflate, NaN where never written.
  h5::Handle create_chunked(const char* name, const std::vector<hsize_t>& dims, const std::vector<hsize_t>& chunk) {
    const hid_t type = meta.frame_type == FrameType::float16 ? h5::float16_type() : H5T_NATIVE_FLOAT;
    h5::Handle space(H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose, std::string(name) + " space");
    h5::Handle props(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, std::string(name) + " properties");
    h5::check(H5Pset_chunk(props, int(chunk.size()), chunk.data()), std::string(name) + " chunking");
    h5::check(H5Pset_shuffle(props), std::string(name) + " shuffle filter");
    h5::check(H5Pset_deflate(props, 1), std::string(name) + " deflate filter");
    const float nan = NAN;
    h5::check(H5Pset_fill_value(props, H5T_NATIVE_FLOAT, &nan), std::string(name) + " fill value");
    return h5::Handle(H5Dcreate2(file, name, type, space, H5P_DEFAULT, props, H5P_DEFAULT), H5Dclose,
                      partial + ": cannot create dataset " + name);
  }

  // neurons/maps (units, frames, H, W) and weights/snapshots (S,), for the networks that record them.
  void create_inside_datasets() {
    const size_t n = problem.networks.size();
    const hsize_t f = problem.frame_epochs.size();
    neuron_offsets.assign(n + 1, 0);
    snapshot_offsets.assign(n + 1, 0);
    for (size_t i = 0; i < n; ++i) {
      neuron_offsets[i + 1] = neuron_offsets[i] + (problem.record_neurons[i] ? hidden_units(problem, int(i)) : 0);
      snapshot_offsets[i + 1] =
          snapshot_offsets[i] + (problem.record_weights[i] ? int64_t(f) * problem.layout.networks[i].count : 0);
    }
    auto g = h5::create_group(file, "neurons");
    const hsize_t h = hsize_t(problem.neuron_grid_h), w = hsize_t(problem.neuron_grid_w);
    neuron_maps = create_chunked("neurons/maps", {hsize_t(neuron_offsets[n]), f, h, w}, {1, 1, h, w});
    const hsize_t s = hsize_t(snapshot_offsets[n]);
    h5::Handle space(H5Screate_simple(1, &s, nullptr), H5Sclose, "weights/snapshots space");
    auto weights = h5::create_group(file, "weights");
    weight_snapshots = h5::Handle(
        H5Dcreate2(file, "weights/snapshots", H5T_NATIVE_FLOAT, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose,
        partial + ": cannot create dataset weights/snapshots");
  }

  Impl(const std::string& path, const TrainingProblem& p, const Dataset& d, const RunMetadata& m)
      : problem(p), data(d), meta(m), final_path(path) {
    h5::silence_errors();
    partial = path + ".partial-" + std::to_string(::getpid());
    file = h5::create_file(partial, partial + ": cannot create the output file (is the directory writable?)");
    element_size = meta.frame_type == FrameType::float16 ? 2 : 4;
    const hsize_t f = hsize_t(p.frame_epochs.size());
    frames = create_chunked(
        "frames", {hsize_t(p.networks.size()), f, hsize_t(p.grid_h), hsize_t(p.grid_w), hsize_t(p.outputs)},
        {1, 1, hsize_t(p.grid_h), hsize_t(p.grid_w), hsize_t(p.outputs)});  // one frame of one network
    create_inside_datasets();
    pipeline = std::make_unique<FramePipeline>(partial);
  }

  ~Impl() {
    pipeline.reset();
    neuron_maps.reset();
    weight_snapshots.reset();
    frames.reset();
    file.reset();
    if (!finished) std::filesystem::remove(partial);
  }

  // n values in the stored frame type: floats converted, or (half_bits) float16 bits as they are.
  std::vector<unsigned char> stored(const void* values, size_t n, bool half_bits) const {
    std::vector<unsigned char> bytes(n * element_size);
    if (meta.frame_type == FrameType::float16 && !half_bits) {
      auto* out = reinterpret_cast<uint16_t*>(bytes.data());
      const auto* in = static_cast<const float*>(values);
      for (size_t k = 0; k < n; ++k) out[k] = float_to_half_bits(in[k]);
    } else {
      std::memcpy(bytes.data(), values, bytes.size());
    }
    return bytes;
  }

  void enqueue(int index, int frame, const void* values, bool half_bits) {
    pipeline->enqueue_chunk(frames, {hsize_t(index), hsize_t(frame), 0, 0, 0}, element_size,
                            stored(values, frame_elements(problem), half_bits));
  }

  void enqueue_neuron_maps(int index, int frame, const float* maps) {
    const size_t points = size_t(problem.neuron_grid_h) * size_t(problem.neuron_grid_w);
    const int64_t first = neuron_offsets[size_t(index)], units = neuron_offsets[size_t(index) + 1] - first;
    for (int64_t u = 0; u < units; ++u)
      pipeline->enqueue_chunk(neuron_maps, {hsize_t(first + u), hsize_t(frame), 0, 0}, element_size,
                              stored(maps + size_t(u) * points, points, false));
  }

  void enqueue_weights(int index, int frame, const float* params) {
    const int64_t count = problem.layout.networks[size_t(index)].count;
    if (snapshot_offsets[size_t(index) + 1] == snapshot_offsets[size_t(index)]) return;  // not recorded
    std::vector<unsigned char> bytes(size_t(count) * sizeof(float));
    std::memcpy(bytes.data(), params, bytes.size());
    pipeline->enqueue_slab(weight_snapshots, H5T_NATIVE_FLOAT,
                           hsize_t(snapshot_offsets[size_t(index)] + int64_t(frame) * count), std::move(bytes),
                           sizeof(float));
  }

  void write_inside_index() {
    auto g = h5::open_group(file, "neurons");
    h5::write(g, "offsets", neuron_offsets);
    std::vector<int32_t> network, layer, unit;
    for (size_t i = 0; i < problem.networks.size(); ++i) {
      if (!problem.record_neurons[i]) continue;
      const auto& hidden = problem.networks[i].hidden;
      for (size_t l = 0; l < hidden.size(); ++l)
        for (int u = 0; u < hidden[l]; ++u) {
          network.push_back(int32_t(i));
          layer.push_back(int32_t(l));
          unit.push_back(u);
        }
    }
    h5::write(g, "network", network);
    h5::write(g, "layer", layer);
    h5::write(g, "unit", unit);
    std::vector<float> xs(size_t(problem.neuron_grid_w)), ys(size_t(problem.neuron_grid_h));
    for (int i = 0; i < problem.neuron_grid_w; ++i)
      xs[size_t(i)] = grid_column_x(problem.extent, i, problem.neuron_grid_w);
    for (int j = 0; j < problem.neuron_grid_h; ++j)
      ys[size_t(j)] = grid_row_y(problem.extent, j, problem.neuron_grid_h);
    h5::write(g, "grid_x", xs);
    h5::write(g, "grid_y", ys);
    h5::set_attr(neuron_maps, "layout",
                 std::string("(units, frames, H, W): network n's hidden units are rows offsets[n]..offsets[n+1], layer "
                             "by layer; row 0 is the top of the plane"));
    auto w = h5::open_group(file, "weights");
    h5::write(w, "snapshot_offsets", snapshot_offsets);
    h5::set_attr(weight_snapshots, "layout",
                 std::string("network n's parameters at frame f: snapshots[snapshot_offsets[n] + f * parameters[n] : "
                             "+ parameters[n]] (empty range: not recorded)"));
  }

  // The file as netCDF-4 (xarray, h5netcdf, netCDF-C) reads it: every dataset's
  // axes are named dimensions. The root holds the shared dimensions with their
  // values (network ids, frame epochs, the grid), and second names (hard links)
  // for the networks table and the per-network curves, so that the root alone
  // is a complete dataset with the table as coordinates along `network`.
  void write_netcdf_view() {
    const size_t n = problem.networks.size();
    int next_id = 0;
    auto coordinate = [&](const char* name, const auto& values) {
      h5::write(file, name, values);
      h5::make_coordinate_dimension(file, name, next_id++);
    };
    std::vector<int32_t> ids(n), outputs(size_t(problem.outputs)), epochs(size_t(problem.epochs));
    for (size_t i = 0; i < n; ++i) ids[i] = int32_t(problem.networks[i].id);
    for (int o = 0; o < problem.outputs; ++o) outputs[size_t(o)] = o;
    for (int e = 0; e < problem.epochs; ++e) epochs[size_t(e)] = e + 1;
    coordinate("network", ids);
    coordinate("frame", std::vector<int32_t>(problem.frame_epochs.begin(), problem.frame_epochs.end()));
    coordinate("y", h5::read<float>(file, "grid/y", partial));
    coordinate("x", h5::read<float>(file, "grid/x", partial));
    coordinate("output", outputs);
    coordinate("epoch", epochs);
    h5::attach_dimensions(file, "frame_epochs", {"frame"});
    h5::attach_dimensions(file, "grid/x", {"x"});
    h5::attach_dimensions(file, "grid/y", {"y"});

    // The networks table along `network`, also at the root; every per-network
    // variable lists the table as its coordinates (the CF `coordinates` attribute).
    std::string table;
    for_each_network_column([&](const char* name, auto, bool) {
      const std::string path = std::string("networks/") + name;
      h5::attach_dimensions(file, path, {"network"});
      if (std::string(name) == "id") return;  // the `network` coordinate itself
      h5::hard_link(file, path, name);
      table += (table.empty() ? "" : " ") + std::string(name);
    });
    auto per_network = [&](const std::string& path, const std::vector<std::string>& dims, const char* root_name) {
      h5::attach_dimensions(file, path, dims);
      auto set = h5::Handle(H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose, partial + ": cannot open " + path);
      h5::set_attr(set, "coordinates", table);
      if (root_name) h5::hard_link(file, path, root_name);
    };
    per_network("frames", {"network", "frame", "y", "x", "output"}, nullptr);
    per_network("losses/epoch", {"network", "epoch"}, "epoch_loss");
    h5::attach_dimensions(file, "snapshots/epoch", {"frame"});
    for (const char* m : {"train_loss", "test_loss", "train_accuracy", "test_accuracy"})
      per_network(std::string("snapshots/") + m, {"network", "frame"}, m);

    // The data, with dimensions of its own in its group.
    {
      auto g = h5::open_group(file, "data");
      const hsize_t dims = hsize_t(data.regression ? 1 : 2);
      h5::create_dimension(g, "train_point", data.train.size(), next_id++);
      h5::create_dimension(g, "test_point", data.test.size(), next_id++);
      h5::create_dimension(g, "coordinate", dims, next_id++);
      h5::create_dimension(g, "feature", problem.feature_names.size(), next_id++);
    }
    h5::attach_dimensions(file, "data/features", {"data/feature"});
    for (const char* set : {"train", "test"}) {
      const std::string d = std::string("data/") + set, point = d + "_point";
      h5::attach_dimensions(file, d + "_points", {point, "data/coordinate"});
      h5::attach_dimensions(file, d + "_labels", {point});
      h5::attach_dimensions(file, d + "_targets", {point, "output"});
      if (data.regression) h5::attach_dimensions(file, d + "_values", {point});
    }

    // Parameters and what was recorded inside the networks.
    {
      auto w = h5::open_group(file, "weights");
      h5::create_dimension(w, "network_edge", n + 1, next_id++);
      h5::create_dimension(w, "parameter", h5::shape(file, "weights/final", partial)[0], next_id++);
      h5::create_dimension(w, "snapshot_value", h5::shape(file, "weights/snapshots", partial)[0], next_id++);
      auto g = h5::open_group(file, "neurons");
      h5::create_dimension(g, "network_edge", n + 1, next_id++);
      h5::create_dimension(g, "neuron", h5::shape(file, "neurons/maps", partial)[0], next_id++);
      h5::make_coordinate_dimension(g, "grid_y", next_id++);
      h5::make_coordinate_dimension(g, "grid_x", next_id++);
    }
    for (const char* v : {"offsets", "snapshot_offsets"})
      h5::attach_dimensions(file, std::string("weights/") + v, {"weights/network_edge"});
    for (const char* v : {"initial", "final"})
      h5::attach_dimensions(file, std::string("weights/") + v, {"weights/parameter"});
    h5::attach_dimensions(file, "weights/snapshots", {"weights/snapshot_value"});
    h5::attach_dimensions(file, "neurons/offsets", {"neurons/network_edge"});
    for (const char* v : {"network", "layer", "unit"})
      h5::attach_dimensions(file, std::string("neurons/") + v, {"neurons/neuron"});
    h5::attach_dimensions(file, "neurons/maps", {"neurons/neuron", "frame", "neurons/grid_y", "neurons/grid_x"});
  }

  void write_metadata(double elapsed) {
    h5::set_attr(file, "format", std::string(kFormatName));
    h5::set_attr(file, "format_version", int64_t(kFormatVersion));
    h5::set_attr(file, "tool_version", meta.tool_version);
    h5::set_attr(file, "device", meta.device);
    h5::set_attr(file, "created", meta.created_utc);
    h5::set_attr(file, "spec", meta.spec_json);
    h5::set_attr(file, "dataset", data.description_json);
    h5::set_attr(file, "command_line", meta.command_line);
    if (!meta.options.empty()) h5::set_attr(file, "options", meta.options);
    h5::set_attr(file, "loss", std::string(to_string(problem.loss)));
    h5::set_attr(file, "networks", int64_t(problem.networks.size()));
    h5::set_attr(file, "epochs", int64_t(problem.epochs));
    h5::set_attr(file, "elapsed_seconds", elapsed);
    h5::set_attr(file, "sweep_hash", meta.sweep_hash);
    if (meta.shard_count > 0) {
      h5::set_attr(file, "shard_index", int64_t(meta.shard_index));
      h5::set_attr(file, "shard_count", int64_t(meta.shard_count));
    }
    if (meta.part.count > 0) {
      h5::set_attr(file, "part_index", int64_t(meta.part.index));
      h5::set_attr(file, "part_count", int64_t(meta.part.count));
      h5::set_attr(file, "part_label", meta.part.label);
    }
  }

  void write_grid() {
    auto g = h5::create_group(file, "grid");
    const auto& e = problem.extent;
    h5::set_attr(g, "extent", std::vector<double>{e[0], e[1], e[2], e[3]});
    std::vector<float> xs(size_t(problem.grid_w)), ys(size_t(problem.grid_h));
    for (int i = 0; i < problem.grid_w; ++i) xs[size_t(i)] = grid_column_x(e, i, problem.grid_w);
    for (int j = 0; j < problem.grid_h; ++j) ys[size_t(j)] = grid_row_y(e, j, problem.grid_h);
    h5::write(g, "x", xs);
    h5::write(g, "y", ys);
  }

  void write_networks(const std::vector<NetworkResult>& results) {
    auto g = h5::create_group(file, "networks");
    std::vector<NetworkRow> rows;
    for (size_t i = 0; i < problem.networks.size(); ++i) rows.push_back(network_row(problem, i, results[i]));
    for_each_network_column([&](const char* name, auto member, bool) { write_column(g, name, rows, member); });
  }

  void write_curves(const std::vector<NetworkResult>& results) {
    const size_t n = results.size(), e = size_t(problem.epochs), f = problem.frame_epochs.size();
    std::vector<float> epoch_loss(n * e);
    std::vector<float> snaps[4];
    for (auto& s : snaps) s.resize(n * f);
    for (size_t i = 0; i < n; ++i) {
      std::copy(results[i].epoch_loss.begin(), results[i].epoch_loss.end(), epoch_loss.begin() + long(i * e));
      const std::vector<float>* src[4] = {&results[i].snapshot_train_loss, &results[i].snapshot_test_loss,
                                          &results[i].snapshot_train_accuracy, &results[i].snapshot_test_accuracy};
      for (int k = 0; k < 4; ++k) std::copy(src[k]->begin(), src[k]->end(), snaps[k].begin() + long(i * f));
    }
    auto losses = h5::create_group(file, "losses");
    h5::write(losses, "epoch", {hsize_t(n), hsize_t(e)}, epoch_loss);
    auto s = h5::create_group(file, "snapshots");
    std::vector<int32_t> epochs(problem.frame_epochs.begin(), problem.frame_epochs.end());
    h5::write(s, "epoch", epochs);
    const char* names[4] = {"train_loss", "test_loss", "train_accuracy", "test_accuracy"};
    for (int k = 0; k < 4; ++k) h5::write(s, names[k], {hsize_t(n), hsize_t(f)}, snaps[k]);
  }

  void write_weights(const std::vector<float>& initial, const std::vector<float>& final_params) {
    auto g = h5::open_group(file, "weights");
    h5::set_attr(g, "layout",
                 std::string("per network, layer by layer from the input: W (out, in) row-major, then b (out); "
                             "network n starts at offsets[n]"));
    h5::write(g, "offsets", problem.layout.offsets());
    h5::write(g, "initial", initial);
    h5::write(g, "final", final_params);
  }

  void finish(const std::vector<float>& initial, const std::vector<float>& final_params,
              const std::vector<NetworkResult>& results, double elapsed) {
    try {
      write_everything(initial, final_params, results, elapsed);
    } catch (const std::exception& e) {
      throw ResultsError(final_path + ": " + e.what() + space_note(final_path) + "; nothing was written");
    }
  }

  void write_everything(const std::vector<float>& initial, const std::vector<float>& final_params,
                        const std::vector<NetworkResult>& results, double elapsed) {
    pipeline->finish();
    std::vector<int32_t> epochs(problem.frame_epochs.begin(), problem.frame_epochs.end());
    h5::write(file, "frame_epochs", epochs);
    h5::set_attr(frames, "layout", std::string("(networks, frames, H, W, outputs); row 0 is the top of the plane"));
    write_metadata(elapsed);
    write_data_group(file, problem, data);
    write_grid();
    write_networks(results);
    write_curves(results);
    write_weights(initial, final_params);
    write_inside_index();
    neuron_maps.reset();
    weight_snapshots.reset();
    frames.reset();
    write_netcdf_view();
    h5::check(H5Fflush(file, H5F_SCOPE_GLOBAL), partial + ": flush failed");
    file.reset();
    std::error_code ec;
    std::filesystem::rename(partial, final_path, ec);
    if (ec) throw ResultsError(final_path + ": cannot rename " + partial + " into place: " + ec.message());
    finished = true;
  }
};

ResultsWriter::ResultsWriter(const std::string& path, const TrainingProblem& problem, const Dataset& data,
                             const RunMetadata& meta)
    : impl_(std::make_unique<Impl>(path, problem, data, meta)) {}
ResultsWriter::~ResultsWriter() = default;
void ResultsWriter::write_frame(int index, int frame, const float* values) {
  impl_->enqueue(index, frame, values, false);
}
void ResultsWriter::write_neuron_maps(int index, int frame, const float* maps) {
  impl_->enqueue_neuron_maps(index, frame, maps);
}
void ResultsWriter::write_weights(int index, int frame, const float* params) {
  impl_->enqueue_weights(index, frame, params);
}
bool ResultsWriter::takes_half() const { return impl_->meta.frame_type == FrameType::float16; }
void ResultsWriter::write_frame_half(int index, int frame, const uint16_t* bits) {
  if (!takes_half()) FrameSink::write_frame_half(index, frame, bits);
  impl_->enqueue(index, frame, bits, true);
}

void FrameSink::write_frame_half(int, int, const uint16_t*) {
  throw std::logic_error("write_frame_half on a sink that does not take float16 frames");
}
void ResultsWriter::finish(const std::vector<float>& initial, const std::vector<float>& final_params,
                           const std::vector<NetworkResult>& results, double elapsed) {
  impl_->finish(initial, final_params, results, elapsed);
}
const std::string& ResultsWriter::partial_path() const { return impl_->partial; }

// ---------------------------------------------------------------- reading

struct ResultsFile::Impl {
  std::string path;
  h5::Handle file;
  std::vector<NetworkRow> rows;  // the networks table, read once
  std::vector<int64_t> offsets;  // weights/offsets, read once
  // neurons/offsets and weights/snapshot_offsets ((networks + 1), zeros in files without them), read by check_layout
  std::vector<int64_t> neuron_offsets, snapshot_offsets;
  std::array<int, 2> neuron_grid{0, 0};
};

ResultsFile::ResultsFile(const std::string& path) : impl_(std::make_unique<Impl>()) {
  h5::silence_errors();
  impl_->path = path;
  if (!std::filesystem::exists(path)) throw ResultsError(path + ": no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw ResultsError(path + ": not an HDF5 file");
  impl_->file = h5::Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose,
                           path + ": cannot open (a damaged or truncated HDF5 file?)");
  check_format(impl_->file, path, false);
  check_layout();
}

// Shapes and types before any use, so a damaged or hand-made file is refused
// with the dataset it gets wrong rather than read out of bounds.
void ResultsFile::check_layout() const {
  const std::string& w = impl_->path;
  const hid_t f = impl_->file;
  auto fail = [&](const std::string& what) { throw ResultsError(w + ": " + what); };
  auto dims_of = [&](const std::string& name, size_t rank) {
    if (!h5::exists(f, name)) fail("dataset '" + name + "' is missing");
    const auto d = h5::shape(f, name, w);
    if (d.size() != rank) fail("dataset '" + name + "' is not " + std::to_string(rank) + "-dimensional");
    return d;
  };
  const size_t n = networks().size();  // reads and checks the networks table
  if (int64_t(n) > kMaxNetworks) fail("more networks than netsweep handles");
  const int64_t stored_n = h5::get_int_attr(f, "networks", w), epochs = h5::get_int_attr(f, "epochs", w);
  if (stored_n != int64_t(n))
    fail("attribute 'networks' says " + std::to_string(stored_n) + " but the table has " + std::to_string(n));
  if (epochs < 1 || epochs > kMaxEpochs) fail("attribute 'epochs' is out of range");
  if (dims_of("frame_epochs", 1)[0] == 0 || dims_of("frame_epochs", 1)[0] > hsize_t(kMaxFrames))
    fail("'frame_epochs' is empty or too long");
  const auto frame_epochs = h5::read<int32_t>(f, "frame_epochs", w);
  for (size_t k = 0; k < frame_epochs.size(); ++k)
    if (frame_epochs[k] < 0 || frame_epochs[k] > epochs || (k > 0 && frame_epochs[k] < frame_epochs[k - 1]))
      fail("'frame_epochs' is not a rising list of epochs 0.." + std::to_string(epochs));
  if (!h5::exists(f, "frames")) fail("the file has no frames (dataset 'frames' is missing)");
  const auto fr = dims_of("frames", 5);
  if (fr[0] != n || fr[1] != frame_epochs.size())
    fail("'frames' has shape (" + std::to_string(fr[0]) + ", " + std::to_string(fr[1]) + ", ...) but the file has " +
         std::to_string(n) + " networks and " + std::to_string(frame_epochs.size()) + " frame epochs");
  if (fr[2] < 1 || fr[3] < 1 || fr[4] < 1 || fr[4] > hsize_t(kMaxOutputUnits) || fr[2] > hsize_t(kMaxGrid) ||
      fr[3] > hsize_t(kMaxGrid))
    fail("'frames' has an impossible frame shape");
  h5::check_stored(f, "frames", w);  // frame() allocates a frame of that shape
  {
    h5::Handle set(H5Dopen2(f, "frames", H5P_DEFAULT), H5Dclose, w + ": cannot open dataset 'frames'");
    h5::Handle type(H5Dget_type(set), H5Tclose, w + ": type of 'frames'");
    const size_t size = H5Tget_size(type);
    if (H5Tget_class(type) != H5T_FLOAT || (size != 2 && size != 4)) fail("'frames' is not float16 or float32");
  }
  const auto losses = dims_of("losses/epoch", 2);
  if (losses[0] != n || int64_t(losses[1]) != epochs) fail("'losses/epoch' is not (networks, epochs)");
  for (const char* name :
       {"snapshots/train_loss", "snapshots/test_loss", "snapshots/train_accuracy", "snapshots/test_accuracy"}) {
    const auto d = dims_of(name, 2);
    if (d[0] != n || d[1] != frame_epochs.size()) fail(std::string("'") + name + "' is not (networks, frames)");
  }
  if (dims_of("weights/offsets", 1)[0] != n + 1) fail("'weights/offsets' does not have networks + 1 entries");
  const auto offsets = h5::read<int64_t>(f, "weights/offsets", w);
  const auto initial = dims_of("weights/initial", 1), final_w = dims_of("weights/final", 1);
  if (offsets.size() != n + 1 || offsets[0] != 0 || int64_t(initial[0]) != offsets[n] || final_w[0] != initial[0])
    fail("'weights/offsets' does not match 'weights/initial' and 'weights/final'");
  for (size_t i = 0; i < n; ++i)
    if (networks()[i].parameters < 0 || offsets[i] + networks()[i].parameters > offsets[i + 1])
      fail("network " + std::to_string(i) + "'s parameters do not fit its block of 'weights'");
  if (dims_of("grid/x", 1)[0] != fr[3] || dims_of("grid/y", 1)[0] != fr[2])
    fail("'grid/x', 'grid/y' do not match 'frames'");
  const auto e = extent();
  for (float v : e)
    if (!std::isfinite(v)) fail("the grid's extent is not finite");
  if (!(e[0] < e[1] && e[2] <= e[3])) fail("the grid's extent is not x0 < x1, y0 <= y1");
  auto g = h5::open_group(f, "data");
  const int64_t outputs = h5::get_int_attr(g, "outputs", w), classes = h5::get_int_attr(g, "classes", w);
  if (outputs != int64_t(fr[4])) fail("data attribute 'outputs' does not match 'frames'");
  if (classes < 0 || classes > kMaxLabel + 1) fail("data attribute 'classes' is out of range");

  // Inside the networks (absent from files of earlier versions).
  impl_->neuron_offsets.assign(n + 1, 0);
  impl_->snapshot_offsets.assign(n + 1, 0);
  auto rising = [&](const std::vector<int64_t>& v, const char* name) {
    if (v.size() != n + 1 || v[0] != 0) fail(std::string("'") + name + "' does not have networks + 1 entries from 0");
    for (size_t i = 0; i < n; ++i)
      if (v[i + 1] < v[i]) fail(std::string("'") + name + "' is not rising");
  };
  if (h5::exists(f, "neurons/maps")) {
    if (dims_of("neurons/offsets", 1)[0] != n + 1) fail("'neurons/offsets' does not have networks + 1 entries");
    impl_->neuron_offsets = h5::read<int64_t>(f, "neurons/offsets", w);
    rising(impl_->neuron_offsets, "neurons/offsets");
    const auto m = dims_of("neurons/maps", 4);
    if (int64_t(m[0]) != impl_->neuron_offsets[n] || m[1] != frame_epochs.size() || m[2] < 1 || m[3] < 1 ||
        m[2] > hsize_t(kMaxNeuronGrid) || m[3] > hsize_t(kMaxNeuronGrid))
      fail("'neurons/maps' does not match 'neurons/offsets' and the frames");
    impl_->neuron_grid = {int(m[2]), int(m[3])};
  }
  if (h5::exists(f, "weights/snapshots")) {
    if (dims_of("weights/snapshot_offsets", 1)[0] != n + 1)
      fail("'weights/snapshot_offsets' does not have networks + 1 entries");
    impl_->snapshot_offsets = h5::read<int64_t>(f, "weights/snapshot_offsets", w);
    rising(impl_->snapshot_offsets, "weights/snapshot_offsets");
    if (int64_t(dims_of("weights/snapshots", 1)[0]) != impl_->snapshot_offsets[n])
      fail("'weights/snapshots' does not match 'weights/snapshot_offsets'");
    for (size_t i = 0; i < n; ++i) {
      const int64_t size = impl_->snapshot_offsets[i + 1] - impl_->snapshot_offsets[i];
      if (size != 0 && size != int64_t(frame_epochs.size()) * networks()[i].parameters)
        fail("network " + std::to_string(i) + "'s parameter snapshots are not frames x parameters");
    }
  }
}

int ResultsFile::neuron_units(int network) const {
  const auto& o = impl_->neuron_offsets;
  return int(o.at(size_t(network) + 1) - o.at(size_t(network)));
}

std::array<int, 2> ResultsFile::neuron_grid() const { return impl_->neuron_grid; }

std::vector<float> ResultsFile::neuron_maps(int network, int frame_index) const {
  h5::silence_errors();
  const int units = neuron_units(network);
  const int frames = frame_shape()[1];
  if (units == 0 || frame_index < 0 || frame_index >= frames)
    throw ResultsError(impl_->path + ": network " + std::to_string(network) + " has no neuron maps at frame " +
                       std::to_string(frame_index));
  const auto [h, w] = impl_->neuron_grid;
  h5::Handle set(H5Dopen2(impl_->file, "neurons/maps", H5P_DEFAULT), H5Dclose, impl_->path + ": neurons/maps");
  const hsize_t start[4] = {hsize_t(impl_->neuron_offsets[size_t(network)]), hsize_t(frame_index), 0, 0};
  const hsize_t count[4] = {hsize_t(units), 1, hsize_t(h), hsize_t(w)};
  h5::Handle file_space(H5Dget_space(set), H5Sclose, "neurons/maps space");
  h5::check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, count, nullptr), "neuron maps slab");
  h5::Handle mem_space(H5Screate_simple(4, count, nullptr), H5Sclose, "neuron maps memory space");
  h5::Handle type(H5Dget_type(set), H5Tclose, "neurons/maps type");
  const size_t n = size_t(units) * size_t(h) * size_t(w);
  std::vector<float> out(n);
  if (H5Tget_size(type) == 2) {
    std::vector<uint16_t> bits(n);
    h5::check(H5Dread(set, h5::float16_type(), mem_space, file_space, H5P_DEFAULT, bits.data()),
              impl_->path + ": cannot read neuron maps");
    for (size_t k = 0; k < n; ++k) out[k] = half_bits_to_float(bits[k]);
  } else {
    h5::check(H5Dread(set, H5T_NATIVE_FLOAT, mem_space, file_space, H5P_DEFAULT, out.data()),
              impl_->path + ": cannot read neuron maps");
  }
  return out;
}

bool ResultsFile::has_weight_snapshots(int network) const {
  const auto& o = impl_->snapshot_offsets;
  return o.at(size_t(network) + 1) > o.at(size_t(network));
}

std::vector<float> ResultsFile::weights_at(int network, int frame_index) const {
  if (!has_weight_snapshots(network) || frame_index < 0 || frame_index >= frame_shape()[1])
    throw ResultsError(impl_->path + ": network " + std::to_string(network) + " has no parameters recorded at frame " +
                       std::to_string(frame_index));
  const int64_t count = networks().at(size_t(network)).parameters;
  return h5::read_range<float>(impl_->file, "weights/snapshots",
                               hsize_t(impl_->snapshot_offsets[size_t(network)] + int64_t(frame_index) * count),
                               hsize_t(count), impl_->path);
}
ResultsFile::~ResultsFile() = default;
ResultsFile::ResultsFile(ResultsFile&&) noexcept = default;

const std::string& ResultsFile::path() const { return impl_->path; }

std::string ResultsFile::attribute(const std::string& name) const {
  return h5::get_string_attr(impl_->file, name, impl_->path);
}

int64_t ResultsFile::format_version() const { return h5::get_int_attr(impl_->file, "format_version", impl_->path); }

const std::vector<NetworkRow>& ResultsFile::networks() const {
  if (!impl_->rows.empty()) return impl_->rows;
  const auto& w = impl_->path;
  auto g = h5::open_group(impl_->file, "networks");
  const auto ids = h5::shape(g, "id", w);
  if (ids.size() != 1) throw ResultsError(w + ": networks/id is not a 1-D dataset");
  if (ids[0] > hsize_t(kMaxNetworks)) throw ResultsError(w + ": more networks than netsweep handles");
  std::vector<NetworkRow> rows(static_cast<size_t>(ids[0]));
  for_each_network_column(
      [&](const char* name, auto member, bool optional) { read_column(g, name, rows, member, w, optional); });
  impl_->rows = std::move(rows);
  return impl_->rows;
}

std::vector<int> ResultsFile::frame_epochs() const {
  const auto v = h5::read<int32_t>(impl_->file, "frame_epochs", impl_->path);
  return {v.begin(), v.end()};
}

std::array<int, 5> ResultsFile::frame_shape() const {
  const auto dims = h5::shape(impl_->file, "frames", impl_->path);
  if (dims.size() != 5) throw ResultsError(impl_->path + ": dataset 'frames' is not 5-dimensional");
  return {int(dims[0]), int(dims[1]), int(dims[2]), int(dims[3]), int(dims[4])};
}

std::vector<float> ResultsFile::frame(int network, int frame_index) const {
  h5::silence_errors();
  const auto s = frame_shape();
  if (network < 0 || network >= s[0] || frame_index < 0 || frame_index >= s[1])
    throw ResultsError(impl_->path + ": frame (" + std::to_string(network) + ", " + std::to_string(frame_index) +
                       ") out of range");
  h5::Handle set(H5Dopen2(impl_->file, "frames", H5P_DEFAULT), H5Dclose, impl_->path + ": missing frames");
  const hsize_t start[5] = {hsize_t(network), hsize_t(frame_index), 0, 0, 0};
  const hsize_t count[5] = {1, 1, hsize_t(s[2]), hsize_t(s[3]), hsize_t(s[4])};
  h5::Handle file_space(H5Dget_space(set), H5Sclose, "frames space");
  h5::check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, count, nullptr), "frame slab");
  h5::Handle mem_space(H5Screate_simple(5, count, nullptr), H5Sclose, "frame memory space");
  const size_t n = size_t(s[2]) * size_t(s[3]) * size_t(s[4]);
  std::vector<float> out(n);
  if (frame_type() == FrameType::float16) {
    // Read the half bits as stored (HDF5's own half -> float conversion is slow) and widen them here.
    std::vector<uint16_t> bits(n);
    h5::check(H5Dread(set, h5::float16_type(), mem_space, file_space, H5P_DEFAULT, bits.data()),
              impl_->path + ": cannot read frame");
    for (size_t k = 0; k < n; ++k) out[k] = half_bits_to_float(bits[k]);
  } else {
    h5::check(H5Dread(set, H5T_NATIVE_FLOAT, mem_space, file_space, H5P_DEFAULT, out.data()),
              impl_->path + ": cannot read frame");
  }
  return out;
}

std::vector<float> ResultsFile::epoch_losses(int network) const {
  return h5::read_row<float>(impl_->file, "losses/epoch", hsize_t(network), impl_->path);
}

std::vector<std::string> ResultsFile::features() const {
  auto g = h5::open_group(impl_->file, "data");
  return h5::read_strings(g, "features", impl_->path);
}

Dataset ResultsFile::dataset() const { return read_data_group(impl_->file, impl_->path, attribute("dataset")); }

NetworkResult ResultsFile::network_result(int network) const {
  const auto& w = impl_->path;
  NetworkResult r;
  r.epoch_loss = epoch_losses(network);
  const NetworkRow& row = networks().at(size_t(network));
  r.status = parse_status(row.status);
  r.epochs_trained = row.epochs_trained;
  r.wall_seconds = row.wall_seconds;
  const char* names[4] = {"snapshots/train_loss", "snapshots/test_loss", "snapshots/train_accuracy",
                          "snapshots/test_accuracy"};
  std::vector<float>* dst[4] = {&r.snapshot_train_loss, &r.snapshot_test_loss, &r.snapshot_train_accuracy,
                                &r.snapshot_test_accuracy};
  for (int k = 0; k < 4; ++k) *dst[k] = h5::read_row<float>(impl_->file, names[k], hsize_t(network), w);
  return r;
}

std::vector<float> ResultsFile::weights(int network, bool final) const {
  if (impl_->offsets.empty()) impl_->offsets = h5::read<int64_t>(impl_->file, "weights/offsets", impl_->path);
  const int64_t count = networks().at(size_t(network)).parameters;
  return h5::read_range<float>(impl_->file, final ? "weights/final" : "weights/initial",
                               hsize_t(impl_->offsets.at(size_t(network))), hsize_t(count), impl_->path);
}

FrameType ResultsFile::frame_type() const {
  h5::silence_errors();
  h5::Handle set(H5Dopen2(impl_->file, "frames", H5P_DEFAULT), H5Dclose, impl_->path + ": missing frames");
  h5::Handle type(H5Dget_type(set), H5Tclose, "frames type");
  return H5Tget_size(type) == 2 ? FrameType::float16 : FrameType::float32;
}

std::array<float, 4> ResultsFile::extent() const {
  auto g = h5::open_group(impl_->file, "grid");
  const auto e = h5::get_doubles_attr(g, "extent", impl_->path);
  if (e.size() != 4) throw ResultsError(impl_->path + ": grid extent is not x0,x1,y0,y1");
  return {float(e[0]), float(e[1]), float(e[2]), float(e[3])};
}

bool ResultsFile::has_attribute(const std::string& name) const { return h5::has_attr(impl_->file, name); }

int64_t ResultsFile::int_attribute(const std::string& name) const {
  return h5::get_int_attr(impl_->file, name, impl_->path);
}

double ResultsFile::double_attribute(const std::string& name) const {
  return h5::get_double_attr(impl_->file, name, impl_->path);
}

SweepSource read_sweep_source(const std::string& path) {
  h5::silence_errors();
  if (!std::filesystem::exists(path)) throw ResultsError(path + ": no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw ResultsError(path + ": not an HDF5 file");
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, path + ": cannot open");
  check_format(file, path, true);
  SweepSource s;
  s.spec = spec_from_json(h5::get_string_attr(file, "spec", path));
  s.data = read_data_group(file, path, h5::get_string_attr(file, "dataset", path));
  return s;
}

void write_plan_file(const std::string& path, const SweepSpec& spec, const Dataset& data,
                     const TrainingProblem& problem, const std::string& sweep_hash) {
  h5::silence_errors();
  const std::string tmp = path + ".partial-" + std::to_string(::getpid());
  {
    h5::Handle file = h5::create_file(tmp, tmp + ": cannot create the plan file");
    h5::set_attr(file, "format", std::string(kPlanFormat));
    h5::set_attr(file, "format_version", int64_t(kFormatVersion));
    h5::set_attr(file, "spec", spec_to_json(spec));
    h5::set_attr(file, "dataset", data.description_json);
    h5::set_attr(file, "sweep_hash", sweep_hash);
    write_data_group(file, problem, data);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw ResultsError(path + ": cannot rename " + tmp + " into place: " + ec.message());
}

}  // namespace netsweep
