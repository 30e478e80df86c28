// The results file (HDF5), written by `netsweep run` and read by `netsweep
// info`, `run --from` and the renderer. Its layout is the contract documented
// in docs/results-format.md; the names below are the ones used there.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "netsweep/backend.h"
#include "netsweep/dataset.h"
#include "netsweep/shard.h"
#include "netsweep/spec.h"

namespace netsweep {

constexpr const char* kFormatName = "netsweep-results";
constexpr int kFormatVersion = 1;

struct ResultsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class FrameType { float16, float32 };
inline const char* frame_dtype_name(FrameType t) { return t == FrameType::float16 ? "f16" : "f32"; }  // --frame-dtype

// A sweep over several data sources or feature sets trains each as a part,
// written to a results file of its own (count 0: a sweep of one part).
struct PartInfo {
  int index = 0, count = 0;
  std::string label;  // e.g. "circle:noise=0.2 · features x1,x2,x1^2"
};

struct RunMetadata {
  std::string tool_version;
  std::string device;
  std::string created_utc;  // ISO 8601
  std::string spec_json;    // the SweepSpec (spec_to_json)
  std::string command_line;
  std::string options;  // every run option's value, as a --config TOML file
  FrameType frame_type = FrameType::float16;
  std::string sweep_hash;                // shard files of one sweep share it
  int shard_index = 0, shard_count = 0;  // shard_count 0: the whole sweep
  PartInfo part;
};

// Refuses, before any work, an output path where a file cannot be put by
// renaming a new one into place (ResultsError naming the path): an empty
// path, a directory, a device, FIFO or socket, a symbolic link, a missing or
// unwritable directory, a name too long for PATH.partial-HOST-PID beside it.
void check_output_path(const std::string& path);
// Makes a rename into PATH's directory durable (fsync of the directory; where
// a file system cannot, nothing more is done).
void sync_parent_directory(const std::string& path);
// PATH.partial-HOST-PID: the name an output (results or plan file, gallery
// directory) is written under until it is complete and renamed to PATH.
std::string partial_path(const std::string& path);
// Removes what processes of this host that are gone (kill -9, out of memory)
// left of PATH: its PATH.partial-HOST-PID files, or with `directories` (a
// gallery) directories. Throws ResultsError where a process holds a PartialLock
// on one (it is writing PATH now). Returns one line per partial removed, and per
// partial kept (another host's, or of a process still running on a file system
// without locks).
std::vector<std::string> clear_stale_partials(const std::string& path, bool directories = false);
// Before a run or merge writes OUTPUT: throws ResultsError where another process
// writes it now, through a partial (clear_stale_partials) or with checkpoints
// (OUTPUT.ckpt's lock: such a run writes no partial until its end), then clears
// what gone processes left. Returns clear_stale_partials' lines.
std::vector<std::string> claim_output(const std::string& output);
// Who holds a lock on PATH that writing it would conflict with (fcntl, of
// either kind): "process N", or "a process" for a lock on an open file
// description; "" if none does, or the file or its file system cannot say.
std::string lock_holder(const std::string& path);
// Held by the process writing a partial output (results or plan file, gallery
// directory) while it writes: a lock (fcntl, on the open file description)
// that clear_stale_partials sees whatever PID namespace or host the writer is
// in; the pid in the name only decides where the file system has no locks.
class PartialLock {
 public:
  explicit PartialLock(const std::string& path);
  ~PartialLock();
  PartialLock(const PartialLock&) = delete;
  PartialLock& operator=(const PartialLock&) = delete;

