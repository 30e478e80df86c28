#include "netsweep/spec.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "netsweep/random.h"

namespace netsweep {
namespace {

template <typename Enum, size_t N>
Enum parse_enum(const std::string& s, const char* const (&names)[N], const char* what) {
  for (size_t i = 0; i < N; ++i)
    if (s == names[i]) return static_cast<Enum>(i);
  std::string known;
  for (size_t i = 0; i < N; ++i) known += std::string(i ? ", " : "") + names[i];
  throw SpecError("unknown " + std::string(what) + " '" + s + "' (known: " + known + ")");
}

const char* const kActivationNames[] = {"sigmoid", "tanh", "relu", "linear", "leaky_relu", "elu", "gelu", "sine"};
const char* const kLossNames[] = {"bce", "mse", "softmax"};
const char* const kOptimizerNames[] = {"adam", "sgd", "momentum"};
const char* const kStatusNames[] = {"trained", "diverged", "early_stopped"};
static_assert(sizeof(kActivationNames) / sizeof(*kActivationNames) == kActivationCount, "activation names");

void require(bool ok, const std::string& message) {
  if (!ok) throw SpecError(message);
}

}  // namespace

const char* to_string(Activation a) { return kActivationNames[int(a)]; }
const char* to_string(Loss l) { return kLossNames[int(l)]; }
const char* to_string(Optimizer o) { return kOptimizerNames[int(o)]; }
const char* to_string(NetStatus s) { return kStatusNames[int(s)]; }
Activation parse_activation(const std::string& s) { return parse_enum<Activation>(s, kActivationNames, "activation"); }
Loss parse_loss(const std::string& s) { return parse_enum<Loss>(s, kLossNames, "loss"); }
Optimizer parse_optimizer(const std::string& s) { return parse_enum<Optimizer>(s, kOptimizerNames, "optimizer"); }
NetStatus parse_status(const std::string& s) { return parse_enum<NetStatus>(s, kStatusNames, "network status"); }

InsideRule parse_inside_rule(const std::string& s, const char* option) {
  if (s == "auto") return InsideRule::automatic;
  if (s == "all") return InsideRule::all;
  if (s == "none") return InsideRule::none;
  throw SpecError(std::string(option) + " '" + s + "': expected auto, all or none");
}

const char* to_string(InsideRule r) {
  switch (r) {
    case InsideRule::automatic: return "auto";
    case InsideRule::all: return "all";
    case InsideRule::none: return "none";
  }
  return "?";
}

std::vector<int> parse_shape(const std::string& s) {
  std::vector<int> widths;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, '-')) {
    size_t used = 0;
    int w = 0;
    try {
      w = std::stoi(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    require(used == part.size() && !part.empty(), "--shape '" + s + "': '" + part + "' is not a layer width");
    require(w > 0, "--shape '" + s + "': layer width must be >= 1");
    widths.push_back(w);
  }
  require(!widths.empty(), "--shape '" + s + "' has no layers");
  return widths;
}

std::string NetworkConfig::shape_label() const {
  std::string label;
  for (size_t i = 0; i < hidden.size(); ++i) label += (i ? "-" : "") + std::to_string(hidden[i]);
  return label.empty() ? "0" : label;
}

uint64_t NetworkConfig::stream_key() const {
  return network_stream_key(
      seed, streams == StreamRule::id ? uint64_t(id) : shape_stream_id(hidden.data(), int(hidden.size())));
}

int64_t saturating_mul(int64_t a, int64_t b) {
  int64_t out = 0;
  return __builtin_mul_overflow(a, b, &out) ? std::numeric_limits<int64_t>::max() : out;
}

int64_t saturating_add(int64_t a, int64_t b) {
  int64_t out = 0;
  return __builtin_add_overflow(a, b, &out) ? std::numeric_limits<int64_t>::max() : out;
}

int64_t SweepSpec::network_count() const {
  const int64_t shapes_count = saturating_add(saturating_mul(int64_t(layers.size()), int64_t(widths.size())),
                                              int64_t(shapes.size()));
  int64_t per_optimizer = 0;  // momentum is an axis of the momentum optimizer alone
  for (Optimizer o : optimizers)
    per_optimizer = saturating_add(per_optimizer, o == Optimizer::momentum ? int64_t(momentum.size()) : 1);
  int64_t n = shapes_count;
  for (int64_t k : {int64_t(activations.size()), per_optimizer, int64_t(learning_rates.size()),
                    int64_t(batch_sizes.size()), int64_t(l1.size()), int64_t(l2.size()), int64_t(seeds)})
    n = saturating_mul(n, k);
  return n;
}

namespace {
std::string number(double v) {  // whole numbers in full (a count of 2147483647, not 2.14748e+09)
  std::ostringstream out;
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15)
    out << int64_t(v);
  else
    out << v;
  return out.str();
}
void require_in(double v, double lo, double hi, const std::string& what) {
  require(std::isfinite(v) && v >= lo && v <= hi,
          what + " must be between " + number(lo) + " and " + number(hi) + " (got " + number(v) + ")");
}
}  // namespace

