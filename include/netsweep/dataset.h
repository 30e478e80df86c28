// Datasets: raw 2-D classification points (or 1-D regression samples), how
// they are loaded or generated, split into train/test, mapped to input
// features, and turned into training targets.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "netsweep/common.h"

namespace netsweep {

struct DataError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Raw points before features. Classification: dims = 2, label in [0, classes).
// Regression: dims = 1, value is the target and label is -1.
struct PointSet {
  int dims = 2;
  std::vector<float> coords;    // (n, dims)
  std::vector<int32_t> labels;  // (n,)
  std::vector<float> values;    // (n,) regression targets; empty for classification
  size_t size() const { return labels.size(); }
  void add_point(double x, double y, int label) {  // a 2-D classification point
    coords.push_back(float(x));
    coords.push_back(float(y));
    labels.push_back(label);
  }
  void add_sample(double x, double value) {  // a 1-D regression sample
    coords.push_back(float(x));
    values.push_back(float(value));
    labels.push_back(-1);
  }
};

struct Dataset {
  bool regression = false;
  int classes = 0;  // 0 for regression
  PointSet train, test;
  std::string description_json;  // where it came from: files, generator and parameters
};

struct GeneratorOptions {
  int n_points = 500;
  float noise = 0.0f;  // generator-specific scale, see the README
  uint64_t seed = 0;
};

// Limits on data: at most this many points in all, labels 0..kMaxLabel,
// and data files at most kMaxDataFileBytes (each is read whole).
constexpr int64_t kMaxPoints = 10000000;
constexpr int kMaxLabel = 255;
constexpr int64_t kMaxDataFileBytes = int64_t(1) << 30;

// --points FILE:LABEL (slide format: [{"x":..,"y":..}, ...]).
PointSet load_points_json(const std::string& path, int label);
// --csv FILE: header x1,x2,label (classification) or x,y (1-D regression).
PointSet load_csv(const std::string& path);
// The same from text already read; `where` names the source in messages.
PointSet parse_points_json(const std::string& text, int label, const std::string& where);
PointSet parse_csv(const std::string& text, const std::string& where);
// --dataset NAME[:key=value,...] with keys n, noise, seed overriding options.
PointSet generate_dataset(const std::string& name_and_params, const GeneratorOptions& options);
// The generator a --dataset value names and the settings it takes effect
// with (the inline keys over the defaults); throws DataError.
struct GeneratorSpec {
  std::string name;
  GeneratorOptions options;
  bool noise_given = false;  // noise= was inline (not from --noise)
};
GeneratorSpec parse_generator(const std::string& name_and_params, const GeneratorOptions& defaults);
PointSet generate(const GeneratorSpec& spec);
std::vector<std::string> generator_names();

// Checks a dataset as netsweep would have made it: the same rules for data
// given on the command line and data stored in a file (`where`): consistent
// sizes, finite coordinates and targets within kMaxCoordinate, labels 0..classes-1
// with every class present (>= 2), at least one training point. Throws DataError.
void validate_dataset(const Dataset& d, const std::string& where);

// Joins point sets, checks them (finite coordinates, >= 2 classes, one kind),
// splits off a test set of round(test_fraction * n) points with the split
// seed, and records the description. `source` is a JSON value naming where the
// points came from.
Dataset make_dataset(const std::vector<PointSet>& parts, float test_fraction, uint64_t split_seed,
                     const std::string& source_json);

// Input features: x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2).
enum class Feature : int32_t { x1 = 0, x2, x1_squared, x2_squared, x1_times_x2, sin_x1, sin_x2 };
Feature parse_feature(const std::string& name, int dims);  // throws DataError
const char* to_string(Feature f);
// (n, dims) raw coordinates -> (n, features.size()) inputs.
std::vector<float> compute_features(const std::vector<float>& coords, int dims, const std::vector<Feature>& features);

// Training targets, (n, outputs), for a loss:
//  regression: the value (outputs must be 1);
//  two classes: outputs 1 -> [y]; outputs 2 -> [y, 1-y] (output 0 is the
//  probability of class 1, as in the slide experiment, output 1 its complement);
//  k >= 3 classes: one-hot, outputs must be k.
std::vector<float> make_targets(const Dataset& d, const PointSet& points, int outputs);
int default_outputs(const Dataset& d);
// Checks (loss, outputs) against the data; throws DataError.
void check_outputs(const Dataset& d, int outputs, const char* loss_name, bool softmax, bool mse);

// Bounding box of all points (x0,x1,y0,y1) grown by `margin` of its size on
// each side; for 1-D data y is the target's range.
std::array<float, 4> data_extent(const Dataset& d, float margin);

}  // namespace netsweep
