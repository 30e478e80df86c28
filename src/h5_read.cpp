// The read side of the checked HDF5 helpers (h5.h): shapes, whole and
// partial datasets, strings and attributes, each checked against what a
// damaged file can hold before it is read.
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <type_traits>

#include "h5.h"
#include "host_util.h"  // half_bits_to_float

namespace netsweep::h5 {

namespace {
// The version byte of the file's superblock: it follows the 8-byte signature,
// which HDF5 looks for at offset 0, 512, 1024, 2048, ... (after a user block);
// -1 if there is none (or the path is not a regular file).
int superblock_version(const std::string& path) {
  constexpr std::array<char, 8> kSignature{'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return -1;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read (" + std::strerror(errno) + ")");
  for (uintmax_t at = 0; at + kSignature.size() < size; at = at == 0 ? 512 : at * 2) {
    std::array<char, 9> head{};
    if (!in.seekg(std::streamoff(at)) || !in.read(head.data(), std::streamsize(head.size()))) return -1;
    if (std::memcmp(head.data(), kSignature.data(), kSignature.size()) == 0) return static_cast<unsigned char>(head[8]);
  }
  return -1;
}

void refuse_variable_length(hid_t type, const std::string& what, const std::string& where) {
  if (H5Tis_variable_str(type) != 0)
    throw Error(where + ": " + what +
                " holds variable-length strings (a file of an older netsweep or another program: netsweep reads "
                "the fixed-length strings it writes)");
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
}  // namespace

Handle open_for_reading(const std::string& path) {
  silence_errors();
  std::error_code ec;
  const bool there = std::filesystem::exists(path, ec);
  if (ec) throw Error(path + ": " + ec.message());
  if (!there) throw Error(path + ": no such file");
  if (std::filesystem::is_directory(path, ec)) throw Error(path + ": a directory, not a file");
  const int version = superblock_version(path);
  if (version < 0) throw Error(path + ": not an HDF5 file");
  if (version < 2)
    throw Error(path + ": HDF5 superblock version " + std::to_string(version) +
                " (the 1.8 format, without metadata checksums: an older netsweep's or another program's file); "
                "netsweep reads the checksummed 1.10 format it writes");
  return Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, unlocked_file_access()), H5Fclose,
                path + ": cannot open (a damaged or truncated HDF5 file?)");
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

// Integers (ids, labels, epochs, offsets) are read only from integers: HDF5 would convert
// 0.7 to 0 and 19.9 to 19 without a word.
template <typename T>
void check_class(hid_t set, const std::string& name, const std::string& where) {
  if constexpr (std::is_integral_v<T>) {
    Handle type(H5Dget_type(set), H5Tclose, where + ": type of '" + name + "'");
    if (H5Tget_class(type) != H5T_INTEGER)
      throw Error(where + ": dataset '" + name + "' does not hold integers (damaged, or not written by netsweep)");
  }
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
  check_class<T>(set, name, where);
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
  check_class<T>(set, name, where);
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
  refuse_variable_length(file_type, "dataset '" + name + "'", where);
  std::vector<std::string> out;
  if (n == 0) return out;
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
  refuse_variable_length(file_type, "attribute '" + name + "'", where);
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

// The block [start, start + count) of `set`, a float dataset or a half one
// (then read as its bits and widened here: HDF5's own half -> float
// conversion is slow). what: the data, in error messages.
std::vector<float> read_float_block(hid_t set, int rank, const hsize_t* start, const hsize_t* count, bool half,
                                    const std::string& path, const std::string& what) {
  h5::Handle file_space(H5Dget_space(set), H5Sclose, what + " space");
  h5::check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, count, nullptr), what + " slab");
  h5::Handle mem_space(H5Screate_simple(rank, count, nullptr), H5Sclose, what + " memory space");
  size_t n = 1;
  for (int d = 0; d < rank; ++d) n *= size_t(count[d]);
  std::vector<float> out(n);
  if (half) {
    std::vector<uint16_t> bits(n);
    h5::check(H5Dread(set, h5::float16_type(), mem_space, file_space, H5P_DEFAULT, bits.data()),
              path + ": cannot read " + what);
    for (size_t k = 0; k < n; ++k) out[k] = half_bits_to_float(bits[k]);
  } else {
    h5::check(H5Dread(set, H5T_NATIVE_FLOAT, mem_space, file_space, H5P_DEFAULT, out.data()),
              path + ": cannot read " + what);
  }
  return out;
}

}  // namespace netsweep::h5