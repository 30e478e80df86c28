#include "colormap.h"

#include <algorithm>
#include <cmath>

namespace netsweep::render {
namespace {
// v + 0.5 truncated: lround for v in [0, 255], without a libm call per channel.
uint8_t round_byte(float v) { return uint8_t(int(v + 0.5f)); }
// NaN (no value) as the middle of the scale; int(NaN) would be undefined.
uint8_t to_byte(float v) { return round_byte(std::isnan(v) ? 127.5f : std::clamp(v, 0.0f, 1.0f) * 255.0f); }
Rgb mix(Rgb a, Rgb b, float t) {
  return {round_byte(a[0] + (b[0] - a[0]) * t), round_byte(a[1] + (b[1] - a[1]) * t),
          round_byte(a[2] + (b[2] - a[2]) * t)};
}
constexpr Rgb kOrange{0xf5, 0x93, 0x22}, kGrey{0xe8, 0xea, 0xeb}, kBlue{0x08, 0x77, 0xbd};
// Classes beyond two, for k-class files (seed and playground maps).
constexpr Rgb kPalette[] = {{0x2c, 0xa0, 0x2c}, {0xd6, 0x27, 0x28}, {0x1f, 0x77, 0xb4}, {0xff, 0x7f, 0x0e},
                            {0x94, 0x67, 0xbd}, {0x8c, 0x56, 0x4b}, {0xe3, 0x77, 0xc2}, {0x7f, 0x7f, 0x7f}};
// The probability of class 1 (binary files): output 0 (see the results format).
float positive(const float* p) { return p[0]; }
int predicted(const FieldStyle& s, const float* p) {
  if (s.classes == 2) return s.outputs == 1 ? (p[0] > 0.5f) : (p[0] > p[1]);
  int best = 0;
  for (int k = 1; k < s.outputs; ++k) best = p[k] > p[best] ? k : best;
  return best;
}
}  // namespace

ColorMap parse_colormap(const std::string& name) {
  if (name == "seed") return ColorMap::seed;
  if (name == "playground") return ColorMap::playground;
  if (name == "viridis") return ColorMap::viridis;
  throw RenderError("--colormap '" + name + "': expected seed, playground or viridis");
}

const char* to_string(ColorMap m) {
  return m == ColorMap::seed ? "seed" : m == ColorMap::playground ? "playground" : "viridis";
}

Rgb viridis(float t) {
  // Polynomial fit of matplotlib's viridis (within 4/255 of it per channel).
  t = std::clamp(t, 0.0f, 1.0f);
  const double c[7][3] = {{0.2777273272234177, 0.005407344544966578, 0.3340998053353061},
                          {0.1050930431085774, 1.404613529898575, 1.384590162594685},
                          {-0.3308618287255563, 0.214847559468213, 0.09509516302823659},
                          {-4.634230498983486, -5.799100973351585, -19.33244095627987},
                          {6.228269936347081, 14.17993336680509, 56.69055260068105},
                          {4.776384997670288, -13.74514537774601, -65.35303263337234},
                          {-5.435455855934631, 4.645852612178535, 26.3124352495832}};
  Rgb out{};
  for (int ch = 0; ch < 3; ++ch) {
    double v = c[6][ch];
    for (int k = 5; k >= 0; --k) v = c[k][ch] + t * v;
    out[size_t(ch)] = to_byte(float(v));
  }
  return out;
}

Rgb playground(float t) {
  t = std::clamp(t, 0.0f, 1.0f);
  return t < 0.5f ? mix(kOrange, kGrey, t * 2) : mix(kGrey, kBlue, (t - 0.5f) * 2);
}

Rgb class_color(const FieldStyle& s, int label) {
  if (s.classes == 2 || s.classes == 0) {
    const int c = std::clamp(label, 0, 1);
    switch (s.map) {
      case ColorMap::seed: return c ? Rgb{160, 0, 0} : Rgb{0, 110, 0};  // darker than the field's pure red/green
      case ColorMap::playground: return c ? kBlue : kOrange;
      case ColorMap::viridis: return c ? viridis(1) : viridis(0);
    }
  }
  return kPalette[size_t(label) % (sizeof kPalette / sizeof *kPalette)];
}

Rgb class_outline(const FieldStyle&) { return {25, 25, 25}; }

Rgb field_color(const FieldStyle& s, const float* p) {
  // No value (a damaged file, or a diverged network's overflow): grey, never a colour a value could have.
  for (int k = 0; k < s.outputs; ++k)
    if (std::isnan(p[k])) return kNoValue;
  if (s.discretize) {
    const Rgb c = class_color(s, predicted(s, p));
    return s.map == ColorMap::seed && s.classes == 2 ? (predicted(s, p) ? Rgb{255, 0, 0} : Rgb{0, 255, 0}) : c;
  }
  if (s.classes > 2) {  // blend the class colours by probability
    float rgb[3] = {0, 0, 0};
    for (int k = 0; k < s.outputs; ++k) {
      const Rgb c = class_color(s, k);
      for (int ch = 0; ch < 3; ++ch) rgb[ch] += p[k] * c[size_t(ch)];
    }
    return {to_byte(rgb[0] / 255), to_byte(rgb[1] / 255), to_byte(rgb[2] / 255)};
  }
  switch (s.map) {
    case ColorMap::seed: return {to_byte(p[0]), to_byte(s.outputs > 1 ? p[1] : 1 - p[0]), 0};
    case ColorMap::playground: return playground(positive(p));
    case ColorMap::viridis: return viridis(positive(p));
  }
  return {0, 0, 0};
}

}  // namespace netsweep::render
