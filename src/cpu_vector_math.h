// glibc's vector math (libmvec) for the CPU backend's activation loops.
//
// The activations (netsweep/math.h) call expf, tanhf, sinf and cosf one
// value at a time. glibc has vector versions of these (libmvec, linked through
// libm), but declares them only under -ffast-math, which we do not want for
// the rest of the arithmetic. Declaring them here, as glibc would, lets GCC
// vectorize the loops `a[k] = f(z[k])` with _ZGVeN16v_expf and friends: a
// sigmoid layer was ~40% slower than a relu one with scalar expf. The results
// differ from the scalar functions by an ulp or two, within every parity
// tolerance. Not erff: its vector version is off by ~4 ulp near +-1, where
// gelu's tail cancels (gelu(-5.2) came out 0 instead of -5e-7). Include only
// in host-only CPU code, before the loops.
#pragma once

#include <cmath>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
extern "C" {
float expf(float) noexcept __attribute__((__simd__("notinbranch")));
float tanhf(float) noexcept __attribute__((__simd__("notinbranch")));
float sinf(float) noexcept __attribute__((__simd__("notinbranch")));
float cosf(float) noexcept __attribute__((__simd__("notinbranch")));
}
#endif
