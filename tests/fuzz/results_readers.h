// The readers of results, plan and checkpoint files as netsweep runs them
// (`info`, `run --from`, `run --resume`), with the invariants of what they
// accept; shared by fuzz_results (bytes) and fuzz_results_layout (structure).
#pragma once

#include <algorithm>
#include <cstdlib>

#include "fuzz_util.h"
#include "netsweep/checkpoint.h"
#include "netsweep/results.h"
#include "netsweep/shard.h"

namespace netsweep::fuzz {

// The fixed sweep checkpoints are read for: 2 networks x 4 epochs, frames at
// 0, 2, 4 of 4x4 x 2 outputs in float16.
struct CheckpointFixture {
  SweepSpec spec;
  Dataset data;
  TrainingProblem problem;
  std::string hash, dir;

  CheckpointFixture() {
    spec.layers = {1};
    spec.widths = {3};
    spec.activations = {Activation::relu};
    spec.optimizers = {Optimizer::adam};
    spec.learning_rates = {1e-2f};
    spec.batch_sizes = {8};
    spec.seeds = 2;
    spec.epochs = 4;
    spec.snapshot_every = 2;
    spec.grid = 4;
    // Frames only: since neuron maps and parameter recording default to auto, every record also
    // holds maps and weights, write_seed's frames came without them (std::logic_error), and the
    // corpus's checkpoint_state.h5 is of another sweep hash, refused before any state is read.
    spec.neuron_maps = InsideRule::none;
    spec.record_weights = InsideRule::none;
    data = make_dataset({generate_dataset("xor:n=16", {})}, 0.25f, 0, "[]");
    problem = build_problem(spec, data);
    hash = sweep_hash(spec, data);
    dir = scratch_dir() + "/ckpt";
    std::filesystem::create_directories(dir);
    // frames.bin: every slot filled with a fixed pattern.
    std::vector<uint8_t> frames(slot_bytes() * problem.networks.size() * problem.frame_epochs.size());
    for (size_t i = 0; i < frames.size(); ++i) frames[i] = uint8_t(i * 37 + 11);
    write_bytes(dir + "/frames.bin", frames.data(), frames.size());
  }
  size_t slot_bytes() const { return size_t(problem.grid_h) * size_t(problem.grid_w) * size_t(problem.outputs) * 2; }