void SweepSpec::validate() const {
  for (int l : layers) require(l >= 1, "--layers: a layer count must be >= 1 (got " + std::to_string(l) + ")");
  for (int w : widths) require(w >= 1, "--widths: a width must be >= 1 (got " + std::to_string(w) + ")");
  for (const auto& s : shapes)
    for (int w : s) require(w >= 1, "--shape: a layer width must be >= 1 (got " + std::to_string(w) + ")");
  for (int l : layers) require_in(l, 1, kMaxLayers, "--layers: a layer count");
  for (int w : widths) require_in(w, 1, kMaxWidth, "--widths: a width");
  for (const auto& s : shapes) {
    require_in(double(s.size()), 1, kMaxLayers, "--shape: the number of hidden layers");
    for (int w : s) require_in(w, 1, kMaxWidth, "--shape: a layer width");
  }
  require(!layers.empty() == !widths.empty(), "--layers and --widths go together: give both or neither");
  require(!layers.empty() || !shapes.empty(), "no network shapes: give --layers and --widths, or --shape");
  require(!activations.empty(), "--activations: give at least one");
  require(!optimizers.empty(), "--optimizers: give at least one");
  require(!learning_rates.empty(), "--lr: give at least one");
  for (float lr : learning_rates)
    require(std::isfinite(lr) && lr > 0, "--lr: a learning rate must be > 0 (got " + number(lr) + ")");
  require(!batch_sizes.empty(), "--batch: give at least one");
  for (int b : batch_sizes) require(b >= 0, "--batch: a batch size must be >= 0 (0 = full batch)");
  for (int b : batch_sizes) require_in(b, 0, kMaxBatch, "--batch: a batch size");
  require(seeds >= 1, "--seeds: must be >= 1");
  require(seeds <= 1 || base_seed <= std::numeric_limits<uint64_t>::max() - uint64_t(seeds - 1),
          "--seed " + std::to_string(base_seed) + " with --seeds " + std::to_string(seeds) +
              ": the replicas' seeds (--seed, --seed + 1, ...) would pass 2^64 - 1");
  require_in(seeds, 1, kMaxSeeds, "--seeds");
  require(epochs >= 1, "--epochs: must be >= 1");
  require_in(epochs, 1, kMaxEpochs, "--epochs");
  require(outputs >= 0, "--outputs: must be >= 1 (or 0 for automatic)");
  require_in(outputs, 0, kMaxOutputUnits, "--outputs");
  require(!l1.empty() && !l2.empty() && !momentum.empty(), "--l1, --l2, --momentum: give at least one value");
  for (const auto* list : {&l1, &l2})
    for (float v : *list) {
      require(v >= 0, "--l1/--l2: penalties must be >= 0");
      require(std::isfinite(v), "--l1/--l2: penalties must be finite");
    }
  for (float m : momentum)
    require(std::isfinite(m) && m >= 0, "--momentum: must be a finite number >= 0 (got " + number(m) + ")");
  require(std::isfinite(beta1) && beta1 >= 0 && beta1 < 1, "beta1: must be in [0, 1) (got " + number(beta1) + ")");
  require(std::isfinite(beta2) && beta2 >= 0 && beta2 < 1, "beta2: must be in [0, 1) (got " + number(beta2) + ")");
  require(std::isfinite(adam_eps) && adam_eps > 0, "adam_eps: must be > 0 (got " + number(adam_eps) + ")");
  require(snapshot_every >= 0, "--snapshot-every: must be >= 0");
  require(grid >= 2, "--grid: must be >= 2");
  require_in(grid, 2, kMaxGrid, "--grid");
  if (extent) {
    const auto& e = *extent;
    for (float v : e) require(std::isfinite(v), "--extent: values must be finite");
    for (float v : e) require_in(v, -kMaxCoordinate, kMaxCoordinate, "--extent: each value");
    require(e[0] < e[1] && e[2] < e[3], "--extent: need x0 < x1 and y0 < y1");
  }
  if (early_stop_loss) require(std::isfinite(*early_stop_loss), "--early-stop-loss: must be finite");
  require_in(neuron_grid, 2, kMaxNeuronGrid, "--neuron-grid");
  for (const auto& f : features) require(!f.empty(), "--features: a feature name is empty");
  const int64_t frames = snapshot_count(epochs, snapshot_every);
  require(frames <= kMaxFrames, "--snapshot-every " + std::to_string(snapshot_every) + " with --epochs " +
                                    std::to_string(epochs) + " makes " + std::to_string(frames) +
                                    " frames per network; at most " + std::to_string(kMaxFrames));
  const int64_t n = network_count();
  require(n <= kMaxNetworks, "the sweep has " + (n == std::numeric_limits<int64_t>::max() ? std::string("too many")
                                                                                           : std::to_string(n)) +
                                 " networks (shapes x activations x optimizers x lr x batch x seeds); at most " +
                                 std::to_string(kMaxNetworks) + " in one sweep");
}

