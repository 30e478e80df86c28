#include "draw.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace netsweep::render {
namespace {
constexpr int kRegressionWidth = 320, kRegressionHeight = 240;
constexpr Rgb kInk{40, 40, 40}, kAxis{90, 90, 90}, kGridLine{225, 225, 225};

std::string format_tick(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", std::abs(v) < 1e-12 ? 0.0 : v);
  return buf;
}

// About `target` round tick values (1, 2, 5 x 10^k steps) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target) {
  const double span = hi - lo > 0 ? hi - lo : 1;
  const double raw = span / target, mag = std::pow(10, std::floor(std::log10(raw)));
  const double step = mag * (raw / mag < 1.5 ? 1 : raw / mag < 3.5 ? 2 : raw / mag < 7.5 ? 5 : 10);
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-6; t += step) ticks.push_back(t);
  return ticks;
}
// Ticks of a log axis from 10^lo to 10^hi, as exponents whose values are
// round: the powers of ten over a decade or more (with 2 and 5 times them
// while there are fewer than 3), else round values between (an exponent's
// round ticks were 0.691831, 0.660693).
std::vector<double> log_ticks(double lo, double hi) {
  std::vector<double> ticks;
  for (const double m : {1.0, 2.0, 5.0}) {
    for (double k = std::floor(lo); k <= std::ceil(hi); ++k) {
      const double t = k + std::log10(m);
      if (t >= lo && t <= hi) ticks.push_back(t);
    }
    if (ticks.size() >= 3) break;
  }
  if (ticks.size() < 2) {
    ticks.clear();
    for (double v : nice_ticks(std::pow(10.0, lo), std::pow(10.0, hi), 4))
      if (v > 0) ticks.push_back(std::log10(v));
  }
  std::sort(ticks.begin(), ticks.end());
  return ticks;
}
}  // namespace

// Text and marks are sized from the frame's width, not the grid's scale.
float caption_font_size(int field_width) { return std::clamp(float(field_width) / 24.0f, 9.0f, 16.0f); }
int caption_height(int field_width) { return int(std::lround(caption_font_size(field_width) * 1.5f)); }
float point_radius(int field_width) { return std::clamp(float(field_width) / 110.0f, 1.5f, 5.0f); }

namespace {
constexpr Rgb kHalo{255, 255, 255};
constexpr float kTickLength = 4;

float tick_font_size(int field_width) { return caption_font_size(field_width) * 0.8f; }

// The plane's x ticks and the vertical axis' ticks (the plane's y, or for 1-D
// data the target value).
std::vector<double> x_ticks(const FrameScene& s) { return nice_ticks(s.extent[0], s.extent[1], 4); }
std::vector<double> y_ticks(const FrameScene& s) {
  return s.regression ? nice_ticks(s.value_range[0], s.value_range[1], 4) : nice_ticks(s.extent[2], s.extent[3], 4);
}

// Pixel size of the field alone (no margins).
std::array<int, 2> field_size(const FrameScene& s) {
  if (s.regression) return {kRegressionWidth * s.scale, kRegressionHeight * s.scale};
  return {s.grid_w * s.scale, s.grid_h * s.scale};
}

// The axes' label widths need the font; a frame's layout does not, so the
// margin allows for the widest tick text at an average glyph width.
int label_width_estimate(const std::string& text, float size) {
  return int(std::ceil(float(text.size()) * size * 0.62f));
}
}  // namespace

FrameLayout frame_layout(const FrameScene& s) {
  FrameLayout l;
  const auto [w, h] = field_size(s);
  l.field_w = w;
  l.field_h = h;
  if (s.axes) {
    const float size = tick_font_size(w);
    int widest = 0;
    for (double t : y_ticks(s)) widest = std::max(widest, label_width_estimate(format_tick(t), size));
    int last_x = 0;
    for (double t : x_ticks(s)) last_x = label_width_estimate(format_tick(t), size);
    l.field_x = widest + int(kTickLength) + 4;
    l.field_y = int(std::ceil(size * 0.7f));  // room for the top tick's label
    l.width = l.field_x + w + std::max(4, last_x / 2 + 2);
    l.height = l.field_y + h + int(kTickLength) + int(std::ceil(size * 1.3f));
  } else {
    l.width = w;
    l.height = h;
  }
  if (s.caption) l.height += caption_height(w);
  return l;
}

