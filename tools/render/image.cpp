#include "image.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

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

#define STB_TRUETYPE_IMPLEMENTATION
#define STBTT_STATIC
#include <stb/stb_truetype.h>

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

struct Font::Impl {
  std::vector<unsigned char> data;
  stbtt_fontinfo info{};
};

namespace {
uint32_t be32(const unsigned char* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
uint16_t be16(const unsigned char* p) { return uint16_t(p[0] << 8 | p[1]); }

// stb_truetype trusts the file: check the sfnt header and that every table
// lies inside it before handing it over (a text file or a truncated font
// would otherwise be read out of bounds).
bool plausible_truetype(const std::vector<unsigned char>& d) {
  if (d.size() < 12) return false;
  const uint32_t version = be32(d.data());
  if (version != 0x00010000u && version != 0x74727565u /* true */ && version != 0x4F54544Fu /* OTTO */) return false;
  const size_t tables = be16(d.data() + 4);
  if (tables == 0 || 12 + 16 * tables > d.size()) return false;
  for (size_t t = 0; t < tables; ++t) {
    const unsigned char* rec = d.data() + 12 + 16 * t;
    const uint64_t offset = be32(rec + 8), length = be32(rec + 12);
    if (offset + length > d.size()) return false;
  }
  return true;
}

// What stb_truetype will do with a font's composite glyphs, checked first: it
// follows components without a limit (a glyph naming itself recursed until the
// stack overflowed) and copies every leaf's outline at every level.
constexpr int kMaxGlyphDepth = 8;           // components within components
constexpr uint32_t kMaxGlyphLeaves = 1024;  // simple glyphs a composite expands to

struct GlyphWalk {
  std::vector<uint8_t> state;  // 0 unseen, 1 being walked, 2 fine
  std::vector<uint8_t> height;
  std::vector<uint32_t> leaves;
};

// Whether glyph `g`, reached `depth` components deep, lies inside the glyf
// table with all its components, read as stb_truetype reads them, in limits.
bool glyph_resolves(const stbtt_fontinfo& f, size_t size, int g, int depth, GlyphWalk& w) {
  if (g < 0 || g >= f.numGlyphs || depth > kMaxGlyphDepth || w.state[size_t(g)] == 1) return false;
  if (w.state[size_t(g)] == 2) return depth + w.height[size_t(g)] <= kMaxGlyphDepth;
  const size_t entry = f.indexToLocFormat == 0 ? 2 : 4;
  if (f.indexToLocFormat > 1 || size_t(f.loca) + (size_t(g) + 2) * entry > size) return false;
  const unsigned char* loca = f.data + f.loca + size_t(g) * entry;
  const size_t start = size_t(f.glyf) + (entry == 2 ? size_t(be16(loca)) * 2 : be32(loca));
  const size_t end = size_t(f.glyf) + (entry == 2 ? size_t(be16(loca + 2)) * 2 : be32(loca + 4));
  if (end > size || start > end || (start < end && end - start < 10)) return false;
  w.state[size_t(g)] = 1;
  int height = 0;
  uint32_t leaves = 1;
  if (start < end && int16_t(be16(f.data + start)) < 0) {  // composite: its components, each in turn
    leaves = 0;
    for (size_t p = start + 10;;) {
      if (p + 4 > end) return false;
      const uint16_t flags = be16(f.data + p), component = be16(f.data + p + 2);
      // A component placed by matching points (ARGS_ARE_XY_VALUES, 2, clear):
      // stb asserts, or (NDEBUG) leaves its arguments unread and reads them as
      // what follows, so a font could show this check one list and stb another.
      if (!(flags & 2)) return false;
      p += 4 + ((flags & 1) ? 4 : 2) +
           ((flags & 8)      ? 2
            : (flags & 0x40) ? 4
            : (flags & 0x80) ? 8
                             : 0);
      if (p > end || !glyph_resolves(f, size, component, depth + 1, w)) return false;
      height = std::max(height, 1 + w.height[component]);
      leaves += w.leaves[component];
      if (leaves > kMaxGlyphLeaves) return false;
      if (!(flags & 0x20)) break;  // no more components
    }
  }
  w.state[size_t(g)] = 2;
  w.height[size_t(g)] = uint8_t(height);
  w.leaves[size_t(g)] = leaves;
  return true;
}

// The glyphs of the codepoints text is drawn with (0-255, a byte each).
bool drawn_glyphs_resolve(const stbtt_fontinfo& f, size_t size) {
  if (f.cff.size) return true;  // CFF outlines: stb_truetype limits their subroutine depth itself
  const size_t n = size_t(std::max(f.numGlyphs, 0));
  GlyphWalk w{std::vector<uint8_t>(n, 0), std::vector<uint8_t>(n, 0), std::vector<uint32_t>(n, 0)};
  for (int c = 0; c < 256; ++c)
    if (!glyph_resolves(f, size, stbtt_FindGlyphIndex(&f, c), 0, w)) return false;
  return true;
}
}  // namespace

Font::Font(const std::string& path) : impl_(std::make_unique<Impl>()) {
  const std::string hint = " (install Debian's fonts-dejavu-core, or give --font / $NETSWEEP_FONT)";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw RenderError("font " + path + ": cannot open: no such file" + hint);
  if (!std::filesystem::is_regular_file(path, ec)) throw RenderError("font " + path + ": not a regular file");
  if (std::filesystem::file_size(path, ec) > (uintmax_t(64) << 20))
    throw RenderError("font " + path + ": too large for a font");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RenderError("font " + path + ": cannot open" + hint);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  impl_->data.assign(bytes.begin(), bytes.end());
  if (!plausible_truetype(impl_->data)) throw RenderError("font " + path + ": not a TrueType font");
  const int offset = stbtt_GetFontOffsetForIndex(impl_->data.data(), 0);
  if (offset < 0 || !stbtt_InitFont(&impl_->info, impl_->data.data(), offset))
    throw RenderError("font " + path + ": not a TrueType font");
  if (!drawn_glyphs_resolve(impl_->info, impl_->data.size()))
    throw RenderError("font " + path + ": damaged glyph outlines (outside the glyf table, or composite glyphs " +
                      "in a loop, nested too deep, too many, or placed by matching points, which netsweep-render " +
                      "cannot draw)");
}

Font::~Font() = default;

std::string Font::default_path() {
  if (const char* env = std::getenv("NETSWEEP_FONT")) return env;
  return "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
}

float Font::ascent(float size) const {
  int ascent = 0, descent = 0, gap = 0;
  stbtt_GetFontVMetrics(&impl_->info, &ascent, &descent, &gap);
  return float(ascent) * stbtt_ScaleForPixelHeight(&impl_->info, size);
}

float Font::width(const std::string& text, float size) const {
  const float scale = stbtt_ScaleForPixelHeight(&impl_->info, size);
  float w = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    int advance = 0, lsb = 0;
    stbtt_GetCodepointHMetrics(&impl_->info, static_cast<unsigned char>(text[i]), &advance, &lsb);
    w += float(advance) * scale;
    if (i + 1 < text.size())
      w += scale * float(stbtt_GetCodepointKernAdvance(&impl_->info, static_cast<unsigned char>(text[i]),
                                                       static_cast<unsigned char>(text[i + 1])));
  }
  return w;
}

