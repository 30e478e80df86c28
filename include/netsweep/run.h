// Running a sweep end to end: data options -> Dataset, spec + data ->
// TrainingProblem, and run_sweep (checks, backend, progress, results file).
// Used by the CLI and by the end-to-end tests.
#pragma once

#include <string>
#include <vector>

#include "netsweep/backend.h"
#include "netsweep/dataset.h"
#include "netsweep/results.h"
#include "netsweep/spec.h"

namespace netsweep {

struct DataOptions {
  std::vector<std::string> points;    // FILE:LABEL
  std::vector<std::string> csv;       // FILE
  std::vector<std::string> datasets;  // NAME[:key=value,...]
  GeneratorOptions generator;
  float test_fraction = 0.0f;
  uint64_t split_seed = 0;
};

// The built-in dataset used when no data option is given.
constexpr const char* kDefaultDataset = "spiral";

Dataset load_data(const DataOptions& options);                              // throws DataError
TrainingProblem build_problem(const SweepSpec& spec, const Dataset& data);  // throws SpecError/DataError

struct RunOptions {
  std::string output = "netsweep.h5";
  std::string device = "auto";  // auto, cpu, cuda
  int threads = 0;
  FrameType frame_type = FrameType::float16;
  bool quiet = false;
  std::string command_line;
};

// Trains and writes the results file. Throws on bad input; returns normally
// once the file is complete.
void run_sweep(const SweepSpec& spec, const Dataset& data, const RunOptions& options);

// Bytes of memory available, and free on the output file's filesystem.
int64_t available_memory_bytes();

}  // namespace netsweep
