// Reading results files (ResultsFile) and the sweep stored in a results or
// plan file: every dataset checked against the layout before use, so a
// damaged file is refused with the dataset's name. The writer is
// results_writer.cpp; the schema both follow, results_schema.h.
#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <type_traits>

#include "h5.h"
#include "host_util.h"
#include "netsweep/problem.h"
#include "netsweep/results.h"
#include "results_schema.h"

namespace netsweep {
namespace {

using results_schema::check_network_row;
using results_schema::for_each_network_column;
using results_schema::kPlanFormat;
using results_schema::Stored;

// The data group's kind: 1-D regression (else 2-D classification), one of the two named.
bool stored_regression(hid_t data_group, const std::string& where) {
  const std::string kind = h5::get_string_attr(data_group, "kind", where);
  if (kind != "regression-1d" && kind != "classification-2d")
    throw ResultsError(where + ": data attribute 'kind' is '" + kind + "', not classification-2d or regression-1d");
  return kind == "regression-1d";
}

Dataset read_data_group(hid_t file, const std::string& where, const std::string& description) {
  auto g = h5::open_group(file, "data");
  Dataset d;
  d.regression = stored_regression(g, where);
  const int64_t classes = h5::get_int_attr(g, "classes", where);
  if (classes < 0 || classes > kMaxLabel + 1) throw ResultsError(where + ": data attribute 'classes' is out of range");
  d.classes = int(classes);
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

// An outside file, opened as h5::open_for_reading does; what it refuses is a ResultsError.
h5::Handle open_results(const std::string& path) {
  try {
    return h5::open_for_reading(path);
  } catch (const h5::Error& e) {
    // OUT.partial-HOST-PID: what a run, merge or slurm writes until it renames the file into place.
    const std::string name = std::filesystem::path(path.substr(0, path.find_last_not_of('/') + 1)).filename().string();
    const bool partial = name.find(".partial-") != std::string::npos;
    // OUT.ckpt/: the checkpoints of a run of OUT that has not finished.
    const bool checkpoint = name.size() > 5 && name.compare(name.size() - 5, 5, ".ckpt") == 0;
    throw ResultsError(
        std::string(e.what()) +
        (partial      ? " (an unfinished output, of a process still writing it or one that was killed)"
         : checkpoint ? " (the checkpoints of an unfinished run: finish it with run --resume, then read its output)"
                      : ""));
  }
}

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

}  // namespace

struct ResultsFile::Impl {
  std::string path;
  h5::Handle file;
  std::vector<NetworkRow> rows;  // the networks table, read once
  std::vector<int64_t> offsets;  // weights/offsets, read once
  // neurons/offsets and weights/snapshot_offsets ((networks + 1), zeros in files without them), read by check_layout
  std::vector<int64_t> neuron_offsets, snapshot_offsets;
  std::array<int, 2> neuron_grid{0, 0};
  std::optional<SweepSource> source;  // the stored sweep, read once where it stands run's checks
};

ResultsFile::ResultsFile(const std::string& path) : impl_(std::make_unique<Impl>()) {
  h5::silence_errors();
  impl_->path = path;
  impl_->file = open_results(path);
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
    if (frame_epochs[k] < 0 || frame_epochs[k] > epochs || (k > 0 && frame_epochs[k] <= frame_epochs[k - 1]))
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
    // The sum is checked: offsets and parameters are the file's, and a count near 2^63 overflowed it (UB).
    if (int64_t end = 0; networks()[i].parameters < 0 ||
                         __builtin_add_overflow(offsets[i], networks()[i].parameters, &end) || end > offsets[i + 1])
      fail("network " + std::to_string(i) + "'s parameters do not fit its block of 'weights'");
  if (dims_of("grid/x", 1)[0] != fr[3] || dims_of("grid/y", 1)[0] != fr[2])
    fail("'grid/x', 'grid/y' do not match 'frames'");
  const auto e = extent();
  for (float v : e)
    if (!std::isfinite(v)) fail("the grid's extent is not finite");
  if (!(e[0] < e[1] && e[2] <= e[3])) fail("the grid's extent is not x0 < x1, y0 <= y1");
  if (!h5::exists(f, "data")) fail("group 'data' is missing");
  auto g = h5::open_group(f, "data");
  const int64_t outputs = h5::get_int_attr(g, "outputs", w), classes = h5::get_int_attr(g, "classes", w);
  if (outputs != int64_t(fr[4])) fail("data attribute 'outputs' does not match 'frames'");
  if (classes < 0 || classes > kMaxLabel + 1) fail("data attribute 'classes' is out of range");
  // A line of values for 1-D regression, a plane of at least 2x2 (--grid >= 2) for 2-D classification.
  if (fr[3] < 2 || (stored_regression(g, w) ? fr[2] != 1 : fr[2] < 2))
    fail("'frames' has a frame shape its data kind cannot have (" + std::to_string(fr[2]) + "x" +
         std::to_string(fr[3]) + ")");
  if (h5::has_attr(f, "values_beyond_f16") && h5::get_int_attr(f, "values_beyond_f16", w) < 0)
    fail("attribute 'values_beyond_f16' is negative");
  // The attributes the summaries and pictures parse, each refused here naming it.
  auto parsed = [&](const char* name, auto parse) {
    const std::string text = h5::get_string_attr(f, name, w);
    try {
      parse(text);
    } catch (const std::exception& e) {
      fail(std::string("attribute '") + name + "': " + e.what());
    }
  };
  SweepSpec spec;
  parsed("spec", [&spec](const std::string& t) { spec = spec_from_json(t); });
  parsed("dataset", [](const std::string& t) {
    if (!nlohmann::json::parse(t).is_object()) throw std::runtime_error("is not a JSON object");
  });
  parsed("loss", [](const std::string& t) { parse_loss(t); });
  // The spec and the tables say one training (the summaries print one, the pictures draw the other).
  if (spec.epochs != epochs)
    fail("attribute 'spec' says " + std::to_string(spec.epochs) + " epochs but the file holds " +
         std::to_string(epochs));
  if (const std::string loss = h5::get_string_attr(f, "loss", w); loss != to_string(spec.loss))
    fail("attribute 'loss' is " + loss + " but attribute 'spec' says " + to_string(spec.loss));
  const int64_t inputs = h5::get_int_attr(g, "inputs", w);
  if (inputs < 1 || inputs > std::numeric_limits<int32_t>::max()) fail("data attribute 'inputs' is out of range");
  for (size_t i = 0; i < n; ++i) check_network_row(networks()[i], int(i), inputs, outputs, epochs, w);

  // Inside the networks (absent from files of earlier versions).
  impl_->neuron_offsets.assign(n + 1, 0);
  impl_->snapshot_offsets.assign(n + 1, 0);
  auto rising = [&](const std::vector<int64_t>& v, const char* name) {
    if (v.size() != n + 1 || v[0] != 0) fail(std::string("'") + name + "' does not have networks + 1 entries from 0");
    for (size_t i = 0; i < n; ++i)
      if (v[i + 1] < v[i]) fail(std::string("'") + name + "' is not rising");
  };
  for (const auto& [data, index] :  // an index without its data: deleted, not unrecorded
       {std::pair<std::string, std::string>{"neurons/maps", "neurons/offsets"},
        {"weights/snapshots", "weights/snapshot_offsets"}})
    if (!h5::exists(f, data) && h5::exists(f, index))
      fail("dataset '" + data + "' is missing ('" + index + "' is there)");
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
      // The product is checked: parameters is the file's (2^63 - 1 for a shape of huge widths), and overflowed (UB).
      int64_t expected = 0;
      if (size != 0 && (__builtin_mul_overflow(int64_t(frame_epochs.size()), networks()[i].parameters, &expected) ||
                        size != expected))
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
  h5::Handle type(H5Dget_type(set), H5Tclose, "neurons/maps type");
  return h5::read_float_block(set, 4, start, count, H5Tget_size(type) == 2, impl_->path, "neuron maps");
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
  for_each_network_column([&](const char* name, auto member, results_schema::ColumnKind kind) {
    read_column(g, name, rows, member, w, kind.added_later);
  });
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
  return h5::read_float_block(set, 5, start, count, frame_type() == FrameType::float16, impl_->path, "frame");
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

std::string ResultsFile::sweep_hash() const { return has_attribute("sweep_hash") ? attribute("sweep_hash") : ""; }

ShardId ResultsFile::shard() const {
  const auto stored = [&](const char* name) { return has_attribute(name) ? int(int_attribute(name)) : 0; };
  return {stored("shard_index"), stored("shard_count")};
}

double ResultsFile::double_attribute(const std::string& name) const {
  return h5::get_double_attr(impl_->file, name, impl_->path);
}

namespace {
SweepSource read_source(hid_t file, const std::string& path) {
  SweepSource s;
  try {
    s.spec = spec_from_json(h5::get_string_attr(file, "spec", path));
  } catch (const SpecError& e) {
    throw ResultsError(path + ": attribute 'spec': " + e.what());
  }
  s.data = read_data_group(file, path, h5::get_string_attr(file, "dataset", path));
  return s;
}
}  // namespace

SweepSource read_sweep_source(const std::string& path) {
  h5::silence_errors();
  h5::Handle file = open_results(path);
  check_format(file, path, true);
  return read_source(file, path);
}

const SweepSource& ResultsFile::sweep_source() const {
  if (!impl_->source) {  // a sweep that fails its checks is read, and refused, again when asked again
    SweepSource s = read_source(impl_->file, impl_->path);
    try {
      s.spec.validate();
    } catch (const SpecError& e) {  // the file's, not an option's: named as such
      throw ResultsError(impl_->path + ": attribute 'spec': " + e.what());
    }
    impl_->source = std::move(s);
  }
  return *impl_->source;
}

}  // namespace netsweep