std::vector<NetworkConfig> expand(const SweepSpec& spec) {
  std::vector<std::pair<std::vector<int>, bool>> hidden_shapes;
  for (int l : spec.layers)
    for (int w : spec.widths) hidden_shapes.emplace_back(std::vector<int>(size_t(l), w), true);
  for (const auto& s : spec.shapes) hidden_shapes.emplace_back(s, false);

  std::vector<NetworkConfig> nets;
  for (const auto& [hidden, uniform] : hidden_shapes)
    for (Activation act : spec.activations)
      for (Optimizer opt : spec.optimizers)
        for (float lr : spec.learning_rates)
          for (int batch : spec.batch_sizes)
            for (float l1 : spec.l1)
              for (float l2 : spec.l2)
                for (size_t m = 0; m < (opt == Optimizer::momentum ? spec.momentum.size() : 1); ++m)
                  for (int r = 0; r < spec.seeds; ++r) {
                    NetworkConfig n;
                    n.id = int(nets.size());
                    n.hidden = hidden;
                    n.uniform = uniform;
                    n.activation = act;
                    n.optimizer.kind = opt;
                    n.optimizer.lr = lr;
                    n.optimizer.beta1 = spec.beta1;
                    n.optimizer.beta2 = spec.beta2;
                    n.optimizer.eps = spec.adam_eps;
                    n.optimizer.momentum = spec.momentum[m];
                    n.optimizer.l1 = l1;
                    n.optimizer.l2 = l2;
                    n.batch = batch;
                    n.replica = r;
                    n.seed = spec.base_seed + uint64_t(r);
                    n.streams = spec.streams;
                    nets.push_back(std::move(n));
                  }
  return nets;
}

