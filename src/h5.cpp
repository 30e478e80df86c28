#include "h5.h"

#include <H5DSpublic.h>

#include <algorithm>
#include <cstdio>

namespace netsweep::h5 {

// HDF5 keeps its error-printing setting per thread (Debian's build is
// thread-safe): every thread that calls it must turn printing off itself.
void silence_errors() {
  thread_local bool silenced = false;
  if (!silenced) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    silenced = true;
  }
}

namespace {
// HDF5 closes what is still open when the process exits; a file whose close
// failed (a full disk) would be closed again there and crash. netsweep closes
// every file itself (and deletes unfinished ones), so that cleanup is off.
const bool g_no_atexit_cleanup = [] {
  H5dont_atexit();
  return true;
}();
}  // namespace

namespace {
// "/group/name" for messages.
std::string path_of(hid_t parent, const std::string& name) {
  char buf[256] = {0};
  const ssize_t n = H5Iget_name(parent, buf, sizeof buf);
  const std::string base = n > 0 ? std::string(buf) : std::string();
  return (base.empty() || base == "/" ? "/" : base + "/") + name;
}

}  // namespace

hid_t float16_type() {
  static const hid_t type = [] {
    const hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    check(H5Tset_fields(t, 15, 10, 5, 0, 10), "float16 type: fields");
    check(H5Tset_size(t, 2), "float16 type: size");
    check(H5Tset_ebias(t, 15), "float16 type: bias");
    check(H5Tlock(t), "float16 type: lock");
    return t;
  }();
  return type;
}

Handle create_file(const std::string& path, const std::string& what) {
  silence_errors();
  Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "file access properties");
  check(H5Pset_libver_bounds(access, H5F_LIBVER_V110, H5F_LIBVER_V110), "file format bounds");
  return Handle(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access), H5Fclose, what);
}

Handle create_group(hid_t parent, const std::string& name) {
  silence_errors();
  return Handle(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
                "cannot create group " + name);
}

Handle open_group(hid_t parent, const std::string& name) {
  silence_errors();
  return Handle(H5Gopen2(parent, name.c_str(), H5P_DEFAULT), H5Gclose, "missing group '" + name + "'");
}

bool exists(hid_t parent, const std::string& path) {
  silence_errors();
  // Walk the path so a missing intermediate group is not an error.
  std::string prefix;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t slash = path.find('/', start);
    prefix = path.substr(0, slash);
    if (H5Lexists(parent, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return true;
}

void write_raw(hid_t parent, const std::string& name, hid_t type, const std::vector<hsize_t>& dims, const void* data,
               bool checksummed) {
  silence_errors();
  hsize_t count = 1;
  for (auto d : dims) count *= d;
  Handle space(H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose, "dataspace for " + name);
  Handle props(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "dataset properties for " + name);
  if (checksummed && count > 0) {
    // Chunks of up to 1 Mi elements along the first axis.
    std::vector<hsize_t> chunk = dims;
    const hsize_t row = dims.empty() || dims[0] == 0 ? 1 : count / dims[0];
    chunk[0] = std::max<hsize_t>(1, std::min<hsize_t>(dims[0], (hsize_t(1) << 20) / std::max<hsize_t>(row, 1)));
    check(H5Pset_chunk(props, int(chunk.size()), chunk.data()), "chunking of " + name);
    check(H5Pset_fletcher32(props), "checksum filter of " + name);
  }
  Handle set(H5Dcreate2(parent, name.c_str(), type, space, H5P_DEFAULT, props, H5P_DEFAULT), H5Dclose,
             "cannot create dataset " + path_of(parent, name));
  if (count > 0)
    check(H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "cannot write dataset " + path_of(parent, name));
}

namespace {
// Variable-length strings, as older netsweep files store them (read only).
Handle vlen_string_type() {
  Handle t(H5Tcopy(H5T_C_S1), H5Tclose, "string type");
  check(H5Tset_size(t, H5T_VARIABLE), "string type size");
  check(H5Tset_cset(t, H5T_CSET_UTF8), "string type charset");
  return t;
}

// Fixed-length UTF-8 strings of `size` bytes, zero-padded: stored inline, so a
// damaged byte changes a character at worst (a variable-length string is a
// pointer into an unchecked heap that a damaged file can send anywhere).
Handle fixed_string_type(size_t size) {
  Handle t(H5Tcopy(H5T_C_S1), H5Tclose, "string type");
  check(H5Tset_size(t, std::max<size_t>(size, 1)), "string type size");
  check(H5Tset_strpad(t, H5T_STR_NULLPAD), "string type padding");
  check(H5Tset_cset(t, H5T_CSET_UTF8), "string type charset");
  return t;
}

// Strings longer than this in a file are damage, not netsweep's.
constexpr size_t kMaxStringBytes = size_t(64) << 20;

Handle open_dataset(hid_t parent, const std::string& name, const std::string& where) {
  silence_errors();
  return Handle(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), H5Dclose, where + ": missing dataset '" + name + "'");
}

Handle open_attr(hid_t obj, const std::string& name, const std::string& where) {
  silence_errors();
  return Handle(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose, where + ": missing attribute '" + name + "'");
}

template <typename T>
void set_scalar_attr(hid_t obj, const std::string& name, const T& value) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose, "scalar space");
  Handle attr(H5Acreate2(obj, name.c_str(), native_type<T>(), space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
              "cannot create attribute " + name);
  check(H5Awrite(attr, native_type<T>(), &value), "cannot write attribute " + name);
}
}  // namespace

