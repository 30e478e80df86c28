// A plain forward pass of one stored network, for tools that recompute what
// a network does from its parameters (the renderer's hidden-space views and
// first-layer lines). The backends have their own fast passes; this one
// follows the same math (math.h) layer by layer, for a few thousand points.
#pragma once

#include <string>
#include <vector>

#include "netsweep/layout.h"
#include "netsweep/spec.h"

namespace netsweep {

// The layout of one network as stored in a results file: hidden widths from
// its "64-64-64" shape label, the file's inputs and outputs.
NetworkLayout single_network_layout(const std::string& hidden_shape, int inputs, int outputs);

// Every layer's activations for n points x (n, inputs): result[l] is
// (n, layers[l].out), the hidden activations for l < L-1 and the output
// activation (sigmoid, softmax or identity by loss) for the last layer.
std::vector<std::vector<float>> forward_layers(const NetworkLayout& net, Activation act, Loss loss,
                                               const float* params, const float* x, int n);
// The network from layer `first` on, given that layer's inputs h (n, layers[first].in).
std::vector<float> forward_from(const NetworkLayout& net, int first, Activation act, Loss loss, const float* params,
                                const float* h, int n);
// Layer l's pre-activations z = W h + b for n points h (n, layers[l].in): (n, layers[l].out).
std::vector<float> pre_activations(const NetworkLayout& net, int l, const float* params, const float* h, int n);

}  // namespace netsweep
