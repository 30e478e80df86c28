// Regression tests for what the fuzzers (tests/fuzz) found in netsweep's
// readers, on well-formed HDF5 files that netsweep would not write.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "h5.h"
#include "netsweep/results.h"
#include "netsweep/run.h"

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

namespace {

// A small real results file, then `edit` applied to it through the HDF5 API.
template <typename F>
std::string edited_results(const std::string& name, F&& edit) {
  const std::string path = temp_path(name);
  SweepSpec s;
  s.layers = {1};
  s.widths = {3};
  s.activations = {Activation::relu, Activation::tanh};
  s.optimizers = {Optimizer::adam};
  s.learning_rates = {1e-2f};
  s.batch_sizes = {8};
  s.epochs = 3;
  s.snapshot_every = 2;
  s.grid = 4;
  DataOptions d;
  d.datasets = {"xor:n=20"};
  RunOptions o;
  o.output = path;
  o.device = DeviceChoice::cpu;
  o.quiet = true;
  run_sweep(s, load_data(d), o);
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose, "open");
  edit(file.get());
  return path;
}

// Replaces dataset `name` with an unwritten chunked one of shape `dims`.
void declare_unwritten(hid_t file, const std::string& name, std::vector<hsize_t> dims, hid_t type) {
  h5::check(H5Ldelete(file, name.c_str(), H5P_DEFAULT), "delete " + name);
  std::vector<hsize_t> chunk(dims.size(), 1);
  h5::Handle props(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "props");
  h5::check(H5Pset_chunk(props, int(chunk.size()), chunk.data()), "chunk");
  h5::Handle space(H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose, "space");
  h5::Handle set(H5Dcreate2(file, name.c_str(), type, space, H5P_DEFAULT, props, H5P_DEFAULT), H5Dclose, name);
}

void expect_refused(const std::string& path, const std::string& message) {
  try {
    ResultsFile f(path);
    ADD_FAILURE() << path << " was opened";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << "got: " << e.what();
  }
}

}  // namespace

// fuzz_results_layout: a dataset declared with 2^33 elements but never
// written (a 20 KB file) made every reader allocate 32 GB before reading; a
// networks table of 2^33 rows, 2^33 NetworkRows.
TEST(FuzzFindings, DatasetsDeclaringMoreThanTheFileStoresAreRefusedBeforeAllocating) {
  expect_refused(
      edited_results("unwritten_column.h5",
                     [](hid_t f) { declare_unwritten(f, "networks/width", {hsize_t(1) << 33}, H5T_NATIVE_INT32); }),
      "dataset 'width' declares 8589934592 values but the file stores none of them");
  expect_refused(
      edited_results("huge_table.h5",
                     [](hid_t f) { declare_unwritten(f, "networks/id", {hsize_t(1) << 33}, H5T_NATIVE_INT32); }),
      "more networks than netsweep handles");
  expect_refused(edited_results("huge_frames.h5",
                                [](hid_t f) {
                                  declare_unwritten(f, "frames", {2, 3, 20000, 20000, 2}, H5T_NATIVE_FLOAT);
                                }),
                 "dataset 'frames' declares");
  // Read directly: refused before the allocation too.
  const std::string path = edited_results("unwritten_initial.h5", [](hid_t f) {
    declare_unwritten(f, "weights/initial", {hsize_t(1) << 32}, H5T_NATIVE_FLOAT);
  });
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, "open");
  EXPECT_THROW(h5::read<float>(file, "weights/initial", path), h5::Error);
  EXPECT_THROW(h5::read_range<float>(file, "weights/initial", 0, 10, path), h5::Error);
  EXPECT_EQ(h5::read<int64_t>(file, "weights/offsets", path).size(), 3u);  // written ones read as before
}

// From reading check_layout after a fuzz campaign: a network's parameter count
// near 2^63 overflowed offset + count (signed: undefined; it wrapped negative
// and passed). float64 1e300 in that column reads as INT64_MAX too.
TEST(FuzzFindings, ParameterCountsNear2To63AreRefusedWithoutOverflow) {
  expect_refused(edited_results("parameters_overflow.h5",
                                [](hid_t f) {
                                  const int64_t counts[2] = {7, std::numeric_limits<int64_t>::max()};
                                  h5::Handle set(H5Dopen2(f, "networks/parameters", H5P_DEFAULT), H5Dclose, "open");
                                  h5::check(H5Dwrite(set, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, counts),
                                            "write");
                                }),
                 "network 1's parameters do not fit its block of 'weights'");
}