void write_strings(hid_t parent, const std::string& name, const std::vector<std::string>& values) {
  silence_errors();
  size_t width = 1;
  for (const auto& v : values) width = std::max(width, v.size());
  std::vector<char> packed(values.size() * width, '\0');
  for (size_t i = 0; i < values.size(); ++i)
    std::copy(values[i].begin(), values[i].end(), packed.begin() + long(i * width));
  Handle type = fixed_string_type(width);
  const hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose, "dataspace for " + name);
  Handle set(H5Dcreate2(parent, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose,
             "cannot create dataset " + path_of(parent, name));
  if (n > 0)
    check(H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, packed.data()), "cannot write " + path_of(parent, name));
  set_attr(set, "_Encoding", std::string("utf-8"));
}

namespace {
void set_dimension_id(hid_t dataset, int id, const std::string& what) {
  const int32_t value = id;
  Handle space(H5Screate(H5S_SCALAR), H5Sclose, "scalar space");
  Handle attr(H5Acreate2(dataset, "_Netcdf4Dimid", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
              "cannot create _Netcdf4Dimid on " + what);
  check(H5Awrite(attr, H5T_NATIVE_INT32, &value), "cannot write _Netcdf4Dimid on " + what);
}
}  // namespace

void make_coordinate_dimension(hid_t parent, const std::string& name, int id) {
  silence_errors();
  Handle set(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), H5Dclose, "cannot open " + path_of(parent, name));
  check(H5DSset_scale(set, name.c_str()), "cannot make " + path_of(parent, name) + " a dimension");
  set_dimension_id(set, id, path_of(parent, name));
}

