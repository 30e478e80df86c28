// Text for the renderer through FreeType: it reads TrueType and OpenType
// fonts and refuses damaged ones with an error rather than reading out of
// bounds. An FT_Face is not thread-safe, and one Font is drawn with from
// every render thread, so each use of the face holds the Font's mutex.
#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_ADVANCES_H

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include "image.h"

namespace netsweep::render {
namespace {

// FreeType's messages, from its error list (FT_Error_String is null in builds without them, as Debian's).
struct FreetypeError {
  int code;
  const char* message;
};
#undef FTERRORS_H_
#define FT_ERROR_START_LIST
#define FT_ERRORDEF(e, v, s) {e, s},
#define FT_ERROR_END_LIST
constexpr FreetypeError kFreetypeErrors[] = {
#include FT_ERRORS_H
};

std::string freetype_error(FT_Error error) {
  for (const auto& e : kFreetypeErrors)
    if (e.message && e.code == error) return std::string("FreeType: ") + e.message;
  return "FreeType error " + std::to_string(error);
}

// Text is UTF-8 (the labels, a stored part label). Each code point; a byte
// that does not start a whole, shortest-form sequence is a '?' (a Latin-1
// glyph, checked at load; U+FFFD's is not).
std::vector<char32_t> code_points(const std::string& text) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < text.size();) {
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char b = byte(i);
    const int length = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    char32_t c = length == 1 ? b : length == 2 ? (b & 0x1Fu) : length == 3 ? (b & 0x0Fu) : (b & 0x07u);
    bool whole = length > 0 && i + size_t(length) <= text.size();
    for (int k = 1; whole && k < length; ++k) {
      whole = (byte(i + size_t(k)) & 0xC0u) == 0x80u;
      c = c << 6 | (byte(i + size_t(k)) & 0x3Fu);
    }
    constexpr char32_t kLeast[5] = {0, 0, 0x80, 0x800, 0x10000};  // shortest forms only
    if (!whole || c < kLeast[length] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
      out.push_back('?');
      ++i;
    } else {
      out.push_back(c);
      i += size_t(length);
    }
  }
  return out;
}

// Beyond Latin-1, the characters the renderer writes itself (fmt's "–" for a
// missing number, the minus sign): checked when the font loads, and drawn as
// '-' where the font lacks them, never as nothing.
constexpr char32_t kDashes[] = {0x2013, 0x2212};

}  // namespace

// Outlines only, never hinted: embedded bitmaps come in other pixel formats
// and sizes, and hinting programs may draw differently at every size.
constexpr FT_Int32 kLoadFlags = FT_LOAD_NO_HINTING | FT_LOAD_NO_AUTOHINT | FT_LOAD_NO_BITMAP;
// No glyph may reach further from its origin than this many times the text's
// height: its bitmap would take memory and time without end (a glyph 30,000
// pixels square is 900 MB).
constexpr int kMostHeights = 32;

