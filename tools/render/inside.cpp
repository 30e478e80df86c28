#include "inside.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "colormap.h"
#include "netsweep/forward.h"

namespace netsweep::render {
namespace {

constexpr Rgb kPositive{0x08, 0x77, 0xbd}, kNegative{0xf5, 0x93, 0x22};  // Playground's edge colours
constexpr Rgb kInk{40, 40, 40}, kFaint{150, 150, 150}, kPanel{248, 248, 248};
// First-layer lines: distinct, dark enough for any field.
constexpr Rgb kLineColors[] = {{20, 20, 20},  {150, 0, 150}, {0, 110, 110}, {160, 60, 0},
                               {60, 60, 170}, {0, 120, 0},   {170, 0, 40},  {100, 100, 0}};

std::string epoch_text(int epoch) { return "epoch " + std::to_string(epoch); }

// Appends the plane point of grid column i, row j (row 0 on top) of an (h x w) grid.
void push_grid_point(const FrameScene& s, int h, int w, int i, int j, std::vector<float>& coords) {
  const auto& e = s.extent;
  coords.push_back(e[0] + (e[1] - e[0]) * float(i) / float(std::max(w - 1, 1)));
  if (!s.regression) coords.push_back(e[3] - (e[3] - e[2]) * float(j) / float(std::max(h - 1, 1)));
}

// Plane points (n, dims) of the frame or neuron grid (row 0 on top) and their features.
std::vector<float> grid_coords(const FrameScene& s, int h, int w) {
  std::vector<float> coords;
  for (int j = 0; j < h; ++j)
    for (int i = 0; i < w; ++i) push_grid_point(s, h, w, i, j, coords);
  return coords;
}

// A (h x w) map drawn into a size x size thumbnail at (x0, y0), nearest neighbour.
template <typename ColorOf>
void draw_map(Image& img, int x0, int y0, int size, int h, int w, ColorOf color_of) {
  for (int y = 0; y < size; ++y) {
    const int j = std::min(h - 1, y * h / size);
    for (int x = 0; x < size; ++x) img.set(x0 + x, y0 + y, color_of(j * w + std::min(w - 1, x * w / size)));
  }
}

// A curve of n values in a size x size box, for 1-D data (values scaled to [lo, hi]).
void draw_curve(Image& img, int x0, int y0, int size, const float* v, int n, float lo, float hi, Rgb color) {
  img.fill_rect(x0, y0, x0 + size, y0 + size, kPanel);
  const float span = hi - lo > 1e-12f ? hi - lo : 1.0f;
  for (int i = 0; i + 1 < n; ++i) {
    const float xa = float(x0) + float(i) * float(size - 1) / float(std::max(n - 1, 1));
    const float xb = float(x0) + float(i + 1) * float(size - 1) / float(std::max(n - 1, 1));
    const float ya = float(y0 + size - 1) - (std::clamp(v[i], lo, hi) - lo) / span * float(size - 1);
    const float yb = float(y0 + size - 1) - (std::clamp(v[i + 1], lo, hi) - lo) / span * float(size - 1);
    img.line(xa, ya, xb, yb, color, 1.2f);
  }
}

void frame_box(Image& img, int x0, int y0, int w, int h, Rgb c) {
  img.line(float(x0), float(y0), float(x0 + w), float(y0), c, 1);
  img.line(float(x0), float(y0 + h), float(x0 + w), float(y0 + h), c, 1);
  img.line(float(x0), float(y0), float(x0), float(y0 + h), c, 1);
  img.line(float(x0 + w), float(y0), float(x0 + w), float(y0 + h), c, 1);
}

float max_abs(const float* v, size_t n) {
  float m = 0;
  for (size_t i = 0; i < n; ++i)
    if (std::isfinite(v[i])) m = std::max(m, std::abs(v[i]));
  return m;
}

// Top-2 principal directions of rows x (n, u) around their mean: (2, u), signs fixed.
void principal_directions(const std::vector<float>& x, int n, int u, std::vector<float>& center,
                          std::vector<float>& directions) {
  center.assign(size_t(u), 0.0f);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < u; ++k) center[size_t(k)] += x[size_t(i) * size_t(u) + size_t(k)] / float(n);
  std::vector<double> cov(size_t(u) * size_t(u), 0.0);
  for (int i = 0; i < n; ++i)
    for (int a = 0; a < u; ++a) {
      const double da = x[size_t(i) * size_t(u) + size_t(a)] - center[size_t(a)];
      for (int b = 0; b < u; ++b)
        cov[size_t(a) * size_t(u) + size_t(b)] += da * (x[size_t(i) * size_t(u) + size_t(b)] - center[size_t(b)]);
    }
  directions.assign(2 * size_t(u), 0.0f);
  std::vector<double> v(static_cast<size_t>(u)), prev(static_cast<size_t>(u));
  for (int d = 0; d < 2; ++d) {
    for (int k = 0; k < u; ++k) v[size_t(k)] = 1.0 + 0.01 * k;  // deterministic start
    for (int it = 0; it < 200; ++it) {
      prev = v;
      for (int a = 0; a < u; ++a) {
        double acc = 0;
        for (int b = 0; b < u; ++b) acc += cov[size_t(a) * size_t(u) + size_t(b)] * prev[size_t(b)];
        v[size_t(a)] = acc;
      }
      if (d == 1) {  // stay orthogonal to the first direction
        double dot = 0;
        for (int k = 0; k < u; ++k) dot += v[size_t(k)] * directions[size_t(k)];
        for (int k = 0; k < u; ++k) v[size_t(k)] -= dot * directions[size_t(k)];
      }
      double norm = 0;
      for (double e : v) norm += e * e;
      norm = std::sqrt(norm);
      if (norm < 1e-30) {  // no spread left: any unit vector orthogonal to the first
        std::fill(v.begin(), v.end(), 0.0);
        v[size_t(d % u)] = 1.0;
        break;
      }
      for (double& e : v) e /= norm;
    }
    size_t largest = 0;
    for (size_t k = 0; k < v.size(); ++k)
      if (std::abs(v[k]) > std::abs(v[largest])) largest = k;
    const double sign = v[largest] < 0 ? -1.0 : 1.0;
    for (int k = 0; k < u; ++k) directions[size_t(d) * size_t(u) + size_t(k)] = float(sign * v[size_t(k)]);
  }
}

}  // namespace

