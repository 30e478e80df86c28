// Colour maps from a network's output activations to pixels.
#pragma once

#include <string>

#include "image.h"

namespace netsweep::render {

enum class ColorMap {
  seed,        // output 0 in the red channel, output 1 in green (the slide experiment)
  playground,  // TensorFlow Playground: orange #f59322 -> grey #e8eaeb -> blue #0877bd over P(class 1)
  viridis,     // perceptually uniform, over P(class 1)
};

ColorMap parse_colormap(const std::string& name);  // throws RenderError
const char* to_string(ColorMap m);

struct FieldStyle {
  ColorMap map = ColorMap::seed;
  bool discretize = false;  // show only the predicted class
  int outputs = 2;
  int classes = 2;  // 0: regression
};

// The colour of one grid point from its outputs p[0..outputs); kNoValue where one is NaN.
Rgb field_color(const FieldStyle& s, const float* p);
constexpr Rgb kNoValue{150, 150, 150};
// The colour of a point of class `label`, and the dark edge drawn around it
// (frames add a white halo outside the edge).
Rgb class_color(const FieldStyle& s, int label);
Rgb class_outline(const FieldStyle& s);

Rgb viridis(float t);  // t in [0,1]
Rgb playground(float t);

}  // namespace netsweep::render
