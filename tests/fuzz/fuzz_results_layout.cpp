// Results, plan and checkpoint files changed through the HDF5 API: the input
// picks a real file (the seeds of fuzz_results) and a list of edits -- a
// dataset replaced (any rank, small or huge dimensions, another element
// type, values written or left unwritten), deleted or overwritten; an
// attribute replaced or deleted -- and the result, a well-formed HDF5 file,
// goes through every reader (results_readers.h). Byte-level fuzzing of
// fuzz_results mostly stops at HDF5's metadata checksums; this reaches
// netsweep's own checks of shapes, types and values.
#include <fuzzer/FuzzedDataProvider.h>

#include <fstream>
#include <iterator>
#include <limits>

#include "h5.h"
#include "results_readers.h"

using namespace netsweep;

namespace {

const char* const kBases[] = {"binary_f16.h5", "regression_f32.h5", "softmax3.h5", "sharded.plan.h5",
                              "checkpoint_state.h5"};

const char* const kDatasets[] = {
    "frames", "frame_epochs", "losses/epoch", "snapshots/train_loss", "snapshots/test_loss",
    "snapshots/train_accuracy", "snapshots/test_accuracy", "weights/offsets", "weights/initial", "weights/final",
    "grid/x", "grid/y", "networks/id", "networks/hidden_shape", "networks/hidden_layers", "networks/width",
    "networks/uniform", "networks/activation", "networks/optimizer", "networks/lr", "networks/batch",
    "networks/seed", "networks/replica", "networks/status", "networks/epochs_trained", "networks/parameters",
    "networks/final_epoch_loss", "networks/wall_seconds", "data/features", "data/train_points",
    "data/train_labels", "data/train_targets", "data/train_values", "data/test_points", "data/test_labels",
    // checkpoints
    "has_state", "epoch", "next_sample", "loss_sum", "step", "active", "frames_done", "status", "epochs_trained",
    "wall_seconds", "frame_crc", "params", "state1", "state2", "epoch_loss", "snapshot_train_loss"};

const std::pair<const char*, const char*> kAttributes[] = {
    {"/", "format"}, {"/", "format_version"}, {"/", "networks"}, {"/", "epochs"}, {"/", "spec"},
    {"/", "dataset"}, {"/", "loss"}, {"/", "tool_version"}, {"/", "elapsed_seconds"}, {"/", "sweep_hash"},
    {"/", "shard"}, {"grid", "extent"}, {"data", "kind"}, {"data", "classes"}, {"data", "inputs"},
    {"data", "outputs"}};

std::vector<std::vector<uint8_t>> g_bases;

// Dimensions: mostly small, sometimes the ones netsweep's limits allow, sometimes absurd.
hsize_t pick_dim(FuzzedDataProvider& in) {
  static const hsize_t kDims[] = {0, 1, 2, 3, 4, 5, 8, 100, 4096, 1000001, hsize_t(1) << 31, hsize_t(1) << 33,
                                  hsize_t(1) << 40};
  return in.ConsumeBool() ? in.ConsumeIntegralInRange<hsize_t>(0, 12) : in.PickValueInArray(kDims);
}

double pick_number(FuzzedDataProvider& in) {
  static const double kValues[] = {0, 1, -1, 2, 3, 0.5, 255, 256, 1e15, 1e16, -1e16, 2147483647.0, 2147483648.0,
                                   -2147483649.0, 1e300, std::numeric_limits<double>::quiet_NaN(),
                                   std::numeric_limits<double>::infinity(), 4294967296.0, 9.3e18};
  return in.ConsumeBool() ? double(in.ConsumeIntegralInRange<int>(-4, 64)) : in.PickValueInArray(kValues);
}

std::string pick_string(FuzzedDataProvider& in) {
  static const char* const kStrings[] = {"netsweep-results", "netsweep-plan", "netsweep-checkpoint", "trained",
                                         "diverged", "relu", "adam", "regression-1d", "classification-2d", "",
                                         "2-2", "x1", "{}", "[]"};
  return in.ConsumeBool() ? std::string(in.PickValueInArray(kStrings)) : in.ConsumeRandomLengthString(40);
}

hid_t parent_group(hid_t file, const std::string& path, std::string& leaf) {
  const auto slash = path.rfind('/');
  leaf = slash == std::string::npos ? path : path.substr(slash + 1);
  if (slash == std::string::npos) return H5Gopen2(file, "/", H5P_DEFAULT);
  return H5Gopen2(file, path.substr(0, slash).c_str(), H5P_DEFAULT);
}

// Writes `count` elements of `type` (native integer or float, or a fixed string of `size`) from the input.
std::vector<uint8_t> values(FuzzedDataProvider& in, H5T_class_t cls, size_t size, bool is_signed, hsize_t count) {
  std::vector<uint8_t> out(size_t(count) * size, 0);
  for (hsize_t i = 0; i < count && in.remaining_bytes() > 0; ++i) {
    uint8_t* p = &out[size_t(i) * size];
    if (cls == H5T_STRING) {
      const std::string s = pick_string(in);
      std::copy_n(s.begin(), std::min(s.size(), size), p);
    } else if (cls == H5T_FLOAT) {
      const double d = pick_number(in);
      if (size == 8) std::memcpy(p, &d, 8);
      else {
        const float f = float(d);
        std::memcpy(p, &f, 4);
      }
    } else {
      const double d = pick_number(in);
      const int64_t v = std::isfinite(d) && std::abs(d) < 9e18 ? int64_t(d) : 0;
      if (size == 1) *p = uint8_t(int8_t(v));
      else if (size == 4) {
        const int32_t x = int32_t(v);
        std::memcpy(p, &x, 4);
      } else {
        const int64_t x = is_signed ? v : int64_t(uint64_t(v));
        std::memcpy(p, &x, 8);
      }
    }
  }
  return out;
}

void replace_dataset(hid_t file, const std::string& path, FuzzedDataProvider& in) {
  std::string leaf;
  h5::Handle group(parent_group(file, path, leaf), H5Gclose, "group");
  if (H5Lexists(group, leaf.c_str(), H5P_DEFAULT) > 0) H5Ldelete(group, leaf.c_str(), H5P_DEFAULT);
  const int rank = in.ConsumeIntegralInRange(0, 5);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  hsize_t count = 1;
  bool huge = false;
  for (auto& d : dims) {
    d = pick_dim(in);
    huge = huge || (d != 0 && count > (hsize_t(1) << 40) / d);
    count = huge ? count : count * d;
  }
  static const hid_t kTypes[] = {H5T_NATIVE_INT8, H5T_NATIVE_INT32, H5T_NATIVE_INT64, H5T_NATIVE_UINT64,
                                 H5T_NATIVE_FLOAT, H5T_NATIVE_DOUBLE, H5T_C_S1};
  const hid_t base = in.PickValueInArray(kTypes);
  h5::Handle type(H5Tcopy(base == H5T_C_S1 ? H5T_C_S1 : base), H5Tclose, "type");
  if (base == H5T_C_S1) H5Tset_size(type, in.ConsumeIntegralInRange<size_t>(1, 24));
  h5::Handle space(rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims.data(), nullptr), H5Sclose,
                   "space");
  h5::Handle props(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "props");
  const bool write = !huge && count <= 4096 && in.ConsumeBool();
  if (rank > 0 && (huge || count > 4096 || in.ConsumeBool())) {  // chunked: huge shapes cost no file space
    std::vector<hsize_t> chunk(dims.size());
    for (size_t k = 0; k < dims.size(); ++k) chunk[k] = std::max<hsize_t>(1, std::min<hsize_t>(dims[k], 16));
    H5Pset_chunk(props, rank, chunk.data());
    if (in.ConsumeBool()) H5Pset_deflate(props, 1);
  }
  h5::Handle set(H5Dcreate2(group, leaf.c_str(), type, space, H5P_DEFAULT, props, H5P_DEFAULT), H5Dclose,
                 "dataset");
  if (write && count > 0) {
    const auto bytes = values(in, H5Tget_class(type), H5Tget_size(type), H5Tget_sign(type) == H5T_SGN_2, count);
    H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data());
  }
}

