// Regression tests for what the fuzzers (tests/fuzz) found in netsweep's
// readers, on well-formed HDF5 files that netsweep would not write.
#include <gtest/gtest.h>

#include <filesystem>

#include "h5.h"

using namespace netsweep;

namespace {

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "netsweep_fuzz_" + name; }

template <typename T>
void put_attr(hid_t obj, const char* name, hid_t type, const std::vector<T>& values, bool scalar) {
  const hsize_t n = values.size();
  h5::Handle space(scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr), H5Sclose, "space");
  h5::Handle attr(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose, "attribute");
  if (!values.empty()) h5::check(H5Awrite(attr, type, values.data()), "write");
}

}  // namespace

// fuzz_results_layout: a list where one number was expected overflowed the
// stack (get_double_attr read every element into one double).
TEST(FuzzFindings, NumericAttributesAreCheckedBeforeReading) {
  const std::string path = temp_path("attributes.h5");
  {
    h5::Handle file = h5::create_file(path, "create");
    put_attr<double>(file, "one", H5T_NATIVE_DOUBLE, {2.5}, true);
    put_attr<int64_t>(file, "integer", H5T_NATIVE_INT64, {7}, true);
    put_attr<double>(file, "six", H5T_NATIVE_DOUBLE, {1, 2, 3, 4, 5, 6}, false);
    put_attr<double>(file, "none", H5T_NATIVE_DOUBLE, {}, false);
    h5::set_attr(file, "text", std::string("12"));
  }
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, "open");
  EXPECT_EQ(h5::get_double_attr(file, "one", path), 2.5);
  EXPECT_EQ(h5::get_double_attr(file, "integer", path), 7.0);
  EXPECT_THROW(h5::get_double_attr(file, "six", path), h5::Error);
  EXPECT_THROW(h5::get_double_attr(file, "none", path), h5::Error);
  EXPECT_THROW(h5::get_double_attr(file, "text", path), h5::Error);
  EXPECT_EQ(h5::get_doubles_attr(file, "six", path), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_TRUE(h5::get_doubles_attr(file, "none", path).empty());
  EXPECT_THROW(h5::get_doubles_attr(file, "text", path), h5::Error);
  std::filesystem::remove(path);
}
