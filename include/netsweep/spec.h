// The sweep spec: the axes a user sweeps, and their expansion into one
// NetworkConfig per network. The spec is stored (as JSON) in every result
// file, so `netsweep run --from FILE` reruns a sweep exactly.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "netsweep/common.h"
#include "netsweep/math.h"

namespace netsweep {

// The largest values a spec may hold: beyond them a run is not a sweep of
// small networks any more, and sizes would overflow before any estimate.
constexpr int kMaxLayers = 1000;               // hidden layers per network
constexpr int kMaxWidth = 1000000;             // units per hidden layer
constexpr int kMaxOutputUnits = 256;           // output units (classes)
constexpr int kMaxSeeds = 1000000;             // replicas per configuration
constexpr int kMaxEpochs = 1000000000;         // epochs
constexpr int kMaxBatch = 1000000000;          // samples per batch
constexpr int kMaxGrid = 1000000;              // frame resolution (memory is checked first)
constexpr int64_t kMaxNetworks = 1000000;      // networks in one sweep
constexpr int64_t kMaxFrames = 100000;         // frames per network

// Which networks a run looks inside (records per-neuron maps, or parameters
// at every frame): every one, none, or those small enough to read (auto).
enum class InsideRule : int32_t { automatic = 0, all = 1, none = 2 };
InsideRule parse_inside_rule(const std::string& s, const char* option);  // "auto", "all", "none"
const char* to_string(InsideRule r);
// auto: per-neuron maps for networks with at most this many hidden units (a
// page of thumbnails), parameters at every frame for networks with at most
// this many parameters (every network with maps, and more).
constexpr int kAutoNeuronMapUnits = 64;
constexpr int64_t kAutoWeightParameters = 20000;
constexpr int kDefaultNeuronGrid = 32;
constexpr int kMaxNeuronGrid = 1024;

// Which random streams a network draws (its initial weights and batch orders):
// by (seed, hidden shape), so that networks that differ only in activation,
// optimizer, learning rate, batch size or penalties start alike and a network
// trains the same in any sweep; or by (seed, network id), as files of earlier
// versions were trained (kept so that --from reproduces them, their shards still merge,
// and --resume finishes a whole run they began).
enum class StreamRule : int32_t { id = 0, shape = 1 };

struct SweepSpec {
  // Hidden shapes: every (layers x widths) uniform shape, then each explicit one.
  std::vector<int> layers;
  std::vector<int> widths;
  std::vector<std::vector<int>> shapes;
  std::vector<Activation> activations;
  std::vector<Optimizer> optimizers;
  std::vector<float> learning_rates;
  std::vector<int> batch_sizes;  // 0 = full batch
  int seeds = 1;                 // networks per configuration
  uint64_t base_seed = 0;        // replica r uses seed base_seed + r
  int epochs = 0;
  Loss loss = Loss::bce;
  int outputs = 0;  // 0 = from the data (classes, or 1 for regression)
  std::vector<float> l1{0.0f}, l2{0.0f};  // penalties on weights (axes)
  std::optional<float> early_stop_loss;   // stop a network once its epoch loss <= this
  float beta1 = 0.9f, beta2 = 0.999f, adam_eps = 1e-7f;
  std::vector<float> momentum{0.9f};  // of the momentum optimizer (an axis for it alone)
  std::vector<std::string> features;           // input features, e.g. {"x1","x2"}; empty: x1,x2 (x1 for 1-D data)
  int snapshot_every = 0;                      // 0 = only the initial and final frames
  int grid = 0;                                // frames are grid x grid (grid x 1 for 1-D data)
  std::optional<std::array<float, 4>> extent;  // x0,x1,y0,y1; default: data bounds + margin
  InsideRule neuron_maps = InsideRule::automatic;     // per-neuron maps at every frame
  InsideRule record_weights = InsideRule::automatic;  // every parameter at every frame
  int neuron_grid = kDefaultNeuronGrid;               // per-neuron maps are neuron_grid^2 (x 1 for 1-D data)
  StreamRule streams = StreamRule::shape;             // "id" in the specs of earlier versions' files

  // Throws SpecError naming the field for any value out of range, including
  // a sweep of more than kMaxNetworks networks or kMaxFrames frames.
  void validate() const;
  // Networks the expansion makes (saturates at INT64_MAX; no allocation).
  int64_t network_count() const;
};

struct SpecError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One network of the expanded sweep. `id` is its index in the full expansion
// (stable across shards); its random streams are keyed by stream_key().
struct NetworkConfig {
  int id = 0;
  std::vector<int> hidden;  // hidden layer widths
  bool uniform = true;      // from --layers x --widths (else an explicit --shape)
  Activation activation = Activation::relu;
  OptimizerConfig optimizer;
  int batch = 32;  // 0 = full batch
  uint64_t seed = 0;
  int replica = 0;
  StreamRule streams = StreamRule::shape;  // the sweep's

  std::string shape_label() const;  // "64-64-64"
  // network_stream_key(seed, shape_stream_id(hidden)), or (seed, id) under StreamRule::id.
  uint64_t stream_key() const;
};

// Expansion order (outermost first): shape, activation, optimizer, lr, batch,
// l1, l2, momentum (for the momentum optimizer only), replica.
std::vector<NetworkConfig> expand(const SweepSpec& spec);

// Frame epochs: 0, every, 2*every, ... and the last epoch.
std::vector<int> snapshot_epochs(int epochs, int every);
int64_t snapshot_count(int epochs, int every);  // their number, without listing them

// a * b, or INT64_MAX when it would overflow (sizes before any allocation). a, b >= 0.
int64_t saturating_mul(int64_t a, int64_t b);
int64_t saturating_add(int64_t a, int64_t b);

// Names <-> enums, as used on the command line, in config files and stored files.
const char* to_string(Activation a);
const char* to_string(Loss l);
const char* to_string(Optimizer o);
const char* to_string(NetStatus s);
Activation parse_activation(const std::string& s);  // throws SpecError
Loss parse_loss(const std::string& s);
Optimizer parse_optimizer(const std::string& s);
NetStatus parse_status(const std::string& s);
std::vector<int> parse_shape(const std::string& s);  // "3-1-3"

std::string spec_to_json(const SweepSpec& spec);
SweepSpec spec_from_json(const std::string& json);  // throws SpecError

}  // namespace netsweep
