// The math header and the CPU passes built on it: finite-difference gradient
// checks for every activation x loss, and optimizer steps against numbers
// computed by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "cpu_network.h"
#include "netsweep/layout.h"
#include "netsweep/math.h"
#include "netsweep/random.h"

using namespace netsweep;

namespace {

const Activation kActivations[] = {Activation::sigmoid,    Activation::tanh, Activation::relu, Activation::linear,
                                   Activation::leaky_relu, Activation::elu,  Activation::gelu, Activation::sine};
const Loss kLosses[] = {Loss::bce, Loss::mse, Loss::softmax};

// A small double-precision problem: 2 inputs -> 4 -> 3 -> outputs, batch of 5.
struct SmallProblem {
  NetworkConfig cfg;
  PackedLayout layout;
  std::vector<double> params, x, y;
  std::vector<int32_t> rows{0, 1, 2, 3, 4};
  int outputs;

  SmallProblem(Loss loss, uint64_t seed) : outputs(loss == Loss::softmax ? 3 : 2) {
    cfg.hidden = {4, 3};
    cfg.seed = seed;
    layout = PackedLayout::build({cfg}, 2, outputs);
    std::vector<float> p(size_t(layout.total));
    initialize_parameters(layout, {cfg}, p.data());
    params.assign(p.begin(), p.end());
    // Non-zero biases so every unit's pre-activation moves away from relu's kink.
    for (const auto& l : layout.networks[0].layers)
      for (int o = 0; o < l.out; ++o) params[size_t(l.biases + o)] = 0.1 * (o + 1) * (o % 2 ? -1 : 1);
    for (int i = 0; i < 5 * 2; ++i) x.push_back(2.0 * random_uniform01(seed, 99, uint64_t(i)) - 1.0);
    for (int b = 0; b < 5; ++b)
      for (int k = 0; k < outputs; ++k) {
        const double u = random_uniform01(seed, 98, uint64_t(b * outputs + k));
        y.push_back(loss == Loss::mse ? 2 * u - 1 : (loss == Loss::softmax ? (k == b % outputs) : (u > 0.5)));
      }
  }

  template <Activation A>
  double loss_and_grad(Loss loss, const std::vector<double>& p, std::vector<double>* grad) {
    const NetworkLayout& net = layout.networks[0];
    cpu::Workspace<double> ws(net, 5);
    cpu::load_batch(x.data(), 2, rows.data(), 0, 5, ws);
    cpu::forward<double, A>(net, p.data(), ws);
    const auto stats =
        cpu::output_layer<double>(net, loss, 0, y.data(), nullptr, rows.data(), 0, 5, grad != nullptr, ws);
    if (grad) {
      grad->assign(size_t(net.count), 0.0);
      cpu::backward<double, A>(net, p.data(), ws, grad->data(), 5);
    }
    return stats.loss_sum / 5;
  }
};

template <Activation A>
void check_gradient(Loss loss) {
  SmallProblem prob(loss, 7 + uint64_t(A));
  std::vector<double> grad;
  prob.loss_and_grad<A>(loss, prob.params, &grad);
  const double h = 1e-6, atol = 1e-7, rtol = 1e-5;
  int mismatches = 0;
  for (size_t k = 0; k < grad.size(); ++k) {
    auto plus = prob.params, minus = prob.params;
    plus[k] += h;
    minus[k] -= h;
    const double fd =
        (prob.loss_and_grad<A>(loss, plus, nullptr) - prob.loss_and_grad<A>(loss, minus, nullptr)) / (2 * h);
    if (std::abs(grad[k] - fd) > atol + rtol * std::abs(fd) && mismatches++ < 5)
      ADD_FAILURE() << to_string(A) << " x " << to_string(loss) << ": parameter " << k << " analytic " << grad[k]
                    << " vs finite difference " << fd;
  }
  EXPECT_EQ(mismatches, 0) << to_string(A) << " x " << to_string(loss);
  // The check must be able to fail: the gradient is not all zero.
  double norm = 0;
  for (double g : grad) norm += g * g;
  EXPECT_GT(norm, 1e-8);
}

}  // namespace

TEST(Math, GradientsMatchFiniteDifferencesForEveryActivationAndLoss) {
  for (Loss loss : kLosses)
    for (Activation act : kActivations)
      cpu::with_activation(act, [&](auto a) { check_gradient<decltype(a)::value>(loss); });
}

TEST(Math, ActivationDerivativesMatchFiniteDifferences) {
  for (Activation act : kActivations)
    for (double z : {-2.3, -0.7, 0.4, 1.9}) {
      const double h = 1e-6;
      const double fd = (activate<double>(act, z + h) - activate<double>(act, z - h)) / (2 * h);
      EXPECT_NEAR(activate_derivative<double>(act, z, activate<double>(act, z)), fd, 1e-7)
          << to_string(act) << " at " << z;
    }
}

TEST(Math, ActivationValues) {
  EXPECT_DOUBLE_EQ(activate<double>(Activation::sigmoid, 0.0), 0.5);
  EXPECT_DOUBLE_EQ(activate<double>(Activation::relu, -3.0), 0.0);
  EXPECT_DOUBLE_EQ(activate<double>(Activation::leaky_relu, -3.0), -3.0 * double(kLeakyReluSlope));
  EXPECT_NEAR(activate<double>(Activation::elu, -1.0), std::exp(-1.0) - 1.0, 1e-15);
  EXPECT_NEAR(activate<double>(Activation::gelu, 1.0), 0.8413447460685429, 1e-12);  // x * Phi(x)
  EXPECT_DOUBLE_EQ(activate<double>(Activation::sine, 0.5), std::sin(0.5));
  EXPECT_DOUBLE_EQ(activate_derivative<double>(Activation::relu, 0.0, 0.0), 0.0);
}