Image render_network_diagram(const FrameScene& scene, const InsideNetwork& net, size_t k, const Font& font) {
  const int inputs = net.layout.layers.front().in, hidden = net.hidden_layers();
  std::vector<int> column{inputs};
  for (int l = 0; l < hidden; ++l) column.push_back(net.layout.layers[size_t(l)].out);
  column.push_back(1);  // the output field
  const int tallest = *std::max_element(column.begin(), column.end());
  const int thumb = std::clamp(420 / tallest - 4, 10, 40), gap = std::max(2, thumb / 6);
  const int span = std::max(56, thumb * 2), top = 34, left = 24;
  const int out_size = std::max(thumb, 56);  // the output field, larger than a unit
  const int last = int(column.size()) - 1;
  const int width = left * 2 + last * thumb + out_size + last * span;
  const int height = top + std::max(tallest * (thumb + gap), out_size) + 28;
  Image img(width, height);
  const int body = std::max(tallest * (thumb + gap) - gap, out_size);
  auto node_y = [&](int c, int i) {
    if (c == last) return top + (body - out_size) / 2;
    const int count = column[size_t(c)];
    const int column_h = count * (thumb + gap) - gap;
    return top + (body - column_h) / 2 + i * (thumb + gap);
  };
  auto node_x = [&](int c) { return left + c * (thumb + span); };

  // Edges under the nodes: layer l joins column l to column l + 1 (the output: its first unit).
  if (net.has_weights()) {
    const float* params = net.weights[k].data();
    for (int l = 0; l <= hidden; ++l) {
      const LayerView& L = net.layout.layers[size_t(l)];
      const int outs = l == hidden ? 1 : L.out;
      const float scale = max_abs(params + L.weights, size_t(L.in) * size_t(outs));
      for (int o = 0; o < outs; ++o)
        for (int i = 0; i < L.in; ++i) {
          const float w = params[L.weights + int64_t(o) * L.in + i];
          if (!std::isfinite(w) || scale <= 0) continue;
          const float x0 = float(node_x(l) + thumb), y0 = float(node_y(l, i) + thumb / 2);
          const float x1 = float(node_x(l + 1)), y1 = float(node_y(l + 1, o) + (l + 1 == last ? out_size : thumb) / 2);
          img.line(x0, y0, x1, y1, w >= 0 ? kPositive : kNegative, 0.3f + 3.2f * std::abs(w) / scale);
        }
    }
  }

  // Inputs: each feature over the plane.
  const int nh = net.neuron_h, nw = net.neuron_w;
  const std::vector<float> feats = compute_features(grid_coords(scene, nh, nw), scene.regression ? 1 : 2, net.features);
  const float label_size = std::clamp(float(thumb) * 0.32f, 8.0f, 11.0f);
  for (int i = 0; i < inputs; ++i) {
    std::vector<float> v(size_t(nh) * size_t(nw));
    for (size_t g = 0; g < v.size(); ++g) v[g] = feats[g * size_t(inputs) + size_t(i)];
    const float s = std::max(max_abs(v.data(), v.size()), 1e-12f);
    if (scene.regression)
      draw_curve(img, node_x(0), node_y(0, i), thumb, v.data(), nw, -s, s, kPositive);
    else
      draw_map(img, node_x(0), node_y(0, i), thumb, nh, nw,
               [&](int g) { return playground(0.5f + 0.5f * v[size_t(g)] / s); });
    frame_box(img, node_x(0), node_y(0, i), thumb, thumb, kFaint);
    const std::string& name = net.feature_names[size_t(i)];
    font.draw(img, name, float(node_x(0)) - font.width(name, label_size) - 3, float(node_y(0, i) + thumb / 2) + 3,
              label_size, kInk);
  }
  // Hidden units: their maps, each scaled by its largest value over the rendered frames.
  if (net.has_maps()) {
    const size_t points = size_t(nh) * size_t(nw);
    int row = 0;
    for (int l = 0; l < hidden; ++l)
      for (int u = 0; u < column[size_t(l) + 1]; ++u, ++row) {
        float s = 1e-12f;
        for (const auto& m : net.maps) s = std::max(s, max_abs(m.data() + size_t(row) * points, points));
        const float* v = net.maps[k].data() + size_t(row) * points;
        const int x = node_x(l + 1), y = node_y(l + 1, u);
        if (scene.regression)
          draw_curve(img, x, y, thumb, v, nw, -s, s, kPositive);
        else
          draw_map(img, x, y, thumb, nh, nw, [&](int g) { return playground(0.5f + 0.5f * v[g] / s); });
        frame_box(img, x, y, thumb, thumb, kFaint);
      }
  }
  // The output: the decision field (or the prediction curve).
  const int ox = node_x(last), oy = node_y(last, 0);
  const auto& field = net.fields[k];
  if (scene.regression) {
    draw_curve(img, ox, oy, out_size, field.data(), scene.grid_w, scene.value_range[0], scene.value_range[1],
               kPositive);
  } else {
    const int outs = scene.outputs;
    draw_map(img, ox, oy, out_size, scene.grid_h, scene.grid_w,
             [&](int g) { return field_color(scene.style, field.data() + size_t(g) * size_t(outs)); });
  }
  frame_box(img, ox, oy, out_size, out_size, kInk);

  // Column titles and the epoch.
  const float title = 11.0f;
  for (size_t c = 0; c < column.size(); ++c) {
    const std::string t = c == 0 ? "input" : c + 1 == column.size() ? "output" : "layer " + std::to_string(c);
    const int w = int(c) == last ? out_size : thumb;
    font.draw(img, t, float(node_x(int(c))) + (float(w) - font.width(t, title)) / 2, 14, title, kInk);
  }
  font.draw(img, epoch_text(net.epochs[k]), 4, float(height) - 8, title, kInk);
  return img;
}

