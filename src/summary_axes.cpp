// The axes `info --by` and the gallery group networks by: each one's value of a
// network, and the spec keys it tells apart (what two files may differ in
// unwarned, as their networks pool).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "netsweep/shard.h"
#include "netsweep/summary.h"
#include "netsweep/text.h"

namespace netsweep {

namespace {
// The axes, each with the spec keys (spec_to_json's) whose values it tells apart.
const std::vector<std::pair<std::string, std::vector<std::string>>>& axis_keys() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> axes = {
      {"part", {}},
      {"features", {"features"}},
      {"shape", {"layers", "widths", "shapes"}},
      {"layers", {"layers", "shapes"}},
      {"width", {"widths", "shapes"}},
      {"activation", {"activations"}},
      {"optimizer", {"optimizers"}},
      {"lr", {"lr"}},
      {"batch", {"batch"}},
      {"l1", {"l1"}},
      {"l2", {"l2"}},
      {"momentum", {"momentum"}},
      {"seed", {"seed", "seeds", "streams"}},
      {"replica", {"seeds"}},
      {"status", {}}};
  return axes;
}
// A spec value as it was given: 0.9, not the float's double 0.8999999761581421.
std::string shown(const nlohmann::json& v) {
  if (v.is_number_float()) {  // the fewest digits that read back as the value (a float's as that float)
    const double value = v.get<double>();
    char text[64];
    const auto end = double(float(value)) == value ? std::to_chars(text, text + sizeof text, float(value)).ptr
                                                   : std::to_chars(text, text + sizeof text, value).ptr;
    return std::string(text, end);
  }
  if (!v.is_array()) return v.dump();
  std::string list;
  for (const auto& item : v) list += (list.empty() ? "" : ",") + shown(item);
  return "[" + list + "]";
}
// A network's width: its hidden layers' one width (of an explicit --shape 8-8 too),
// "-" where they differ or it has none.
std::string width_of(const NetworkRow& r) {
  if (r.width > 0) return std::to_string(r.width);
  const std::vector<int> widths = r.hidden_shape == "0" ? std::vector<int>{} : parse_shape(r.hidden_shape);
  const bool one = !widths.empty() && std::count(widths.begin(), widths.end(), widths[0]) == long(widths.size());
  return one ? std::to_string(widths[0]) : "-";
}
}  // namespace

const std::vector<std::string>& summary_axes() {
  static const std::vector<std::string> axes = [] {
    std::vector<std::string> names;
    for (const auto& [axis, keys] : axis_keys()) names.push_back(axis);
    return names;
  }();
  return axes;
}

std::vector<std::string> unnamed_differences(const ResultsFile& a, const ResultsFile& b) {
  std::vector<std::string> differences;
  try {
    if (a.sweep_hash().empty() || b.sweep_hash().empty()) return {};
    if (sweep_hash(SweepSpec{}, a.sweep_source().data) != sweep_hash(SweepSpec{}, b.sweep_source().data))
      differences.push_back("the data");
    const auto ja = nlohmann::json::parse(spec_to_json(trained_spec(a)));
    const auto jb = nlohmann::json::parse(spec_to_json(trained_spec(b)));
    for (const auto& [key, value] : ja.items()) {
      bool named = false;  // by an axis (the seeds: other replicas)
      for (const auto& [axis, keys] : axis_keys()) named |= std::find(keys.begin(), keys.end(), key) != keys.end();
      if (!named && jb.value(key, nlohmann::json()) != value)
        differences.push_back(key + " (" + shown(value) + " and " + shown(jb.value(key, nlohmann::json())) + ")");
    }
  } catch (const std::exception&) {
    return {};  // a spec that does not stand run's checks: nothing to say of it
  }
  return differences;
}

std::string axis_value(const NetworkSummary& n, const std::string& axis) {
  const NetworkRow& r = n.row;
  auto number = [](double v) { return format_number(v, "%g", "nan"); };  // as the CSV writes it
  if (axis == "part") return n.part;
  if (axis == "features") return n.features;
  if (axis == "shape") return r.hidden_shape;
  if (axis == "layers") return std::to_string(r.hidden_layers);
  if (axis == "width") return width_of(r);
  if (axis == "activation") return r.activation;
  if (axis == "optimizer") return r.optimizer;
  if (axis == "lr") return number(r.lr);
  if (axis == "batch") return r.batch == 0 ? "full" : std::to_string(r.batch);
  if (axis == "l1") return number(r.l1);
  if (axis == "l2") return number(r.l2);
  if (axis == "momentum") return std::isfinite(r.momentum) ? number(r.momentum) : "-";
  if (axis == "seed") return std::to_string(r.seed);
  if (axis == "replica") return std::to_string(r.replica);
  if (axis == "status") return r.status;
  std::string known;
  for (const auto& a : summary_axes()) known += (known.empty() ? "" : ", ") + a;
  throw ResultsError("--by: unknown axis '" + axis + "' (known: " + known + ")");
}

std::vector<std::string> parse_axes(const std::string& comma_list) {
  std::vector<std::string> axes;
  std::stringstream in(comma_list);
  for (std::string a; std::getline(in, a, ',');) {
    if (std::find(summary_axes().begin(), summary_axes().end(), a) == summary_axes().end()) {
      NetworkSummary probe;
      axis_value(probe, a);  // throws, naming the known axes
    }
    if (std::find(axes.begin(), axes.end(), a) != axes.end()) throw ResultsError("--by: '" + a + "' given twice");
    axes.push_back(a);
  }
  if (axes.empty()) throw ResultsError("--by: give at least one axis");
  return axes;
}

}  // namespace netsweep