TEST(Math, BceIsClippedLikeKeras) {
  // p = sigmoid(40) rounds to 1 in float: it is clipped to 1 - 1e-7 (which is
  // 1 - 2^-23 in float, as in Keras and PyTorch), so the loss for y = 0 is
  // -log(2^-23) = 15.942 and the gradient is 0.
  float z = 40, y = 0, p, dz;
  const float loss = output_loss_and_grad<float>(Loss::bce, &z, &y, 1, &p, &dz);
  EXPECT_NEAR(loss, 23 * std::log(2.0), 1e-4);
  EXPECT_EQ(dz, 0.0f);
}

TEST(Math, AdamTwoStepsMatchHandComputedValues) {
  // Keras Adam(lr=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7), p0 = 0.5, g = 0.2 then -0.1:
  //  t=1: m = 0.02,  v = 4e-5,     lr_t = 1e-3*sqrt(0.001)/0.1 = 3.16227766e-4,
  //       p = 0.5 - lr_t * 0.02 / (sqrt(4e-5) + 1e-7) = 0.49900001581
  //  t=2: m = 0.008, v = 4.996e-5, lr_t = 1e-3*sqrt(1-0.999^2)/(1-0.9^2) = 2.35316725e-4,
  //       p = 0.49900001581 - lr_t * 0.008 / (sqrt(4.996e-5) + 1e-7) = 0.49873368254
  OptimizerConfig adam;
  double p = 0.5, m = 0, v = 0;
  optimizer_update<double>(adam, adam_step_size(1e-3, 0.9, 0.999, 1), 0.2, p, m, v);
  EXPECT_NEAR(m, 0.02, 1e-12);
  EXPECT_NEAR(v, 4e-5, 1e-12);
  EXPECT_NEAR(p, 0.49900001581, 1e-9);
  optimizer_update<double>(adam, adam_step_size(1e-3, 0.9, 0.999, 2), -0.1, p, m, v);
  EXPECT_NEAR(adam_step_size(1e-3, 0.9, 0.999, 2), 2.35316725e-4, 1e-12);
  EXPECT_NEAR(p, 0.49873368254, 1e-9);
  // The float path (what the backend runs) agrees to float precision.
  float pf = 0.5f, mf = 0, vf = 0;
  optimizer_update<float>(adam, float(adam_step_size(1e-3, 0.9, 0.999, 1)), 0.2f, pf, mf, vf);
  EXPECT_NEAR(pf, 0.49900001581f, 1e-7f);
}

TEST(Math, SgdAndMomentumStepsMatchHandComputedValues) {
  OptimizerConfig sgd;
  sgd.kind = Optimizer::sgd;
  double p = 0.5, s1 = 0, s2 = 0;
  optimizer_update<double>(sgd, 0.1, 0.2, p, s1, s2);
  EXPECT_DOUBLE_EQ(p, 0.5 - 0.1 * 0.2);  // 0.48

  OptimizerConfig momentum;
  momentum.kind = Optimizer::momentum;  // Keras: u = 0.9 u - lr g; p += u
  p = 0.5, s1 = 0;
  optimizer_update<double>(momentum, 0.1, 0.2, p, s1, s2);
  EXPECT_NEAR(p, 0.48, 1e-15);  // u = -0.02
  optimizer_update<double>(momentum, 0.1, 0.2, p, s1, s2);
  EXPECT_NEAR(s1, -0.038, 1e-15);  // u = 0.9 * -0.02 - 0.02
  EXPECT_NEAR(p, 0.442, 1e-15);
}

TEST(Math, RegularizationGradientMatchesFiniteDifference) {
  const double l1 = 0.03, l2 = 0.2;
  for (double w : {-0.8, 0.3}) {
    auto penalty = [&](double x) { return l1 * std::abs(x) + l2 * x * x; };
    const double fd = (penalty(w + 1e-6) - penalty(w - 1e-6)) / 2e-6;
    EXPECT_NEAR(regularized_gradient<double>(0.0, w, l1, l2), fd, 1e-8);
  }
}

TEST(Math, GlorotUniformRangeAndSpread) {
  NetworkConfig cfg;
  cfg.hidden = {64};
  const PackedLayout layout = PackedLayout::build({cfg}, 2, 2);
  std::vector<float> p(size_t(layout.total));
  initialize_parameters(layout, {cfg}, p.data());
  const auto& l = layout.networks[0].layers[1];  // 64 -> 2
  const double limit = std::sqrt(6.0 / 66.0);
  double lo = 1, hi = -1;
  for (int k = 0; k < 128; ++k) {
    lo = std::min(lo, double(p[size_t(l.weights + k)]));
    hi = std::max(hi, double(p[size_t(l.weights + k)]));
  }
  EXPECT_GE(lo, -limit);
  EXPECT_LE(hi, limit);
  EXPECT_LT(lo, -0.8 * limit);  // 128 draws cover most of the range
  EXPECT_GT(hi, 0.8 * limit);
  for (int o = 0; o < 2; ++o) EXPECT_EQ(p[size_t(l.biases + o)], 0.0f);
}

TEST(Random, EpochPermutationIsAPermutationAndDependsOnEpoch) {
  std::vector<int32_t> a(747), b(747);
  epoch_permutation(123, 0, a.data(), 747);
  epoch_permutation(123, 1, b.data(), 747);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 747; ++i) ASSERT_EQ(sorted[size_t(i)], i);
  EXPECT_NE(a, b);
  std::vector<int32_t> again(747);
  epoch_permutation(123, 0, again.data(), 747);
  EXPECT_EQ(a, again);
}