std::array<float, 2> plane_to_pixel(const FrameScene& s, float x, float y) {
  const auto& e = s.extent;
  const FrameLayout l = frame_layout(s);
  if (s.regression) {
    const float w = float(l.field_w), h = float(l.field_h);
    const auto& v = s.value_range;
    return {float(l.field_x) + (x - e[0]) / (e[1] - e[0]) * (w - 1) + 0.5f,
            float(l.field_y) + (v[1] - y) / (v[1] - v[0]) * (h - 1) + 0.5f};
  }
  const float col = (x - e[0]) / (e[1] - e[0]) * float(s.grid_w - 1);
  const float row = (e[3] - y) / (e[3] - e[2]) * float(s.grid_h - 1);
  return {float(l.field_x) + (col + 0.5f) * float(s.scale), float(l.field_y) + (row + 0.5f) * float(s.scale)};
}

namespace {
// The field of a 2-D scene: each pixel samples the field at its centre,
// bilinearly between grid points.
void draw_field(Image& img, const FrameScene& s, const FrameLayout& l, const float* values, const FieldColor* color) {
  const int scale = s.scale;
  std::vector<float> p(size_t(s.outputs));
  const size_t stride = size_t(s.outputs);
  for (int y = 0; y < l.field_h; ++y) {
    const float gy = std::clamp((float(y) + 0.5f) / float(scale) - 0.5f, 0.0f, float(s.grid_h - 1));
    const int j0 = std::min(int(gy), s.grid_h - 1), j1 = std::min(j0 + 1, s.grid_h - 1);
    const float ty = gy - float(j0);
    for (int x = 0; x < l.field_w; ++x) {
      const float gx = std::clamp((float(x) + 0.5f) / float(scale) - 0.5f, 0.0f, float(s.grid_w - 1));
      const int i0 = std::min(int(gx), s.grid_w - 1), i1 = std::min(i0 + 1, s.grid_w - 1);
      const float tx = gx - float(i0);
      const float* a = values + (size_t(j0) * size_t(s.grid_w) + size_t(i0)) * stride;
      const float* b = values + (size_t(j0) * size_t(s.grid_w) + size_t(i1)) * stride;
      const float* c = values + (size_t(j1) * size_t(s.grid_w) + size_t(i0)) * stride;
      const float* d = values + (size_t(j1) * size_t(s.grid_w) + size_t(i1)) * stride;
      const float w[4] = {(1 - tx) * (1 - ty), tx * (1 - ty), (1 - tx) * ty, tx * ty};
      const float* corner[4] = {a, b, c, d};
      const int nearest = int(std::max_element(w, w + 4) - w);
      for (size_t k = 0; k < stride; ++k) {
        // Bilinear; where a corner that counts is not finite (a float16 frame
        // beyond +-65504 holds +-inf), the nearest grid point's value, as inf * 0
        // or inf - inf would give NaN.
        float sum = 0;
        bool finite = true;
        for (int q = 0; q < 4; ++q)
          if (w[q] > 0) {
            finite &= std::isfinite(corner[q][k]);
            sum += w[q] * corner[q][k];
          }
        p[k] = finite ? sum : corner[nearest][k];
      }
      img.set(l.field_x + x, l.field_y + y, color ? (*color)(p.data()) : field_color(s.style, p.data()));
    }
  }
}

// Data points that stay visible on any field: the class colour inside a dark
// edge inside a white halo (a field of the class's own colour, a dark or a
// light field all leave one of the three rings in contrast).
void draw_point(Image& img, std::array<float, 2> q, float r, float edge, Rgb fill, Rgb dark) {
  img.disc(q[0], q[1], r + edge + 0.9f, kHalo, kHalo, 0);
  img.disc(q[0], q[1], r + edge, fill, dark, edge);
}
// Test points: a ring of the class colour, edged and haloed the same way.
void draw_test_point(Image& img, std::array<float, 2> q, float r, float edge, float band, Rgb fill, Rgb dark) {
  img.ring(q[0], q[1], r + edge + 0.9f, kHalo, band + 2 * edge + 1.8f);
  img.ring(q[0], q[1], r + edge, dark, band + 2 * edge);
  img.ring(q[0], q[1], r, fill, band);
}

void draw_axes(Image& img, const FrameScene& s, const FrameLayout& l, const Font& font) {
  const float size = tick_font_size(l.field_w);
  const int left = l.field_x - 1, right = l.field_x + l.field_w, top = l.field_y - 1, bottom = l.field_y + l.field_h;
  const int tick = int(kTickLength);
  // A one-pixel box just outside the field, and crisp one-pixel tick marks.
  img.fill_rect(left, top, right + 1, top + 1, kAxis);
  img.fill_rect(left, bottom, right + 1, bottom + 1, kAxis);
  img.fill_rect(left, top, left + 1, bottom + 1, kAxis);
  img.fill_rect(right, top, right + 1, bottom + 1, kAxis);
  const float y_of_x_axis = s.regression ? s.value_range[0] : s.extent[2];
  for (double t : x_ticks(s)) {
    const float x = plane_to_pixel(s, float(t), y_of_x_axis)[0];
    img.fill_rect(int(x), bottom, int(x) + 1, bottom + tick + 1, kAxis);
    const std::string text = format_tick(t);
    font.draw(img, text, x - font.width(text, size) / 2, float(bottom + tick) + size, size, kInk);
  }
  for (double t : y_ticks(s)) {
    const float y = plane_to_pixel(s, s.extent[0], float(t))[1];
    img.fill_rect(left - tick, int(y), left + 1, int(y) + 1, kAxis);
    const std::string text = format_tick(t);
    font.draw(img, text, float(left - tick - 2) - font.width(text, size), y + size * 0.35f, size, kInk);
  }
}
}  // namespace

