// The renderer's images are checked, not just produced: colours per map,
// point positions, GIF frames and delay, PNG size and loss plot axes (the
// gallery end to end: test_render_gallery.cpp; the views inside the networks:
// test_render_inside.cpp).
#include <gif_lib.h>
#include <gtest/gtest.h>

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#include <stb/stb_image.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "colormap.h"
#include "draw.h"
#include "gif.h"
#include "image.h"
#include "inside.h"
#include "render_checks.h"
#include "sweep.h"

using namespace netsweep;
using namespace netsweep::render;
using namespace netsweep::render::test;
namespace fs = std::filesystem;

TEST(Colormap, KnownColorsAtKnownValues) {
  FieldStyle seed{ColorMap::seed, false, 2, 2};
  const float red[2] = {1, 0}, green[2] = {0, 1}, half[2] = {0.5f, 0.5f};
  expect_color(field_color(seed, red), {255, 0, 0}, 0, "seed (1,0)");
  expect_color(field_color(seed, green), {0, 255, 0}, 0, "seed (0,1)");
  expect_color(field_color(seed, half), {128, 128, 0}, 0, "seed (0.5,0.5)");

  FieldStyle pg{ColorMap::playground, false, 2, 2};
  const float p0[2] = {0, 1}, p5[2] = {0.5f, 0.5f}, p1[2] = {1, 0}, p25[2] = {0.25f, 0.75f};
  expect_color(field_color(pg, p0), {0xf5, 0x93, 0x22}, 0, "playground 0 = #f59322");
  expect_color(field_color(pg, p5), {0xe8, 0xea, 0xeb}, 0, "playground 0.5 = #e8eaeb");
  expect_color(field_color(pg, p1), {0x08, 0x77, 0xbd}, 0, "playground 1 = #0877bd");
  expect_color(field_color(pg, p25), {(0xf5 + 0xe8 + 1) / 2, (0x93 + 0xea + 1) / 2, (0x22 + 0xeb + 1) / 2}, 1,
               "playground 0.25");

  FieldStyle vi{ColorMap::viridis, false, 2, 2};
  expect_color(field_color(vi, p0), {0x44, 0x01, 0x54}, 4, "viridis 0 = #440154");
  expect_color(field_color(vi, p5), {0x21, 0x91, 0x8c}, 4, "viridis 0.5 = #21918c");
  expect_color(field_color(vi, p1), {0xfd, 0xe7, 0x25}, 4, "viridis 1 = #fde725");

  FieldStyle disc = seed;
  disc.discretize = true;
  const float mostly_red[2] = {0.7f, 0.3f}, mostly_green[2] = {0.4f, 0.6f};
  expect_color(field_color(disc, mostly_red), {255, 0, 0}, 0, "discretized seed");
  expect_color(field_color(disc, mostly_green), {0, 255, 0}, 0, "discretized seed");
  disc.map = ColorMap::playground;
  expect_color(field_color(disc, mostly_red), {0x08, 0x77, 0xbd}, 0, "discretized playground: class 1 blue");
  EXPECT_THROW(parse_colormap("jet"), RenderError);
  // No value is grey on every map, discretized or not, and with more classes: never a value's colour.
  const float nan = std::numeric_limits<float>::quiet_NaN(), no_value[3] = {0.5f, nan, 0.25f};
  for (FieldStyle style : {seed, pg, vi, disc, FieldStyle{ColorMap::playground, false, 3, 3}}) {
    expect_color(field_color(style, no_value), kNoValue, 0, "NaN");
    style.discretize = true;
    expect_color(field_color(style, no_value), kNoValue, 0, "NaN, discretized");
  }
}

TEST(Font, DefaultIsTheEnvironmentsUnlessEmptyAndTextHasWidth) {
  const char* before = std::getenv("NETSWEEP_FONT");
  const std::string kept = before ? before : "";
  const std::string dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
  ::setenv("NETSWEEP_FONT", "", 1);  // empty: as if unset
  EXPECT_EQ(Font::default_path(), dejavu);
  ::setenv("NETSWEEP_FONT", "/elsewhere/font.ttf", 1);
  EXPECT_EQ(Font::default_path(), "/elsewhere/font.ttf");
  if (before)
    ::setenv("NETSWEEP_FONT", kept.c_str(), 1);
  else
    ::unsetenv("NETSWEEP_FONT");
  // Text grows with its length and size, kerning or not; the ascent is most of the height.
  const Font& f = font();
  EXPECT_GT(f.width("epoch 10", 12), f.width("epoch 1", 12));
  EXPECT_NEAR(f.width("epoch 1", 24), 2 * f.width("epoch 1", 12), 0.5);
  EXPECT_GT(f.ascent(20), 10.0f);
  EXPECT_LT(f.ascent(20), 20.0f);
}

