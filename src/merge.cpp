// `netsweep merge`: the shard files of one sweep into one results file.
#include "netsweep/merge.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "netsweep/backend.h"
#include "netsweep/problem.h"
#include "netsweep/results.h"
#include "netsweep/run.h"
#include "netsweep/stop_signals.h"
#include "netsweep/text.h"
#include "progress.h"

namespace netsweep {

namespace {
// A shard's stored options as those of the whole sweep: no --shard, the merged file as the output.
std::string merged_options(const std::string& shard_options, const std::string& output) {
  std::istringstream in(shard_options);
  std::string out, line;
  while (std::getline(in, line)) {
    if (line.rfind("shard=", 0) == 0) continue;
    if (line.rfind("output=", 0) == 0) line = "output=" + nlohmann::json(output).dump();
    out += line + "\n";
  }
  return out;
}

// A shard's row is the sweep's network of its id, or its results would be written under
// another network (its parameters into another's block): a row edited, or a shard's
// table out of step with its spec.
void check_row_is_network(const NetworkRow& row, const TrainingProblem& p, const std::string& file) {
  const RowDifference d = identity_difference(row, network_identity(p, size_t(row.id)));
  if (d.column.empty()) return;
  const NetworkConfig& c = p.networks[size_t(row.id)];
  const std::string id = std::to_string(row.id);
  throw ResultsError("merge: " + file + ": network " + id + "'s " + d.column + " is " + d.stored +
                     ", but the sweep's network " + id + " (" + c.shape_label() + " " + to_string(c.activation) + " " +
                     to_string(c.optimizer.kind) + ", seed " + std::to_string(c.seed) + ") has " + d.want);
}
}  // namespace

void merge_results(const std::vector<std::string>& inputs, const std::string& output, const std::string& command_line,
                   bool quiet) {
  if (inputs.empty()) throw ResultsError("merge: no input files");
  // A stop asked for is taken between networks, the partial file removed (the
  // writer's destructor); the last step (the tables, the rename) runs to its end.
  StopSignals signals;
  std::error_code ec;
  for (const auto& path : inputs)  // the merged file would replace a shard it is made from
    if (std::filesystem::equivalent(path, output, ec))
      throw ResultsError("merge: -o " + output + " is one of the inputs (" + path + "); give a new file");
  // One shard given twice is named so, not as its networks "in both".
  const std::vector<ResultsFile> files = open_distinct(inputs);
  const auto hash_of = [](const ResultsFile& f) { return f.sweep_hash().empty() ? "(none)" : f.sweep_hash(); };
  const std::string hash = hash_of(files[0]);
  for (size_t k = 1; k < files.size(); ++k)
    if (hash_of(files[k]) != hash)
      throw ResultsError("merge: " + inputs[k] + " belongs to sweep " + hash_of(files[k]) + " but " + inputs[0] +
                         " to sweep " + hash + ": shards of different sweeps cannot be merged");
  // Shards of two splits of one sweep overlap in ways the duplicates below would not explain.
  const auto split_of = [](const ResultsFile& f) { return f.shard().count; };
  for (size_t k = 1; k < files.size(); ++k)
    if (split_of(files[k]) > 0 && split_of(files[0]) > 0 && split_of(files[k]) != split_of(files[0]))
      throw ResultsError("merge: " + inputs[k] + " is a shard of " + std::to_string(split_of(files[k])) + " but " +
                         inputs[0] + " of " + std::to_string(split_of(files[0])) +
                         ": shards of one split (--shards) merge, not of two");
  for (size_t k = 1; k < files.size(); ++k)  // the merged file stores one type: f16 would pass for f32, or be widened
    if (files[k].frame_type() != files[0].frame_type())
      throw ResultsError(std::string("merge: ") + inputs[k] + " has " + frame_dtype_name(files[k].frame_type()) +
                         " frames but " + inputs[0] + " " + frame_dtype_name(files[0].frame_type()) +
                         ": shards of one --frame-dtype merge; rerun one with the other's");
  for (size_t k = 0; k < files.size(); ++k) {  // each shard's, not only the first's: a damaged one would merge
    const SweepSource& source = files[k].sweep_source();
    if (sweep_hash(source.spec, source.data) != hash)
      throw ResultsError("merge: " + inputs[k] + ": sweep hash does not match its spec");
  }
  const SweepSpec& spec = files[0].sweep_source().spec;
  const Dataset& data = files[0].sweep_source().data;
  const TrainingProblem problem = build_problem(spec, data);

  // Where each network id lives: (file, row).
  const size_t n = problem.networks.size();
  std::vector<std::pair<int, int>> where(n, {-1, -1});
  for (size_t k = 0; k < files.size(); ++k) {
    const auto rows = files[k].networks();
    for (size_t r = 0; r < rows.size(); ++r) {
      const int id = rows[r].id;
      if (id < 0 || size_t(id) >= n)
        throw ResultsError("merge: " + inputs[k] + ": network id " + std::to_string(id) + " is not in the sweep");
      if (where[size_t(id)].first >= 0)
        throw ResultsError("merge: network " + std::to_string(id) + " (" + rows[r].hidden_shape + " " +
                           rows[r].activation + ") is in both " + inputs[size_t(where[size_t(id)].first)] + " and " +
                           inputs[k]);
      check_row_is_network(rows[r], problem, inputs[k]);
      where[size_t(id)] = {int(k), int(r)};
    }
  }
  std::string missing;
  int missing_count = 0;
  for (size_t id = 0; id < n; ++id)
    if (where[id].first < 0 && missing_count++ < 10)
      missing += (missing.empty() ? "" : ", ") + std::to_string(id) + " (" + problem.networks[id].shape_label() + " " +
                 to_string(problem.networks[id].activation) + ")";
  if (missing_count)
    throw ResultsError("merge: " + std::to_string(missing_count) + " of " + std::to_string(n) +
                       " networks are missing, e.g. " + missing + "; is a shard file left out or unfinished?");

  RunMetadata meta = run_metadata(spec, data, files[0].attribute("device"), command_line, files[0].frame_type());
  if (files[0].has_attribute("options")) meta.options = merged_options(files[0].attribute("options"), output);
  if (files[0].has_attribute("part_count"))  // shards of one part of a sweep stay that part
    meta.part = {int(files[0].int_attribute("part_index")), int(files[0].int_attribute("part_count")),
                 files[0].attribute("part_label")};
  std::vector<float> initial(size_t(problem.layout.total), 0.0f), final_params = initial;
  std::vector<NetworkResult> results(n);
  double elapsed = 0;  // shards run side by side: the longest one
  for (const auto& f : files) elapsed = std::max(elapsed, f.double_attribute("elapsed_seconds"));
  check_output_path(output);  // before anything beside it is touched
  for (const std::string& line : claim_output(output)) log_line(line);
  ResultsWriter writer(output, problem, data, meta);
  const int frames = int(problem.frame_epochs.size());
  CountProgress merging("merging into " + output, int64_t(n), !quiet);
  for (size_t id = 0; id < n; ++id) {
    if (g_stop_requested) throw interrupted_by_signal("merge: ", "; nothing written to " + output);
    merging.done(int64_t(id));
    const ResultsFile& f = files[size_t(where[id].first)];
    const int row = where[id].second;
    results[id] = f.network_result(row);
    const auto& net = problem.layout.networks[id];
    // What is copied holds as many values as the sweep's network takes (never read or written past).
    const auto sized = [&](std::vector<float> values, size_t want, const char* what) {
      if (values.size() != want)
        throw ResultsError("merge: " + f.path() + ": network " + std::to_string(id) + "'s " + what + " hold " +
                           std::to_string(values.size()) + " values, but the sweep's network takes " +
                           std::to_string(want));
      return values;
    };
    const size_t count = size_t(net.count),
                 frame = size_t(problem.grid_h) * size_t(problem.grid_w) * size_t(problem.outputs);
    const size_t maps = size_t(hidden_units(problem, int(id))) * size_t(problem.neuron_grid_h * problem.neuron_grid_w);
    const auto w0 = sized(f.weights(row, false), count, "initial parameters");
    const auto w1 = sized(f.weights(row, true), count, "final parameters");
    std::copy(w0.begin(), w0.end(), initial.begin() + net.offset);
    std::copy(w1.begin(), w1.end(), final_params.begin() + net.offset);
    for (int fr = 0; fr < frames; ++fr) {
      if (problem.record_neurons[id])
        writer.write_neuron_maps(int(id), fr, sized(f.neuron_maps(row, fr), maps, "neuron maps").data());
      if (problem.record_weights[id])
        writer.write_weights(int(id), fr, sized(f.weights_at(row, fr), count, "parameter snapshots").data());
      writer.write_frame(int(id), fr, sized(f.frame(row, fr), frame, "frames").data());
    }
  }
  merging.clear();
  writer.finish(initial, final_params, results, elapsed);
  if (const std::string warning = writer.beyond_f16_warning(); !warning.empty()) log_line(warning);  // even with -q
  if (!quiet)
    log_line("merged " + std::to_string(files.size()) + (files.size() == 1 ? " file (" : " files (") +
             std::to_string(n) + " networks) into " + output);
}

}  // namespace netsweep