std::vector<int> snapshot_epochs(int epochs, int every) {
  std::vector<int> out;
  if (every > 0)
    for (int64_t e = 0; e < epochs; e += every) out.push_back(int(e));
  else
    out.push_back(0);
  out.push_back(epochs);
  return out;
}

int64_t snapshot_count(int epochs, int every) {
  return every > 0 ? (int64_t(epochs) + every - 1) / every + 1 : 2;
}

std::string spec_to_json(const SweepSpec& s) {
  using nlohmann::json;
  json j;
  j["layers"] = s.layers;
  j["widths"] = s.widths;
  j["shapes"] = s.shapes;
  std::vector<std::string> names;
  for (auto a : s.activations) names.push_back(to_string(a));
  j["activations"] = names;
  names.clear();
  for (auto o : s.optimizers) names.push_back(to_string(o));
  j["optimizers"] = names;
  j["lr"] = s.learning_rates;
  j["batch"] = s.batch_sizes;
  j["seeds"] = s.seeds;
  j["seed"] = s.base_seed;
  j["epochs"] = s.epochs;
  j["loss"] = to_string(s.loss);
  j["outputs"] = s.outputs;
  j["l1"] = s.l1;
  j["l2"] = s.l2;
  j["early_stop_loss"] = s.early_stop_loss ? json(*s.early_stop_loss) : json(nullptr);
  j["beta1"] = s.beta1;
  j["beta2"] = s.beta2;
  j["adam_eps"] = s.adam_eps;
  j["momentum"] = s.momentum;
  j["features"] = s.features;
  j["snapshot_every"] = s.snapshot_every;
  j["grid"] = s.grid;
  j["extent"] = s.extent ? json(*s.extent) : json(nullptr);
  j["neuron_maps"] = to_string(s.neuron_maps);
  j["record_weights"] = to_string(s.record_weights);
  j["neuron_grid"] = s.neuron_grid;
  // Only the new rule is written: a spec of the id rule reads as earlier versions wrote it, so
  // its sweep hash (of this text) is theirs, and their shards still merge and resume.
  if (s.streams == StreamRule::shape) j["streams"] = "shape";
  return j.dump();
}

namespace {
// Typed reads of the stored spec: a value of the wrong kind is an error, never
// converted (nlohmann's get<int> would truncate 1.5, wrap -1 into a seed of
// 2^64 - 1, turn true into 1, and cast 1e38 to int, which is undefined).
using nlohmann::json;

[[noreturn]] void bad(const std::string& key, const std::string& what) {
  throw SpecError("stored spec: '" + key + "' " + what);
}

int to_int(const json& v, const std::string& key) {
  if (!v.is_number_integer()) bad(key, "is not an integer");
  if (v.is_number_unsigned() ? v.get<uint64_t>() > uint64_t(std::numeric_limits<int>::max())
                             : v.get<int64_t>() < std::numeric_limits<int>::min() ||
                                   v.get<int64_t>() > std::numeric_limits<int>::max())
    bad(key, "is out of range");
  return int(v.get<int64_t>());
}

float to_float(const json& v, const std::string& key) {
  if (!v.is_number()) bad(key, "is not a number");
  const double d = v.get<double>();
  if (!(std::abs(d) <= double(std::numeric_limits<float>::max()))) bad(key, "is out of range");
  return float(d);
}

const json& array_at(const json& j, const std::string& key) {
  const json& v = j.at(key);
  if (!v.is_array()) bad(key, "is not a list");
  return v;
}

std::vector<int> ints_at(const json& j, const std::string& key) {
  std::vector<int> out;
  for (const auto& v : array_at(j, key)) out.push_back(to_int(v, key));
  return out;
}

std::vector<float> floats_at(const json& j, const std::string& key) {
  std::vector<float> out;
  for (const auto& v : array_at(j, key)) out.push_back(to_float(v, key));
  return out;
}

std::string string_of(const json& v, const std::string& key) {
  if (!v.is_string()) bad(key, "is not a string");
  return v.get<std::string>();
}
}  // namespace

