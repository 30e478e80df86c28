#include "netsweep/forward.h"

#include <sstream>

#include "netsweep/math.h"

namespace netsweep {

NetworkLayout single_network_layout(const std::string& hidden_shape, int inputs, int outputs) {
  NetworkConfig c;
  c.hidden = parse_shape(hidden_shape);
  return PackedLayout::build({c}, inputs, outputs).networks.at(0);
}

std::vector<float> pre_activations(const NetworkLayout& net, int l, const float* params, const float* h, int n) {
  const LayerView& L = net.layers.at(size_t(l));
  const float* W = params + L.weights;  // (out, in)
  const float* b = params + L.biases;
  std::vector<float> z(size_t(n) * size_t(L.out));
  for (int i = 0; i < n; ++i)
    for (int o = 0; o < L.out; ++o) {
      float acc = b[o];
      for (int k = 0; k < L.in; ++k) acc += W[size_t(o) * size_t(L.in) + size_t(k)] * h[size_t(i) * size_t(L.in) + size_t(k)];
      z[size_t(i) * size_t(L.out) + size_t(o)] = acc;
    }
  return z;
}

namespace {
// Activation of layer l in place on z (n, out).
void activate_layer(const NetworkLayout& net, int l, Activation act, Loss loss, std::vector<float>& z, int n) {
  const int out = net.layers[size_t(l)].out;
  if (size_t(l) + 1 < net.layers.size()) {
    for (float& v : z) v = activate<float>(act, v);
    return;
  }
  for (int i = 0; i < n; ++i) output_activation<float>(loss, z.data() + size_t(i) * size_t(out), out);
}
}  // namespace

std::vector<std::vector<float>> forward_layers(const NetworkLayout& net, Activation act, Loss loss,
                                               const float* params, const float* x, int n) {
  std::vector<std::vector<float>> out;
  const float* h = x;
  for (size_t l = 0; l < net.layers.size(); ++l) {
    std::vector<float> z = pre_activations(net, int(l), params, h, n);
    activate_layer(net, int(l), act, loss, z, n);
    out.push_back(std::move(z));
    h = out.back().data();
  }
  return out;
}

std::vector<float> forward_from(const NetworkLayout& net, int first, Activation act, Loss loss, const float* params,
                                const float* h, int n) {
  std::vector<float> cur(h, h + size_t(n) * size_t(net.layers.at(size_t(first)).in));
  for (size_t l = size_t(first); l < net.layers.size(); ++l) {
    std::vector<float> z = pre_activations(net, int(l), params, cur.data(), n);
    activate_layer(net, int(l), act, loss, z, n);
    cur = std::move(z);
  }
  return cur;
}

}  // namespace netsweep
