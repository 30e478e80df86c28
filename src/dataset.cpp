#include "netsweep/dataset.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "host_util.h"
#include "netsweep/random.h"

namespace netsweep {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  const auto e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, sep)) parts.push_back(trim(part));
  if (!s.empty() && s.back() == sep) parts.emplace_back();
  return parts;
}

double parse_number(const std::string& text, const std::string& where) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::out_of_range&) {
    throw DataError(where + ": '" + printable(text) + "' is out of range");
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size()) throw DataError(where + ": '" + printable(text) + "' is not a number");
  if (!std::isfinite(v)) throw DataError(where + ": '" + printable(text) + "' is not finite");
  return v;
}

// A coordinate or target netsweep can train on: finite, and small enough that
// its square (the x1^2 features, the squared error) stays finite in float.
void check_value(double v, const std::string& where) {
  if (!std::isfinite(v)) throw DataError(where + " is not finite");
  if (std::abs(v) > kMaxCoordinate)
    throw DataError(where + " is out of range (" + format_number(v) + "; |value| must be at most 1e15)");
}

void check_label(double v, const std::string& where, const std::string& text) {
  if (v != std::floor(v) || v < 0 || v > kMaxLabel)
    throw DataError(where + ": '" + printable(text) + "' is not a class number from 0 to " + std::to_string(kMaxLabel));
}

void check_point_count(size_t n, const std::string& where) {
  if (int64_t(n) > kMaxPoints)
    throw DataError(where + ": more than " + std::to_string(kMaxPoints) +
                    " points; netsweep trains on at most that many");
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw DataError(path + ": cannot open: no such file");
  if (!std::filesystem::is_regular_file(path, ec)) throw DataError(path + ": cannot open: not a regular file");
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && int64_t(size) > kMaxDataFileBytes)
    throw DataError(path + ": the file is larger than 1 GiB; netsweep reads data files whole");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": cannot open file for reading");
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw DataError(path + ": read error");
  return ss.str();
}

}  // namespace

PointSet load_points_json(const std::string& path, int label) {
  if (label < 0 || label > kMaxLabel)
    throw DataError(path + ": label must be a class number from 0 to " + std::to_string(kMaxLabel) + " (got " +
                    std::to_string(label) + ")");
  return parse_points_json(read_file(path), label, path);
}

PointSet parse_points_json(const std::string& text, int label, const std::string& path) {
  if (label < 0 || label > kMaxLabel)
    throw DataError(path + ": label must be a class number from 0 to " + std::to_string(kMaxLabel));
  nlohmann::json j;
  // A field given twice in one point: nlohmann keeps one value without a word.
  std::vector<std::set<std::string>> fields;  // of each object being read
  int point = -1;
  std::string twice;
  const auto note_duplicates = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) {
      fields.emplace_back();
      if (depth == 1) ++point;
    } else if (event == Event::object_end && !fields.empty()) {
      fields.pop_back();
    } else if (event == Event::key && !fields.empty() && twice.empty() &&
               !fields.back().insert(parsed.get<std::string>()).second) {
      twice = path + ": point " + std::to_string(point) + ": field '" + printable(parsed.get<std::string>()) +
              "' is given twice";
    }
    return true;
  };
  try {
    j = nlohmann::json::parse(text, note_duplicates);
  } catch (const nlohmann::json::exception& e) {  // syntax errors, and numbers that overflow
    throw DataError(path + ": malformed JSON: " + e.what());
  }
  if (!twice.empty()) throw DataError(twice);
  if (!j.is_array()) throw DataError(path + ": expected a JSON list of {\"x\":..,\"y\":..} points");
  if (j.empty()) throw DataError(path + ": the list of points is empty");
  check_point_count(j.size(), path);
  PointSet p;
  for (size_t i = 0; i < j.size(); ++i) {
    const auto& pt = j[i];
    const std::string where = path + ": point " + std::to_string(i);
    if (!pt.is_object()) throw DataError(where + ": expected an object {\"x\":..,\"y\":..}");
    for (const auto& [key, value] : pt.items())  // a "label" here would be ignored: the file's is FILE:LABEL
      if (key != "x" && key != "y")
        throw DataError(
            where + ": field '" + printable(key) +
            "' is not used (a point has x and y; every point of a file gets the label of --points FILE:LABEL)");
    double xy[2];
    for (int k = 0; k < 2; ++k) {
      const char* field = k == 0 ? "x" : "y";
      const auto it = pt.find(field);
      if (it == pt.end()) throw DataError(where + ": field '" + field + "' is missing");
      if (!it->is_number()) throw DataError(where + ": field '" + field + "' is not a number");
      xy[k] = it->get<double>();
      check_value(xy[k], where + ": field '" + field + "'");
    }
    p.add_point(xy[0], xy[1], label);
  }
  return p;
}

