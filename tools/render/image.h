// RGB images, drawing primitives and text (FreeType; font.cpp) for the renderer.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace netsweep::render {

using Rgb = std::array<uint8_t, 3>;

struct RenderError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;  // (height, width, 3) RGB, row 0 on top

  Image() = default;
  Image(int w, int h, Rgb fill = {255, 255, 255});
  Rgb at(int x, int y) const;
  void set(int x, int y, Rgb c);
  void blend(int x, int y, Rgb c, float alpha);           // alpha in [0,1]; ignores pixels outside
  void fill_rect(int x0, int y0, int x1, int y1, Rgb c);  // [x0,x1) x [y0,y1)
  // Anti-aliased disc of radius r centred at (cx, cy), with an outline ring.
  void disc(float cx, float cy, float r, Rgb fill, Rgb outline, float outline_width);
  void ring(float cx, float cy, float r, Rgb color, float width);
  void line(float x0, float y0, float x1, float y1, Rgb c, float width);  // anti-aliased
  void paste(const Image& src, int x, int y);
  void write_png(const std::string& path) const;  // throws RenderError
};

// A TrueType or OpenType font (FreeType). Loaded once, then used from any thread.
class Font {
 public:
  explicit Font(const std::string& path);  // throws RenderError naming the path
  ~Font();
  // Draws text with its baseline at y, starting at x; pixel height `size`.
  void draw(Image& img, const std::string& text, float x, float y, float size, Rgb color) const;
  float width(const std::string& text, float size) const;
  float ascent(float size) const;
  // The default font: $NETSWEEP_FONT, else DejaVu Sans from fonts-dejavu-core.
  static std::string default_path();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace netsweep::render