struct Font::Impl {
  std::string path;
  FT_Library library = nullptr;
  FT_Face face = nullptr;
  std::vector<unsigned char> data;  // the face reads from it as long as it lives
  std::mutex mutex;
  // Pixels per font unit for a text `size` pixels high from descender to
  // ascender (hhea's, as the layout was made for), and the character size
  // FreeType draws at for it.
  float scale(float size) const { return size / float(face->ascender - face->descender); }
  FT_Error set_size(float size) const {
    const double em_pixels = double(scale(size)) * face->units_per_EM;
    return FT_Set_Char_Size(face, 0, FT_F26Dot6(std::llround(em_pixels * 64)), 72, 72);  // 72 dpi: a point is a pixel
  }
  // Glyph `glyph` (of character c) rendered at the current size of `size`
  // pixels into face->glyph->bitmap, 8-bit grey; else the reason.
  std::string render(FT_UInt glyph, int c, float size) const {
    const std::string which = "font " + path + ": glyph of character " + std::to_string(c);
    if (const FT_Error e = FT_Load_Glyph(face, glyph, kLoadFlags))
      return which + " is damaged (" + freetype_error(e) + ")";
    const FT_Glyph_Metrics& m = face->glyph->metrics;  // 26.6 pixels
    const double most = double(kMostHeights) * std::max(size, 1.0f) * 64;
    if (double(m.width) > most || double(m.height) > most || std::abs(double(m.horiBearingX)) > most ||
        std::abs(double(m.horiBearingY)) > most)
      return which + " lies over " + std::to_string(kMostHeights) +
             " times the text's height from its origin (damaged metrics or outline)";
    if (const FT_Error e = FT_Render_Glyph(face->glyph, FT_RENDER_MODE_NORMAL))
      return which + " is damaged (" + freetype_error(e) + ")";
    if (face->glyph->bitmap.pixel_mode != FT_PIXEL_MODE_GRAY || face->glyph->bitmap.num_grays != 256)
      return which + " did not render as 8-bit grey";
    return "";
  }
  ~Impl() {
    if (face) FT_Done_Face(face);
    if (library) FT_Done_FreeType(library);
  }
};

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
  Impl& f = *impl_;
  f.path = path;
  f.data.assign(bytes.begin(), bytes.end());
  // sfnt fonts only (TrueType, OpenType, collections): FreeType's WOFF loader
  // allocates the size a 72-byte header declares (up to 2 GB) before reading on.
  const uint32_t tag = f.data.size() < 4 ? 0
                                         : uint32_t(f.data[0]) << 24 | uint32_t(f.data[1]) << 16 |
                                               uint32_t(f.data[2]) << 8 | uint32_t(f.data[3]);
  if (tag != 0x00010000u && tag != 0x4F54544Fu /* OTTO */ && tag != 0x74727565u /* true */ &&
      tag != 0x74746366u /* ttcf */)
    throw RenderError("font " + path + ": not a TrueType or OpenType font");
  if (const FT_Error e = FT_Init_FreeType(&f.library)) throw RenderError("font " + path + ": " + freetype_error(e));
  if (FT_New_Memory_Face(f.library, f.data.data(), FT_Long(f.data.size()), 0, &f.face) != 0)
    throw RenderError("font " + path + ": not a TrueType or OpenType font");
  if (!FT_IS_SCALABLE(f.face) || f.face->ascender <= f.face->descender || f.face->units_per_EM == 0)
    throw RenderError("font " + path + ": not an outline font with a height (a bitmap font, or damaged)");
  if (FT_IS_TRICKY(f.face))  // FreeType runs their glyphs' own programs whatever the flags: sizes unbounded
    throw RenderError("font " + path +
                      ": a \"tricky\" font whose glyphs are drawn by their own programs; "
                      "choose another font");
  // The layout scales text by the line's height (ascender - descender); an em
  // far from it draws glyphs far larger or smaller than the space they get.
  const double em_per_line = double(f.face->units_per_EM) / double(f.face->ascender - f.face->descender);
  if (em_per_line < 0.25 || em_per_line > 4)
    throw RenderError("font " + path + ": its em (" + std::to_string(f.face->units_per_EM) +
                      " units) is not within 4 times its line height (" +
                      std::to_string(f.face->ascender - f.face->descender) + "): damaged metrics");
  // Every glyph of Latin-1 (code points 0-255) and kDashes the font has must
  // render now, so a damaged one stops the render before any page is written,
  // and the letters and digits must be there, and advance the pen.
  constexpr int kCheckPixels = 16;
  if (const FT_Error e = f.set_size(kCheckPixels))
    throw RenderError("font " + path + ": cannot be scaled (" + freetype_error(e) + ")");
  for (int c = 0; c < 256; ++c) {
    const FT_UInt glyph = FT_Get_Char_Index(f.face, FT_ULong(c));
    const bool needed = std::isalnum(c) != 0 && c < 128;
    if (glyph == 0 && needed)
      throw RenderError("font " + path + ": has no glyph for '" + std::string(1, char(c)) +
                        "' (labels need letters and digits)");
    if (glyph == 0) continue;  // not in the font: drawn as nothing
    if (const std::string why = f.render(glyph, c, kCheckPixels); !why.empty()) throw RenderError(why);
    const FT_Bitmap& b = f.face->glyph->bitmap;
    if (needed &&
        std::all_of(b.buffer, b.buffer + size_t(b.rows) * size_t(b.pitch), [](unsigned char v) { return v == 0; }))
      throw RenderError("font " + path + ": character '" + std::string(1, char(c)) + "' draws nothing");
    FT_Fixed advance = 0;
    FT_Get_Advance(f.face, glyph, FT_LOAD_NO_SCALE, &advance);
    if (needed && (advance * 20 < f.face->units_per_EM || advance > 4 * f.face->units_per_EM))
      throw RenderError("font " + path + ": character '" + std::string(1, char(c)) + "' advances " +
                        std::to_string(advance) + " units, not between 1/20 and 4 of its em (" +
                        std::to_string(f.face->units_per_EM) + "): damaged metrics");
  }
  for (const char32_t c : kDashes)
    if (const FT_UInt glyph = FT_Get_Char_Index(f.face, FT_ULong(c)))
      if (const std::string why = f.render(glyph, int(c), kCheckPixels); !why.empty()) throw RenderError(why);
}