SweepSpec spec_from_json(const std::string& text) {
  SweepSpec s;
  try {
    const json j = json::parse(text);
    if (!j.is_object()) throw SpecError("stored spec: not a JSON object");
    s.layers = ints_at(j, "layers");
    s.widths = ints_at(j, "widths");
    for (const auto& shape : array_at(j, "shapes")) {
      if (!shape.is_array()) bad("shapes", "is not a list of lists");
      std::vector<int> widths;
      for (const auto& w : shape) widths.push_back(to_int(w, "shapes"));
      s.shapes.push_back(std::move(widths));
    }
    for (const auto& a : array_at(j, "activations")) s.activations.push_back(parse_activation(string_of(a, "activations")));
    for (const auto& o : array_at(j, "optimizers")) s.optimizers.push_back(parse_optimizer(string_of(o, "optimizers")));
    s.learning_rates = floats_at(j, "lr");
    s.batch_sizes = ints_at(j, "batch");
    s.seeds = to_int(j.at("seeds"), "seeds");
    if (!j.at("seed").is_number_unsigned()) bad("seed", "is not a whole number >= 0");
    s.base_seed = j.at("seed").get<uint64_t>();
    s.epochs = to_int(j.at("epochs"), "epochs");
    s.loss = parse_loss(string_of(j.at("loss"), "loss"));
    s.outputs = to_int(j.at("outputs"), "outputs");
    // A number in files of earlier versions, a list since.
    auto number_or_list = [&](const char* key) {
      return j.at(key).is_array() ? floats_at(j, key) : std::vector<float>{to_float(j.at(key), key)};
    };
    s.l1 = number_or_list("l1");
    s.l2 = number_or_list("l2");
    if (!j.at("early_stop_loss").is_null()) s.early_stop_loss = to_float(j.at("early_stop_loss"), "early_stop_loss");
    s.beta1 = to_float(j.at("beta1"), "beta1");
    s.beta2 = to_float(j.at("beta2"), "beta2");
    s.adam_eps = to_float(j.at("adam_eps"), "adam_eps");
    s.momentum = number_or_list("momentum");
    for (const auto& f : array_at(j, "features")) s.features.push_back(string_of(f, "features"));
    s.snapshot_every = to_int(j.at("snapshot_every"), "snapshot_every");
    s.grid = to_int(j.at("grid"), "grid");
    if (!j.at("extent").is_null()) {
      const std::vector<float> e = floats_at(j, "extent");
      if (e.size() != 4) bad("extent", "is not x0,x1,y0,y1");
      s.extent = std::array<float, 4>{e[0], e[1], e[2], e[3]};
    }
    // Absent from files of earlier versions (which recorded none of it).
    s.neuron_maps = parse_inside_rule(j.contains("neuron_maps") ? string_of(j.at("neuron_maps"), "neuron_maps") : "none",
                                      "neuron_maps");
    s.record_weights = parse_inside_rule(
        j.contains("record_weights") ? string_of(j.at("record_weights"), "record_weights") : "none", "record_weights");
    s.neuron_grid = j.contains("neuron_grid") ? to_int(j.at("neuron_grid"), "neuron_grid") : kDefaultNeuronGrid;
    // Absent from files of earlier versions, whose networks drew by id.
    const std::string streams = j.contains("streams") ? string_of(j.at("streams"), "streams") : "id";
    if (streams != "shape" && streams != "id") bad("streams", "is not shape or id");
    s.streams = streams == "shape" ? StreamRule::shape : StreamRule::id;
  } catch (const json::exception& e) {
    throw SpecError(std::string("stored spec: ") + e.what());
  }
  return s;
}

}  // namespace netsweep
