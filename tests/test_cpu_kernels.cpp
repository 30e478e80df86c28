// The CPU backend's kernels one by one, against the formulas: the vector
// activation loops of each instruction set, the three products of a step (and
// the frame's wide tile), the sample transpose, the bench's optimizer pass and
// the workspace's alignment. The backend end to end is test_cpu_backend.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cpu_dispatch.h"
#include "cpu_network.h"
#include "netsweep/layout.h"
#include "netsweep/random.h"
#include "sweeps.h"

using namespace netsweep;

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

TEST(CpuBackend, ProductsLeavingOutZeroRowsGiveTheSameBits) {
  // Each product with the rows of its summed operand that are zero left out
  // (nonzero_rows(): edges, a run longer than a tile, a lone row), against the
  // same product over all rows: every bit equal, in the step's tile and in
  // the frame's wide one (cap 256), and with every row zero (empty lists).
  volatile int sizes[3] = {37, 61, 256};  // not multiples of any tile (see above)
  const int rows = sizes[0], in = sizes[1];
  auto value = [](int stream, size_t i) { return float(random_uniform01(12, uint64_t(stream), uint64_t(i)) - 0.5); };
  auto zero = [](int i, bool all) { return all || i == 0 || (i >= 5 && i < 23) || i == 30 || i == 36 || i >= 58; };
  using Tile = cpu::Avx512Tile;
  for (int cap : {32, int(sizes[2])})
    for (bool all : {false, true}) {
      SCOPED_TRACE("cap " + std::to_string(cap) + (all ? ", every row zero" : ""));
      auto expect_same = [&](const std::vector<float>& a, const std::vector<float>& b, const char* what) {
        int bad = 0;
        for (size_t k = 0; k < a.size(); ++k)
          if (std::memcmp(&a[k], &b[k], sizeof(float)) != 0 && bad++ < 5)
            ADD_FAILURE() << what << "[" << k << "]: " << a[k] << " with rows left out, " << b[k] << " without";
        EXPECT_EQ(bad, 0) << what;
      };
      std::vector<float> w(size_t(rows * in)), bias(static_cast<size_t>(rows)), x(size_t(in * cap)),
          dz(size_t(rows * cap));
      for (size_t i = 0; i < w.size(); ++i) w[i] = value(1, i);
      for (size_t i = 0; i < bias.size(); ++i) bias[i] = value(2, i);
      for (size_t i = 0; i < x.size(); ++i) x[i] = zero(int(i) / cap, all) ? (i % 2 ? -0.f : 0.f) : value(3, i);
      for (size_t i = 0; i < dz.size(); ++i) dz[i] = zero(int(i) / cap, all) ? 0.f : value(4, i);
      std::vector<int> x_rows(static_cast<size_t>(in)), dz_rows(static_cast<size_t>(rows));
      const int nx = cpu::nonzero_rows(x.data(), in, cap, x_rows.data());
      const int nd = cpu::nonzero_rows(dz.data(), rows, cap, dz_rows.data());
      EXPECT_EQ(nx, all ? 0 : in - 24);
      EXPECT_EQ(nd, all ? 0 : rows - 21);
      // z = W x + b over x's nonzero rows.
      std::vector<float> z_list(size_t(rows * cap)), z_all(z_list.size());
      cpu::output_product<float, Tile, true>(w.data(), in, x.data(), cap, z_list.data(), rows, bias.data(),
                                             x_rows.data(), nx);
      cpu::output_product<float, Tile>(w.data(), in, x.data(), cap, z_all.data(), rows, bias.data());
      expect_same(z_list, z_all, "z");
      // dx = W^T dz over dz's nonzero rows, in two panels, the second continuing the first's sums.
      std::vector<float> dx_list(size_t(in * cap)), dx_all(dx_list.size());
      const int half = 16,
                first_half = int(std::lower_bound(dz_rows.begin(), dz_rows.begin() + nd, half) - dz_rows.begin());
      cpu::input_gradient_product<float, Tile, false, true>(w.data(), in, dz.data(), cap, dx_list.data(), in, half,
                                                            dz_rows.data(), first_half);
      cpu::input_gradient_product<float, Tile, true, true>(w.data(), in, dz.data(), cap, dx_list.data(), in,
                                                           rows - half, dz_rows.data() + first_half, nd - first_half);
      cpu::input_gradient_product<float, Tile>(w.data(), in, dz.data(), cap, dx_all.data(), in, half);
      cpu::input_gradient_product<float, Tile, true>(w.data() + size_t(half) * in, in, dz.data() + size_t(half) * cap,
                                                     cap, dx_all.data(), in, rows - half);
      expect_same(dx_list, dx_all, "dx");
      // dW = dz x^T on dz's nonzero rows; the others are +0, as the sums over all rows give.
      const int count = cap - 3;
      std::vector<float> x_t(size_t(cap) * size_t(cpu::padded(in)));
      cpu::transpose_samples(x.data(), in, cap, x_t.data(), cpu::padded(in), 0, cap);
      std::vector<float> g_list(size_t(rows * in), 0.f), g_all(g_list.size());
      cpu::weight_gradient_product<float, Tile, true>(dz.data(), cap, x_t.data(), cpu::padded(in), g_list.data(), in,
                                                      rows, in, count, dz_rows.data(), nd);
      cpu::weight_gradient_product<float, Tile>(dz.data(), cap, x_t.data(), cpu::padded(in), g_all.data(), in, rows, in,
                                                count);
      expect_same(g_list, g_all, "dW");
    }
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

TEST(CpuBackend, OptimizerPassOfTheBenchIsTheStepsAdam) {
  // `bench --by-width` times cpu::optimizer_pass against its stream variant: the first must be the
  // step's Adam (Keras defaults, lr 1e-3) on every block, the second the same loads and stores.
  const int64_t count = 1000;
  const int block = 96;  // the last block is partial
  auto value = [](int stream, size_t i) { return float(random_uniform01(11, uint64_t(stream), uint64_t(i)) - 0.5); };
  std::vector<float> params(count), grad(block), m(count), v(count), next(count, -9.f);
  for (size_t i = 0; i < params.size(); ++i) params[i] = value(1, i), m[i] = value(2, i), v[i] = std::abs(value(3, i));
  for (size_t i = 0; i < grad.size(); ++i) grad[i] = value(4, i);
  std::vector<float> m1 = m, v1 = v;
  cpu::optimizer_pass({params.data(), grad.data(), m1.data(), v1.data(), next.data(), count, block, false});
  const OptimizerConfig adam;
  int bad = 0;
  for (int64_t k = 0; k < count; ++k) {
    double p = params[size_t(k)], s1 = m[size_t(k)], s2 = v[size_t(k)];
    optimizer_update_as<Optimizer::adam, double>(adam, 1e-3, grad[size_t(k % block)], p, s1, s2);
    const bool ok = std::abs(next[size_t(k)] - p) <= 1e-6 * (1 + std::abs(p)) && std::abs(m1[size_t(k)] - s1) <= 1e-6 &&
                    std::abs(v1[size_t(k)] - s2) <= 1e-6;
    if (!ok && bad++ < 5)
      ADD_FAILURE() << "parameter " << k << ": next " << next[size_t(k)] << " vs " << p << ", m " << m1[size_t(k)]
                    << " vs " << s1 << ", v " << v1[size_t(k)] << " vs " << s2;
  }
  EXPECT_EQ(bad, 0);
  std::vector<float> m2 = m, v2 = v;
  cpu::optimizer_pass({params.data(), grad.data(), m2.data(), v2.data(), next.data(), count, block, true});
  for (int64_t k = 0; k < count; ++k) {
    const float g = grad[size_t(k % block)];
    ASSERT_EQ(next[size_t(k)], params[size_t(k)] + g) << k;
    ASSERT_EQ(m2[size_t(k)], m[size_t(k)] + g) << k;
    ASSERT_EQ(v2[size_t(k)], v[size_t(k)] + g) << k;
  }
  // The bench hands it the step's gradient blocks: the running instruction set's tile rows.
  const std::string isa = cpu::vector_code();
  if (isa == "AVX-512") EXPECT_EQ(cpu::gradient_block_rows(), 12);
  if (isa == "AVX2") EXPECT_EQ(cpu::gradient_block_rows(), 6);
  if (isa == "x86-64") EXPECT_EQ(cpu::gradient_block_rows(), 3);
}

TEST(CpuBackend, WorkspaceBuffersStartOnCacheLines) {
  // A 64-byte vector load from a buffer 16 bytes off a cache line splits
  // across two lines; the step's buffers must not be (plain std::vector
  // storage of this size is 16 bytes off with glibc).
  NetworkConfig cfg;
  cfg.hidden = {384, 100, 7};
  const PackedLayout layout = PackedLayout::build({cfg}, 2, 2);
  cpu::Workspace<float> ws(layout.networks[0], 29);
  std::vector<const float*> buffers{ws.delta.data(), ws.delta_next.data()};
  for (size_t l = 0; l < ws.a.size(); ++l) buffers.push_back(ws.a[l].data());
  for (size_t l = 1; l < ws.z.size(); ++l) buffers.push_back(ws.z[l].data());
  for (const float* p : buffers) EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % cpu::kCacheLine, 0u);
  for (size_t n : {1, 17, 1000, 1 << 20}) {
    cpu::aligned_vector<float> v(n);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data()) % cpu::kCacheLine, 0u) << n << " floats";
  }
}