std::vector<HiddenView> hidden_views(const FrameScene& scene, const InsideNetwork& net) {
  std::vector<HiddenView> views;
  const int hidden = net.hidden_layers();
  if (!net.has_weights() || hidden == 0) return views;
  const int dims = scene.regression ? 1 : 2;
  // The data points, then the warped grid's lines over the plane (1-D: the x axis alone).
  std::vector<float> coords;
  for (const Points* p : {&scene.train, &scene.test}) coords.insert(coords.end(), p->coords.begin(), p->coords.end());
  const int n_points = int(coords.size()) / dims;
  const auto& e = scene.extent;
  const int lines = scene.regression ? 1 : 2 * kWarpedLines;
  for (int line = 0; line < lines; ++line)
    for (int k = 0; k < kWarpedSamples; ++k) {
      const float t = float(k) / float(kWarpedSamples - 1);
      if (scene.regression) {
        coords.push_back(e[0] + (e[1] - e[0]) * t);
        continue;
      }
      const float across = (float(line % kWarpedLines) + 0.5f) / float(kWarpedLines);
      const bool vertical = line < kWarpedLines;
      coords.push_back(e[0] + (e[1] - e[0]) * (vertical ? across : t));
      coords.push_back(e[2] + (e[3] - e[2]) * (vertical ? t : across));
    }
  const int n_all = int(coords.size()) / dims;
  const std::vector<float> x = compute_features(coords, dims, net.features);

  const size_t frames = net.weights.size();
  views.resize(size_t(hidden));
  // Projections from the final frame's data activations.
  const auto final_acts =
      forward_layers(net.layout, net.activation, net.loss, net.weights.back().data(), x.data(), n_all);
  for (int l = 0; l < hidden; ++l) {
    HiddenView& v = views[size_t(l)];
    v.layer = l;
    v.units = net.layout.layers[size_t(l)].out;
    if (v.units == 2) {
      v.center.assign(2, 0.0f);
    } else {
      std::vector<float> data(final_acts[size_t(l)].begin(),
                              final_acts[size_t(l)].begin() + long(size_t(n_points) * size_t(v.units)));
      principal_directions(data, n_points, v.units, v.center, v.projection);
    }
    v.points.resize(frames);
    v.lines.resize(frames);
  }
  for (size_t k = 0; k < frames; ++k) {
    const auto acts = forward_layers(net.layout, net.activation, net.loss, net.weights[k].data(), x.data(), n_all);
    for (int l = 0; l < hidden; ++l) {
      HiddenView& v = views[size_t(l)];
      const std::vector<float>& a = acts[size_t(l)];
      for (int i = 0; i < n_all; ++i) {
        float xy[2] = {0, 0};
        const float* row = a.data() + size_t(i) * size_t(v.units);
        if (v.units == 2) {
          xy[0] = row[0];
          xy[1] = row[1];
        } else {
          for (int d = 0; d < 2; ++d)
            for (int u = 0; u < v.units; ++u)
              xy[d] += v.projection[size_t(d) * size_t(v.units) + size_t(u)] * (row[u] - v.center[size_t(u)]);
        }
        auto& out = i < n_points ? v.points[k] : v.lines[k];
        out.push_back(xy[0]);
        out.push_back(xy[1]);
      }
    }
  }
  // Extents fixed over the frames.
  for (HiddenView& v : views) {
    float lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (size_t k = 0; k < frames; ++k)
      for (const auto* set : {&v.points[k], &v.lines[k]})
        for (size_t i = 0; i + 1 < set->size(); i += 2)
          for (int d = 0; d < 2; ++d)
            if (std::isfinite((*set)[i + size_t(d)])) {
              lo[d] = std::min(lo[d], (*set)[i + size_t(d)]);
              hi[d] = std::max(hi[d], (*set)[i + size_t(d)]);
            }
    for (int d = 0; d < 2; ++d) {
      if (!std::isfinite(lo[d])) lo[d] = -1, hi[d] = 1;
      const float span = std::max(hi[d] - lo[d], 1e-3f * std::max(1.0f, std::abs(hi[d])));
      v.extent[size_t(2 * d)] = lo[d] - 0.06f * span;
      v.extent[size_t(2 * d + 1)] = hi[d] + 0.06f * span;
    }
  }
  return views;
}

