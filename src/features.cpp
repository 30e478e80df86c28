// The input features a network sees, computed from a point's coordinates
// (--features x1,x2,x1^2,...): their names, and the feature matrix.
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "netsweep/dataset.h"

namespace netsweep {

const char* to_string(Feature f) {
  static const char* const names[] = {"x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"};
  return names[int(f)];
}

Feature parse_feature(const std::string& name, int dims) {
  static const std::map<std::string, Feature> names = {
      {"x1", Feature::x1},
      {"x2", Feature::x2},
      {"x1^2", Feature::x1_squared},
      {"x1sq", Feature::x1_squared},
      {"x2^2", Feature::x2_squared},
      {"x2sq", Feature::x2_squared},
      {"x1*x2", Feature::x1_times_x2},
      {"x1x2", Feature::x1_times_x2},
      {"sin(x1)", Feature::sin_x1},
      {"sinx1", Feature::sin_x1},
      {"sin(x2)", Feature::sin_x2},
      {"sinx2", Feature::sin_x2},
  };
  const auto it = names.find(name);
  if (it == names.end())
    throw DataError("--features: unknown feature '" + name + "' (known: x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2))");
  const Feature f = it->second;
  if (dims == 1 && f != Feature::x1 && f != Feature::x1_squared && f != Feature::sin_x1)
    throw DataError("--features: '" + name + "' needs 2-D data; 1-D data has only x1, x1^2, sin(x1)");
  return f;
}

std::vector<float> compute_features(const std::vector<float>& coords, int dims, const std::vector<Feature>& features) {
  const size_t n = coords.size() / size_t(dims), nf = features.size();
  std::vector<float> out(n * nf);
  for (size_t i = 0; i < n; ++i) {
    const float x1 = coords[i * dims], x2 = dims > 1 ? coords[i * dims + 1] : 0.0f;
    for (size_t k = 0; k < nf; ++k) {
      float v = 0;
      switch (features[k]) {
        case Feature::x1: v = x1; break;
        case Feature::x2: v = x2; break;
        case Feature::x1_squared: v = x1 * x1; break;
        case Feature::x2_squared: v = x2 * x2; break;
        case Feature::x1_times_x2: v = x1 * x2; break;
        case Feature::sin_x1: v = std::sin(x1); break;
        case Feature::sin_x2: v = std::sin(x2); break;
      }
      out[i * nf + k] = v;
    }
  }
  return out;
}

}  // namespace netsweep
