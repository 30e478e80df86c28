// The results file's netCDF-4 view: named dimensions on every dataset, so
// that xarray, h5netcdf and netCDF-C read the file as netsweep wrote it.
// Written by ResultsWriter::finish (results_writer.cpp) once every dataset
// exists.
#pragma once

#include <hdf5.h>

#include <string>

namespace netsweep {

struct Dataset;
struct TrainingProblem;

// The file as netCDF-4 (xarray, h5netcdf, netCDF-C) reads it: every dataset's
// axes are named dimensions. The root holds the shared dimensions with their
// values (network ids, frame epochs, the grid), and second names (hard links)
// for the networks table and the per-network curves, so that the root alone
// is a complete dataset with the table as coordinates along `network`.
// `partial`: the file's path, for error messages.
void write_netcdf_view(hid_t file, const TrainingProblem& problem, const Dataset& data, const std::string& partial);

}  // namespace netsweep