 private:
  int fd_ = -1;
};
// Refuses (ResultsError) a file given twice among `inputs`, by any spelling
// or link: its networks would count twice.
void check_distinct_inputs(const std::vector<std::string>& inputs);

// Writes a results file under a temporary name (partial_path) and renames
// it to PATH in finish(); destroyed unfinished, it deletes the partial file.
// write_frame() may be called from several threads: frames are converted to
// the stored type by the caller's thread and written by one writer thread.
class ResultsWriter : public FrameSink {
 public:
  ResultsWriter(const std::string& path, const TrainingProblem& problem, const Dataset& data, const RunMetadata& meta);
  ~ResultsWriter() override;
  void write_frame(int index, int frame, const float* values) override;
  void write_neuron_maps(int index, int frame, const float* maps) override;
  void write_weights(int index, int frame, const float* params) override;
  bool takes_half() const override;
  void write_frame_half(int index, int frame, const uint16_t* bits) override;
  void finish(const std::vector<float>& initial_params, const std::vector<float>& final_params,
              const std::vector<NetworkResult>& results, double elapsed_seconds);
  const std::string& partial_path() const;
  // With float16 frames: a line saying how many values were stored as +-inf
  // (beyond +-65504) and in which networks; "" if none.
  std::string beyond_f16_warning() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One row of the networks table.
struct NetworkRow {
  int id = 0;
  std::string hidden_shape;  // "64-64-64"
  int hidden_layers = 0;
  int width = 0;        // uniform width, -1 for an explicit --shape
  bool uniform = true;  // from --layers x --widths (else an explicit --shape)
  std::string activation, optimizer, status;
  float lr = 0;
  float l1 = 0, l2 = 0, momentum = 0;  // momentum: NaN unless the momentum optimizer
  int batch = 0;
  uint64_t seed = 0;
  int replica = 0;
  int epochs_trained = 0;
  int64_t parameters = 0;
  float final_epoch_loss = 0, final_train_loss = 0, final_test_loss = 0;
  float final_train_accuracy = 0, final_test_accuracy = 0;
  double wall_seconds = 0;
};

// Network i's row as a run writes it, without what training gives (status, epochs
// trained, final losses, time): what the network is.
NetworkRow network_identity(const TrainingProblem& p, size_t i);
// The first column saying what a network is where `stored` is not `want`:
// {column, stored value, wanted value}; an empty column where none. NaN in a
// column files before 1.1 lack says nothing.
struct RowDifference {
  std::string column, stored, want;
};
RowDifference identity_difference(const NetworkRow& stored, const NetworkRow& want);

// What `run --from` needs: the spec and the data, from a results file or a
// plan file (written by `netsweep slurm` for the tasks of a job array).
struct SweepSource {
  SweepSpec spec;
  Dataset data;
};
SweepSource read_sweep_source(const std::string& path);
void write_plan_file(const std::string& path, const SweepSpec& spec, const Dataset& data,
                     const TrainingProblem& problem, const std::string& sweep_hash);

// Read access to a results file.
class ResultsFile {
 public:
  explicit ResultsFile(const std::string& path);  // throws ResultsError with a clear message
  ~ResultsFile();
  ResultsFile(ResultsFile&&) noexcept;

  const std::string& path() const;
  std::string attribute(const std::string& name) const;  // root string attribute
  int64_t format_version() const;
  const std::vector<NetworkRow>& networks() const;  // read once, then cached
  std::vector<int> frame_epochs() const;
  std::array<int, 5> frame_shape() const;                     // networks, frames, H, W, outputs
  std::vector<float> frame(int network, int frame) const;     // (H, W, outputs) as float
  std::vector<float> epoch_losses(int network) const;         // (epochs,)
  NetworkResult network_result(int network) const;            // status, losses and metrics of one row
  std::vector<float> weights(int network, bool final) const;  // the network's parameter block
  FrameType frame_type() const;
  std::array<float, 4> extent() const;
  bool has_attribute(const std::string& name) const;
  int64_t int_attribute(const std::string& name) const;
  double double_attribute(const std::string& name) const;
  // Which sweep and shard the file holds: "" and {0, 0} where it says none
  // (files from before sharding; a whole sweep's file has no shard).
  std::string sweep_hash() const;
  ShardId shard() const;
  // The dataset as stored (raw points, labels/values, split), for --from.
  Dataset dataset() const;
  std::vector<std::string> features() const;  // the input features, in input order (data/features)
  // The stored spec (checked as run checks it) and data, read once: the checks over
  // several files (sweep_family, the same network twice) ask for it more than once.
  const SweepSource& sweep_source() const;  // throws ResultsError

  // Inside the networks: empty/0 where a network recorded nothing (and in
  // files of earlier versions, which recorded none of it).
  int neuron_units(int network) const;                           // rows of its neuron maps
  std::array<int, 2> neuron_grid() const;                        // H, W of the neuron maps
  std::vector<float> neuron_maps(int network, int frame) const;  // (units, H, W)
  bool has_weight_snapshots(int network) const;
  std::vector<float> weights_at(int network, int frame) const;  // the parameter block at that frame

 private:
  void check_layout() const;  // throws ResultsError naming what is inconsistent
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A file's sweep as it trains: what only records (frames, maps, weights; the plane
// unless `plane`) at its defaults, and the defaults that follow the data (features,
// outputs) written out. Throws where the stored sweep does not stand run's checks.
SweepSpec trained_spec(const ResultsFile& file, bool plane = false);

// Opens each of `inputs` once, refusing (check_distinct_inputs) one given twice.
std::vector<ResultsFile> open_distinct(const std::vector<std::string>& inputs);

// Files whose sweeps differ only in their seeds (more replicas of a sweep, run
// later; its shards) or in what they record but the plane share a family, this
// hash; "" for a file that records no sweep, or whose spec does not stand run's checks.
std::string sweep_family(const ResultsFile& file);

// Refuses (ResultsError) files that hold one network twice, the same training
// (data, settings, seed) in any sweep: a merged file with its shards, a copy,
// sweeps that overlap. It would count twice, as replicas. Only the networks
// `counted` selects (all without it); files that record no sweep are not compared.
void check_distinct_networks(const std::vector<const ResultsFile*>& files,
                             const std::function<bool(const NetworkRow&)>& counted = nullptr);

}  // namespace netsweep