// New values into an existing dataset, its shape and type kept.
void overwrite_dataset(hid_t file, const std::string& path, FuzzedDataProvider& in) {
  h5::Handle set(H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose, "dataset");
  h5::Handle type(H5Dget_type(set), H5Tclose, "type");
  h5::Handle space(H5Dget_space(set), H5Sclose, "space");
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  if (n <= 0 || n > 65536 || H5Tis_variable_str(type) > 0) return;
  const H5T_class_t cls = H5Tget_class(type);
  if (cls != H5T_INTEGER && cls != H5T_FLOAT && cls != H5T_STRING) return;
  const size_t size = H5Tget_size(type);
  if (cls == H5T_FLOAT && size == 2) return;  // frames in float16: bytes below
  h5::Handle mem(cls == H5T_STRING ? H5Tcopy(type) : H5Tget_native_type(type, H5T_DIR_DEFAULT), H5Tclose, "mem");
  std::vector<uint8_t> bytes(size_t(n) * H5Tget_size(mem));
  H5Dread(set, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data());
  // A few elements changed, the rest kept.
  const auto changed = values(in, cls, H5Tget_size(mem), H5Tget_sign(mem) == H5T_SGN_2, 1 + in.ConsumeIntegral<uint8_t>() % 4);
  const size_t at = in.ConsumeIntegralInRange<size_t>(0, size_t(n) - 1) * H5Tget_size(mem);
  std::copy_n(changed.begin(), std::min(changed.size(), bytes.size() - at), bytes.begin() + long(at));
  H5Dwrite(set, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data());
}

