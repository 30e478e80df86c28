// The CPU backend end to end on small problems: learning, determinism,
// divergence isolation, early stopping and the frames it emits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <tuple>

#include "cpu_dispatch.h"
#include "cpu_network.h"
#include "netsweep/backend.h"
#include "netsweep/random.h"
#include "netsweep/run.h"
#include "recording_checkpointer.h"
#include "sweeps.h"

using namespace netsweep;
using netsweep::test::all_activations;
using netsweep::test::all_optimizers;

namespace {

struct CapturedFrames : FrameSink {
  int values_per_frame = 0;
  const TrainingProblem* problem = nullptr;
  std::mutex mutex;
  std::map<std::pair<int, int>, std::vector<float>> frames, maps;
  void write_frame(int index, int frame, const float* values) override {
    std::lock_guard<std::mutex> lock(mutex);
    frames[{index, frame}] = std::vector<float>(values, values + values_per_frame);
  }
  void write_neuron_maps(int index, int frame, const float* values) override {
    const size_t n = size_t(hidden_units(*problem, index)) * size_t(problem->neuron_grid_h * problem->neuron_grid_w);
    std::lock_guard<std::mutex> lock(mutex);
    maps[{index, frame}] = std::vector<float>(values, values + n);
  }
};

struct Outcome {
  std::vector<float> initial, params;
  std::vector<NetworkResult> results;
  CapturedFrames frames;
  TrainingProblem problem;
};

SweepSpec small_spec() {
  SweepSpec s;
  s.layers = {2};
  s.widths = {8};
  s.activations = {Activation::tanh};
  s.optimizers = {Optimizer::adam};
  s.learning_rates = {1e-2f};
  s.batch_sizes = {16};
  s.epochs = 20;
  s.features = {"x1", "x2"};
  s.snapshot_every = 10;
  s.grid = 9;
  return s;
}

Dataset generated(const std::string& name, int n = 120) {
  DataOptions o;
  o.datasets = {name};
  o.generator.n_points = n;
  o.generator.seed = 1;
  return load_data(o);
}

int64_t train(const SweepSpec& spec, const Dataset& data, Outcome& out, int threads = 2) {
  out.problem = build_problem(spec, data);
  out.frames.problem = &out.problem;
  out.params.assign(size_t(out.problem.layout.total), 0.0f);
  initialize_parameters(out.problem.layout, out.problem.networks, out.params.data());
  out.initial = out.params;
  out.frames.values_per_frame = out.problem.grid_h * out.problem.grid_w * out.problem.outputs;
  Progress progress;
  make_cpu_backend(threads)->train(out.problem, out.params, out.results, out.frames, progress, {});
  return progress.regions_shared.load();  // steps and frames shared by several threads
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::vector<float> network_params(const Outcome& o, int index) {
  const auto& n = o.problem.layout.networks[size_t(index)];
  return {o.params.begin() + n.offset, o.params.begin() + n.offset + n.count};
}

}  // namespace

TEST(CpuBackend, LossDecreasesOnSlidePointsFor3x64Relu) {
  const std::string dir = std::string(NETSWEEP_SHARED_DIR) + "/data/slide/";
  if (!std::ifstream(dir + "green_points.json")) GTEST_SKIP() << "slide points not found at " << dir;
  DataOptions o;
  o.points = {dir + "green_points.json:0", dir + "red_points.json:1"};
  SweepSpec s = small_spec();
  s.layers = {3};
  s.widths = {64};
  s.activations = {Activation::relu};
  s.learning_rates = {1e-3f};
  s.batch_sizes = {32};
  s.epochs = 150;
  s.snapshot_every = 50;
  Outcome out;
  train(s, load_data(o), out);
  const auto& r = out.results[0];
  EXPECT_EQ(r.status, NetStatus::trained);
  const float first = r.epoch_loss.front(), last = r.epoch_loss.back();
  std::printf("3x64 relu on the slide points: epoch loss %.4f -> %.4f, train accuracy %.3f -> %.3f\n", first, last,
              r.snapshot_train_accuracy.front(), r.snapshot_train_accuracy.back());
  EXPECT_LT(last, 0.6f * first);
  EXPECT_LT(r.snapshot_train_loss.back(), r.snapshot_train_loss.front());
  EXPECT_GT(r.snapshot_train_accuracy.back(), 0.85f);
}

TEST(CpuBackend, EveryActivationOptimizerAndLossTrainsWithoutNaN) {
  SweepSpec s = small_spec();
  s.activations = all_activations();
  s.optimizers = all_optimizers();
  s.learning_rates = {0.02f};
  s.shapes = {{3, 1, 3}};  // a bottleneck: must run, need not learn in 20 epochs
  s.batch_sizes = {0, 7};
  for (Loss loss : {Loss::bce, Loss::softmax, Loss::mse}) {
    s.loss = loss;
    Outcome out;
    train(s, generated("circle"), out);
    for (size_t i = 0; i < out.results.size(); ++i) {
      const auto& r = out.results[i];
      EXPECT_EQ(r.status, NetStatus::trained) << to_string(loss) << " network " << i;
      for (float v : r.epoch_loss) ASSERT_TRUE(std::isfinite(v)) << to_string(loss) << " network " << i;
      if (out.problem.networks[i].uniform)
        EXPECT_LT(r.epoch_loss.back(), r.epoch_loss.front() + 1e-6f)
            << to_string(loss) << " " << out.problem.networks[i].shape_label() << " "
            << to_string(out.problem.networks[i].activation) << " "
            << to_string(out.problem.networks[i].optimizer.kind);
    }
  }
}

TEST(CpuBackend, ResultsDoNotDependOnThreadCount) {
  SweepSpec s = small_spec();
  s.widths = {4, 16};
  s.seeds = 2;
  Outcome one, two;
  train(s, generated("xor"), one, 1);
  train(s, generated("xor"), two, 2);
  EXPECT_TRUE(same_bits(one.params, two.params));
  for (size_t i = 0; i < one.results.size(); ++i)
    EXPECT_TRUE(same_bits(one.results[i].epoch_loss, two.results[i].epoch_loss));
  EXPECT_EQ(one.frames.frames, two.frames.frames);
  // Replicas differ: different seeds give different initial weights.
  EXPECT_FALSE(same_bits(network_params(one, 0), network_params(one, 1)));
}

TEST(CpuBackend, IdleThreadsShareWideNetworksWithIdenticalResults) {
  // A wide network and more threads than networks: the idle threads join its
  // steps and frames (rows of each product, chunks of each frame), and every
  // result is the same bit for bit as on one thread. Once with a network that
  // trains, once with one that diverges (SGD at lr 50 on mse: its non-finite
  // step must be caught across the team), with a partial last batch.
  for (const auto& [lr, batch, status] :
       {std::tuple{1e-2f, 16, NetStatus::trained}, std::tuple{50.0f, 50, NetStatus::diverged}}) {
    SweepSpec s = small_spec();
    s.layers = {3};
    s.widths = {160};
    s.activations = {Activation::sigmoid};
    s.optimizers = {Optimizer::sgd};
    s.loss = Loss::mse;
    s.learning_rates = {lr};
    s.batch_sizes = {batch};
    s.grid = 40;  // frames of several evaluation chunks
    s.neuron_maps = InsideRule::all;
    s.neuron_grid = 24;
    s.epochs = 8;
    s.snapshot_every = 4;
    const Dataset data = generated("gauss", 130);
    Outcome one, three;
    EXPECT_EQ(train(s, data, one, 1), 0);
    // How many regions the helpers reach depends on when the scheduler runs them (3 threads on the
    // CI's 2 cores): one shared region is the claim, the identical bits below are the test.
    EXPECT_GT(train(s, data, three, 3), 0) << "no step or frame was shared";
    ASSERT_EQ(one.results.size(), 1u);
    EXPECT_EQ(one.results[0].status, status) << "lr " << lr;
    EXPECT_EQ(three.results[0].status, status) << "lr " << lr;
    EXPECT_EQ(one.results[0].epochs_trained, three.results[0].epochs_trained);
    EXPECT_TRUE(same_bits(one.params, three.params)) << "lr " << lr;
    EXPECT_TRUE(same_bits(one.results[0].epoch_loss, three.results[0].epoch_loss)) << "lr " << lr;
    EXPECT_TRUE(same_bits(one.results[0].snapshot_train_loss, three.results[0].snapshot_train_loss)) << lr;
    EXPECT_TRUE(same_bits(one.results[0].snapshot_train_accuracy, three.results[0].snapshot_train_accuracy)) << lr;
    EXPECT_EQ(one.frames.frames, three.frames.frames) << "lr " << lr;
    EXPECT_EQ(one.frames.maps, three.frames.maps) << "lr " << lr;
    EXPECT_EQ(one.frames.maps.size(), one.problem.frame_epochs.size());
  }
}

TEST(CpuBackend, DivergedNetworkIsFrozenAndIsolated) {
  // lr 1e3 with SGD on a linear network and mse explodes within a few steps.
  SweepSpec s = small_spec();
  s.activations = {Activation::linear};
  s.optimizers = {Optimizer::sgd};
  s.loss = Loss::mse;
  s.learning_rates = {1e-2f, 1e3f};
  Outcome mixed;
  train(s, generated("gauss"), mixed);
  const auto& bad = mixed.results[1];
  EXPECT_EQ(bad.status, NetStatus::diverged);
  EXPECT_LT(bad.epochs_trained, s.epochs);
  EXPECT_TRUE(std::isnan(bad.epoch_loss.back()));
  for (float p : network_params(mixed, 1)) ASSERT_TRUE(std::isfinite(p)) << "frozen parameters must stay finite";
  for (int f = 0; f < int(mixed.problem.frame_epochs.size()); ++f)
    EXPECT_EQ(mixed.frames.frames.count({1, f}), 1u) << "a diverged network still gets every frame";

  // The healthy network is bit-identical to the same network trained alone.
  s.learning_rates = {1e-2f};
  Outcome alone;
  train(s, generated("gauss"), alone);
  EXPECT_EQ(mixed.results[0].status, NetStatus::trained);
  EXPECT_TRUE(same_bits(mixed.results[0].epoch_loss, alone.results[0].epoch_loss));
  EXPECT_TRUE(same_bits(network_params(mixed, 0), network_params(alone, 0)));
  for (int f = 0; f < int(alone.problem.frame_epochs.size()); ++f)
    EXPECT_EQ(mixed.frames.frames.at({0, f}), alone.frames.frames.at({0, f}));
}

TEST(CpuBackend, EarlyStopFreezesTheNetwork) {
  SweepSpec s = small_spec();
  s.early_stop_loss = 10.0f;  // any finite bce loss is below: stops after the first epoch
  Outcome out;
  train(s, generated("circle"), out);
  const auto& r = out.results[0];
  EXPECT_EQ(r.status, NetStatus::early_stopped);
  EXPECT_EQ(r.epochs_trained, 1);
  EXPECT_TRUE(std::isfinite(r.epoch_loss[0]));
  EXPECT_TRUE(std::isnan(r.epoch_loss[1]));
  // Frames after the stop all show the same frozen network.
  EXPECT_EQ(out.frames.frames.at({0, 1}), out.frames.frames.at({0, 2}));
}

TEST(CpuBackend, FramesAreTheNetworkEvaluatedOnTheGrid) {
  SweepSpec s = small_spec();
  s.activations = {Activation::sigmoid};
  Outcome out;
  train(s, generated("spiral"), out);
  const auto& p = out.problem;
  ASSERT_EQ(out.frames.frames.size(), p.frame_epochs.size());
  // Frame 0 is the initial network: recompute a few grid points in double.
  const NetworkLayout& net = p.layout.networks[0];
  std::vector<double> params(out.initial.begin() + net.offset, out.initial.begin() + net.offset + net.count);
  const int points = p.grid_h * p.grid_w;
  cpu::Workspace<double> ws(net, points);
  cpu::load_batch(p.grid_x.data(), p.inputs, nullptr, 0, points, ws);
  cpu::forward<double, Activation::sigmoid>(net, params.data(), ws);
  std::vector<float> expect(size_t(points) * size_t(p.outputs));
  cpu::output_layer<double, float>(net, p.loss, 0, nullptr, nullptr, nullptr, 0, points, false, ws, expect.data());
  const auto& got = out.frames.frames.at({0, 0});
  int bad = 0;
  for (size_t k = 0; k < expect.size(); ++k)
    if (std::abs(got[k] - expect[k]) > 1e-6f + 1e-5f * std::abs(expect[k]) && bad++ < 5)
      ADD_FAILURE() << "frame value " << k << ": " << got[k] << " vs " << expect[k];
  // Grid row 0 is the top of the plane (largest y).
  EXPECT_GT(p.grid_x[1], p.grid_x[size_t(points - 1) * 2 + 1]);
  // Training moved the network: the last frame differs from the first.
  EXPECT_NE(out.frames.frames.at({0, 0}), out.frames.frames.at({0, int(p.frame_epochs.size()) - 1}));
}

// forward() compiled for each instruction set as the backend's entry points
// are (cpu_dispatch.h), so each set's vector math is the one that runs.
template <typename Tile>
void forward_any(Activation act, const NetworkLayout& net, const float* params, cpu::Workspace<float>& ws) {
  cpu::with_activation(act, [&](auto a) { cpu::forward<float, decltype(a)::value, Tile>(net, params, ws); });
}
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target("arch=x86-64-v4"), flatten)) void forward_avx512(Activation act, const NetworkLayout& net,
                                                                       const float* params, cpu::Workspace<float>& ws) {
  forward_any<cpu::Avx512Tile>(act, net, params, ws);
}
__attribute__((target("arch=x86-64-v3"), flatten)) void forward_avx2(Activation act, const NetworkLayout& net,
                                                                     const float* params, cpu::Workspace<float>& ws) {
  forward_any<cpu::Avx2Tile>(act, net, params, ws);
}
#endif

