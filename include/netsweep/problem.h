// From what the user asked for to what a backend trains: the data options
// into a Dataset, and a spec plus a dataset into a TrainingProblem (features,
// targets, the frame grid, the expanded networks and their packed layout).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "netsweep/backend.h"
#include "netsweep/dataset.h"
#include "netsweep/spec.h"

namespace netsweep {

struct DataOptions {
  std::vector<std::string> points;  // FILE:LABEL: joined into one data source
  std::vector<std::string> csv;     // FILE: joined into the same one
  // Each a data source of its own (an axis of the sweep): NAME[:key=value,...],
  // or generators joined with '+' into one set, e.g. "circle+xor:noise=0.1".
  std::vector<std::string> datasets;
  GeneratorOptions generator;
  std::vector<float> noises;  // --noise: generator noise levels, an axis (empty: generator.noise)
  float test_fraction = 0.0f;  // held out by a split drawn with generator.seed (--data-seed)
};

// The built-in dataset used when no data option is given.
constexpr const char* kDefaultDataset = "spiral";

// One data source of a sweep, with a label for galleries and tables.
struct DataPart {
  std::string label;  // e.g. "points", "circle:noise=0.2", "circle+xor"
  Dataset data;
};
// Every data source the options name (points and CSV files joined, each
// --dataset, each --noise level of each generator), in order. Throws DataError.
std::vector<DataPart> load_data_parts(const DataOptions& options);
// Whether the generator seed (--data-seed) moves a generated point: each generator
// built again at the next seed (files and generators with their own seed= do not follow it).
bool generated_points_follow_seed(const DataOptions& options);  // throws DataError
Dataset load_data(const DataOptions& options);  // exactly one data source (throws DataError otherwise)
TrainingProblem build_problem(const SweepSpec& spec, const Dataset& data);  // throws SpecError/DataError

// The frame plane: --extent, else the data's bounds grown by 5% on each side.
std::array<float, 4> frame_extent(const SweepSpec& spec, const Dataset& data);
// Plane coordinates of the frame grid: column i of w runs from x0 to x1, row j
// of h from y1 (row 0, the top) down to y0; 1-D data has one row at y = 0.
inline float grid_column_x(const std::array<float, 4>& e, int i, int w) {
  return e[0] + (e[1] - e[0]) * float(i) / float(w - 1);
}
inline float grid_row_y(const std::array<float, 4>& e, int j, int h) {
  return h == 1 ? 0.0f : e[3] - (e[3] - e[2]) * float(j) / float(h - 1);
}

// Bytes of memory available now (-1 if unknown).
int64_t available_memory_bytes();

// Host memory training the problem holds, estimated before anything is
// allocated: the packed parameters (with the initial copy, optimizer state
// and a checkpoint's copies), every network's losses and metrics, and each
// worker's workspace. Saturates instead of overflowing.
int64_t training_memory_bytes(const TrainingProblem& p, int threads);
// Refuses (SpecError) a problem whose estimate exceeds the available memory,
// saying what to lower.
void check_training_memory(const TrainingProblem& p, int threads);

}  // namespace netsweep
