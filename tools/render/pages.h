// The gallery's HTML: the index (settings, the shape x configuration grid,
// the sortable list) and one page per network. Pages work from file://.
#pragma once

#include <filesystem>
#include <vector>

#include "sweep.h"

namespace netsweep::render {

// dir/index.html for the networks of the sweep; `frames`: the rendered frame indices.
void write_index(const Sweep& s, const std::filesystem::path& dir);
// dir/nets/net-NNNN.html for network k of the sweep.
void write_network_page(const Sweep& s, size_t k, const NetworkResult& r, const NetworkPictures& pics,
                        const std::vector<int>& frames, const std::filesystem::path& dir);
// Writes a text file; throws RenderError.
void write_text(const std::filesystem::path& path, const std::string& text);

}  // namespace netsweep::render