PointSet load_csv(const std::string& path) { return parse_csv(read_file(path), path); }

PointSet parse_csv(const std::string& text, const std::string& path) {
  // A UTF-8 byte-order mark (spreadsheets write one) is not part of the header.
  const bool bom = text.compare(0, 3, "\xEF\xBB\xBF") == 0;
  std::istringstream in(bom ? text.substr(3) : text);
  std::string line;
  int64_t line_no = 0;
  do {  // blank lines before the header, as after the rows, are skipped
    if (!std::getline(in, line)) throw DataError(path + ": empty file (expected a header x1,x2,label or x,y)");
    ++line_no;
  } while (trim(line).empty());
  const auto header = split(trim(line), ',');
  PointSet p;
  if (header == std::vector<std::string>{"x1", "x2", "label"}) {
    p.dims = 2;
  } else if (header == std::vector<std::string>{"x", "y"}) {
    p.dims = 1;
  } else {
    throw DataError(path + ": line " + std::to_string(line_no) +
                    ": header must be 'x1,x2,label' (classification) or 'x,y' (1-D regression), got '" +
                    printable(trim(line)) + "'");
  }
  while (std::getline(in, line)) {
    ++line_no;
    if (trim(line).empty()) continue;
    const auto cells = split(trim(line), ',');
    const std::string where = path + ": line " + std::to_string(line_no);
    if (cells.size() != header.size())
      throw DataError(where + ": expected " + std::to_string(header.size()) + " fields, got " +
                      std::to_string(cells.size()));
    std::vector<double> v;
    for (size_t k = 0; k < cells.size(); ++k)
      v.push_back(parse_number(cells[k], where + ", field '" + header[k] + "'"));
    for (size_t k = 0; k < 2; ++k) check_value(v[k], where + ", field '" + header[k] + "'");  // x1,x2 or x,y
    if (p.dims == 2) {
      if (v[2] != std::floor(v[2]) || v[2] < 0)
        throw DataError(where + ", field 'label': '" + printable(cells[2]) + "' is not a class number >= 0");
      check_label(v[2], where + ", field 'label'", cells[2]);
      p.add_point(v[0], v[1], int(v[2]));
    } else {
      p.add_sample(v[0], v[1]);
    }
    check_point_count(p.size(), path);
  }
  if (p.size() == 0) throw DataError(path + ": no data rows after the header");
  return p;
}

PointSet generate_dataset(const std::string& spec, const GeneratorOptions& options) {
  return generate(parse_generator(spec, options));
}

GeneratorSpec parse_generator(const std::string& spec, const GeneratorOptions& options) {
  const auto colon = spec.find(':');
  GeneratorSpec g;
  g.name = spec.substr(0, colon);
  g.options = options;
  GeneratorOptions& o = g.options;
  if (colon != std::string::npos) {
    std::vector<std::string> keys;
    for (const auto& kv : split(spec.substr(colon + 1), ',')) {
      const auto eq = kv.find('=');
      const std::string where = "--dataset " + spec;
      if (eq == std::string::npos) throw DataError(where + ": '" + kv + "' is not key=value");
      const std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
      if (std::find(keys.begin(), keys.end(), key) != keys.end())  // the last would win without a word
        throw DataError(where + ": '" + key + "' is given twice");
      keys.push_back(key);
      const double v = parse_number(value, where + ": " + key);
      const bool whole = v == std::floor(v) && v >= 0;
      if (key == "n") {
        if (!whole || v > double(kMaxPoints))
          throw DataError(where + ": n must be a whole number of points, at most " + std::to_string(kMaxPoints));
        o.n_points = int(v);
      } else if (key == "noise") {
        if (!(v >= 0 && v <= 1e6)) throw DataError(where + ": noise must be between 0 and 1e6");
        o.noise = float(v);
        g.noise_given = true;
      } else if (key == "seed") {
        if (!whole || v > 9007199254740992.0) throw DataError(where + ": seed must be a whole number >= 0");
        o.seed = uint64_t(v);
      } else {
        throw DataError(where + ": unknown key '" + key + "' (known: n, noise, seed)");
      }
    }
  }
  const std::string& name = g.name;
  if (o.n_points < 4) throw DataError("--dataset " + name + ": needs at least 4 points (n/--n-points)");
  if (o.n_points > kMaxPoints)
    throw DataError("--dataset " + name + ": at most " + std::to_string(kMaxPoints) + " points (n/--n-points)");
  if (!(o.noise >= 0) || !std::isfinite(o.noise)) throw DataError("--dataset " + name + ": noise must be >= 0");
  const auto names = generator_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    throw DataError("--dataset: unknown generator '" + name + "' (known: " + known + ")");
  }
  return g;
}

