// Checked HDF5 helpers (h5.h): files, groups, datasets, strings, dimension
// scales and attributes written; the read side is h5_read.cpp.
#include "h5.h"

#include <H5DSpublic.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

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

Handle unlocked_file_access() {
  silence_errors();
  Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "file access properties");
  check(H5Pset_file_locking(access, false, true), "file access properties: locking");
  return access;
}

Handle create_file(const std::string& path, const std::string& what) {
  Handle access = unlocked_file_access();
  check(H5Pset_libver_bounds(access, H5F_LIBVER_V110, H5F_LIBVER_V110), "file format bounds");
  return Handle(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access), H5Fclose, what);
}

void close_written_file(Handle& file, const std::string& path) {
  check(H5Fflush(file, H5F_SCOPE_GLOBAL), path + ": cannot write the file (disk full?)");
  check(H5Fclose(file.release()), path + ": cannot write the file (disk full?)");
  const int fd = ::open(path.c_str(), O_RDONLY);
  const bool synced = fd >= 0 && ::fsync(fd) == 0;
  const int error = errno;
  if (fd >= 0) ::close(fd);
  if (!synced) throw Error(path + ": cannot write the file to disk: " + std::strerror(error));
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

}  // namespace netsweep::h5