// The rows of an image that hold ink (any pixel not white), as {first, last}; {-1, -1} if none.
std::pair<int, int> inked_rows(const Image& img) {
  int first = -1, last = -1;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x)
      if (img.at(x, y)[0] != 255) {
        if (first < 0) first = y;
        last = y;
      }
  return {first, last};
}

Image drawn(const std::string& text) {
  Image img(120, 60);
  font().draw(img, text, 10, 45, 40, {0, 0, 0});
  return img;
}

TEST(Font, TextIsUtf8) {
  const Font& f = font();
  // "é" (2 bytes) is one glyph, as wide as "e" in DejaVu, not "Ã©".
  EXPECT_FLOAT_EQ(f.width("\xc3\xa9", 20), f.width("e", 20));
  // The en dash fmt writes for a missing number is one bar a few pixels high
  // (drawn byte by byte it was "â" and two control codes).
  const auto [top, bottom] = inked_rows(drawn("\xe2\x80\x93"));
  ASSERT_GE(top, 0) << "the en dash drew nothing";
  EXPECT_LE(bottom - top, 5) << "rows " << top << " to " << bottom;
  // A byte that starts no whole sequence is drawn as '?', pixel for pixel.
  EXPECT_EQ(drawn("\xe2").pixels, drawn("?").pixels);
  EXPECT_EQ(drawn("a\xc3(").pixels, drawn("a?(").pixels);
  EXPECT_EQ(drawn("\xed\xa0\x80").pixels, drawn("???").pixels);  // a surrogate: 3 bytes, none whole
}

// OpenType with CFF outlines (fonts-cantarell, installed by setup.sh) loads
// and draws: glyphs with ink under the baseline's line, as wide as the text.
TEST(Font, OpenTypeWithCffOutlinesDraws) {
  const std::string path = "/usr/share/fonts/opentype/cantarell/Cantarell-Regular.otf";
  std::ifstream in(path, std::ios::binary);
  char tag[4] = {};
  ASSERT_TRUE(in.read(tag, 4)) << path << ": missing (scripts/setup.sh installs fonts-cantarell)";
  ASSERT_EQ(std::string(tag, 4), "OTTO") << path << " has no CFF outlines";
  const Font cff(path);
  EXPECT_GT(cff.width("epoch 10", 12), cff.width("epoch 1", 12));
  EXPECT_NEAR(cff.width("epoch 1", 24), 2 * cff.width("epoch 1", 12), 0.5);
  Image img(200, 60);
  cff.draw(img, "H", 10, 45, 40, {0, 0, 0});
  const auto [top, bottom] = inked_rows(img);
  ASSERT_GE(top, 0) << "the CFF font drew nothing";
  EXPECT_NEAR(bottom, 44, 1) << "an H sits on the baseline";
  EXPECT_NEAR(bottom - top + 1, 40 * 0.7, 40 * 0.15) << "an H is about a cap height tall";
  int left = img.width, right = -1;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x)
      if (img.at(x, y)[0] != 255) left = std::min(left, x), right = std::max(right, x);
  EXPECT_GE(left, 10);
  EXPECT_LE(right, 10 + cff.width("H", 40));
}

