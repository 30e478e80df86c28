#include "h5.h"

namespace netsweep::h5 {

void silence_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

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

Handle create_group(hid_t parent, const std::string& name) {
  return Handle(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
                "cannot create group " + name);
}

Handle open_group(hid_t parent, const std::string& name) {
  return Handle(H5Gopen2(parent, name.c_str(), H5P_DEFAULT), H5Gclose, "missing group '" + name + "'");
}

bool exists(hid_t parent, const std::string& path) {
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

void write_raw(hid_t parent, const std::string& name, hid_t type, const std::vector<hsize_t>& dims, const void* data) {
  Handle space(H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose, "dataspace for " + name);
  Handle set(H5Dcreate2(parent, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose,
             "cannot create dataset " + name);
  hsize_t count = 1;
  for (auto d : dims) count *= d;
  if (count > 0) check(H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "cannot write dataset " + name);
}

namespace {
Handle string_type() {
  Handle t(H5Tcopy(H5T_C_S1), H5Tclose, "string type");
  check(H5Tset_size(t, H5T_VARIABLE), "string type size");
  check(H5Tset_cset(t, H5T_CSET_UTF8), "string type charset");
  return t;
}

Handle open_dataset(hid_t parent, const std::string& name, const std::string& where) {
  return Handle(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), H5Dclose, where + ": missing dataset '" + name + "'");
}

Handle open_attr(hid_t obj, const std::string& name, const std::string& where) {
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
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  Handle type = string_type();
  const hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose, "dataspace for " + name);
  Handle set(H5Dcreate2(parent, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose,
             "cannot create dataset " + name);
  if (n > 0) check(H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), "cannot write " + name);
}

void set_attr(hid_t obj, const std::string& name, const std::string& value) {
  Handle type = string_type();
  Handle space(H5Screate(H5S_SCALAR), H5Sclose, "scalar space");
  Handle attr(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
              "cannot create attribute " + name);
  const char* ptr = value.c_str();
  check(H5Awrite(attr, type, &ptr), "cannot write attribute " + name);
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
  Handle set = open_dataset(parent, name, where);
  Handle space(H5Dget_space(set), H5Sclose, where + ": dataspace of " + name);
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(size_t(std::max(rank, 0)));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return dims;
}

template <typename T>
std::vector<T> read(hid_t parent, const std::string& name, const std::string& where) {
  hsize_t count = 1;
  for (auto d : shape(parent, name, where)) count *= d;
  std::vector<T> out(count);
  Handle set = open_dataset(parent, name, where);
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

namespace {
template <typename T>
std::vector<T> read_slab(hid_t parent, const std::string& name, const std::vector<hsize_t>& start,
                         const std::vector<hsize_t>& count, const std::string& where) {
  Handle set = open_dataset(parent, name, where);
  Handle file_space(H5Dget_space(set), H5Sclose, where + ": dataspace of " + name);
  check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
        where + ": '" + name + "': slice out of range");
  hsize_t n = 1;
  for (auto c : count) n *= c;
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
  const auto dims = shape(parent, name, where);
  const size_t n = dims.empty() ? 0 : size_t(dims[0]);
  std::vector<char*> ptrs(n, nullptr);
  Handle set = open_dataset(parent, name, where);
  Handle type = string_type();
  if (n > 0)
    check(H5Dread(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), where + ": cannot read '" + name + "'");
  std::vector<std::string> out;
  for (char* p : ptrs) out.emplace_back(p ? p : "");
  if (n > 0) {
    Handle space(H5Dget_space(set), H5Sclose, "space");
    H5Dvlen_reclaim(type, space, H5P_DEFAULT, ptrs.data());
  }
  return out;
}

bool has_attr(hid_t obj, const std::string& name) { return H5Aexists(obj, name.c_str()) > 0; }

std::string get_string_attr(hid_t obj, const std::string& name, const std::string& where) {
  Handle attr = open_attr(obj, name, where);
  Handle file_type(H5Aget_type(attr), H5Tclose, "attribute type");
  if (H5Tget_class(file_type) != H5T_STRING) throw Error(where + ": attribute '" + name + "' is not a string");
  if (H5Tis_variable_str(file_type) > 0) {
    Handle type = string_type();
    char* ptr = nullptr;
    check(H5Aread(attr, type, &ptr), where + ": cannot read attribute '" + name + "'");
    std::string value = ptr ? ptr : "";
    H5free_memory(ptr);
    return value;
  }
  std::string value(H5Tget_size(file_type), '\0');
  check(H5Aread(attr, file_type, value.data()), where + ": cannot read attribute '" + name + "'");
  return value.substr(0, value.find('\0'));
}

int64_t get_int_attr(hid_t obj, const std::string& name, const std::string& where) {
  Handle attr = open_attr(obj, name, where);
  int64_t v = 0;
  check(H5Aread(attr, H5T_NATIVE_INT64, &v), where + ": attribute '" + name + "' is not an integer");
  return v;
}

double get_double_attr(hid_t obj, const std::string& name, const std::string& where) {
  Handle attr = open_attr(obj, name, where);
  double v = 0;
  check(H5Aread(attr, H5T_NATIVE_DOUBLE, &v), where + ": attribute '" + name + "' is not a number");
  return v;
}

std::vector<double> get_doubles_attr(hid_t obj, const std::string& name, const std::string& where) {
  Handle attr = open_attr(obj, name, where);
  Handle space(H5Aget_space(attr), H5Sclose, "attribute space");
  std::vector<double> v(size_t(H5Sget_simple_extent_npoints(space)));
  check(H5Aread(attr, H5T_NATIVE_DOUBLE, v.data()), where + ": attribute '" + name + "' is not numeric");
  return v;
}

}  // namespace netsweep::h5