Image render_frame(const FrameScene& s, const float* values, const std::string& caption, const Font& font,
                   const FieldColor* color) {
  const FrameLayout l = frame_layout(s);
  Image img(l.width, l.height);
  const float r = point_radius(l.field_w), stroke = std::max(0.6f, r / 3.5f), edge = std::max(0.8f, stroke);
  if (!s.regression) {
    draw_field(img, s, l, values, color);
    for (size_t k = 0; s.points && k < s.train.labels.size(); ++k)
      draw_point(img, plane_to_pixel(s, s.train.coords[2 * k], s.train.coords[2 * k + 1]), r, edge,
                 class_color(s.style, s.train.labels[k]), class_outline(s.style));
    for (size_t k = 0; s.points && k < s.test.labels.size(); ++k)  // test points: hollow rings
      draw_test_point(img, plane_to_pixel(s, s.test.coords[2 * k], s.test.coords[2 * k + 1]), r, edge, stroke * 1.6f,
                      class_color(s.style, s.test.labels[k]), class_outline(s.style));
  } else {
    for (double t : y_ticks(s)) {  // horizontal guide lines
      const float y = plane_to_pixel(s, s.extent[0], float(t))[1];
      img.line(float(l.field_x), y, float(l.field_x + l.field_w), y, kGridLine, 1);
    }
    for (size_t k = 0; s.points && k < s.train.values.size(); ++k) {
      const auto p = plane_to_pixel(s, s.train.coords[k], s.train.values[k]);
      img.disc(p[0], p[1], r * 0.8f, {150, 150, 150}, {90, 90, 90}, stroke);
    }
    for (size_t k = 0; s.points && k < s.test.values.size(); ++k) {
      const auto p = plane_to_pixel(s, s.test.coords[k], s.test.values[k]);
      img.ring(p[0], p[1], r * 0.8f, kTestColor, stroke * 1.6f);
    }
    for (int i = 0; i + 1 < s.grid_w; ++i) {
      const float x0 = s.extent[0] + (s.extent[1] - s.extent[0]) * float(i) / float(s.grid_w - 1);
      const float x1 = s.extent[0] + (s.extent[1] - s.extent[0]) * float(i + 1) / float(s.grid_w - 1);
      const auto a = plane_to_pixel(s, x0, values[size_t(i) * size_t(s.outputs)]);
      const auto b = plane_to_pixel(s, x1, values[size_t(i + 1) * size_t(s.outputs)]);
      if (std::isfinite(a[1]) && std::isfinite(b[1]))
        img.line(a[0], a[1], b[0], b[1], kTrainColor, 2.0f * float(s.scale));
    }
  }
  if (s.axes) draw_axes(img, s, l, font);
  if (s.caption) {
    const int strip = l.height - caption_height(l.field_w);
    img.fill_rect(0, strip, l.width, l.height, {250, 250, 250});
    const float size = caption_font_size(l.field_w);
    const float x = 3.0f;
    // Shrink the text to fit narrow frames.
    const float fit = std::min(1.0f, (float(l.width) - 2 * x) / std::max(1.0f, font.width(caption, size)));
    font.draw(img, caption, x, float(strip) + size * 1.1f, size * fit, kInk);
  }
  return img;
}