TEST(Frame, FieldPointsAndCaption) {
  FrameScene s;
  s.grid_h = s.grid_w = 32;
  s.outputs = 2;
  s.extent = {0, 1, 0, 1};
  s.scale = 8;
  s.style = {ColorMap::seed, false, 2, 2};
  s.train.coords = {0.0f, 1.0f, 0.5f, 0.25f};  // top-left corner; a point inside
  s.train.labels = {1, 0};
  std::vector<float> field(32 * 32 * 2);
  for (size_t i = 0; i < field.size(); i += 2) field[i] = 0.25f, field[i + 1] = 0.75f;
  const Image img = render_frame(s, field.data(), "epoch 7   loss 0.1234   acc 50.0%", font());
  EXPECT_EQ(img.width, 256);
  EXPECT_EQ(img.height, 256 + caption_height(256));
  // The field away from points: seed colour of (0.25, 0.75).
  expect_color(img.at(200, 30), {64, 191, 0}, 0, "field pixel");
  // Plane (0, 1) is the centre of the top-left grid cell.
  const auto corner = plane_to_pixel(s, 0.0f, 1.0f);
  EXPECT_FLOAT_EQ(corner[0], 4.0f);
  EXPECT_FLOAT_EQ(corner[1], 4.0f);
  expect_color(img.at(4, 4), class_color(s.style, 1), 30, "class-1 point at the top-left");
  // (0.5, 0.25): column 15.5, row 23.25 of 32 -> pixel centre (128, 190).
  const auto inside = plane_to_pixel(s, 0.5f, 0.25f);
  EXPECT_FLOAT_EQ(inside[0], (15.5f + 0.5f) * 8);
  EXPECT_FLOAT_EQ(inside[1], (23.25f + 0.5f) * 8);
  expect_color(img.at(int(inside[0]), int(inside[1])), class_color(s.style, 0), 30, "class-0 point");
  // The caption strip holds dark text pixels.
  int dark = 0;
  for (int y = 256; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) dark += img.at(x, y)[0] < 100;
  EXPECT_GT(dark, 20);
}

// Largest per-channel difference between two colours.
int contrast(Rgb a, Rgb b) {
  int d = 0;
  for (size_t k = 0; k < 3; ++k) d = std::max(d, std::abs(int(a[k]) - int(b[k])));
  return d;
}

TEST(Frame, PointsOfBothClassesStayVisibleOnAnyField) {
  // A field of one colour everywhere, one point of each class (train and test):
  // the point keeps its class colour at its centre and something around it
  // stands out from the field, whatever the field's colour.
  FrameScene s;
  s.grid_h = s.grid_w = 64;
  s.outputs = 2;
  s.extent = {0, 1, 0, 1};
  s.scale = 4;
  s.style = {ColorMap::seed, false, 2, 2};
  s.caption = false;
  s.train.coords = {0.25f, 0.5f, 0.75f, 0.5f};
  s.train.labels = {0, 1};
  s.test.coords = {0.25f, 0.2f, 0.75f, 0.2f};
  s.test.labels = {0, 1};
  // Fields: exactly each class's colour, white, black and the points' edge colour.
  const std::vector<Rgb> fields = {
      class_color(s.style, 0), class_color(s.style, 1), {255, 255, 255}, {0, 0, 0}, class_outline(s.style)};
  std::vector<float> unused(64 * 64 * 2, 0.5f);
  for (const Rgb field : fields) {
    const FieldColor flat = [field](const float*) { return field; };
    const Image img = render_frame(s, unused.data(), "", font(), &flat);
    const std::string what =
        "field (" + std::to_string(field[0]) + "," + std::to_string(field[1]) + "," + std::to_string(field[2]) + ")";
    for (size_t k = 0; k < 2; ++k) {
      const auto c = plane_to_pixel(s, s.train.coords[2 * k], s.train.coords[2 * k + 1]);
      expect_color(img.at(int(c[0]), int(c[1])), class_color(s.style, s.train.labels[k]), 20, what + " train centre");
      for (const Points* set : {&s.train, &s.test}) {
        const auto q = plane_to_pixel(s, set->coords[2 * k], set->coords[2 * k + 1]);
        int best = 0;  // the strongest contrast with the field within the point's footprint
        for (int dy = -8; dy <= 8; ++dy)
          for (int dx = -8; dx <= 8; ++dx)
            best = std::max(best, contrast(img.at(int(q[0]) + dx, int(q[1]) + dy), field));
        EXPECT_GE(best, 150) << what << ", " << (set == &s.train ? "train" : "test") << " point of class "
                             << set->labels[k];
      }
    }
    // Far from the points, the field is untouched.
    expect_color(img.at(128, 10), field, 0, what + " away from points");
  }
}

