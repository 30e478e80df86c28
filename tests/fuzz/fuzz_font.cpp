// `netsweep-render --font FILE`: the font loaded as the renderer loads it
// (FreeType, every drawable glyph loaded first), then every byte's text
// measured and drawn at a few sizes, as captions and labels are.
#include <cmath>

#include "fuzz_util.h"
#include "image.h"

using namespace netsweep;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = fuzz::scratch_dir() + "/font.ttf";
  static const std::string text = [] {
    std::string t;
    for (int c = 1; c < 256; ++c) t += char(c);
    return t;
  }();
  fuzz::write_bytes(path, data, size);
  try {
    const render::Font font(path);
    render::Image img(96, 48);
    for (float px : {5.0f, 13.0f, 40.0f}) {
      FUZZ_CHECK(std::isfinite(font.width(text, px)));
      FUZZ_CHECK(std::isfinite(font.ascent(px)));
      font.draw(img, text, 2.5f, 30.0f, px, {0, 0, 0});
      font.draw(img, "AB", -3.0f, 1e6f, px, {9, 9, 9});  // off the image: nothing drawn, nothing read
    }
  } catch (const render::RenderError& e) {
    fuzz::refused(e);
  }
  return 0;
}