namespace {
// The rules every dataset obeys, on all its points together: consistent
// sizes, coordinates and targets netsweep can train on, labels 0..classes-1
// with every class present. Returns the number of classes (0 for regression).
// `where` prefixes the messages ("" for data given on the command line).
int check_points(const PointSet& all, const std::string& where) {
  const std::string at = where.empty() ? "" : where + ": ";
  const bool regression = all.dims == 1;
  const size_t n = all.size();
  if (all.dims != 1 && all.dims != 2) throw DataError(at + "points must be 1-D or 2-D");
  if (all.coords.size() != n * size_t(all.dims) || (regression && all.values.size() != n))
    throw DataError(at + "coordinates, labels and targets have different numbers of points");
  if (n == 0) throw DataError(at + "the data has no points");
  check_point_count(n, where.empty() ? "the data" : where);
  for (size_t i = 0; i < all.coords.size(); ++i)
    if (!std::isfinite(all.coords[i]))
      throw DataError(at + "point " + std::to_string(i / size_t(all.dims)) + ": coordinate is not finite");
  for (size_t i = 0; i < all.coords.size(); ++i)
    check_value(all.coords[i], at + "point " + std::to_string(i / size_t(all.dims)) + ": coordinate");
  if (regression) {
    for (size_t i = 0; i < n; ++i) check_value(all.values[i], at + "point " + std::to_string(i) + ": target");
    return 0;
  }
  std::map<int, size_t> counts;
  for (int l : all.labels) {
    if (l < 0 || l > kMaxLabel)
      throw DataError(at + "label " + std::to_string(l) + " is not a class number from 0 to " +
                      std::to_string(kMaxLabel));
    ++counts[l];
  }
  const int classes = counts.rbegin()->first + 1;
  if (counts.size() < 2)
    throw DataError(at + "the data has only one class (label " + std::to_string(counts.begin()->first) +
                    "): a classifier needs at least two");
  for (int c = 0; c < classes; ++c)
    if (!counts.count(c))
      throw DataError(at + "class " + std::to_string(c) + " has no points (labels must be 0.." +
                      std::to_string(classes - 1) + " without gaps)");
  return classes;
}

PointSet join(const PointSet& a, const PointSet& b) {
  PointSet all = a;
  all.coords.insert(all.coords.end(), b.coords.begin(), b.coords.end());
  all.labels.insert(all.labels.end(), b.labels.begin(), b.labels.end());
  all.values.insert(all.values.end(), b.values.begin(), b.values.end());
  return all;
}
}  // namespace

void validate_dataset(const Dataset& d, const std::string& where) {
  if (d.train.dims != d.test.dims || d.train.dims != (d.regression ? 1 : 2))
    throw DataError(where + ": the points' dimension does not match the data's kind");
  const int classes = check_points(join(d.train, d.test), where);
  if (classes != d.classes)
    throw DataError(where + ": the data says " + std::to_string(d.classes) + " classes but its labels make " +
                    std::to_string(classes));
  if (d.train.size() == 0) throw DataError(where + ": no training points");
}

