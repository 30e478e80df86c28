#include "netsweep/layout.h"

#include <algorithm>

#include "netsweep/math.h"
#include "netsweep/random.h"

namespace netsweep {

PackedLayout PackedLayout::build(const std::vector<NetworkConfig>& nets, int inputs, int outputs) {
  PackedLayout layout;
  layout.inputs = inputs;
  layout.outputs = outputs;
  int64_t cursor = 0;
  for (const auto& cfg : nets) {
    NetworkLayout net;
    net.offset = cursor;
    int in = inputs;
    net.max_width = std::max(inputs, outputs);
    std::vector<int> widths = cfg.hidden;
    widths.push_back(outputs);
    for (int out : widths) {
      LayerView layer;
      layer.in = in;
      layer.out = out;
      layer.weights = net.count;
      layer.biases = net.count + int64_t(in) * out;
      net.count = layer.biases + out;
      net.layers.push_back(layer);
      net.max_width = std::max(net.max_width, out);
      in = out;
    }
    cursor += (net.count + kNetworkAlignment - 1) / kNetworkAlignment * kNetworkAlignment;
    layout.networks.push_back(std::move(net));
  }
  layout.total = cursor;
  return layout;
}

std::vector<int64_t> PackedLayout::offsets() const {
  std::vector<int64_t> out;
  for (const auto& n : networks) out.push_back(n.offset);
  out.push_back(total);
  return out;
}

int64_t forward_macs(const NetworkLayout& net) {
  int64_t macs = 0;
  for (const auto& l : net.layers) macs += int64_t(l.in) * l.out;
  return macs;
}

}  // namespace netsweep

namespace netsweep {

void initialize_parameters(const PackedLayout& layout, const std::vector<NetworkConfig>& nets, float* params) {
  std::fill(params, params + layout.total, 0.0f);  // biases and padding are zero
  for (size_t n = 0; n < nets.size(); ++n) {
    const NetworkLayout& net = layout.networks[n];
    const uint64_t key = nets[n].stream_key();
    for (const LayerView& l : net.layers)
      for (int64_t k = 0; k < int64_t(l.in) * l.out; ++k) {
        const int64_t index = l.weights + k;  // position within the network: stable across sweeps
        params[net.offset + index] = glorot_uniform(random_uniform01(key, kDomainInit, uint64_t(index)), l.in, l.out);
      }
  }
}

}  // namespace netsweep