void Font::draw(Image& img, const std::string& text, float x, float y, float size, Rgb color) const {
  const float scale = stbtt_ScaleForPixelHeight(&impl_->info, size);
  for (size_t i = 0; i < text.size(); ++i) {
    const int cp = static_cast<unsigned char>(text[i]);
    int w = 0, h = 0, xoff = 0, yoff = 0;
    const float frac = x - std::floor(x);
    unsigned char* bitmap =
        stbtt_GetCodepointBitmapSubpixel(&impl_->info, scale, scale, frac, 0, cp, &w, &h, &xoff, &yoff);
    for (int j = 0; j < h; ++j)
      for (int k = 0; k < w; ++k)
        img.blend(int(std::floor(x)) + xoff + k, int(std::lround(y)) + yoff + j, color, bitmap[j * w + k] / 255.0f);
    stbtt_FreeBitmap(bitmap, nullptr);
    int advance = 0, lsb = 0;
    stbtt_GetCodepointHMetrics(&impl_->info, cp, &advance, &lsb);
    x += float(advance) * scale;
    if (i + 1 < text.size())
      x += scale * float(stbtt_GetCodepointKernAdvance(&impl_->info, cp, static_cast<unsigned char>(text[i + 1])));
  }
}

}  // namespace netsweep::render