Image render_hidden_view(const FrameScene& scene, const InsideNetwork& net, const HiddenView& v, size_t k,
                         const Font& font) {
  const int size = 240, caption = 20;
  Image img(size, size + caption);
  const auto& e = v.extent;
  auto to_pixel = [&](float x, float y) {
    return std::array<float, 2>{(x - e[0]) / (e[1] - e[0]) * float(size - 1) + 0.5f,
                                (e[3] - y) / (e[3] - e[2]) * float(size - 1) + 0.5f};
  };
  // A 2-unit layer is a plane the rest of the network maps: its field, lightened.
  if (v.units == 2) {
    const int cells = 60;
    std::vector<float> h;
    for (int j = 0; j < cells; ++j)
      for (int i = 0; i < cells; ++i) {
        h.push_back(e[0] + (e[1] - e[0]) * (float(i) + 0.5f) / float(cells));
        h.push_back(e[3] - (e[3] - e[2]) * (float(j) + 0.5f) / float(cells));
      }
    const std::vector<float> out =
        forward_from(net.layout, v.layer + 1, net.activation, net.loss, net.weights[k].data(), h.data(), cells * cells);
    const int outs = net.layout.layers.back().out;
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        const int g = (y * cells / size) * cells + x * cells / size;
        Rgb c = scene.regression
                    ? viridis((out[size_t(g)] - scene.value_range[0]) / (scene.value_range[1] - scene.value_range[0]))
                    : field_color(scene.style, out.data() + size_t(g) * size_t(outs));
        for (auto& ch : c) ch = uint8_t(255 - (255 - ch) * 0.55f);
        img.set(x, y, c);
      }
  } else {
    img.fill_rect(0, 0, size, size, kPanel);
  }
  // The warped grid of the input plane.
  const int lines = int(v.lines[k].size()) / (2 * kWarpedSamples);
  for (int line = 0; line < lines; ++line)
    for (int s = 0; s + 1 < kWarpedSamples; ++s) {
      const float* a = v.lines[k].data() + size_t(line * kWarpedSamples + s) * 2;
      if (!std::isfinite(a[0] + a[1] + a[2] + a[3])) continue;
      const auto p = to_pixel(a[0], a[1]), q = to_pixel(a[2], a[3]);
      img.line(p[0], p[1], q[0], q[1], kFaint, 1.0f);
    }
  // The data: train points filled, test points as rings (1-D: coloured by target).
  const size_t n_train = scene.train.labels.size();
  const Rgb outline = class_outline(scene.style);
  for (size_t i = 0; i * 2 + 1 < v.points[k].size(); ++i) {
    const float* a = v.points[k].data() + 2 * i;
    if (!std::isfinite(a[0] + a[1])) continue;
    const auto p = to_pixel(a[0], a[1]);
    const bool test = i >= n_train;
    const Points& set = test ? scene.test : scene.train;
    const size_t j = test ? i - n_train : i;
    const Rgb c = scene.regression
                      ? viridis((set.values[j] - scene.value_range[0]) / (scene.value_range[1] - scene.value_range[0]))
                      : class_color(scene.style, set.labels[j]);
    if (test)
      img.ring(p[0], p[1], 2.6f, c, 1.4f);
    else
      img.disc(p[0], p[1], 2.4f, c, outline, 0.7f);
  }
  frame_box(img, 0, 0, size - 1, size - 1, kFaint);
  img.fill_rect(0, size, size, size + caption, {250, 250, 250});
  const std::string text = "layer " + std::to_string(v.layer + 1) + " (" + std::to_string(v.units) + " units" +
                           (v.units == 2 ? "" : ", top 2 principal axes") + ")   " + epoch_text(net.epochs[k]);
  const float fs = std::min(11.0f, 11.0f * float(size - 6) / std::max(1.0f, font.width(text, 11.0f)));
  font.draw(img, text, 3, float(size + caption) - 6, fs, kInk);
  return img;
}

