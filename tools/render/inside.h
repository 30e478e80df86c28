// Pictures of what happens inside a network, from what the results file
// recorded at every frame: the network drawn Playground-style with every
// unit's map (neurons-FFF.png), the data and a warped grid of the input plane
// in each hidden layer's space (hidden-L-FFF.png and a GIF), and the lines
// w.x + b = 0 of the first layer's units over the decision field.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "draw.h"
#include "image.h"
#include "netsweep/dataset.h"
#include "netsweep/layout.h"
#include "netsweep/spec.h"

namespace netsweep::render {

// One network's recorded frames, as the renderer read them from the file.
struct InsideNetwork {
  NetworkLayout layout;  // from its shape label and the file's inputs/outputs
  Activation activation = Activation::relu;
  Loss loss = Loss::bce;
  std::vector<Feature> features;           // the inputs, in order
  std::vector<std::string> feature_names;  // as stored
  std::vector<int> epochs;                 // epoch of each rendered frame
  std::vector<std::vector<float>> fields;   // per rendered frame: (H, W, outputs)
  std::vector<std::vector<float>> maps;     // per rendered frame: (hidden units, nh, nw); empty if not recorded
  std::vector<std::vector<float>> weights;  // per rendered frame: the parameter block; empty if not recorded
  int neuron_h = 0, neuron_w = 0;           // neuron grid
  bool has_maps() const { return !maps.empty() && !maps[0].empty(); }
  bool has_weights() const { return !weights.empty() && !weights[0].empty(); }
  int hidden_layers() const { return int(layout.layers.size()) - 1; }
};

// The network drawn as TensorFlow Playground does: a column of thumbnails per
// layer (inputs, hidden units' maps, the output field), edges coloured by the
// weight's sign (blue positive, orange negative) and as wide as its size.
// 1-D regression: each unit's curve over x instead of a map.
Image render_network_diagram(const FrameScene& scene, const InsideNetwork& net, size_t k, const Font& font);

// The hidden layers' spaces over the rendered frames: for a 2-unit layer its
// own coordinates; for a wider one a projection that stays fixed over the
// frames (the final frame's two principal directions of the data's
// activations), so an animation does not jump.
struct HiddenView {
  int layer = 0, units = 0;
  std::vector<float> projection;  // (2, units); empty for a 2-unit layer (identity)
  std::vector<float> center;      // (units,) subtracted before projecting
  std::array<float, 4> extent{};  // x0, x1, y0, y1 of the view, fixed over the frames
  // Per rendered frame: the data points (train, then test) and the warped grid lines' points in view coordinates.
  std::vector<std::vector<float>> points;  // (n, 2)
  std::vector<std::vector<float>> lines;   // (lines x samples, 2)
};
constexpr int kWarpedLines = 9, kWarpedSamples = 48;  // per direction
std::vector<HiddenView> hidden_views(const FrameScene& scene, const InsideNetwork& net);
// One hidden view at rendered frame k: for a 2-unit layer over the decision
// field of the rest of the network; the warped grid; the data points.
Image render_hidden_view(const FrameScene& scene, const InsideNetwork& net, const HiddenView& view, size_t k,
                         const Font& font);

// Draws over a frame image (field of width grid_w * scale) each first-layer
// unit's line w.phi(x) + b = 0 (a curve where the features are not x1, x2),
// from the parameters `params`, each unit in its own colour.
void draw_first_layer_lines(Image& img, const FrameScene& scene, const InsideNetwork& net, const float* params);

}  // namespace netsweep::render
