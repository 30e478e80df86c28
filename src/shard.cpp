#include "netsweep/shard.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <numeric>

namespace netsweep {

std::string ShardId::label() const { return std::to_string(index) + "/" + std::to_string(count); }

ShardId parse_shard(const std::string& text) {
  const std::string bad = "--shard '" + text + "': expected I/N with 0 <= I < N, e.g. 3/16";
  // Whole numbers only, in int's range (sscanf's %d wrapped larger ones silently).
  auto number = [&](const std::string& part) {
    int v = 0;
    const char* end = part.data() + part.size();
    const auto [stop, ec] = std::from_chars(part.data(), end, v);
    if (part.empty() || ec != std::errc() || stop != end) throw SpecError(bad);
    return v;
  };
  const size_t slash = text.find('/');
  if (slash == std::string::npos) throw SpecError(bad);
  ShardId s;
  s.index = number(text.substr(0, slash));
  s.count = number(text.substr(slash + 1));
  if (s.count < 1 || s.index < 0 || s.index >= s.count) throw SpecError(bad);
  return s;
}

std::vector<std::vector<int>> assign_shards(const TrainingProblem& p, int count) {
  const int n = int(p.networks.size());
  std::vector<int> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return network_work(p, a) > network_work(p, b); });
  std::vector<int64_t> load(static_cast<size_t>(count), 0);
  std::vector<std::vector<int>> shards(static_cast<size_t>(count));
  for (int i : order) {
    const size_t lightest = size_t(std::min_element(load.begin(), load.end()) - load.begin());
    load[lightest] += network_work(p, i);
    shards[lightest].push_back(i);
  }
  for (auto& s : shards) std::sort(s.begin(), s.end());
  return shards;
}

TrainingProblem select_networks(const TrainingProblem& p, const std::vector<int>& indices) {
  TrainingProblem out = p;
  out.networks.clear();
  out.record_neurons.clear();
  out.record_weights.clear();
  for (int i : indices) {
    out.networks.push_back(p.networks[size_t(i)]);
    out.record_neurons.push_back(p.record_neurons[size_t(i)]);
    out.record_weights.push_back(p.record_weights[size_t(i)]);
  }
  out.layout = PackedLayout::build(out.networks, p.inputs, p.outputs);
  return out;
}

namespace {
uint64_t fnv1a(uint64_t h, const void* data, size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}
template <typename T>
uint64_t fnv1a(uint64_t h, const std::vector<T>& v) {
  const uint64_t size = v.size();
  h = fnv1a(h, &size, sizeof size);
  return fnv1a(h, v.data(), v.size() * sizeof(T));
}
}  // namespace

std::string sweep_hash(const SweepSpec& spec, const Dataset& d) {
  uint64_t h = 1469598103934665603ull;
  const std::string json = spec_to_json(spec);
  h = fnv1a(h, json.data(), json.size());
  for (const PointSet* s : {&d.train, &d.test}) {
    h = fnv1a(h, s->coords);
    h = fnv1a(h, s->labels);
    h = fnv1a(h, s->values);
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace netsweep