TEST(CpuBackend, VectorActivationLoopsMatchTheFormulaInDouble) {
  // The hidden activation loops run on glibc's vector math (cpu_vector_math.h):
  // a layer whose pre-activations are its biases (zero weights) must give
  // f(z) as the formula in double does, over ordinary and extreme z, in every
  // lane, with the code of each instruction set this CPU has.
  std::vector<float> zs = {0.f, 1e-30f, -1e-30f, 1e-6f, -50.f, 50.f, -88.f, 88.f, -100.f, 100.f, 1e30f, -1e30f};
  for (int k = 0; k <= 200; ++k) zs.push_back(-20.f + 0.2f * float(k));
  NetworkConfig cfg;
  cfg.hidden = {int(zs.size())};
  const PackedLayout layout = PackedLayout::build({cfg}, 1, 1);
  const NetworkLayout& net = layout.networks[0];
  std::vector<float> params(size_t(layout.total), 0.f);
  std::copy(zs.begin(), zs.end(), params.begin() + net.layers[0].biases);
  const std::vector<float> x(19, 0.5f);  // 19 samples: more than one vector of lanes
  using Forward = void (*)(Activation, const NetworkLayout&, const float*, cpu::Workspace<float>&);
  std::vector<std::pair<const char*, Forward>> codes = {{"x86-64", forward_any<cpu::DefaultTile>}};
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
  if (__builtin_cpu_supports("x86-64-v3")) codes.emplace_back("AVX2", forward_avx2);
  if (__builtin_cpu_supports("x86-64-v4")) codes.emplace_back("AVX-512", forward_avx512);
#endif
  for (const auto& [code, forward] : codes)
    for (Activation act : test::all_activations()) {
      cpu::Workspace<float> ws(net, int(x.size()));
      cpu::load_batch(x.data(), 1, nullptr, 0, int(x.size()), ws);
      forward(act, net, params.data(), ws);
      int bad = 0;
      for (size_t u = 0; u < zs.size(); ++u) {
        const double want = activate<double>(act, double(zs[u]));
        for (int b = 0; b < int(x.size()); ++b) {
          const float got = ws.a[1][u * size_t(ws.capacity) + size_t(b)];
          if (!(std::abs(double(got) - want) <= 4e-7 * std::max(1.0, std::abs(want))) && bad++ < 5)
            ADD_FAILURE() << code << " " << to_string(act) << "(" << zs[u] << ") = " << got << ", in double " << want
                          << " (sample " << b << ")";
        }
      }
    }
}

