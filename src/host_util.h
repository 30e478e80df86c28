// Small host-only helpers shared across src/ and kernels/.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "netsweep/text.h"  // printable, format_number

namespace netsweep {

// Threads for a --threads value: as asked, or one per core for 0.
inline int worker_threads(int requested) {
  return requested > 0 ? requested : int(std::max(1u, std::thread::hardware_concurrency()));
}

inline std::string format_size(int64_t bytes) {  // in GiB, or MiB below one
  char buf[32];
  if (bytes < (int64_t(1) << 30))
    std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / double(int64_t(1) << 20));
  else
    std::snprintf(buf, sizeof buf, "%.2f GiB", double(bytes) / double(int64_t(1) << 30));
  return buf;
}

#ifndef __CUDACC__
#if defined(__FLT16_MAX__)  // _Float16 on this host compiler (GCC 12; Clang only from 15 on x86)
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
#else
// The same conversions in software, bit for bit (checked against _Float16
// for every float): round to nearest even, overflow to infinity, subnormals,
// NaNs quiet with the top payload bits kept.
inline uint16_t float_to_half_bits(float value) {
  uint32_t f;
  std::memcpy(&f, &value, sizeof f);
  const uint32_t sign = (f >> 16) & 0x8000u, abs = f & 0x7fffffffu;
  if (abs >= 0x7f800000u)  // inf or NaN
    return uint16_t(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u | ((abs >> 13) & 0x3ffu) : 0u));
  if (abs >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to >= 65520: infinity
  if (abs < 0x38800000u) {                                  // below 2^-14: a half subnormal (or zero)
    if (abs < 0x33000000u) return uint16_t(sign);           // below half the smallest subnormal, 2^-25
    const uint32_t exp = abs >> 23, mant = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - exp;  // 14..24 for exponents 2^-15..2^-25
    uint32_t h = mant >> shift;
    const uint32_t rest = mant & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    if (rest > half || (rest == half && (h & 1u))) ++h;
    return uint16_t(sign | h);
  }
  uint32_t h = ((abs >> 13) - (112u << 10));  // rebias 127 -> 15
  const uint32_t rest = abs & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // may carry into the exponent: correct
  return uint16_t(sign | h);
}

inline float half_bits_to_float(uint16_t bits) {
  const uint32_t sign = uint32_t(bits & 0x8000u) << 16, exp = (bits >> 10) & 0x1fu, mant = bits & 0x3ffu;
  uint32_t f;
  if (exp == 0x1fu) {
    f = sign | 0x7f800000u | (mant << 13) | (mant ? 0x400000u : 0u);
  } else if (exp != 0) {
    f = sign | ((exp + 112u) << 23) | (mant << 13);
  } else if (mant == 0) {
    f = sign;
  } else {  // subnormal: normalize
    uint32_t e = 113u, m = mant;
    while (!(m & 0x400u)) {
      m <<= 1;
      --e;
    }
    f = sign | (e << 23) | ((m & 0x3ffu) << 13);
  }
  float value;
  std::memcpy(&value, &f, sizeof value);
  return value;
}
#endif
#endif

}  // namespace netsweep
