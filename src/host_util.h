// Small host-only helpers shared across src/ and kernels/.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace netsweep {

inline std::string format_gib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", double(bytes) / double(int64_t(1) << 30));
  return buf;
}

#ifndef __CUDACC__  // _Float16 is a GCC/Clang host type
// IEEE binary16 bits, round to nearest even (the stored frame type).
inline uint16_t float_to_half_bits(float value) {
  const _Float16 h = static_cast<_Float16>(value);
  uint16_t bits;
  std::memcpy(&bits, &h, sizeof bits);
  return bits;
}

inline float half_bits_to_float(uint16_t bits) {
  _Float16 h;
  std::memcpy(&h, &bits, sizeof bits);
  return static_cast<float>(h);
}
#endif

}  // namespace netsweep