TEST(CpuBackend, LayerProductsOfTheBenchAreTheStepsProducts) {
  // `bench --by-width` times cpu::layer_products: it must compute what the
  // step computes (z = W x, dx = W^T dz, dW = dz x^T over `count` samples).
  const int m = 40, k = 27, count = 29, n = cpu::padded(count), k_pad = cpu::padded(k);
  auto value = [](int stream, size_t i) { return float(random_uniform01(9, uint64_t(stream), uint64_t(i)) - 0.5); };
  std::vector<float> w(size_t(m * k)), x(size_t(k * n), 0.f), x_t(size_t(n * k_pad), 0.f), dz(size_t(m * n), 0.f);
  for (size_t i = 0; i < w.size(); ++i) w[i] = value(1, i);
  for (int i = 0; i < k; ++i)
    for (int b = 0; b < count; ++b) x[size_t(i * n + b)] = x_t[size_t(b * k_pad + i)] = value(2, size_t(i * n + b));
  for (int o = 0; o < m; ++o)
    for (int b = 0; b < count; ++b) dz[size_t(o * n + b)] = value(3, size_t(o * n + b));
  std::vector<float> z(size_t(m * n)), dx(size_t(k * n)), dw(size_t(m * k));
  cpu::layer_products({w.data(), x.data(), x_t.data(), dz.data(), z.data(), dx.data(), dw.data(), m, n, k, count});
  int bad = 0;
  auto expect = [&](const char* what, float got, double want) {
    if (!(std::abs(double(got) - want) <= 1e-5) && bad++ < 5) ADD_FAILURE() << what << ": " << got << " vs " << want;
  };
  for (int o = 0; o < m; ++o)
    for (int b = 0; b < count; ++b) {
      double s = 0;
      for (int i = 0; i < k; ++i) s += double(w[size_t(o * k + i)]) * x[size_t(i * n + b)];
      expect("z", z[size_t(o * n + b)], s);
    }
  for (int i = 0; i < k; ++i)
    for (int b = 0; b < count; ++b) {
      double s = 0;
      for (int o = 0; o < m; ++o) s += double(w[size_t(o * k + i)]) * dz[size_t(o * n + b)];
      expect("dx", dx[size_t(i * n + b)], s);
    }
  for (int o = 0; o < m; ++o)
    for (int i = 0; i < k; ++i) {
      double s = 0;
      for (int b = 0; b < count; ++b) s += double(dz[size_t(o * n + b)]) * x[size_t(i * n + b)];
      expect("dW", dw[size_t(o * k + i)], s);
    }
  EXPECT_EQ(bad, 0);
}

