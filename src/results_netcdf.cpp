// The results file's netCDF-4 view (results_netcdf.h).
#include "results_netcdf.h"

#include <cstdint>
#include <vector>

#include "h5.h"
#include "netsweep/dataset.h"
#include "netsweep/problem.h"
#include "results_schema.h"

namespace netsweep {

void write_netcdf_view(hid_t file, const TrainingProblem& problem, const Dataset& data, const std::string& partial) {
  const size_t n = problem.networks.size();
  int next_id = 0;
  auto coordinate = [&](const char* name, const auto& values) {
    h5::write(file, name, values);
    h5::make_coordinate_dimension(file, name, next_id++);
  };
  std::vector<int32_t> ids(n), outputs(size_t(problem.outputs)), epochs(size_t(problem.epochs));
  for (size_t i = 0; i < n; ++i) ids[i] = int32_t(problem.networks[i].id);
  for (int o = 0; o < problem.outputs; ++o) outputs[size_t(o)] = o;
  for (int e = 0; e < problem.epochs; ++e) epochs[size_t(e)] = e + 1;
  coordinate("network", ids);
  coordinate("frame", std::vector<int32_t>(problem.frame_epochs.begin(), problem.frame_epochs.end()));
  coordinate("y", h5::read<float>(file, "grid/y", partial));
  coordinate("x", h5::read<float>(file, "grid/x", partial));
  coordinate("output", outputs);
  coordinate("epoch", epochs);
  h5::attach_dimensions(file, "frame_epochs", {"frame"});
  h5::attach_dimensions(file, "grid/x", {"x"});
  h5::attach_dimensions(file, "grid/y", {"y"});

  // The networks table along `network`, also at the root; every per-network
  // variable lists the table as its coordinates (the CF `coordinates` attribute).
  std::string table;
  results_schema::for_each_network_column([&](const char* name, auto, results_schema::ColumnKind) {
    const std::string path = std::string("networks/") + name;
    h5::attach_dimensions(file, path, {"network"});
    if (std::string(name) == "id") return;  // the `network` coordinate itself
    h5::hard_link(file, path, name);
    table += (table.empty() ? "" : " ") + std::string(name);
  });
  auto per_network = [&](const std::string& path, const std::vector<std::string>& dims, const char* root_name) {
    h5::attach_dimensions(file, path, dims);
    auto set = h5::Handle(H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose, partial + ": cannot open " + path);
    h5::set_attr(set, "coordinates", table);
    if (root_name) h5::hard_link(file, path, root_name);
  };
  per_network("frames", {"network", "frame", "y", "x", "output"}, nullptr);
  per_network("losses/epoch", {"network", "epoch"}, "epoch_loss");
  h5::attach_dimensions(file, "snapshots/epoch", {"frame"});
  for (const char* m : {"train_loss", "test_loss", "train_accuracy", "test_accuracy"})
    per_network(std::string("snapshots/") + m, {"network", "frame"}, m);

  // The data, with dimensions of its own in its group.
  {
    auto g = h5::open_group(file, "data");
    const hsize_t dims = hsize_t(data.regression ? 1 : 2);
    h5::create_dimension(g, "train_point", data.train.size(), next_id++);
    h5::create_dimension(g, "test_point", data.test.size(), next_id++);
    h5::create_dimension(g, "coordinate", dims, next_id++);
    h5::create_dimension(g, "feature", problem.feature_names.size(), next_id++);
  }
  h5::attach_dimensions(file, "data/features", {"data/feature"});
  for (const char* set : {"train", "test"}) {
    const std::string d = std::string("data/") + set, point = d + "_point";
    h5::attach_dimensions(file, d + "_points", {point, "data/coordinate"});
    h5::attach_dimensions(file, d + "_labels", {point});
    h5::attach_dimensions(file, d + "_targets", {point, "output"});
    if (data.regression) h5::attach_dimensions(file, d + "_values", {point});
  }

  // Parameters and what was recorded inside the networks.
  {
    auto w = h5::open_group(file, "weights");
    h5::create_dimension(w, "network_edge", n + 1, next_id++);
    h5::create_dimension(w, "parameter", h5::shape(file, "weights/final", partial)[0], next_id++);
    h5::create_dimension(w, "snapshot_value", h5::shape(file, "weights/snapshots", partial)[0], next_id++);
    auto g = h5::open_group(file, "neurons");
    h5::create_dimension(g, "network_edge", n + 1, next_id++);
    h5::create_dimension(g, "neuron", h5::shape(file, "neurons/maps", partial)[0], next_id++);
    h5::make_coordinate_dimension(g, "grid_y", next_id++);
    h5::make_coordinate_dimension(g, "grid_x", next_id++);
  }
  for (const char* v : {"offsets", "snapshot_offsets"})
    h5::attach_dimensions(file, std::string("weights/") + v, {"weights/network_edge"});
  for (const char* v : {"initial", "final"})
    h5::attach_dimensions(file, std::string("weights/") + v, {"weights/parameter"});
  h5::attach_dimensions(file, "weights/snapshots", {"weights/snapshot_value"});
  h5::attach_dimensions(file, "neurons/offsets", {"neurons/network_edge"});
  for (const char* v : {"network", "layer", "unit"})
    h5::attach_dimensions(file, std::string("neurons/") + v, {"neurons/neuron"});
  h5::attach_dimensions(file, "neurons/maps", {"neurons/neuron", "frame", "neurons/grid_y", "neurons/grid_x"});
}

}  // namespace netsweep