TEST(Frame, CleanFieldHasNoPointsNoCaption) {
  // --no-points --no-caption at scale 1: the frame is the grid, pixel for pixel.
  FrameScene s;
  s.grid_h = s.grid_w = 32;
  s.outputs = 2;
  s.extent = {0, 1, 0, 1};
  s.scale = 1;
  s.style = {ColorMap::seed, false, 2, 2};
  s.train.coords = {0.5f, 0.5f};
  s.train.labels = {1};
  s.points = false;
  s.caption = false;
  std::vector<float> field(32 * 32 * 2);
  for (int j = 0; j < 32; ++j)
    for (int i = 0; i < 32; ++i)
      field[size_t(j * 32 + i) * 2] = float(i) / 31, field[size_t(j * 32 + i) * 2 + 1] = float(j) / 31;
  const Image img = render_frame(s, field.data(), "epoch 1", font());
  ASSERT_EQ(img.width, 32);
  ASSERT_EQ(img.height, 32);
  for (int j = 0; j < 32; ++j)
    for (int i = 0; i < 32; ++i)
      expect_color(img.at(i, j), field_color(s.style, &field[size_t(j * 32 + i) * 2]), 0, "grid point");
}

// A float16 frame beyond +-65504 holds +-inf (a diverged network's): drawn as
// the end of the scale it is past, never black (inf * 0 in the interpolation
// was NaN, and NaN's byte undefined).
TEST(Frame, InfiniteValuesTakeTheEndOfTheScale) {
  FrameScene s;
  s.grid_h = s.grid_w = 4;
  s.outputs = 1;
  s.extent = {0, 1, 0, 1};
  s.scale = 3;  // pixels between grid points: interpolated
  // One output (P(class 1)) of two classes, as the scene and its field.
  s.style = {ColorMap::playground, false, 1, 2};
  s.points = false;
  s.caption = false;
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> field(16, -inf);
  for (int k = 8; k < 16; ++k) field[size_t(k)] = k == 12 ? 0.75f : inf;  // the lower half +inf, one finite point
  const Image img = render_frame(s, field.data(), "", font());
  const float low = 0, high = 1;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const Rgb c = img.at(x, y);
      EXPECT_TRUE(c == field_color(s.style, &low) || c == field_color(s.style, &high) || y >= 6)
          << "pixel " << x << "," << y << ": " << int(c[0]) << "," << int(c[1]) << "," << int(c[2]);
      EXPECT_FALSE(c[0] == 0 && c[1] == 0 && c[2] == 0) << "black at " << x << "," << y;
    }
  EXPECT_EQ(img.at(0, 0), field_color(s.style, &low));
  EXPECT_EQ(img.at(img.width - 1, img.height - 1), field_color(s.style, &high));
}

TEST(Frame, AxesCarryTickMarksAndValues) {
  FrameScene s;
  s.grid_h = s.grid_w = 64;
  s.outputs = 2;
  s.extent = {0, 1, 0, 1};
  s.scale = 4;
  s.style = {ColorMap::seed, false, 2, 2};
  s.axes = true;
  std::vector<float> field(64 * 64 * 2, 0.5f);
  const Rgb field_rgb = field_color(s.style, field.data());
  const FrameLayout l = frame_layout(s);
  const Image img = render_frame(s, field.data(), "epoch 1", font());
  ASSERT_EQ(img.width, l.width);
  ASSERT_EQ(img.height, l.height);
  EXPECT_GT(l.field_x, 10) << "room for the y values";
  EXPECT_EQ(l.height, l.field_y + 256 + 4 + int(std::ceil(caption_font_size(256) * 0.8f * 1.3f)) + caption_height(256));
  // The plane's corner (0, 1) is the first grid point, inside the field.
  const auto corner = plane_to_pixel(s, 0.0f, 1.0f);
  EXPECT_FLOAT_EQ(corner[0], float(l.field_x) + 2);
  EXPECT_FLOAT_EQ(corner[1], float(l.field_y) + 2);
  expect_color(img.at(l.field_x + 128, l.field_y + 128), field_rgb, 0, "field");
  // Tick marks every 0.2 (1-2-5 steps, about four over the range): under the
  // field at x = 0, 0.4 and 1, and left of it at y = 0.6.
  const int below = l.field_y + l.field_h + 2;
  for (float x : {0.0f, 0.4f, 1.0f}) {
    const int px = int(plane_to_pixel(s, x, 0)[0]);
    EXPECT_LT(img.at(px, below)[0], 160) << "tick mark at x=" << x;
    EXPECT_GT(img.at(px + 12, below)[0], 200) << "no mark between ticks";
  }
  EXPECT_LT(img.at(l.field_x - 3, int(plane_to_pixel(s, 0, 0.6f)[1]))[0], 160) << "tick mark at y=0.6";
  // Values: dark text in the left margin and under the ticks.
  int left_ink = 0, bottom_ink = 0;
  for (int y = l.field_y; y < l.field_y + l.field_h; ++y)
    for (int x = 0; x < l.field_x - 6; ++x) left_ink += img.at(x, y)[0] < 120;
  for (int y = below + 3; y < l.field_y + l.field_h + 4 + 14; ++y)
    for (int x = l.field_x; x < l.field_x + l.field_w; ++x) bottom_ink += img.at(x, y)[0] < 120;
  EXPECT_GT(left_ink, 20);
  EXPECT_GT(bottom_ink, 20);
}

