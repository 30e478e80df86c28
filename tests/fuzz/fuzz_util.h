// Shared by the libFuzzer harnesses (tests/fuzz/README is in the top README's
// "Fuzzing" section). A harness accepts std::exception as the outcome of bad
// input; anything else -- a sanitizer report, a crash, a hang, an allocation
// over the fuzzer's limit, or a FUZZ_CHECK that fails (data accepted but
// wrong) -- is a finding.
#pragma once

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "netsweep/dataset.h"
#include "netsweep/problem.h"
#include "netsweep/spec.h"

#define FUZZ_CHECK(cond)                                                                        \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);       \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)

namespace netsweep::fuzz {

// An accepted outcome; printed with NETSWEEP_FUZZ_VERBOSE=1 (to see why an
// input is refused, e.g. when checking that a seed is read all the way).
inline void refused(const std::exception& e) {
  static const bool verbose = std::getenv("NETSWEEP_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "refused: %s\n", e.what());
}

// A private directory for the files a harness needs (in /dev/shm when there
// is one: every input is written there), removed at a normal exit.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    const char* base = std::filesystem::is_directory("/dev/shm") && ::access("/dev/shm", W_OK) == 0
                           ? "/dev/shm"
                           : (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
    std::string templ = std::string(base) + "/netsweep-fuzz-XXXXXX";
    if (!::mkdtemp(templ.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
    static const std::string kept = templ;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(kept, ec);
    });
    return templ;
  }();
  return dir;
}

inline void write_bytes(const std::string& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::abort();
  }
}

// A point set accepted by a reader obeys the dataset rules.
inline void check_point_set(const PointSet& p) {
  FUZZ_CHECK(p.dims == 1 || p.dims == 2);
  FUZZ_CHECK(p.size() > 0 && int64_t(p.size()) <= kMaxPoints);
  FUZZ_CHECK(p.coords.size() == p.size() * size_t(p.dims));
  for (float v : p.coords) FUZZ_CHECK(std::isfinite(v) && std::abs(v) <= float(kMaxCoordinate));
  if (p.dims == 1) {
    FUZZ_CHECK(p.values.size() == p.size());
    for (float v : p.values) FUZZ_CHECK(std::isfinite(v) && std::abs(v) <= float(kMaxCoordinate));
    for (int l : p.labels) FUZZ_CHECK(l == -1);
  } else {
    FUZZ_CHECK(p.values.empty());
    for (int l : p.labels) FUZZ_CHECK(l >= 0 && l <= kMaxLabel);
  }
}

// A tiny dataset a spec can be built on: 1-D regression for mse, else
// `classes` classes (two points each).
inline Dataset tiny_dataset(bool regression, int classes) {
  PointSet p;
  if (regression) {
    p.dims = 1;
    for (int i = 0; i < 8; ++i) {
      p.coords.push_back(float(i) / 4 - 1);
      p.values.push_back(float(i % 3));
      p.labels.push_back(-1);
    }
  } else {
    for (int c = 0; c < classes; ++c)
      for (int k = 0; k < 2; ++k) {
        const double a = 6.283185307179586 * (c * 2 + k) / (2 * classes);
        p.coords.push_back(float(std::cos(a)));
        p.coords.push_back(float(std::sin(a)));
        p.labels.push_back(c);
      }
  }
  return make_dataset({p}, 0.25f, 1, "[]");
}

// Checks a spec as `run` would (validate) and, when it is small enough to
// build in a moment, builds the training problem on a tiny dataset (or on
// `data`) and checks what came out. Never trains.
inline void check_spec(const SweepSpec& s, const Dataset* data = nullptr) {
  s.validate();
  const int64_t n = s.network_count();
  FUZZ_CHECK(n >= 1 && n <= kMaxNetworks);
  // Small: few networks, narrow and shallow, a small grid.
  if (n > 8 || s.grid > 32) return;
  for (int l : s.layers) if (l > 4) return;
  for (int w : s.widths) if (w > 64) return;
  for (const auto& shape : s.shapes) {
    if (shape.size() > 4) return;
    for (int w : shape) if (w > 64) return;
  }
  Dataset own;
  if (!data) {
    const bool regression = s.loss == Loss::mse && s.outputs <= 1;
    own = tiny_dataset(regression, s.outputs >= 3 ? s.outputs : 2);
    data = &own;
  }
  const TrainingProblem p = build_problem(s, *data);
  FUZZ_CHECK(int64_t(p.networks.size()) == n);
  FUZZ_CHECK(p.layout.networks.size() == p.networks.size());
  int64_t total = 0;
  for (const auto& net : p.layout.networks) {
    FUZZ_CHECK(net.count > 0 && net.offset >= total);
    total = net.offset + net.count;
  }
  FUZZ_CHECK(total <= p.layout.total);
  FUZZ_CHECK(p.inputs >= 1 && p.outputs >= 1 && p.outputs <= kMaxOutputUnits);
  FUZZ_CHECK(p.grid_x.size() == size_t(p.grid_w) * size_t(p.grid_h) * size_t(p.inputs));
  for (float v : p.grid_x) FUZZ_CHECK(std::isfinite(v));
  FUZZ_CHECK(!p.frame_epochs.empty() && p.frame_epochs.front() == 0 && p.frame_epochs.back() == p.epochs);
  for (size_t k = 1; k < p.frame_epochs.size(); ++k) FUZZ_CHECK(p.frame_epochs[k] > p.frame_epochs[k - 1]);
  FUZZ_CHECK(training_memory_bytes(p, 1) > 0);
}

}  // namespace netsweep::fuzz
