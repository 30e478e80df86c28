// Writing results and plan files: the networks table, the data, frames
// through the frame pipeline, and a partial file renamed into place only
// once complete. The reader is results_reader.cpp; the schema both follow,
// results_schema.h.
#include <unistd.h>
#include <zlib.h>

#include <atomic>
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
#include "netsweep/results.h"
#include "results_netcdf.h"
#include "results_schema.h"

namespace netsweep {
namespace {

using results_schema::for_each_network_column;
using results_schema::kPlanFormat;
using results_schema::Stored;

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

NetworkRow network_row(const TrainingProblem& p, size_t i, const NetworkResult& r) {
  NetworkRow row = network_identity(p, i);
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

// Frames are converted to the stored type by the caller's thread, then
// compressed and written by the frame pipeline.
struct ResultsWriter::Impl {
  const TrainingProblem& problem;
  const Dataset& data;
  RunMetadata meta;
  std::string final_path, partial;
  std::unique_ptr<PartialLock> partial_lock;  // while the partial file is written
  h5::Handle file, frames, neuron_maps, weight_snapshots;
  size_t element_size = 2;
  std::vector<int64_t> neuron_offsets, snapshot_offsets;  // (networks + 1) see docs/results-format.md
  std::unique_ptr<FramePipeline> pipeline;
  bool finished = false;
  // Per network: frame and neuron-map values stored as +-inf in float16, beyond
  // its +-65504 (a regression's, a diverged network's): the file says so, and
  // the run warns (from any thread that writes frames).
  std::unique_ptr<std::atomic<int64_t>[]> beyond_f16;

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
    check_output_path(path);  // again: run checked it before training, which may have taken hours
    partial = netsweep::partial_path(path);
    file = h5::create_file(partial, partial + ": cannot create the output file (is the directory writable?)");
    partial_lock = std::make_unique<PartialLock>(partial);
    element_size = meta.frame_type == FrameType::float16 ? 2 : 4;
    beyond_f16 = std::make_unique<std::atomic<int64_t>[]>(p.networks.size());
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

  // n values of network `index` in the stored frame type: floats converted,
  // or (half_bits) float16 bits as they are.
  std::vector<unsigned char> stored(int index, const void* values, size_t n, bool half_bits) const {
    std::vector<unsigned char> bytes(n * element_size);
    if (meta.frame_type == FrameType::float16 && !half_bits) {
      auto* out = reinterpret_cast<uint16_t*>(bytes.data());
      const auto* in = static_cast<const float*>(values);
      for (size_t k = 0; k < n; ++k) out[k] = float_to_half_bits(in[k]);
    } else {
      std::memcpy(bytes.data(), values, bytes.size());
    }
    if (meta.frame_type == FrameType::float16) {
      const auto* bits = reinterpret_cast<const uint16_t*>(bytes.data());
      int64_t infinite = 0;
      for (size_t k = 0; k < n; ++k) infinite += (bits[k] & 0x7fffu) == 0x7c00u;
      if (infinite) beyond_f16[size_t(index)] += infinite;
    }
    return bytes;
  }

  void enqueue(int index, int frame, const void* values, bool half_bits) {
    pipeline->enqueue_chunk(frames, {hsize_t(index), hsize_t(frame), 0, 0, 0}, element_size,
                            stored(index, values, frame_elements(problem), half_bits));
  }

  void enqueue_neuron_maps(int index, int frame, const float* maps) {
    const size_t points = size_t(problem.neuron_grid_h) * size_t(problem.neuron_grid_w);
    const int64_t first = neuron_offsets[size_t(index)], units = neuron_offsets[size_t(index) + 1] - first;
    for (int64_t u = 0; u < units; ++u)
      pipeline->enqueue_chunk(neuron_maps, {hsize_t(first + u), hsize_t(frame), 0, 0}, element_size,
                              stored(index, maps + size_t(u) * points, points, false));
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

  void write_metadata(double elapsed) {
    h5::set_attr(file, "format", std::string(kFormatName));
    if (meta.frame_type == FrameType::float16) h5::set_attr(file, "values_beyond_f16", values_beyond_f16());
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

  int64_t values_beyond_f16() const {
    int64_t total = 0;
    for (size_t i = 0; i < problem.networks.size(); ++i) total += beyond_f16[i];
    return total;
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
    for_each_network_column(
        [&](const char* name, auto member, results_schema::ColumnKind) { write_column(g, name, rows, member); });
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
    write_netcdf_view(file, problem, data, partial);
    h5::close_written_file(file, partial);
    std::error_code ec;
    std::filesystem::rename(partial, final_path, ec);
    if (ec) throw ResultsError(final_path + ": cannot rename " + partial + " into place: " + ec.message());
    sync_parent_directory(final_path);  // before a checkpoint it was made from is removed
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

std::string ResultsWriter::beyond_f16_warning() const {
  const int64_t total = impl_->values_beyond_f16();
  if (total == 0) return "";
  std::string which;
  int networks = 0;
  for (size_t i = 0; i < impl_->problem.networks.size(); ++i)
    if (impl_->beyond_f16[i] > 0 && ++networks <= 3) which += (which.empty() ? "" : ", ") + std::to_string(i);
  return "warning: " + std::to_string(total) + " frame and neuron-map values of " + std::to_string(networks) +
         " network" + (networks > 1 ? "s" : "") + " (" + (networks > 3 ? "e.g. " : "") + which +
         ") are beyond float16's +-65504 and stored as +-inf; --frame-dtype f32 keeps them";
}

void write_plan_file(const std::string& path, const SweepSpec& spec, const Dataset& data,
                     const TrainingProblem& problem, const std::string& sweep_hash) {
  check_output_path(path);  // (h5::create_file silences HDF5's printing)
  const std::string tmp = partial_path(path);
  std::error_code ec;
  try {
    h5::Handle file = h5::create_file(tmp, tmp + ": cannot create the plan file");
    const PartialLock lock(tmp);
    h5::set_attr(file, "format", std::string(kPlanFormat));
    h5::set_attr(file, "format_version", int64_t(kFormatVersion));
    h5::set_attr(file, "spec", spec_to_json(spec));
    h5::set_attr(file, "dataset", data.description_json);
    h5::set_attr(file, "sweep_hash", sweep_hash);
    write_data_group(file, problem, data);
    h5::close_written_file(file, tmp);
    std::filesystem::rename(tmp, path, ec);
    if (ec) throw ResultsError(path + ": cannot rename " + tmp + " into place: " + ec.message());
    sync_parent_directory(path);
  } catch (...) {
    std::filesystem::remove(tmp, ec);
    throw;
  }
}

}  // namespace netsweep
