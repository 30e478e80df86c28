// Animated GIFs with giflib: each frame quantized to its own 256-colour map.
#pragma once

#include <string>
#include <vector>

#include "image.h"

namespace netsweep::render {

// Writes frames (all the same size) as a looping animation; delay in 1/100 s.
void write_gif(const std::string& path, const std::vector<Image>& frames, int delay_centiseconds);

}  // namespace netsweep::render
