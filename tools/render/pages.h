// The gallery's HTML: the index (each file's settings, the overview at a
// glance, the sortable list of networks) and one page per network with its
// epoch slider. Pages work from file://.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "sweep.h"

namespace netsweep::render {

struct GalleryNetwork;
struct Configuration;

void write_index(const std::vector<const Sweep*>& sweeps, const std::vector<GalleryNetwork>& networks,
                 const std::vector<Configuration>& configs, const std::vector<std::string>& inputs,
                 const std::filesystem::path& dir);
// dir/<network dir>.html
void write_network_page(const GalleryNetwork& n, const std::vector<int>& frames, const std::filesystem::path& dir);
// "2-8 relu · lr 0.01": a network as every page names it.
std::string network_label(const GalleryNetwork& n);

// Shared by the pages: a page's head (style, scripts) and tail (the browser self-check).
std::string page_head(const std::string& title, const std::string& root);
std::string page_tail();
std::string html_escape(const std::string& s);
// Writes a text file; throws RenderError.
void write_text(const std::filesystem::path& path, const std::string& text);

}  // namespace netsweep::render