Font::~Font() = default;

std::string Font::default_path() {
  if (const char* env = std::getenv("NETSWEEP_FONT"); env && *env) return env;  // set and not empty
  return "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
}

float Font::ascent(float size) const {
  return float(impl_->face->ascender) * impl_->scale(size);  // face metrics are fixed once loaded
}

namespace {
// The pen's move after glyph `glyph` (followed by `next`, 0: none), in font
// units: an advance of at most 4 ems and a kerning of at most one either way
// (a damaged kern table moved labels across the picture).
float advance_units(FT_Face face, FT_UInt glyph, FT_UInt next) {
  const FT_Fixed em = face->units_per_EM;
  FT_Fixed advance = 0;
  FT_Get_Advance(face, glyph, FT_LOAD_NO_SCALE, &advance);
  FT_Vector kern{0, 0};
  if (next && FT_HAS_KERNING(face)) FT_Get_Kerning(face, glyph, next, FT_KERNING_UNSCALED, &kern);
  return float(std::clamp<FT_Fixed>(advance, 0, 4 * em) + std::clamp<FT_Fixed>(kern.x, -em, em));
}

// The glyphs of code points (0: none in the font, drawn as nothing).
// Code points beyond Latin-1 other than kDashes were not checked at load:
// drawn only if the font has them, each checked as it renders.
std::vector<FT_UInt> glyphs(FT_Face face, const std::vector<char32_t>& chars) {
  std::vector<FT_UInt> out;
  for (const char32_t c : chars) {
    FT_UInt glyph = FT_Get_Char_Index(face, FT_ULong(c));
    if (glyph == 0 && std::find(std::begin(kDashes), std::end(kDashes), c) != std::end(kDashes))
      glyph = FT_Get_Char_Index(face, FT_ULong('-'));
    out.push_back(glyph);
  }
  return out;
}
}  // namespace

float Font::width(const std::string& text, float size) const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  FT_Face face = impl_->face;
  const std::vector<FT_UInt> g = glyphs(face, code_points(text));
  float units = 0;
  for (size_t i = 0; i < g.size(); ++i) units += advance_units(face, g[i], i + 1 < g.size() ? g[i + 1] : 0);
  return units * impl_->scale(size);
}

void Font::draw(Image& img, const std::string& text, float x, float y, float size, Rgb color) const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  FT_Face face = impl_->face;
  const float scale = impl_->scale(size);
  if (const FT_Error e = impl_->set_size(size))
    throw RenderError("font " + impl_->path + ": cannot be scaled to " + std::to_string(size) + " pixels (" +
                      freetype_error(e) + ")");
  const std::vector<char32_t> chars = code_points(text);
  const std::vector<FT_UInt> g = glyphs(face, chars);
  for (size_t i = 0; i < g.size(); ++i) {
    const FT_UInt glyph = g[i];
    // The pen's fraction of a pixel moves the outline, so text spaces evenly at any size.
    FT_Vector shift{FT_Pos(std::lround((x - std::floor(x)) * 64)), 0};
    FT_Set_Transform(face, nullptr, &shift);
    if (glyph != 0) {
      if (const std::string why = impl_->render(glyph, int(chars[i]), size); !why.empty()) {
        FT_Set_Transform(face, nullptr, nullptr);
        throw RenderError(why);
      }
      const FT_Bitmap& b = face->glyph->bitmap;
      const int64_t left = int64_t(std::floor(x)) + face->glyph->bitmap_left;
      const int64_t top = int64_t(std::llround(y)) - face->glyph->bitmap_top;
      // Only the rows and columns that land on the image.
      for (int64_t j = std::max<int64_t>(0, -top); j < std::min<int64_t>(b.rows, img.height - top); ++j)
        for (int64_t k = std::max<int64_t>(0, -left); k < std::min<int64_t>(b.width, img.width - left); ++k)
          img.blend(int(left + k), int(top + j), color, b.buffer[j * b.pitch + k] / 255.0f);
    }
    x += advance_units(face, glyph, i + 1 < g.size() ? g[i + 1] : 0) * scale;
  }
  FT_Set_Transform(face, nullptr, nullptr);
}

}  // namespace netsweep::render
