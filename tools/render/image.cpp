#include "image.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

// stb_image_write with zlib's deflate (faster and smaller than stb's own).
static unsigned char* netsweep_png_deflate(unsigned char* data, int length, int* out_length, int quality) {
  uLongf size = compressBound(uLong(length));
  auto* out = static_cast<unsigned char*>(std::malloc(size));
  if (!out || compress2(out, &size, data, uLong(length), std::min(quality, 9)) != Z_OK) {
    std::free(out);
    return nullptr;
  }
  *out_length = int(size);
  return out;
}
#define STBIW_ZLIB_COMPRESS netsweep_png_deflate
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_image_write.h>

namespace netsweep::render {

Image::Image(int w, int h, Rgb fill) : width(w), height(h), pixels(size_t(w) * size_t(h) * 3) {
  for (size_t i = 0; i < pixels.size(); i += 3) std::memcpy(&pixels[i], fill.data(), 3);
}

Rgb Image::at(int x, int y) const {
  const size_t i = (size_t(y) * size_t(width) + size_t(x)) * 3;
  return {pixels[i], pixels[i + 1], pixels[i + 2]};
}

void Image::set(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= width || y >= height) return;
  std::memcpy(&pixels[(size_t(y) * size_t(width) + size_t(x)) * 3], c.data(), 3);
}

void Image::blend(int x, int y, Rgb c, float alpha) {
  if (x < 0 || y < 0 || x >= width || y >= height || alpha <= 0) return;
  alpha = std::min(alpha, 1.0f);
  uint8_t* p = &pixels[(size_t(y) * size_t(width) + size_t(x)) * 3];
  // v + 0.5 truncated: lround for values in [0, 255], without a libm call per channel.
  for (int k = 0; k < 3; ++k) p[k] = uint8_t(int(p[k] + (float(c[size_t(k)]) - p[k]) * alpha + 0.5f));
}

void Image::fill_rect(int x0, int y0, int x1, int y1, Rgb c) {
  for (int y = std::max(0, y0); y < std::min(height, y1); ++y)
    for (int x = std::max(0, x0); x < std::min(width, x1); ++x) set(x, y, c);
}

void Image::disc(float cx, float cy, float r, Rgb fill, Rgb outline, float outline_width) {
  const int x0 = int(std::floor(cx - r - 1)), x1 = int(std::ceil(cx + r + 1));
  const int y0 = int(std::floor(cy - r - 1)), y1 = int(std::ceil(cy + r + 1));
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      const float ex = x + 0.5f - cx, ey = y + 0.5f - cy;
      const float d = std::sqrt(ex * ex + ey * ey);  // hypot's overflow care costs 10x here
      const float coverage = std::clamp(r + 0.5f - d, 0.0f, 1.0f);
      if (coverage <= 0) continue;
      const bool in_outline = d > r - outline_width;
      blend(x, y, in_outline ? outline : fill, coverage);
    }
}

void Image::ring(float cx, float cy, float r, Rgb color, float w) {
  const int x0 = int(std::floor(cx - r - 1)), x1 = int(std::ceil(cx + r + 1));
  const int y0 = int(std::floor(cy - r - 1)), y1 = int(std::ceil(cy + r + 1));
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      const float ex = x + 0.5f - cx, ey = y + 0.5f - cy;
      const float d = std::sqrt(ex * ex + ey * ey);
      const float coverage = std::clamp(std::min(r + 0.5f - d, d - (r - w) + 0.5f), 0.0f, 1.0f);
      blend(x, y, color, coverage);
    }
}

void Image::line(float x0, float y0, float x1, float y1, Rgb c, float w) {
  // Distance-to-segment coverage over the segment's bounding box.
  const int bx0 = int(std::floor(std::min(x0, x1) - w - 1)), bx1 = int(std::ceil(std::max(x0, x1) + w + 1));
  const int by0 = int(std::floor(std::min(y0, y1) - w - 1)), by1 = int(std::ceil(std::max(y0, y1) + w + 1));
  const float dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
  // On each row only pixels within reach of the line's centre can be covered:
  // a diagonal line's box is mostly empty.
  const float reach = (w / 2 + 1.5f) * std::sqrt(len2) / std::max(std::fabs(dy), 1e-6f);
  for (int y = std::max(0, by0); y <= std::min(height - 1, by1); ++y) {
    const float py = y + 0.5f;
    int lo = bx0, hi = bx1;
    if (std::fabs(dy) > 1e-3f) {  // (a horizontal line's box is already tight)
      const float cx = x0 + (py - y0) * dx / dy;
      lo = std::max(lo, int(std::floor(cx - reach)));
      hi = std::min(hi, int(std::ceil(cx + reach)));
    }
    for (int x = std::max(0, lo); x <= std::min(width - 1, hi); ++x) {
      const float px = x + 0.5f;
      const float t = len2 > 0 ? std::clamp(((px - x0) * dx + (py - y0) * dy) / len2, 0.0f, 1.0f) : 0.0f;
      const float ex = px - (x0 + t * dx), ey = py - (y0 + t * dy);
      blend(x, y, c, std::clamp(w / 2 + 0.5f - std::sqrt(ex * ex + ey * ey), 0.0f, 1.0f));
    }
  }
}

void Image::paste(const Image& src, int x, int y) {
  for (int j = 0; j < src.height; ++j)
    for (int i = 0; i < src.width; ++i) set(x + i, y + j, src.at(i, j));
}

void Image::write_png(const std::string& path) const {
  // Speed over the last few percent of size: a gallery writes thousands of
  // these. One filter for every row (stb otherwise tries all five per row).
  stbi_write_png_compression_level = 1;
  stbi_write_force_png_filter = 1;  // "sub": fields and flat panels change little along a row
  if (!stbi_write_png(path.c_str(), width, height, 3, pixels.data(), width * 3))
    throw RenderError(path + ": cannot write PNG");
}

}  // namespace netsweep::render