TEST(Frame, PngHasTheImageSize) {
  Image img(37, 23, {10, 20, 30});
  img.set(5, 6, {200, 100, 50});
  const std::string path = temp_path("size.png");
  img.write_png(path);
  int w = 0, h = 0, n = 0;
  unsigned char* data = stbi_load(path.c_str(), &w, &h, &n, 3);
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(w, 37);
  EXPECT_EQ(h, 23);
  EXPECT_EQ(data[(6 * 37 + 5) * 3], 200);
  EXPECT_EQ(data[0], 10);
  stbi_image_free(data);
}

TEST(Gif, FrameCountDelayAndLoop) {
  std::vector<Image> frames;
  for (int k = 0; k < 5; ++k) {
    Image img(30, 20);
    for (int y = 0; y < 20; ++y)
      for (int x = 0; x < 30; ++x) img.set(x, y, {uint8_t(x * 8), uint8_t(y * 12), uint8_t(k * 50)});
    frames.push_back(img);
  }
  const std::string path = temp_path("anim.gif");
  fs::remove(path);
  write_gif(path, frames, 7);
  // Readable by others like the gallery's PNGs (giflib's own open makes 0600 files).
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::others_read, fs::perms::others_read);
  int error = 0;
  GifFileType* gif = DGifOpenFileName(path.c_str(), &error);
  ASSERT_NE(gif, nullptr);
  ASSERT_EQ(DGifSlurp(gif), GIF_OK);
  EXPECT_EQ(gif->ImageCount, 5);
  EXPECT_EQ(gif->SWidth, 30);
  EXPECT_EQ(gif->SHeight, 20);
  bool looping = false;
  for (int i = 0; i < gif->ImageCount; ++i) {
    GraphicsControlBlock gcb;
    ASSERT_EQ(DGifSavedExtensionToGCB(gif, i, &gcb), GIF_OK);
    EXPECT_EQ(gcb.DelayTime, 7);
    for (int e = 0; e < gif->SavedImages[i].ExtensionBlockCount; ++e) {
      const auto& b = gif->SavedImages[i].ExtensionBlocks[e];
      looping |= b.ByteCount == 11 && std::memcmp(b.Bytes, "NETSCAPE2.0", 11) == 0;
    }
  }
  EXPECT_TRUE(looping) << "no NETSCAPE2.0 loop extension";
  // The last frame's colours survive quantization (a smooth gradient: within a few levels).
  const SavedImage& last = gif->SavedImages[4];
  const ColorMapObject* map = last.ImageDesc.ColorMap ? last.ImageDesc.ColorMap : gif->SColorMap;
  const GifColorType c = map->Colors[last.RasterBits[10 * 30 + 20]];
  EXPECT_NEAR(c.Red, 160, 24);  // median cut of ~600 gradient colours into 256
  EXPECT_NEAR(c.Green, 120, 24);
  EXPECT_NEAR(c.Blue, 200, 24);
  DGifCloseFile(gif, &error);
  EXPECT_THROW(write_gif(temp_path("none.gif"), {}, 5), RenderError);
}