std::array<float, 2> PlotAxes::to_pixel(float x, float y) const {
  const float yy = log ? std::log10(std::max(y, 1e-30f)) : y;
  return {float(left) + (x - x_min) / (x_max - x_min) * float(right - left),
          float(bottom) - (yy - y_min) / (y_max - y_min) * float(bottom - top)};
}

Image render_loss_plot(const LossCurves& c, const std::string& title, bool log, int scale, const Font& font,
                       PlotAxes* axes_out) {
  const int w = 400 * scale, h = 260 * scale;
  Image img(w, h);
  PlotAxes ax{};
  ax.left = 58 * scale;
  ax.right = w - 14 * scale;
  ax.top = 26 * scale;
  ax.bottom = h - 40 * scale;
  ax.log = log;
  ax.x_min = 0;
  ax.x_max = float(std::max<size_t>(1, c.epoch_loss.size()));
  float lo = INFINITY, hi = -INFINITY;
  auto consider = [&](float v) {
    if (!std::isfinite(v) || (log && v <= 0)) return;
    const float y = log ? std::log10(v) : v;
    lo = std::min(lo, y);
    hi = std::max(hi, y);
  };
  for (float v : c.epoch_loss) consider(v);
  for (float v : c.snapshot_test_loss) consider(v);
  for (float v : c.band_low) consider(v);
  for (float v : c.band_high) consider(v);
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi - lo < 1e-6f) hi = lo + (log ? 1.0f : std::max(1e-3f, std::abs(lo) * 0.1f));
  const float pad = 0.05f * (hi - lo);
  ax.y_min = log ? lo - pad : std::max(0.0f, lo - pad);
  if (!log && lo - pad < 0 && lo < 0) ax.y_min = lo - pad;
  ax.y_max = hi + pad;

  const float fs = 11.0f * float(scale);
  // Grid and tick labels.
  for (double t : log ? log_ticks(ax.y_min, ax.y_max) : nice_ticks(ax.y_min, ax.y_max, 5)) {
    const float y = float(ax.bottom) - (float(t) - ax.y_min) / (ax.y_max - ax.y_min) * float(ax.bottom - ax.top);
    img.line(float(ax.left), y, float(ax.right), y, kGridLine, 1);
    ax.y_tick_values.push_back(log ? std::pow(10.0, t) : t);
    const std::string label = format_tick(ax.y_tick_values.back());
    font.draw(img, label, float(ax.left) - font.width(label, fs) - 4.0f * float(scale), y + fs * 0.35f, fs, kAxis);
  }
  for (double t : nice_ticks(ax.x_min, ax.x_max, 6)) {
    const float x = float(ax.left) + (float(t) - ax.x_min) / (ax.x_max - ax.x_min) * float(ax.right - ax.left);
    img.line(x, float(ax.bottom), x, float(ax.bottom) + 4.0f * float(scale), kAxis, 1);
    const std::string label = format_tick(t);
    font.draw(img, label, x - font.width(label, fs) / 2, float(ax.bottom) + 16.0f * float(scale), fs, kAxis);
  }
  img.line(float(ax.left), float(ax.top), float(ax.left), float(ax.bottom), kAxis, 1.2f);
  img.line(float(ax.left), float(ax.bottom), float(ax.right), float(ax.bottom), kAxis, 1.2f);
  const std::string xlabel = "epoch", ylabel = log ? "loss (log)" : "loss";
  font.draw(img, xlabel, (float(ax.left + ax.right) - font.width(xlabel, fs)) / 2, float(h) - 6.0f * float(scale), fs,
            kInk);
  font.draw(img, ylabel, 4.0f * float(scale), float(ax.top) - 8.0f * float(scale), fs, kInk);
  font.draw(img, title, float(ax.left) + 40.0f * float(scale), 16.0f * float(scale), fs * 1.1f, kInk);

  // Curves: epoch e's loss is plotted after it, at x = e + 1.
  // A point with no drawable neighbour (a network that diverged after its
  // first epoch has one finite loss) is a dot: a line needs two.
  auto polyline = [&](const std::vector<float>& xs, const std::vector<float>& ys, Rgb color) {
    const auto drawable = [&](size_t k) { return k < ys.size() && std::isfinite(ys[k]) && (!log || ys[k] > 0); };
    for (size_t k = 0; k < ys.size(); ++k) {
      if (!drawable(k)) continue;
      const auto a = ax.to_pixel(xs[k], ys[k]);
      if (drawable(k + 1)) {
        const auto b = ax.to_pixel(xs[k + 1], ys[k + 1]);
        img.line(a[0], a[1], b[0], b[1], color, 1.6f * float(scale));
      } else if (k == 0 || !drawable(k - 1)) {
        img.disc(a[0], a[1], 1.6f * float(scale), color, color, 0);
      }
    }
  };
  std::vector<float> xs(c.epoch_loss.size());
  for (size_t e = 0; e < xs.size(); ++e) xs[e] = float(e + 1);
  // The band: a light vertical span at every epoch, under the median.
  const Rgb band{198, 219, 239};
  for (size_t e = 0; e < c.band_low.size() && e < c.band_high.size(); ++e) {
    if (!std::isfinite(c.band_low[e]) || !std::isfinite(c.band_high[e])) continue;
    if (log && (c.band_low[e] <= 0 || c.band_high[e] <= 0)) continue;
    const auto lo = ax.to_pixel(xs[e], c.band_low[e]), hi = ax.to_pixel(xs[e], c.band_high[e]);
    const float half = std::max(0.5f, float(ax.right - ax.left) / float(std::max<size_t>(xs.size(), 1)) / 2);
    img.fill_rect(int(std::floor(lo[0] - half)), int(std::floor(std::min(lo[1], hi[1]))), int(std::ceil(lo[0] + half)),
                  int(std::ceil(std::max(lo[1], hi[1]))) + 1, band);
  }
  polyline(xs, c.epoch_loss, kTrainColor);
  bool has_test = false;
  for (float v : c.snapshot_test_loss) has_test |= std::isfinite(v);
  if (has_test) {
    std::vector<float> sx(c.snapshot_epochs.begin(), c.snapshot_epochs.end());
    polyline(sx, c.snapshot_test_loss, kTestColor);
  }
  // Legend.
  float lx = float(ax.right) - 80.0f * float(scale), ly = float(ax.top) + 10.0f * float(scale);
  img.line(lx, ly, lx + 16.0f * float(scale), ly, kTrainColor, 2.0f * float(scale));
  font.draw(img, "train", lx + 20.0f * float(scale), ly + 4.0f * float(scale), fs, kInk);
  if (has_test) {
    ly += 15.0f * float(scale);
    img.line(lx, ly, lx + 16.0f * float(scale), ly, kTestColor, 2.0f * float(scale));
    font.draw(img, "test", lx + 20.0f * float(scale), ly + 4.0f * float(scale), fs, kInk);
  }
  // A loss of 0 (a perfect fit) has no place on a log scale: said, not left out unseen.
  size_t losses = 0, below = 0;
  for (const auto* v : {&c.epoch_loss, &c.snapshot_test_loss})
    for (float x : *v) losses += std::isfinite(x), below += log && std::isfinite(x) && x <= 0;
  if (below > 0) {
    ax.note = below == losses ? "every loss is 0 or less: none on a log scale"
                              : std::to_string(below) + " of " + std::to_string(losses) +
                                    " losses are 0 or less: not on a log scale";
    const float size = fs * std::min(1.0f, float(ax.right - ax.left - 8 * scale) / font.width(ax.note, fs));
    font.draw(img, ax.note, float(ax.left) + 4.0f * float(scale), float(ax.bottom) - 6.0f * float(scale), size, kInk);
  }
  if (axes_out) *axes_out = ax;
  return img;
}

}  // namespace netsweep::render
