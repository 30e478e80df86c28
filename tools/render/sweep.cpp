#include "sweep.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "netsweep/text.h"

namespace netsweep::render {

std::string fmt(const char* f, double v) { return format_number(v, f, "–"); }

std::string net_dir(int id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "net-%04d", id);
  return buf;
}

// --runs key=value[|value...],... : every condition must hold.
bool matches(const NetworkRow& r, const std::string& filter) {
  if (filter.empty()) return true;
  std::stringstream conds(filter);
  std::string cond;
  while (std::getline(conds, cond, ',')) {
    const auto eq = cond.find('=');
    if (eq == std::string::npos) throw RenderError("--runs: '" + cond + "' is not key=value");
    const std::string key = cond.substr(0, eq);
    std::string value;
    if (key == "activation")
      value = r.activation;
    else if (key == "layers")
      value = std::to_string(r.hidden_layers);
    else if (key == "width")
      value = std::to_string(r.width);
    else if (key == "shape")
      value = r.hidden_shape;
    else if (key == "optimizer")
      value = r.optimizer;
    else if (key == "lr")
      value = fmt("%g", r.lr);
    else if (key == "batch")
      value = std::to_string(r.batch);
    else if (key == "seed")
      value = std::to_string(r.seed);
    else if (key == "status")
      value = r.status;
    else if (key == "id")
      value = std::to_string(r.id);
    else
      throw RenderError("--runs: unknown key '" + key +
                        "' (known: activation, layers, width, shape, optimizer, lr, batch, seed, status, id)");
    // Numbers as numbers: lr=1e-3 is lr=0.001, width=04 is width=4.
    const bool real = key == "lr",
               whole = key == "layers" || key == "width" || key == "batch" || key == "seed" || key == "id";
    std::stringstream alts(cond.substr(eq + 1));
    std::string alt;
    bool any = false;
    while (std::getline(alts, alt, '|')) {
      if (key == "batch" && alt == "full") alt = "0";  // as info and the gallery name a full batch
      if (alt == value || (!real && !whole)) {         // (lr as the gallery labels it, %g, matches too)
        any |= alt == value;
        continue;
      }
      const std::string digits = !alt.empty() && alt[0] == '+' ? alt.substr(1) : alt;
      char* end = nullptr;
      errno = 0;
      const long double v = std::strtold(digits.c_str(), &end);
      if (digits.empty() || *end != '\0' || errno == ERANGE || (whole && v != std::floor(v)))
        throw RenderError("--runs: '" + cond + "': '" + alt + "' is not " + (whole ? "a whole number" : "a number"));
      any |= real ? float(v) == r.lr : v == std::strtold(value.c_str(), nullptr);
    }
    if (!any) return false;
  }
  return true;
}

std::vector<int> frames_to_render(int frames, int stride) {
  std::vector<int> out;
  for (int f = 0; f < frames; f += stride) out.push_back(f);
  if (out.empty() || out.back() != frames - 1) out.push_back(frames - 1);
  return out;
}

VaryingAxes varying_axes(const std::vector<NetworkRow>& rows) {
  auto varies = [&](auto get) {
    for (const auto& x : rows)
      if (get(x) != get(rows[0])) return true;
    return false;
  };
  VaryingAxes a;
  a.optimizer = varies([](const NetworkRow& x) { return x.optimizer; });
  a.lr = varies([](const NetworkRow& x) { return x.lr; });
  a.batch = varies([](const NetworkRow& x) { return x.batch; });
  a.seed = varies([](const NetworkRow& x) { return x.seed; });
  return a;
}

std::string configuration_label(const NetworkRow& r, const VaryingAxes& axes) {
  std::string key = r.activation;
  if (axes.optimizer) key += " · " + r.optimizer;
  if (axes.lr) key += " · lr " + fmt("%g", r.lr);
  if (axes.batch) key += " · batch " + std::to_string(r.batch);
  if (axes.seed) key += " · seed " + std::to_string(r.seed);
  return key;
}

Sweep read_sweep(const ResultsFile& file, const RenderOptions& o) {
  Sweep s;
  s.path = file.path();
  try {
    s.shape = file.frame_shape();
  } catch (const std::exception&) {
    throw RenderError(s.path + ": the file has no frames (dataset 'frames' is missing or not 5-dimensional)");
  }
  if (s.shape[0] == 0 || s.shape[1] == 0) throw RenderError(s.path + ": the file has no frames");
  s.frame_epochs = file.frame_epochs();
  const auto all_rows = file.networks();
  s.total_networks = int(all_rows.size());
  s.shard = file.shard();
  for (size_t i = 0; i < all_rows.size(); ++i)
    if (matches(all_rows[i], o.runs)) {
      s.rows.push_back(all_rows[i]);
      s.rows_index.push_back(int(i));
    }
  if (s.rows.empty() && !o.runs.empty()) throw RenderError("--runs '" + o.runs + "': no network matches in " + s.path);
  s.spec = nlohmann::json::parse(file.attribute("spec"));
  s.dataset = nlohmann::json::parse(file.attribute("dataset"));
  s.device = file.attribute("device");
  s.created = file.attribute("created");
  s.loss = file.attribute("loss");
  s.elapsed = file.double_attribute("elapsed_seconds");
  const Dataset data = file.dataset();
  FrameScene& scene = s.scene;
  scene.grid_h = s.shape[2];
  scene.grid_w = s.shape[3];
  scene.outputs = s.shape[4];
  scene.extent = file.extent();
  scene.regression = data.regression;
  scene.scale = o.scale > 0 ? o.scale : std::max(1, (256 + scene.grid_w / 2) / scene.grid_w);
  if (scene.regression && o.scale == 0) scene.scale = 1;
  scene.axes = o.axes;
  scene.points = o.points;
  scene.caption = o.caption;
  scene.style.outputs = scene.outputs;
  scene.style.classes = data.classes;
  scene.style.discretize = o.discretize;
  scene.style.map = !o.colormap.empty()                         ? parse_colormap(o.colormap)
                    : (data.classes == 2 && scene.outputs == 2) ? ColorMap::seed
                                                                : ColorMap::playground;
  for (auto [src, dst] : {std::pair<const PointSet*, Points*>{&data.train, &scene.train}, {&data.test, &scene.test}}) {
    dst->coords = src->coords;
    dst->labels.assign(src->labels.begin(), src->labels.end());
    dst->values = src->values;
  }
  if (scene.regression) {
    float lo = INFINITY, hi = -INFINITY;
    for (const PointSet* p : {&data.train, &data.test})
      for (float v : p->values) lo = std::min(lo, v), hi = std::max(hi, v);
    const float pad = 0.15f * std::max(hi - lo, 1e-3f);
    scene.value_range = {lo - pad, hi + pad};
  }

  s.axes = varying_axes(s.rows);
  s.feature_names = file.features();
  s.inputs = int(s.feature_names.size());
  for (const auto& name : s.feature_names) s.features.push_back(parse_feature(name, data.regression ? 1 : 2));
  s.neuron_grid = file.neuron_grid();
  if (file.has_attribute("part_label")) s.part_label = file.attribute("part_label");
  return s;
}

}  // namespace netsweep::render