TEST(LossPlot, AxesCoverTheCurves) {
  LossCurves c;
  for (int e = 0; e < 50; ++e) c.epoch_loss.push_back(0.7f * std::exp(-e / 10.0f) + 0.01f);
  c.snapshot_epochs = {0, 25, 50};
  c.snapshot_test_loss = {0.72f, 0.12f, 0.05f};
  PlotAxes ax{};
  const Image img = render_loss_plot(c, "2 x 8 relu", false, 1, font(), &ax);
  EXPECT_EQ(img.width, 400);
  EXPECT_EQ(img.height, 260);
  EXPECT_FLOAT_EQ(ax.x_min, 0);
  EXPECT_FLOAT_EQ(ax.x_max, 50);
  EXPECT_LE(ax.y_min, 0.01f + 0.7f * std::exp(-4.9f));
  EXPECT_GE(ax.y_max, 0.72f);
  EXPECT_LT(ax.y_max, 0.9f);
  // The train curve passes through its first point.
  const auto p = ax.to_pixel(1, c.epoch_loss[0]);
  expect_color(img.at(int(p[0]), int(p[1])), kTrainColor, 60, "train curve at epoch 1");
  PlotAxes log_ax{};
  render_loss_plot(c, "log", true, 1, font(), &log_ax);
  EXPECT_LE(log_ax.y_min, std::log10(c.epoch_loss.back()));
  EXPECT_GE(log_ax.y_max, std::log10(0.72f));
  // Round labels on the log axis: 1, 2 or 5 times a power of ten over decades
  // (exponents' round steps had labelled 0.691831, 0.660693), and round values
  // within one decade.
  ASSERT_GE(log_ax.y_tick_values.size(), 2u);
  for (double v : log_ax.y_tick_values) {
    const double mantissa = v / std::pow(10.0, std::floor(std::log10(v) + 1e-9));
    EXPECT_TRUE(std::abs(mantissa - 1) < 1e-6 || std::abs(mantissa - 2) < 1e-6 || std::abs(mantissa - 5) < 1e-6) << v;
  }
  LossCurves flat;
  for (int e = 0; e < 50; ++e) flat.epoch_loss.push_back(0.70f - 0.001f * float(e));
  PlotAxes flat_ax{};
  render_loss_plot(flat, "log", true, 1, font(), &flat_ax);
  ASSERT_GE(flat_ax.y_tick_values.size(), 2u);
  for (double v : flat_ax.y_tick_values) EXPECT_NEAR(v * 100, std::round(v * 100), 1e-6) << v;
}

// A network that diverged after its first epoch has one finite loss: drawn as
// a dot (a line needs two points; the plot had axes and no curve).
TEST(LossPlot, ALoneFiniteLossIsADot) {
  LossCurves c;
  c.epoch_loss = {0.69f, NAN, NAN, NAN};
  c.snapshot_epochs = {0, 4};
  c.snapshot_test_loss = {NAN, NAN};
  PlotAxes ax{};
  const Image img = render_loss_plot(c, "diverged", false, 1, font(), &ax);
  const auto p = ax.to_pixel(1, 0.69f);
  expect_color(img.at(int(p[0]), int(p[1])), kTrainColor, 60, "the lone loss at epoch 1");
}

// A loss of 0 has no place on a log scale: the plot says how many it leaves out
// (an all-zero curve had drawn empty axes), in ink along the bottom of the plot.
TEST(LossPlot, LossesOfZeroOnALogScaleAreSaid) {
  const auto ink_in_plot = [](const Image& img, const PlotAxes& ax) {
    int dark = 0;
    for (int y = ax.bottom - 18; y < ax.bottom - 2; ++y)
      for (int x = ax.left + 3; x < ax.right; ++x) {
        const Rgb c = img.at(x, y);
        dark += c[0] < 80 && c[1] < 80 && c[2] < 80;  // ink (40), not the axes (90) or curves
      }
    return dark;
  };
  LossCurves zero;
  zero.epoch_loss = {0, 0, 0, 0};
  PlotAxes ax{};
  Image img = render_loss_plot(zero, "perfect", true, 1, font(), &ax);
  EXPECT_EQ(ax.note, "every loss is 0 or less: none on a log scale");
  EXPECT_GT(ink_in_plot(img, ax), 40);
  LossCurves some;
  some.epoch_loss = {0.5f, 0.1f, 0, 0};
  img = render_loss_plot(some, "perfect", true, 1, font(), &ax);
  EXPECT_EQ(ax.note, "2 of 4 losses are 0 or less: not on a log scale");
  img = render_loss_plot(some, "linear", false, 1, font(), &ax);  // drawn as they are
  EXPECT_EQ(ax.note, "");
  EXPECT_EQ(ink_in_plot(img, ax), 0);
}

// --runs names a full batch as info and the gallery do: batch=full (or 0).
TEST(RunsFilter, AFullBatchIsBatchFull) {
  netsweep::NetworkRow r;
  r.batch = 0;
  EXPECT_TRUE(matches(r, "batch=full"));
  EXPECT_TRUE(matches(r, "batch=0"));
  EXPECT_TRUE(matches(r, "batch=32|full"));
  r.batch = 32;
  EXPECT_FALSE(matches(r, "batch=full"));
  EXPECT_TRUE(matches(r, "batch=32"));
}
