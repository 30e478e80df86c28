// Composing a frame (decision field, points, caption) and a loss plot.
#pragma once

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "colormap.h"
#include "image.h"

namespace netsweep::render {

struct Points {
  std::vector<float> coords;  // (n, dims)
  std::vector<int> labels;    // (n,)
  std::vector<float> values;  // (n,) regression targets
};

struct FrameScene {
  int grid_h = 0, grid_w = 0, outputs = 2;
  std::array<float, 4> extent{};  // x0, x1, y0, y1 of the grid
  bool regression = false;
  std::array<float, 2> value_range{};  // regression: y range of the plot
  Points train, test;
  FieldStyle style;
  int scale = 1;
  bool points = true;   // draw the data on the field
  bool caption = true;  // the strip with epoch, loss and accuracy under the field
  bool axes = false;    // a frame with tick marks and values on the plane's x and y
};

// Where the field lies in a frame image: its top-left corner and size, and the
// whole image's size (margins for the axes, the caption strip underneath).
struct FrameLayout {
  int field_x = 0, field_y = 0, field_w = 0, field_h = 0;
  int width = 0, height = 0;
};
FrameLayout frame_layout(const FrameScene& s);

// Pixel centre of plane point (x, y) in a field image of the scene.
std::array<float, 2> plane_to_pixel(const FrameScene& s, float x, float y);

// The frame image: the field (or, for 1-D data, the prediction curve over the
// target points), with axes and a caption strip as the scene asks. values: (H, W, outputs).
// color: the field's colour of the (interpolated) values at a pixel, s.outputs
// of them; nullptr: the scene's field_color.
using FieldColor = std::function<Rgb(const float*)>;
Image render_frame(const FrameScene& s, const float* values, const std::string& caption, const Font& font,
                   const FieldColor* color = nullptr);
int caption_height(int field_width);       // the strip under a frame of that width
float caption_font_size(int field_width);  // its text size (tick values: 0.8 of it)

struct LossCurves {
  std::vector<float> epoch_loss;           // (epochs,) per-epoch training loss (the median, with a band)
  std::vector<int> snapshot_epochs;        // (frames,)
  std::vector<float> snapshot_test_loss;   // (frames,) NaN if no test set
  std::vector<float> band_low, band_high;  // (epochs,) an interquartile band around epoch_loss, if given
};

struct PlotAxes {
  float x_min, x_max, y_min, y_max;  // data range shown (y in log10 when log)
  int left, right, top, bottom;      // plot area in pixels
  bool log;
  std::vector<double> y_tick_values;  // the y axis' labels, as values (not log10)
  std::string note;  // what the plot leaves out and says so ("" where nothing): losses of 0 on a log scale
  std::array<float, 2> to_pixel(float x, float y) const;
};

constexpr Rgb kTrainColor{31, 119, 180}, kTestColor{255, 127, 14};

// The loss plot: train (and test) loss against epoch, labelled axes.
Image render_loss_plot(const LossCurves& c, const std::string& title, bool log, int scale, const Font& font,
                       PlotAxes* axes_out = nullptr);

}  // namespace netsweep::render