void replace_attribute(hid_t file, const char* object, const char* name, FuzzedDataProvider& in) {
  h5::Handle obj(H5Oopen(file, object, H5P_DEFAULT), H5Oclose, "object");
  if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
  const int kind = in.ConsumeIntegralInRange(0, 4);
  if (kind == 0) return;  // deleted
  if (kind == 1 || kind == 2) {  // a string (fixed or variable length)
    const std::string s = pick_string(in);
    h5::Handle type(H5Tcopy(H5T_C_S1), H5Tclose, "type");
    h5::Handle space(H5Screate(H5S_SCALAR), H5Sclose, "space");
    if (kind == 1) {
      H5Tset_size(type, std::max<size_t>(1, s.size()));
      h5::Handle a(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose, "attr");
      std::string padded = s;
      padded.resize(std::max<size_t>(1, s.size()));
      H5Awrite(a, type, padded.data());
    } else {
      H5Tset_size(type, H5T_VARIABLE);
      h5::Handle a(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose, "attr");
      const char* p = s.c_str();
      H5Awrite(a, type, &p);
    }
    return;
  }
  // Numbers: a scalar or a list, integer or double.
  const hid_t type = kind == 3 ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE;
  const hsize_t n = in.ConsumeBool() ? 0 : in.ConsumeIntegralInRange<hsize_t>(0, 6);
  h5::Handle space(n == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr), H5Sclose, "space");
  h5::Handle a(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose, "attr");
  std::vector<double> d(std::max<hsize_t>(n, 1));
  std::vector<int64_t> i(d.size());
  for (size_t k = 0; k < d.size(); ++k) {
    d[k] = pick_number(in);
    i[k] = std::isfinite(d[k]) && std::abs(d[k]) < 9e18 ? int64_t(d[k]) : 0;
  }
  H5Awrite(a, type, kind == 3 ? static_cast<const void*>(i.data()) : d.data());
}

void edit(hid_t file, FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0: replace_dataset(file, in.PickValueInArray(kDatasets), in); break;
    case 1: {
      std::string leaf;
      h5::Handle group(parent_group(file, in.PickValueInArray(kDatasets), leaf), H5Gclose, "group");
      H5Ldelete(group, leaf.c_str(), H5P_DEFAULT);
      break;
    }
    case 2: overwrite_dataset(file, in.PickValueInArray(kDatasets), in); break;
    case 3: {
      const auto& [object, name] = in.PickValueInArray(kAttributes);
      replace_attribute(file, object, name, in);
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  h5::silence_errors();
  const char* dir = std::getenv("NETSWEEP_FUZZ_SEEDS");
  const std::string seeds = dir ? dir : NETSWEEP_FUZZ_RESULTS_SEEDS;
  for (const char* name : kBases) {
    std::ifstream f(seeds + "/" + name, std::ios::binary);
    g_bases.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    if (g_bases.back().empty()) {
      std::fprintf(stderr, "fuzz_results_layout: cannot read %s/%s (set NETSWEEP_FUZZ_SEEDS)\n", seeds.c_str(), name);
      std::exit(1);
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = fuzz::scratch_dir() + "/layout.h5";
  FuzzedDataProvider in(data, size);
  const auto& base = g_bases[in.ConsumeIntegralInRange<size_t>(0, g_bases.size() - 1)];
  fuzz::write_bytes(path, base.data(), base.size());
  {
    h5::Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "fapl");
    H5Pset_libver_bounds(access, H5F_LIBVER_V110, H5F_LIBVER_V110);
    h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDWR, access), H5Fclose, "cannot open the base file");
    for (int k = 0; k < 8 && in.remaining_bytes() > 0; ++k) {
      try {
        edit(file, in);
      } catch (const std::exception&) {  // an edit that HDF5 refused: go on with the next
      }
    }
  }
  std::ifstream f(path, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  fuzz::read_all(path, bytes.data(), bytes.size());
  return 0;
}
