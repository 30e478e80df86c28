// The sweep at a glance: configurations (every axis but the seed: a group of
// replicas) laid out as heat maps of their median final loss and accuracy
// over layers x width, one panel per value of the other axes that vary
// (small multiples, never an ever-wider row of columns); and one page per
// configuration with its replicas, their median loss curve with the
// interquartile band, and the ensemble's view of the plane (the mean
// prediction and where the replicas disagree).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "draw.h"
#include "netsweep/summary.h"
#include "sweep.h"

namespace netsweep::render {

// One network of the gallery (from any of its input files).
struct GalleryNetwork {
  const Sweep* sweep = nullptr;
  size_t k = 0;         // its row in sweep->rows
  std::string dir;      // "nets/net-0007" or, with several files, "nets/p1-net-0007"
  NetworkResult result;
  NetworkPictures pictures;
  NetworkSummary summary;
};

struct Configuration {
  GroupSummary summary;     // members index the gallery's networks
  std::string label;        // the configuration's distinguishing settings, e.g. "2-8 relu · lr 0.01"
  std::string panel;        // its panel: the values of the varying axes besides the shape
  std::string row, column;  // its cell: layers and width (or the explicit shape)
  std::string page;         // where its cell links: its own page (replicas) or its only network's
};

// Configurations in order of first appearance, with their panels and cells.
std::vector<Configuration> configurations(const std::vector<GalleryNetwork>& networks);

// Its pictures into dir/groups/g-NNNN/ and its page dir/groups/g-NNNN.html
// (configurations of several replicas).
void write_configuration(const Configuration& c, size_t index, const std::vector<GalleryNetwork>& networks,
                         const std::vector<std::vector<float>>& final_frames, const Font& font,
                         const std::filesystem::path& dir);

// The overview's HTML (panels of heat maps and final fields), for index.html.
std::string overview_html(const std::vector<Configuration>& configs, const std::vector<GalleryNetwork>& networks,
                          bool regression);

}  // namespace netsweep::render