namespace {

// A file of `bytes`, returned by path.
std::string file_of(const std::string& name, const std::string& bytes) {
  const std::string path = temp_path(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

const std::string kSignature("\x89HDF\r\n\x1a\n", 8);

}  // namespace

// fuzz_results, from a results file in HDF5's 1.8 format: libhdf5 1.10 loops
// forever, reads wild addresses or overflows a heap buffer parsing damaged
// unchecksummed metadata. Such files are refused by their superblock version
// before libhdf5 reads them (the four reproducers in tests/fuzz/crashers hung,
// crashed or overflowed in this very call).
TEST(FuzzFindings, FilesWithoutMetadataChecksumsAreRefusedBeforeLibhdf5ParsesThem) {
  int crashers = 0;
  for (const auto& entry : std::filesystem::directory_iterator(NETSWEEP_CRASHERS_DIR "/fuzz_results")) {
    expect_refused(entry.path().string(), "HDF5 superblock version 0");
    ++crashers;
  }
  EXPECT_EQ(crashers, 4);
  const std::string junk(512, 'x');
  // The superblock follows a user block of 512, 1024, ... bytes; its version is the byte after the signature.
  expect_refused(file_of("v1_after_user_block.h5", junk + kSignature + '\x01' + std::string(200, '\0')),
                 "HDF5 superblock version 1");
  expect_refused(file_of("v0_after_user_block.h5", junk + junk + kSignature + '\x00' + std::string(200, '\0')),
                 "HDF5 superblock version 0");
  // A version-3 superblock passes the check and reaches libhdf5, which refuses the damaged rest.
  expect_refused(file_of("v3_damaged.h5", kSignature + '\x03' + std::string(200, '\x7f')), "cannot open");
  expect_refused(file_of("signature_at_300.h5", std::string(300, 'x') + kSignature + '\x02' + junk),
                 "not an HDF5 file");
  expect_refused(file_of("signature_only.h5", kSignature), "not an HDF5 file");
  expect_refused(file_of("empty.h5", ""), "not an HDF5 file");
  expect_refused(temp_path("no_such_file.h5"), "no such file");
  // What netsweep writes opens.
  const std::string good = edited_results("good.h5", [](hid_t) {});
  EXPECT_NO_THROW(ResultsFile{good});
}

// Variable-length strings live in HDF5's global heap, which has no checksum in
// any format (a damaged one hung and crashed libhdf5): refused before reading,
// in a file of the current format too.
TEST(FuzzFindings, VariableLengthStringsAreRefusedUnread) {
  const std::string path = temp_path("vlen.h5");
  {
    h5::Handle file = h5::create_file(path, "create");
    h5::Handle type(H5Tcopy(H5T_C_S1), H5Tclose, "type");
    h5::check(H5Tset_size(type, H5T_VARIABLE), "size");
    const char* value = "netsweep-results";
    put_attr<const char*>(file, "format", type, {value}, true);
    const hsize_t n = 2;
    const char* values[] = {"a", "b"};
    h5::Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose, "space");
    h5::Handle set(H5Dcreate2(file, "names", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose, "names");
    h5::check(H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values), "write");
    h5::set_attr(file, "fixed", std::string("kept"));
    h5::write_strings(file, "fixed_names", {"c", "d"});
  }
  h5::Handle file = h5::open_for_reading(path);
  auto refused = [&](auto&& read, const std::string& what) {
    try {
      read();
      ADD_FAILURE() << what << " was read";
    } catch (const h5::Error& e) {
      EXPECT_NE(std::string(e.what()).find(what + " holds variable-length strings"), std::string::npos) << e.what();
    }
  };
  refused([&] { h5::get_string_attr(file, "format", path); }, "attribute 'format'");
  refused([&] { h5::read_strings(file, "names", path); }, "dataset 'names'");
  EXPECT_EQ(h5::get_string_attr(file, "fixed", path), "kept");
  EXPECT_EQ(h5::read_strings(file, "fixed_names", path), (std::vector<std::string>{"c", "d"}));
  expect_refused(path, "attribute 'format' holds variable-length strings");
}
