// Thin RAII and typed helpers over the HDF5 C API (host only).
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace netsweep::h5 {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Owns one HDF5 identifier and closes it with the matching H5*close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer, const std::string& what) : id_(id), closer_(closer) {
    if (id < 0) throw Error(what);
  }
  Handle(Handle&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      closer_ = o.closer_;
      o.id_ = -1;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }
  void reset() {
    if (id_ >= 0 && closer_) closer_(id_);
    id_ = -1;
  }
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }
  hid_t release() {  // the identifier, no longer closed by this handle
    const hid_t id = id_;
    id_ = -1;
    return id;
  }

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

inline void check(herr_t status, const std::string& what) {
  if (status < 0) throw Error(what);
}

// Turns off HDF5's own error printing: netsweep reports errors itself.
void silence_errors();

// The IEEE half type as h5py reads it (numpy float16).
hid_t float16_type();

template <typename T>
hid_t native_type() {
  if constexpr (std::is_same_v<T, float>)
    return H5T_NATIVE_FLOAT;
  else if constexpr (std::is_same_v<T, double>)
    return H5T_NATIVE_DOUBLE;
  else if constexpr (std::is_same_v<T, int32_t>)
    return H5T_NATIVE_INT32;
  else if constexpr (std::is_same_v<T, int64_t>)
    return H5T_NATIVE_INT64;
  else if constexpr (std::is_same_v<T, uint64_t>)
    return H5T_NATIVE_UINT64;
  else if constexpr (std::is_same_v<T, int8_t>)
    return H5T_NATIVE_INT8;
  else if constexpr (std::is_same_v<T, uint32_t>)
    return H5T_NATIVE_UINT32;
  else
    static_assert(sizeof(T) == 0, "unsupported HDF5 element type");
}

// Creates (truncates) a file in HDF5's 1.10 format, whose metadata blocks all
// carry checksums: a damaged file is refused by the library with an error
// instead of being trusted. `what` is the message if it cannot be created.
Handle create_file(const std::string& path, const std::string& what);
// File access properties without HDF5's own file locks (flock): netsweep writes every file under a
// temporary name, renamed into place under its own locks, and where the file system has no locks
// (NFS without lockd: ENOLCK) HDF5's would fail every create and open.
Handle unlocked_file_access();
// Flushes and closes a file written through `file`, then fsyncs it; throws on
// any failure (a full disk may surface only here), so that a file renamed
// into place afterwards is whole.
void close_written_file(Handle& file, const std::string& path);

Handle create_group(hid_t parent, const std::string& name);
Handle open_group(hid_t parent, const std::string& name);
bool exists(hid_t parent, const std::string& path);

// checksummed: the dataset is chunked with HDF5's Fletcher-32 filter, so a
// read of damaged data fails instead of returning it (used for checkpoints).
void write_raw(hid_t parent, const std::string& name, hid_t type, const std::vector<hsize_t>& dims, const void* data,
               bool checksummed = false);
template <typename T>
void write(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims, const std::vector<T>& data,
           bool checksummed = false) {
  write_raw(parent, name, native_type<T>(), dims, data.data(), checksummed);
}
template <typename T>
void write(hid_t parent, const std::string& name, const std::vector<T>& data, bool checksummed = false) {
  write(parent, name, {hsize_t(data.size())}, data, checksummed);
}
// Fixed-length UTF-8 strings, marked `_Encoding = "utf-8"` so that xarray decodes them.
void write_strings(hid_t parent, const std::string& name, const std::vector<std::string>& values);

// netCDF-4's reading of HDF5: dimensions are dimension scales (H5DS). A
// dimension is either a coordinate variable (a 1-D dataset named like the
// dimension, holding its values) or, without values, a placeholder dataset
// netCDF marks "not a variable". `id` is netCDF's dimension id (unique per file).
void make_coordinate_dimension(hid_t parent, const std::string& name, int id);
void create_dimension(hid_t parent, const std::string& name, hsize_t size, int id);
// Attaches dimension scales (paths from `file`) to the axes of `dataset`, in order.
void attach_dimensions(hid_t file, const std::string& dataset, const std::vector<std::string>& scales);
// A second name for an existing object (an HDF5 hard link).
void hard_link(hid_t file, const std::string& target, const std::string& name);

void set_attr(hid_t obj, const std::string& name, const std::string& value);
void set_attr(hid_t obj, const std::string& name, int64_t value);
void set_attr(hid_t obj, const std::string& name, double value);
void set_attr(hid_t obj, const std::string& name, const std::vector<double>& values);

// Opens an outside file for reading, first refusing (h5::Error naming the
// file) what libhdf5 would parse without a checksum: a superblock older than
// version 2 (HDF5's 1.8 format, whose object headers and heaps carry none;
// libhdf5 1.10 hangs and crashes on damaged ones, tests/fuzz/crashers/).
Handle open_for_reading(const std::string& path);

// Reading. `where` names the file for error messages. Strings must be
// fixed-length: a variable-length one lives in HDF5's global heap, which has
// no checksum in any format, and is refused before it is read.
std::vector<hsize_t> shape(hid_t parent, const std::string& name, const std::string& where);
// Every read refuses a dataset that declares far more data than the file
// stores for it (more than 1100x: netsweep writes every element; deflate
// compresses at most ~1032:1), before allocating; check_stored checks that alone.
void check_stored(hid_t parent, const std::string& name, const std::string& where);
template <typename T>
std::vector<T> read(hid_t parent, const std::string& name, const std::string& where);
// One slice along the first axis: row `row` of an (N, ...) dataset, or
// elements [start, start + count) of a 1-D one.
template <typename T>
std::vector<T> read_row(hid_t parent, const std::string& name, hsize_t row, const std::string& where);
template <typename T>
std::vector<T> read_range(hid_t parent, const std::string& name, hsize_t start, hsize_t count,
                          const std::string& where);
std::vector<std::string> read_strings(hid_t parent, const std::string& name, const std::string& where);
// The block [start, start + count) of the float (or, with half, float16) dataset
// `set`, as floats; what: the data, in error messages.
std::vector<float> read_float_block(hid_t set, int rank, const hsize_t* start, const hsize_t* count, bool half,
                                    const std::string& path, const std::string& what);
std::string get_string_attr(hid_t obj, const std::string& name, const std::string& where);
int64_t get_int_attr(hid_t obj, const std::string& name, const std::string& where);
double get_double_attr(hid_t obj, const std::string& name, const std::string& where);
std::vector<double> get_doubles_attr(hid_t obj, const std::string& name, const std::string& where);
bool has_attr(hid_t obj, const std::string& name);

}  // namespace netsweep::h5
