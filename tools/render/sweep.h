// What the renderer reads of a results file, once: the networks shown, their
// frames' shape and epochs, the sweep's settings and the scene every frame is
// drawn in. Plus the labels every page writes the same way.
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "draw.h"
#include "gallery.h"
#include "netsweep/results.h"
#include "netsweep/shard.h"

namespace netsweep::render {

// Axes besides the shape that vary among the shown networks (gallery columns).
struct VaryingAxes {
  bool optimizer = false, lr = false, batch = false, seed = false;
};

struct Sweep {
  std::string path;
  std::vector<NetworkRow> rows;  // selected networks
  std::vector<int> rows_index;   // their row in the file
  std::vector<int> frame_epochs;
  std::array<int, 5> shape{};
  FrameScene scene;
  nlohmann::json spec, dataset;
  std::string device, created, loss;
  double elapsed = 0;
  int total_networks = 0;
  VaryingAxes axes;  // of the shown networks
  int inputs = 0;    // features
  std::vector<std::string> feature_names;
  std::vector<Feature> features;
  std::array<int, 2> neuron_grid{0, 0};  // H, W of the neuron maps (0 where none were recorded)
  std::string part_label;                // of a sweep of several parts ("" otherwise)
  ShardId shard;                         // of a sharded sweep (count 0 otherwise)
  std::string prefix;                    // of its networks' directories, among several files ("p1-")
};

// What one network's page shows besides its frames (set by the renderer).
struct NetworkPictures {
  bool neurons = false;            // neurons-FFF.png: the network drawn with its units' maps
  bool lines = false;              // lines-FFF.png: frames with the first layer's lines
  std::vector<int> hidden_units;   // hidden-L-FFF.png for L = 1..: each layer's width
  PlotAxes loss_axes{};            // where epochs fall on loss.png
};
// Networks whose first layer has at most this many units get first-layer
// lines; those with at most this many hidden units in all, hidden-space views.
constexpr int kMaxLinedUnits = 32;
constexpr int kMaxHiddenViewUnits = 256;

// Reads the file's sweep, networks (those --runs selects; none may match in one of several files) and scene.
Sweep read_sweep(const ResultsFile& file, const RenderOptions& options);

VaryingAxes varying_axes(const std::vector<NetworkRow>& rows);
// "relu · lr 0.01": the activation and each varying axis.
std::string configuration_label(const NetworkRow& r, const VaryingAxes& axes);
std::string net_dir(int id);                   // "net-0007"
std::string fmt(const char* format, double v);  // "–" for NaN
// --runs key=value[|value...],... : every condition must hold. Throws RenderError.
bool matches(const NetworkRow& r, const std::string& filter);
// Every k-th frame index and always the last.
std::vector<int> frames_to_render(int frames, int stride);

}  // namespace netsweep::render
