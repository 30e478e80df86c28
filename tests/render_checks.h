// Pixel checks shared by the renderer's tests.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "draw.h"
#include "image.h"

namespace netsweep::render::test {

inline void expect_color(Rgb got, Rgb want, int tolerance, const std::string& what) {
  for (int k = 0; k < 3; ++k)
    EXPECT_NEAR(got[size_t(k)], want[size_t(k)], tolerance)
        << what << ": got (" << int(got[0]) << "," << int(got[1]) << "," << int(got[2]) << "), want (" << int(want[0])
        << "," << int(want[1]) << "," << int(want[2]) << ")";
}

// The default font, loaded once per test process.
inline const Font& font() {
  static const Font f(Font::default_path());
  return f;
}

}  // namespace netsweep::render::test