TEST(CpuBackend, FramesWideTileGivesTheStepsTileBits) {
  // A frame's forward pass (256 columns) runs on the tile's `wide` shape: every
  // output is the same sum in the same order, so the same bits as the step's
  // shape; and the right values, with rows and inputs that are not multiples
  // of either shape.
  // Sizes the compiler cannot see: with constants, GCC warns about the
  // remainder tiles' loops, which these sizes never enter.
  volatile int sizes[3] = {37, 45, 256};
  const int rows = sizes[0], in = sizes[1], cap = sizes[2];
  auto value = [](int stream, size_t i) { return float(random_uniform01(11, uint64_t(stream), uint64_t(i)) - 0.5); };
  std::vector<float> w(size_t(rows * in)), x(size_t(in * cap)), bias(static_cast<size_t>(rows));
  for (size_t i = 0; i < w.size(); ++i) w[i] = value(1, i);
  for (size_t i = 0; i < x.size(); ++i) x[i] = value(2, i);
  for (size_t i = 0; i < bias.size(); ++i) bias[i] = value(3, i);
  std::vector<float> wide(size_t(rows * cap)), step(size_t(rows * cap));
  using Step = cpu::TileShape<cpu::Avx512Tile::rows, cpu::Avx512Tile::vectors>;  // the step's shape alone
  static_assert(cpu::Avx512Tile::wide::vectors != Step::vectors, "the frame's shape is its own");
  cpu::output_product<float, cpu::Avx512Tile>(w.data(), in, x.data(), cap, wide.data(), rows, bias.data());
  cpu::output_product<float, Step>(w.data(), in, x.data(), cap, step.data(), rows, bias.data());
  int bad = 0;
  for (int o = 0; o < rows; ++o)
    for (int b = 0; b < cap; ++b) {
      const size_t k = size_t(o * cap + b);
      double s = bias[size_t(o)];
      for (int i = 0; i < in; ++i) s += double(w[size_t(o * in + i)]) * x[size_t(i * cap + b)];
      if ((wide[k] != step[k] || !(std::abs(double(wide[k]) - s) <= 1e-5)) && bad++ < 5)
        ADD_FAILURE() << "z[" << o << "][" << b << "]: wide tile " << wide[k] << ", step's tile " << step[k]
                      << ", double " << s;
    }
  EXPECT_EQ(bad, 0);
}

