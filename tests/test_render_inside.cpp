// The views inside the networks, checked by pixels: first-layer lines and
// curves where w.x + b = 0, the network diagram's edge colours, and the
// two-unit layer view's point positions.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "colormap.h"
#include "draw.h"
#include "image.h"
#include "inside.h"
#include "netsweep/forward.h"
#include "render_checks.h"

using namespace netsweep;
using namespace netsweep::render;
using namespace netsweep::render::test;

namespace {
// A 2-input network of the given hidden widths (linear units) with parameters set by the caller.
InsideNetwork tiny_network(const std::string& shape, int outputs, const std::vector<float>& params) {
  InsideNetwork net;
  net.layout = single_network_layout(shape, 2, outputs);
  EXPECT_EQ(size_t(net.layout.count), params.size());
  net.activation = Activation::linear;
  net.loss = Loss::bce;
  net.features = {Feature::x1, Feature::x2};
  net.feature_names = {"x1", "x2"};
  net.epochs = {0};
  net.weights = {params};
  net.neuron_h = net.neuron_w = 8;
  return net;
}

FrameScene unit_square_scene(int grid, int scale) {
  FrameScene s;
  s.grid_h = s.grid_w = grid;
  s.outputs = 1;
  s.extent = {0, 1, 0, 1};
  s.scale = scale;
  s.style = {ColorMap::playground, false, 1, 2};
  return s;
}
}  // namespace

TEST(Inside, FirstLayerLineLandsWhereWxPlusBIsZero) {
  // One unit, w = (1, 0), b = -0.5: its line is x1 = 0.5, a vertical line at
  // grid column 15.5 of 32, pixel 128 at scale 8; a second unit w = (0, 2),
  // b = -0.5 is the horizontal line y = 0.25 (row 23.25, pixel 190).
  const FrameScene s = unit_square_scene(32, 8);
  // Layers: W0 (2 x 2), b0 (2), W1 (1 x 2), b1 (1).
  const InsideNetwork net = tiny_network("2", 1, {1, 0, 0, 2, -0.5f, -0.5f, 1, 1, 0});
  Image img(256, 256);
  draw_first_layer_lines(img, s, net, net.weights[0].data());
  for (int y : {10, 60, 240}) {
    EXPECT_LT(img.at(128, y)[0], 120) << "the vertical line at x1 = 0.5, row " << y;
    EXPECT_EQ(img.at(100, y), (Rgb{255, 255, 255})) << "nothing beside it, row " << y;
  }
  for (int x : {20, 200}) EXPECT_LT(img.at(x, 190)[1], 200) << "the horizontal line at x2 = 0.25, column " << x;
  EXPECT_EQ(img.at(60, 100), (Rgb{255, 255, 255}));
}

TEST(Inside, FirstLayerCurveOnOtherFeaturesFollowsTheZeroLevel) {
  // Features x1^2 and x2: the unit w = (4, 0), b = -1 is zero where x1^2 = 1/4,
  // x1 = 0.5 on the unit square (pixel 128): traced by marching squares, not
  // the straight-line shortcut for x1, x2 inputs. w = (0, 4), b = -1 on x2
  // is the straight line x2 = 0.25 of the same picture (pixel 190).
  const FrameScene s = unit_square_scene(32, 8);
  InsideNetwork net = tiny_network("2", 1, {4, 0, 0, 4, -1, -1, 1, 1, 0});
  net.features = {Feature::x1_squared, Feature::x2};
  net.feature_names = {"x1^2", "x2"};
  Image img(256, 256);
  draw_first_layer_lines(img, s, net, net.weights[0].data());
  for (int y : {10, 60, 240}) {
    EXPECT_LT(img.at(128, y)[0], 120) << "the curve x1^2 = 1/4, row " << y;
    EXPECT_EQ(img.at(100, y), (Rgb{255, 255, 255})) << "nothing beside it, row " << y;
  }
  for (int x : {20, 200}) EXPECT_LT(img.at(x, 190)[1], 200) << "the line at x2 = 0.25, column " << x;
}

TEST(Inside, NetworkDiagramColoursEdgesBySign) {
  const FrameScene s = unit_square_scene(8, 1);
  auto count = [&](const std::vector<float>& params) {
    InsideNetwork net = tiny_network("2", 1, params);
    net.fields = {std::vector<float>(64, 0.5f)};
    net.maps = {std::vector<float>(2 * 64, 0.25f)};
    const Image img = render_network_diagram(s, net, 0, font());
    int blue = 0, orange = 0;
    for (int y = 0; y < img.height; ++y)
      for (int x = 0; x < img.width; ++x) {
        const Rgb c = img.at(x, y);
        blue += c[2] > 150 && c[0] < 60;    // edge blue #0877bd (and the maps' positive side)
        orange += c[0] > 200 && c[2] < 80;  // edge orange #f59322
      }
    return std::pair<int, int>{blue, orange};
  };
  // Every weight positive: no orange at all (the maps are positive too: 0.25 of their scale).
  const auto positive = count({1, 0.5f, 0.25f, 1, 0, 0, 1, 2, 0});
  EXPECT_GT(positive.first, 200);
  EXPECT_EQ(positive.second, 0);
  // One negative weight (-2, the widest edge): orange appears.
  const auto mixed = count({1, 0.5f, 0.25f, 1, 0, 0, 1, -2, 0});
  EXPECT_GT(mixed.second, 50);
}

TEST(Inside, TwoUnitLayerViewPutsPointsAtTheirActivations) {
  // Hidden layer = identity (linear, W = I, b = 0): each point sits at its own coordinates.
  FrameScene s = unit_square_scene(16, 4);
  s.style = {ColorMap::seed, false, 1, 2};
  s.train.coords = {0.2f, 0.3f, 0.8f, 0.9f, 0.5f, 0.1f};
  s.train.labels = {0, 1, 1};
  const InsideNetwork net = tiny_network("2", 1, {1, 0, 0, 1, 0, 0, 1, -1, 0});
  const auto views = hidden_views(s, net);
  ASSERT_EQ(views.size(), 1u);
  const HiddenView& v = views[0];
  EXPECT_TRUE(v.projection.empty());
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(v.points[0][2 * i], s.train.coords[2 * i], 1e-6f);
    EXPECT_NEAR(v.points[0][2 * i + 1], s.train.coords[2 * i + 1], 1e-6f);
  }
  // The warped grid of an identity layer spans the plane: the view is [0, 1]^2 plus its margin.
  EXPECT_NEAR(v.extent[0], -0.06f, 1e-3f);
  EXPECT_NEAR(v.extent[1], 1.06f, 1e-3f);
  const Image img = render_hidden_view(s, net, v, 0, font());
  for (size_t i = 0; i < 3; ++i) {
    const float px = (s.train.coords[2 * i] - v.extent[0]) / (v.extent[1] - v.extent[0]) * 239 + 0.5f;
    const float py = (v.extent[3] - s.train.coords[2 * i + 1]) / (v.extent[3] - v.extent[2]) * 239 + 0.5f;
    expect_color(img.at(int(px), int(py)), class_color(s.style, s.train.labels[i]), 40,
                 "point " + std::to_string(i) + " in the hidden space");
  }
}