void draw_first_layer_lines(Image& img, const FrameScene& scene, const InsideNetwork& net, const float* params) {
  if (scene.regression) return;
  const int h = scene.grid_h, w = scene.grid_w;
  const int units = net.layout.layers[0].out;
  // With x1 and x2 alone as inputs each unit's zero level is a straight line:
  // one segment across the field, from the pre-activation's values at three
  // corners (it is affine in the grid indices), instead of marching squares.
  const bool straight = w > 1 && h > 1 && std::all_of(net.features.begin(), net.features.end(), [](Feature f) {
                          return f == Feature::x1 || f == Feature::x2;
                        });
  std::vector<float> coords;
  if (straight) {  // (0, 0), (w-1, 0), (0, h-1)
    push_grid_point(scene, h, w, 0, 0, coords);
    push_grid_point(scene, h, w, w - 1, 0, coords);
    push_grid_point(scene, h, w, 0, h - 1, coords);
  } else {
    coords = grid_coords(scene, h, w);
  }
  const std::vector<float> x = compute_features(coords, 2, net.features);
  const std::vector<float> z = pre_activations(net.layout, 0, params, x.data(), straight ? 3 : h * w);
  const float s = float(scene.scale);
  const FrameLayout l = frame_layout(scene);
  auto pixel = [&](float i, float j) {
    return std::array<float, 2>{float(l.field_x) + (i + 0.5f) * s, float(l.field_y) + (j + 0.5f) * s};
  };
  for (int u = 0; u < units; ++u) {
    auto at = [&](int i, int j) { return z[(size_t(j) * size_t(w) + size_t(i)) * size_t(units) + size_t(u)]; };
    const Rgb color = kLineColors[size_t(u) % (sizeof(kLineColors) / sizeof(kLineColors[0]))];
    if (straight) {
      // z(i, j) = z0 + a i + b j over [0, w-1] x [0, h-1]: the zero line's crossings of the box's edges.
      const auto corner = [&](int k) { return double(z[size_t(k) * size_t(units) + size_t(u)]); };
      const double z0 = corner(0), a = (corner(1) - z0) / (w - 1), b = (corner(2) - z0) / (h - 1);
      const double W = w - 1, H = h - 1;
      std::vector<std::array<double, 2>> ends;
      auto cross = [&](double i0, double j0, double i1, double j1) {  // one edge of the box
        const double c0 = z0 + a * i0 + b * j0, c1 = z0 + a * i1 + b * j1;
        if ((c0 < 0) == (c1 < 0) || c0 == c1) return;
        const double t = c0 / (c0 - c1);
        ends.push_back({i0 + (i1 - i0) * t, j0 + (j1 - j0) * t});
      };
      cross(0, 0, W, 0);
      cross(W, 0, W, H);
      cross(W, H, 0, H);
      cross(0, H, 0, 0);
      if (ends.size() >= 2) {
        const auto p0 = pixel(float(ends[0][0]), float(ends[0][1])), p1 = pixel(float(ends[1][0]), float(ends[1][1]));
        img.line(p0[0], p0[1], p1[0], p1[1], color, 1.8f);
      }
      continue;
    }
    // Marching squares on the zero level of the unit's pre-activation.
    for (int j = 0; j + 1 < h; ++j)
      for (int i = 0; i + 1 < w; ++i) {
        const float c[4] = {at(i, j), at(i + 1, j), at(i + 1, j + 1), at(i, j + 1)};  // corners, clockwise
        const float ci[4] = {float(i), float(i + 1), float(i + 1), float(i)};
        const float cj[4] = {float(j), float(j), float(j + 1), float(j + 1)};
        std::array<float, 2> cross[4];
        int found = 0;
        for (int edge = 0; edge < 4; ++edge) {
          const int a = edge, b = (edge + 1) % 4;
          if ((c[a] < 0) == (c[b] < 0)) continue;
          const float t = c[a] / (c[a] - c[b]);
          cross[found++] = pixel(ci[a] + (ci[b] - ci[a]) * t, cj[a] + (cj[b] - cj[a]) * t);
        }
        for (int m = 0; m + 1 < found; m += 2)
          img.line(cross[m][0], cross[m][1], cross[m + 1][0], cross[m + 1][1], color, 1.8f);
      }
  }
}

}  // namespace netsweep::render