void create_dimension(hid_t parent, const std::string& name, hsize_t size, int id) {
  silence_errors();
  // As netCDF writes them: a float dataset of the dimension's length, never written (no storage).
  Handle space(H5Screate_simple(1, &size, nullptr), H5Sclose, "dataspace for " + name);
  Handle set(H5Dcreate2(parent, name.c_str(), H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose,
             "cannot create dimension " + path_of(parent, name));
  char label[96];
  std::snprintf(label, sizeof label, "This is a netCDF dimension but not a netCDF variable.%10llu",
                static_cast<unsigned long long>(size));
  check(H5DSset_scale(set, label), "cannot make " + path_of(parent, name) + " a dimension");
  set_dimension_id(set, id, path_of(parent, name));
}

void attach_dimensions(hid_t file, const std::string& dataset, const std::vector<std::string>& scales) {
  silence_errors();
  Handle set(H5Dopen2(file, dataset.c_str(), H5P_DEFAULT), H5Dclose, "cannot open " + dataset);
  for (size_t axis = 0; axis < scales.size(); ++axis) {
    Handle scale(H5Dopen2(file, scales[axis].c_str(), H5P_DEFAULT), H5Dclose, "cannot open " + scales[axis]);
    check(H5DSattach_scale(set, scale, unsigned(axis)),
          "cannot attach dimension " + scales[axis] + " to axis " + std::to_string(axis) + " of " + dataset);
  }
}

void hard_link(hid_t file, const std::string& target, const std::string& name) {
  silence_errors();
  check(H5Lcreate_hard(file, target.c_str(), file, name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
        "cannot link " + name + " to " + target);
}

void set_attr(hid_t obj, const std::string& name, const std::string& value) {
  silence_errors();
  Handle type = fixed_string_type(value.size());
  Handle space(H5Screate(H5S_SCALAR), H5Sclose, "scalar space");
  Handle attr(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
              "cannot create attribute " + name);
  std::string padded = value;
  padded.resize(std::max<size_t>(value.size(), 1), '\0');
  check(H5Awrite(attr, type, padded.data()), "cannot write attribute " + name);
}

void set_attr(hid_t obj, const std::string& name, int64_t value) { set_scalar_attr(obj, name, value); }
void set_attr(hid_t obj, const std::string& name, double value) { set_scalar_attr(obj, name, value); }

void set_attr(hid_t obj, const std::string& name, const std::vector<double>& values) {
  const hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose, "attribute space");
  Handle attr(H5Acreate2(obj, name.c_str(), H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
              "cannot create attribute " + name);
  check(H5Awrite(attr, H5T_NATIVE_DOUBLE, values.data()), "cannot write attribute " + name);
}

std::vector<hsize_t> shape(hid_t parent, const std::string& name, const std::string& where) {
  silence_errors();
  Handle set = open_dataset(parent, name, where);
  Handle space(H5Dget_space(set), H5Sclose, where + ": dataspace of " + name);
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(size_t(std::max(rank, 0)));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return dims;
}

namespace {
// More elements than netsweep ever writes to one dataset: a damaged file.
constexpr hsize_t kMaxElements = hsize_t(1) << 34;
hsize_t element_count(const std::vector<hsize_t>& dims, const std::string& name, const std::string& where) {
  hsize_t count = 1;
  for (auto d : dims) {
    if (d != 0 && count > kMaxElements / d) throw Error(where + ": dataset '" + name + "' is impossibly large");
    count *= d;
  }
  return count;
}

// netsweep writes every element of its datasets, compressed (frames) at most
// about 1032:1 by deflate. A dataset that declares more bytes than 1100 times
// what it stores -- never written, or a huge shape in a small file -- is
// damaged or hand-made: refused before anything of its declared size is
// allocated (found by fuzz_results_layout: 32 GB for an unwritten 2^33-element
// dataset in a 20 KB file). Memory for reading stays within 1100x the file.
constexpr double kMaxStorageRatio = 1100;

void check_stored(hid_t set, hsize_t count, const std::string& name, const std::string& where) {
  if (count == 0) return;
  Handle type(H5Dget_type(set), H5Tclose, where + ": type of '" + name + "'");
  const double declared = double(count) * double(std::max<size_t>(H5Tget_size(type), 1));
  const double stored = double(H5Dget_storage_size(set));
  if (declared > stored * kMaxStorageRatio)
    throw Error(where + ": dataset '" + name + "' declares " + std::to_string(count) + " values but the file stores " +
                (stored == 0 ? std::string("none of them") : "only " + std::to_string(int64_t(stored)) + " bytes") +
                " (damaged, or not written by netsweep)");
}

hsize_t stored_count(hid_t set, const std::string& name, const std::string& where) {
  Handle space(H5Dget_space(set), H5Sclose, where + ": dataspace of " + name);
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(size_t(std::max(rank, 0)));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  const hsize_t count = element_count(dims, name, where);
  check_stored(set, count, name, where);
  return count;
}
}  // namespace

void check_stored(hid_t parent, const std::string& name, const std::string& where) {
  silence_errors();
  Handle set = open_dataset(parent, name, where);
  stored_count(set, name, where);
}

template <typename T>
std::vector<T> read(hid_t parent, const std::string& name, const std::string& where) {
  Handle set = open_dataset(parent, name, where);
  const hsize_t count = stored_count(set, name, where);
  std::vector<T> out(count);
  if (count > 0)
    check(H5Dread(set, native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()),
          where + ": cannot read dataset '" + name + "'");
  return out;
}
template std::vector<float> read<float>(hid_t, const std::string&, const std::string&);
template std::vector<double> read<double>(hid_t, const std::string&, const std::string&);
template std::vector<int32_t> read<int32_t>(hid_t, const std::string&, const std::string&);
template std::vector<int64_t> read<int64_t>(hid_t, const std::string&, const std::string&);
template std::vector<uint64_t> read<uint64_t>(hid_t, const std::string&, const std::string&);
template std::vector<int8_t> read<int8_t>(hid_t, const std::string&, const std::string&);
template std::vector<uint32_t> read<uint32_t>(hid_t, const std::string&, const std::string&);

namespace {
template <typename T>
std::vector<T> read_slab(hid_t parent, const std::string& name, const std::vector<hsize_t>& start,
                         const std::vector<hsize_t>& count, const std::string& where) {
  Handle set = open_dataset(parent, name, where);
  stored_count(set, name, where);
  Handle file_space(H5Dget_space(set), H5Sclose, where + ": dataspace of " + name);
  check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
        where + ": '" + name + "': slice out of range");
  const hsize_t n = element_count(count, name, where);
  std::vector<T> out(n);
  Handle mem_space(H5Screate_simple(1, &n, nullptr), H5Sclose, "memory space");
  if (n > 0)
    check(H5Dread(set, native_type<T>(), mem_space, file_space, H5P_DEFAULT, out.data()),
          where + ": cannot read dataset '" + name + "'");
  return out;
}
}  // namespace

template <typename T>
std::vector<T> read_row(hid_t parent, const std::string& name, hsize_t row, const std::string& where) {
  auto dims = shape(parent, name, where);
  if (dims.empty() || row >= dims[0]) throw Error(where + ": '" + name + "' has no row " + std::to_string(row));
  std::vector<hsize_t> start(dims.size(), 0), count = dims;
  start[0] = row;
  count[0] = 1;
  return read_slab<T>(parent, name, start, count, where);
}

template <typename T>
std::vector<T> read_range(hid_t parent, const std::string& name, hsize_t start, hsize_t count,
                          const std::string& where) {
  return read_slab<T>(parent, name, {start}, {count}, where);
}

template std::vector<float> read_row<float>(hid_t, const std::string&, hsize_t, const std::string&);
template std::vector<float> read_range<float>(hid_t, const std::string&, hsize_t, hsize_t, const std::string&);

std::vector<std::string> read_strings(hid_t parent, const std::string& name, const std::string& where) {
  silence_errors();
  const auto dims = shape(parent, name, where);
  if (dims.size() != 1) throw Error(where + ": dataset '" + name + "' is not a 1-D list of strings");
  Handle set = open_dataset(parent, name, where);
  const size_t n = size_t(stored_count(set, name, where));
  Handle file_type(H5Dget_type(set), H5Tclose, where + ": type of '" + name + "'");
  if (H5Tget_class(file_type) != H5T_STRING) throw Error(where + ": dataset '" + name + "' is not a list of strings");
  std::vector<std::string> out;
  if (n == 0) return out;
  if (H5Tis_variable_str(file_type) > 0) {  // files of older netsweep versions
    std::vector<char*> ptrs(n, nullptr);
    Handle type = vlen_string_type();
    check(H5Dread(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), where + ": cannot read '" + name + "'");
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    Handle space(H5Dget_space(set), H5Sclose, "space");
    H5Dvlen_reclaim(type, space, H5P_DEFAULT, ptrs.data());
    return out;
  }
  const size_t width = H5Tget_size(file_type);
  if (width == 0 || width > kMaxStringBytes || n > kMaxStringBytes / width)
    throw Error(where + ": dataset '" + name + "' has impossibly long strings");
  Handle type(H5Tcopy(file_type), H5Tclose, "string type");  // as stored: HDF5 will not convert between charsets
  std::vector<char> packed(n * width);
  check(H5Dread(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, packed.data()), where + ": cannot read '" + name + "'");
  for (size_t i = 0; i < n; ++i) {
    const char* p = packed.data() + i * width;
    out.emplace_back(p, std::find(p, p + width, '\0'));
  }
  return out;
}

bool has_attr(hid_t obj, const std::string& name) {
  silence_errors();
  return H5Aexists(obj, name.c_str()) > 0;
}

std::string get_string_attr(hid_t obj, const std::string& name, const std::string& where) {
  silence_errors();
  Handle attr = open_attr(obj, name, where);
  Handle file_type(H5Aget_type(attr), H5Tclose, "attribute type");
  if (H5Tget_class(file_type) != H5T_STRING) throw Error(where + ": attribute '" + name + "' is not a string");
  Handle space(H5Aget_space(attr), H5Sclose, where + ": space of attribute '" + name + "'");
  if (H5Sget_simple_extent_npoints(space) != 1) throw Error(where + ": attribute '" + name + "' is not one string");
  if (H5Tis_variable_str(file_type) > 0) {
    Handle type = vlen_string_type();
    char* ptr = nullptr;
    check(H5Aread(attr, type, &ptr), where + ": cannot read attribute '" + name + "'");
    std::string value = ptr ? ptr : "";
    H5free_memory(ptr);
    return value;
  }
  const size_t width = H5Tget_size(file_type);
  if (width == 0 || width > kMaxStringBytes) throw Error(where + ": attribute '" + name + "' is impossibly long");
  std::string value(width, '\0');
  Handle type(H5Tcopy(file_type), H5Tclose, "string type");  // as stored: HDF5 will not convert between charsets
  check(H5Aread(attr, type, value.data()), where + ": cannot read attribute '" + name + "'");
  return value.substr(0, value.find('\0'));
}

int64_t get_int_attr(hid_t obj, const std::string& name, const std::string& where) {
  silence_errors();
  Handle attr = open_attr(obj, name, where);
  Handle type(H5Aget_type(attr), H5Tclose, where + ": type of attribute '" + name + "'");
  Handle space(H5Aget_space(attr), H5Sclose, where + ": space of attribute '" + name + "'");
  if (H5Tget_class(type) != H5T_INTEGER || H5Sget_simple_extent_npoints(space) != 1)
    throw Error(where + ": attribute '" + name + "' is not an integer");
  int64_t v = 0;
  check(H5Aread(attr, H5T_NATIVE_INT64, &v), where + ": attribute '" + name + "' is not an integer");
  return v;
}

namespace {
// The number of values of a numeric attribute; throws if it holds anything else.
size_t numeric_attr_size(hid_t attr, const std::string& name, const std::string& where) {
  Handle type(H5Aget_type(attr), H5Tclose, where + ": type of attribute '" + name + "'");
  Handle space(H5Aget_space(attr), H5Sclose, where + ": space of attribute '" + name + "'");
  const H5T_class_t c = H5Tget_class(type);
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  if ((c != H5T_FLOAT && c != H5T_INTEGER) || n < 0 || n > (hssize_t(1) << 20))
    throw Error(where + ": attribute '" + name + "' is not numeric");
  return size_t(n);
}
}  // namespace

double get_double_attr(hid_t obj, const std::string& name, const std::string& where) {
  silence_errors();
  Handle attr = open_attr(obj, name, where);
  // One value: a list would be read past `v` (found by fuzz_results_layout).
  if (numeric_attr_size(attr, name, where) != 1) throw Error(where + ": attribute '" + name + "' is not a number");
  double v = 0;
  check(H5Aread(attr, H5T_NATIVE_DOUBLE, &v), where + ": attribute '" + name + "' is not a number");
  return v;
}

std::vector<double> get_doubles_attr(hid_t obj, const std::string& name, const std::string& where) {
  silence_errors();
  Handle attr = open_attr(obj, name, where);
  std::vector<double> v(numeric_attr_size(attr, name, where));
  if (!v.empty())
    check(H5Aread(attr, H5T_NATIVE_DOUBLE, v.data()), where + ": attribute '" + name + "' is not numeric");
  return v;
}

}  // namespace netsweep::h5