  // A checkpoint of this sweep: network 0 after epoch 2 (2 frames), network 1 after epoch 4 (3 frames).
  void write_seed(const std::string& out) {
    std::vector<uint8_t> frames(slot_bytes() * problem.networks.size() * problem.frame_epochs.size());
    for (size_t i = 0; i < frames.size(); ++i) frames[i] = uint8_t(i * 37 + 11);
    CheckpointStore store(dir, problem, hash, "", FrameType::float16, 0);
    const size_t f = problem.frame_epochs.size();
    for (int i = 0; i < 2; ++i) {
      const int done = i == 0 ? 2 : 3;
      for (int k = 0; k < done; ++k)
        store.write_frame_half(i, k, reinterpret_cast<const uint16_t*>(&frames[(size_t(i) * f + size_t(k)) * slot_bytes()]));
      NetworkState s;
      s.epoch = problem.frame_epochs[size_t(done) - 1];
      s.step = s.epoch * 2;
      s.frames_done = done;
      s.loss_sum = 0.25;
      const auto& net = problem.layout.networks[size_t(i)];
      const std::vector<float> p(size_t(net.count), 0.5f);
      s.save_parameters(p.data(), p.data(), p.data(), net.count);
      s.result.epochs_trained = s.epoch;
      s.result.epoch_loss.assign(size_t(problem.epochs), 0.5f);
      for (auto* v : {&s.result.snapshot_train_loss, &s.result.snapshot_test_loss, &s.result.snapshot_train_accuracy,
                      &s.result.snapshot_test_accuracy})
        v->assign(f, 0.5f);
      store.snapshot_state(i, s);
    }
    store.flush();
    std::filesystem::copy_file(dir + "/state.h5", out, std::filesystem::copy_options::overwrite_existing);
    // The frames the harness reads are the fixed pattern again.
    write_bytes(dir + "/frames.bin", frames.data(), frames.size());
  }
};

inline CheckpointFixture& fixture() {
  static CheckpointFixture f;
  return f;
}

// Counts what replay_frames hands over.
struct CountingSink : FrameSink {
  size_t frames = 0, elements;
  explicit CountingSink(size_t n) : elements(n) {}
  void write_frame(int, int, const float* values) override {
    volatile float sum = 0;
    for (size_t k = 0; k < elements; ++k) sum = sum + values[k];
    ++frames;
  }
};

template <typename F>
inline void attempt(F&& f, const char* what = nullptr) {
  try {
    f();
  } catch (const std::exception& e) {
    if (what) refused(std::runtime_error(std::string(what) + ": " + e.what()));
  }
}

inline void read_results(const std::string& path) {
  const ResultsFile f(path);
  const auto& rows = f.networks();
  const auto shape = f.frame_shape();
  const auto epochs = f.frame_epochs();
  FUZZ_CHECK(size_t(shape[0]) == rows.size() && size_t(shape[1]) == epochs.size());
  FUZZ_CHECK(shape[2] >= 1 && shape[3] >= 1 && shape[4] >= 1);
  attempt([&] { f.attribute("tool_version"); });
  attempt([&] { f.attribute("created"); });
  attempt([&] { f.attribute("device"); });
  attempt([&] { f.attribute("loss"); });
  attempt([&] { f.format_version(); });
  attempt([&] { f.int_attribute("epochs"); });
  attempt([&] { f.double_attribute("elapsed_seconds"); });
  attempt([&] { f.has_attribute("sweep_hash"); });
  attempt([&] { f.frame_type(); });
  attempt([&] { f.extent(); });
  const int64_t stored_epochs = f.int_attribute("epochs");
  const size_t frame_size = size_t(shape[2]) * size_t(shape[3]) * size_t(shape[4]);
  const int n = int(std::min<size_t>(rows.size(), 3));
  for (int i = 0; i < n; ++i) {
    for (int k : {0, shape[1] - 1}) attempt([&] { FUZZ_CHECK(f.frame(i, k).size() == frame_size); });
    attempt([&] { FUZZ_CHECK(int64_t(f.epoch_losses(i).size()) == stored_epochs); });
    attempt([&] {
      const NetworkResult r = f.network_result(i);
      FUZZ_CHECK(r.snapshot_train_loss.size() == epochs.size() && r.snapshot_test_accuracy.size() == epochs.size());
    });
    for (bool final : {false, true})
      attempt([&] { FUZZ_CHECK(int64_t(f.weights(i, final).size()) == rows[size_t(i)].parameters); });
  }
  // Out of range is an error, not a read.
  for (const auto& ik : {std::pair<int, int>{-1, 0}, {shape[0], 0}, {0, shape[1]}, {0, -1}})
    attempt([&] {
      f.frame(ik.first, ik.second);
      std::abort();
    });
  attempt([&] {
    f.weights(shape[0], true);
    std::abort();
  });
  attempt([&] {
    const Dataset d = f.dataset();
    validate_dataset(d, "fuzz");
  });
  attempt([&] {
    const SweepSource& s = f.sweep_source();  // checked as run checks it, then kept
    FUZZ_CHECK(&f.sweep_source() == &s);
    validate_dataset(s.data, "fuzz");
  });
}

inline void read_source(const std::string& path) {
  const SweepSource s = read_sweep_source(path);
  validate_dataset(s.data, "fuzz");
  check_spec(s.spec, &s.data);
}

inline void read_checkpoint(const uint8_t* data, size_t size) {
  CheckpointFixture& fx = fixture();
  write_bytes(fx.dir + "/state.h5", data, size);
  CheckpointStore store(fx.dir, fx.problem, fx.hash, "", FrameType::float16, 0);
  const auto states = store.load();
  FUZZ_CHECK(states.size() == fx.problem.networks.size());
  for (size_t i = 0; i < states.size(); ++i) {
    if (!states[i]) continue;
    const auto& s = *states[i];
    FUZZ_CHECK(s.params.size() == size_t(fx.problem.layout.networks[i].count));
    FUZZ_CHECK(s.epoch >= 0 && s.epoch <= fx.problem.epochs);
    FUZZ_CHECK(s.frames_done >= 0 && size_t(s.frames_done) <= fx.problem.frame_epochs.size());
  }
  CountingSink sink(size_t(fx.problem.grid_h) * size_t(fx.problem.grid_w) * size_t(fx.problem.outputs));
  store.replay_frames(sink);
}


// Every reader on the file at `path` (a checkpoint: the same bytes as state.h5).
inline void read_all(const std::string& path, const uint8_t* data, size_t size) {
  attempt([&] { read_results(path); }, "ResultsFile");
  attempt([&] { read_source(path); }, "read_sweep_source");
  attempt([&] { read_checkpoint(data, size); }, "CheckpointStore::load");
}

}  // namespace netsweep::fuzz