template <typename T>
void check_sample_transpose(int rows) {
  // backward()'s x_t: samples [16, 32) of x (rows, 48) transposed into rows
  // 16..31 of x_t (48, padded(rows)), zero past `rows`; other rows untouched.
  const int cap = 48, ldx = cpu::padded(rows);
  std::vector<T> x(size_t(rows) * cap), x_t(size_t(cap) * size_t(ldx), T(-7));
  for (size_t k = 0; k < x.size(); ++k) x[k] = T(k) + T(0.25);
  cpu::transpose_samples(x.data(), rows, cap, x_t.data(), ldx, 16, 32);
  int bad = 0;
  for (int b = 0; b < cap; ++b)
    for (int i = 0; i < ldx; ++i) {
      const T want = b < 16 || b >= 32 ? T(-7) : i < rows ? x[size_t(i) * cap + size_t(b)] : T(0);
      const T got = x_t[size_t(b) * size_t(ldx) + size_t(i)];
      if (got != want && bad++ < 5)
        ADD_FAILURE() << sizeof(T) << "-byte, " << rows << " rows: x_t[" << b << "][" << i << "] = " << got << ", not "
                      << want;
    }
  EXPECT_EQ(bad, 0);
}

TEST(CpuBackend, SampleTransposeIsTheTranspose) {
  for (int rows : {2, 17, 384}) {
    check_sample_transpose<float>(rows);
    check_sample_transpose<double>(rows);
  }
}

