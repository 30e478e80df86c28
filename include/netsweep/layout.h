// The packed parameter buffer: every network's parameters in one float array,
// shared by the CPU and GPU backends and written as-is to result files
// (weights/initial, weights/final with weights/offsets).
//
// Network n occupies [offset[n], offset[n] + count[n]). Inside it, layer by
// layer from the input side:
//   W_l  (out_l, in_l) row-major: W_l[o * in_l + i] connects input i to unit o
//   b_l  (out_l,)
// in_0 = number of input features, out_last = number of outputs. Each
// network's block starts on a multiple of kNetworkAlignment floats (128 bytes)
// so vector loads and coalesced device reads stay aligned; the gap is zero.
// Optimizer state (Adam's m and v, momentum's velocity) uses the same layout
// in buffers of the same size.
#pragma once

#include <cstdint>
#include <vector>

#include "netsweep/spec.h"

namespace netsweep {

constexpr int64_t kNetworkAlignment = 32;

struct LayerView {
  int in = 0, out = 0;
  int64_t weights = 0;  // offset of W (out, in) from the network's start
  int64_t biases = 0;   // offset of b (out,)
};

struct NetworkLayout {
  int64_t offset = 0;  // into the packed buffer
  int64_t count = 0;   // parameters (without alignment padding)
  std::vector<LayerView> layers;
  int max_width = 0;  // widest layer including inputs and outputs
};

struct PackedLayout {
  int inputs = 0, outputs = 0;
  std::vector<NetworkLayout> networks;
  int64_t total = 0;  // floats in the buffer, padding included

  static PackedLayout build(const std::vector<NetworkConfig>& nets, int inputs, int outputs);
  std::vector<int64_t> offsets() const;  // (networks + 1,) for the file's weights/offsets
};

// Glorot-uniform weights from each network's own stream
// (NetworkConfig::stream_key(), kDomainInit, index within the network) and
// zero biases, into a buffer of layout.total floats.
void initialize_parameters(const PackedLayout& layout, const std::vector<NetworkConfig>& nets, float* params);

// Multiply-adds of one sample's forward pass (training ~ 3x that).
int64_t forward_macs(const NetworkLayout& net);

}  // namespace netsweep