Dataset make_dataset(const std::vector<PointSet>& parts, float test_fraction, uint64_t split_seed,
                     const std::string& source_json) {
  if (parts.empty()) throw DataError("no data: give --points, --csv or --dataset");
  if (!(test_fraction >= 0 && test_fraction < 1)) throw DataError("--test-fraction: must be in [0, 1)");
  PointSet all;
  all.dims = parts[0].dims;
  for (const auto& p : parts) {
    if (p.dims != all.dims) throw DataError("cannot mix 1-D regression data with 2-D classification points");
    all = join(all, p);
  }
  Dataset d;
  d.regression = all.dims == 1;
  d.classes = check_points(all, "");
  const size_t n = all.size();
  const size_t n_test = size_t(std::llround(double(test_fraction) * double(n)));
  if (n - n_test < 1) throw DataError("--test-fraction leaves no training points");
  std::vector<int32_t> order(n);
  epoch_permutation(mix64(split_seed ^ kDomainSplit), 0, order.data(), int32_t(n));
  std::vector<char> is_test(n, 0);
  for (size_t i = 0; i < n_test; ++i) is_test[size_t(order[i])] = 1;
  for (auto* set : {&d.train, &d.test}) set->dims = all.dims;
  for (size_t i = 0; i < n; ++i) {
    PointSet& dst = is_test[i] ? d.test : d.train;
    for (int k = 0; k < all.dims; ++k) dst.coords.push_back(all.coords[i * size_t(all.dims) + size_t(k)]);
    dst.labels.push_back(all.labels[i]);
    if (d.regression) dst.values.push_back(all.values[i]);
  }
  // Every class keeps training points: a class held out whole would never be learned.
  std::vector<size_t> train_counts(size_t(d.regression ? 0 : d.classes), 0);
  for (size_t i = 0; !d.regression && i < d.train.size(); ++i) ++train_counts[size_t(d.train.labels[i])];
  for (size_t c = 0; c < train_counts.size(); ++c)
    if (train_counts[c] == 0)
      throw DataError("--test-fraction " + format_number(test_fraction) + " leaves class " + std::to_string(c) +
                      " without training points (" + std::to_string(d.train.size()) + " of " + std::to_string(n) +
                      " points train); lower it or give more points");
  nlohmann::json desc;
  desc["source"] = nlohmann::json::parse(source_json);
  desc["kind"] = d.regression ? "regression-1d" : "classification-2d";
  desc["classes"] = d.classes;
  desc["n_train"] = d.train.size();
  desc["n_test"] = d.test.size();
  desc["test_fraction"] = test_fraction;
  desc["split_seed"] = split_seed;
  d.description_json = desc.dump();
  return d;
}

int default_outputs(const Dataset& d) { return d.regression ? 1 : d.classes; }

void check_outputs(const Dataset& d, int outputs, const char* loss_name, bool softmax, bool mse) {
  const std::string prefix = std::string("--outputs ") + std::to_string(outputs) + " with --loss " + loss_name + ": ";
  if (d.regression) {
    if (outputs != 1) throw DataError(prefix + "1-D regression data has one target, so --outputs must be 1");
    if (!mse) throw DataError(std::string("--loss ") + loss_name + ": 1-D regression data needs --loss mse");
    return;
  }
  if (d.classes == 2) {
    if (outputs != 1 && outputs != 2) throw DataError(prefix + "two classes take 1 or 2 outputs");
    if (softmax && outputs != 2) throw DataError(prefix + "softmax over two classes needs 2 outputs");
  } else if (outputs != d.classes) {
    throw DataError(prefix + std::to_string(d.classes) + " classes need " + std::to_string(d.classes) + " outputs");
  }
}

std::vector<float> make_targets(const Dataset& d, const PointSet& points, int outputs) {
  const size_t n = points.size();
  std::vector<float> y(n * size_t(outputs), 0.0f);
  for (size_t i = 0; i < n; ++i) {
    float* row = &y[i * size_t(outputs)];
    if (d.regression) {
      row[0] = points.values[i];
    } else if (d.classes == 2) {
      row[0] = float(points.labels[i]);
      if (outputs == 2) row[1] = 1.0f - row[0];
    } else {
      row[points.labels[i]] = 1.0f;
    }
  }
  return y;
}

std::array<float, 4> data_extent(const Dataset& d, float margin) {
  float lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
  for (const PointSet* s : {&d.train, &d.test})
    for (size_t i = 0; i < s->size(); ++i)
      for (int k = 0; k < 2; ++k) {
        const float v = k < s->dims ? s->coords[i * size_t(s->dims) + size_t(k)] : s->values[i];
        lo[k] = std::min(lo[k], v);
        hi[k] = std::max(hi[k], v);
      }
  // Data drawn in the unit square (the slide points) keeps exactly that plane.
  if (!d.regression && lo[0] >= 0 && lo[1] >= 0 && hi[0] <= 1 && hi[1] <= 1) return {0, 1, 0, 1};
  std::array<float, 4> e{};
  for (int k = 0; k < 2; ++k) {
    // At least a thousandth of the coordinates' magnitude: points all on
    // x = 20000 had a plane narrower than a float's step there, so x0 == x1.
    const float magnitude = std::max({std::fabs(lo[k]), std::fabs(hi[k]), 1.0f});
    const float span = std::max(hi[k] - lo[k], 1e-3f * magnitude);
    e[2 * k] = lo[k] - margin * span;
    e[2 * k + 1] = hi[k] + margin * span;
  }
  return e;
}

}  // namespace netsweep