TEST(CpuBackend, WorkspaceBuffersStartOnCacheLines) {
  // A 64-byte vector load from a buffer 16 bytes off a cache line splits
  // across two lines; the step's buffers must not be (plain std::vector
  // storage of this size is 16 bytes off with glibc).
  NetworkConfig cfg;
  cfg.hidden = {384, 100, 7};
  const PackedLayout layout = PackedLayout::build({cfg}, 2, 2);
  cpu::Workspace<float> ws(layout.networks[0], 29);
  std::vector<const float*> buffers{ws.delta.data(), ws.delta_next.data(), ws.inputs_t.data()};
  for (size_t l = 0; l < ws.a.size(); ++l) buffers.push_back(ws.a[l].data());
  for (size_t l = 1; l < ws.z.size(); ++l) buffers.push_back(ws.z[l].data());
  for (const float* p : buffers) EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % cpu::kCacheLine, 0u);
  for (size_t n : {1, 17, 1000, 1 << 20}) {
    cpu::aligned_vector<float> v(n);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data()) % cpu::kCacheLine, 0u) << n << " floats";
  }
}

TEST(CpuBackend, StopAndResumeIsBitIdentical) {
  SweepSpec s = small_spec();
  s.widths = {4, 32};
  s.activations = {Activation::relu, Activation::sigmoid};
  s.batch_sizes = {16, 0};
  s.epochs = 30;
  s.snapshot_every = 7;
  const Dataset data = generated("moons", 150);
  Outcome whole;
  train(s, data, whole);

  for (int stop_after : {1, 5, 13}) {
    test::RecordingCheckpointer ck(stop_after);
    Outcome part;
    part.problem = build_problem(s, data);
    part.frames.problem = &part.problem;
    part.params.assign(size_t(part.problem.layout.total), 0.0f);
    initialize_parameters(part.problem.layout, part.problem.networks, part.params.data());
    part.frames.values_per_frame = part.problem.grid_h * part.problem.grid_w * part.problem.outputs;
    Progress progress;
    EXPECT_FALSE(
        make_cpu_backend(2)->train(part.problem, part.params, part.results, part.frames, progress, ck.control()));
    // At least one network stopped between two epochs' steps, not at a boundary.
    // Resume from the recorded states (networks never started begin afresh).
    const auto resume = ck.resume_states(part.problem.networks.size());
    TrainControl again;
    again.resume = &resume;
    std::vector<float> params(size_t(part.problem.layout.total));
    initialize_parameters(part.problem.layout, part.problem.networks, params.data());
    std::vector<NetworkResult> results;
    EXPECT_TRUE(make_cpu_backend(2)->train(part.problem, params, results, part.frames, progress, again));
    EXPECT_TRUE(same_bits(params, whole.params)) << "stop after " << stop_after;
    for (size_t i = 0; i < results.size(); ++i) {
      EXPECT_TRUE(same_bits(results[i].epoch_loss, whole.results[i].epoch_loss)) << "network " << i;
      EXPECT_TRUE(same_bits(results[i].snapshot_train_loss, whole.results[i].snapshot_train_loss)) << "network " << i;
      EXPECT_EQ(results[i].status, whole.results[i].status);
    }
    EXPECT_EQ(part.frames.frames, whole.frames.frames) << "stop after " << stop_after;
  }
}
