// netsweep-render: a results file -> frames, GIFs, loss plots and an HTML gallery.
#pragma once

#include <stdexcept>
#include <string>

#include "colormap.h"

namespace netsweep::render {

struct RenderOptions {
  std::vector<std::string> inputs;  // results files: one sweep, or the parts of one (or several sweeps) side by side
  std::string output;
  std::string colormap;  // "" = seed for two-output binary files, playground otherwise
  bool discretize = false;
  bool log_loss = false;
  bool lines = false;    // the first layer's lines w.x + b = 0 on every frame
  bool axes = false;     // tick marks and values around each frame's field
  bool points = true;    // the data on the frames
  bool caption = true;   // the epoch/loss/accuracy strip under each frame
  int scale = 0;         // pixels per grid point; 0 = enough for frames about 256 px wide
  int frame_stride = 1;  // every k-th frame (the last is always rendered)
  int gif_delay = 10;    // 1/100 s per GIF frame
  std::string runs;      // filter, e.g. "activation=relu,layers=3"
  std::string font;      // TrueType or OpenType font; "" = Font::default_path()
  int threads = 0;
  bool quiet = false;
};

// Thrown when SIGTERM/SIGINT stopped a render; `code` is the exit status.
struct RenderInterrupted : std::runtime_error {
  int code;
  RenderInterrupted(const std::string& what, int c) : std::runtime_error(what), code(c) {}
};

// Renders the gallery into OUTPUT.partial-HOST-PID and renames it to OUTPUT when
// complete (replacing an earlier gallery). Throws RenderError/ResultsError.
void render_gallery(const RenderOptions& options);

}  // namespace netsweep::render
