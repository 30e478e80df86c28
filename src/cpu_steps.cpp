// The CPU backend's hot entry points (cpu_steps.h), compiled per instruction set.
#include "cpu_steps.h"

#include "netsweep/training_rules.h"

namespace netsweep::cpu {

const char* vector_code() {
#if NETSWEEP_HAS_VECTOR_CLONES
  // The same tests as the clones' resolver.
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v4")) return "AVX-512";
  if (__builtin_cpu_supports("x86-64-v3")) return "AVX2";
  return "x86-64";
#elif defined(NETSWEEP_NATIVE_BUILD)
  return "native";
#else
  return "generic";
#endif
}

namespace {

// The hot entry points, compiled once per instruction set (cpu_dispatch.h),
// each with the product tile that fits that register file (cpu_gemm.h).
template <typename Tile>
void train_step_with(TrainStep& t, const Split& split) {
  with_activation(t.act, [&](auto a) {
    constexpr Activation A = decltype(a)::value;
    if (split.rank == 0) load_batch(t.x, t.inputs, t.rows, 0, t.count, *t.ws);
    split.sync();
    forward<float, A, Tile>(*t.net, t.params, *t.ws, split, t.skip_zero_rows);
    if (split.rank == 0) {
      t.stats = output_layer<float>(*t.net, t.loss, 0, t.y, nullptr, t.rows, 0, t.count, true, *t.ws);
      t.loss_finite = finite_value(t.stats.loss_sum);
    }
    split.sync();
    if (!t.loss_finite) return;
    // The optimizer updates each block of gradient as backward writes it.
    OptimizerSink<float> update{t.opt,    t.step_size, float(t.opt->l1), float(t.opt->l2),
                                t.params, t.state1,    t.state2,         t.next};
    backward<float, A, Tile>(*t.net, t.params, *t.ws, nullptr, t.count, split, update, t.skip_zero_rows);
    if (!update.finite) t.nonfinite.fetch_add(1);
    split.sync();
    // A step that would leave a non-finite value is thrown away (the owner keeps t.params, the last
    // finite parameters); otherwise t.next becomes the parameters.
  });
}

template <typename Tile>
BatchStats evaluate_chunk_with(const EvaluateChunk& e) {
  return with_activation(e.act, [&](auto a) {
    constexpr Activation A = decltype(a)::value;
    load_batch(e.x, e.inputs, nullptr, e.first, e.count, *e.ws);
    forward<float, A, Tile>(*e.net, e.params, *e.ws, {}, e.skip_zero_rows);
    if (!e.outputs) return BatchStats{};
    return output_layer<float, float>(*e.net, e.loss, e.classes, e.y, e.labels, nullptr, e.first, e.count, false, *e.ws,
                                      e.probs);
  });
}

// The products of backward() and forward() on one layer, without the rest of the step.
template <typename Tile>
void layer_products_with(const LayerProducts& p) {
  output_product<float, Tile>(p.w, p.k, p.x, p.n, p.z, p.m, nullptr);
  input_gradient_product<float, Tile>(p.w, p.k, p.dz, p.n, p.dx, p.k, p.m);
  weight_gradient_product<float, Tile>(p.dz, p.n, p.x_t, padded(p.k), p.dw, p.k, p.m, p.k, p.count);
}

// The optimizer step alone for the benchmark: the step's own sink on each block, or the stream
// reference (a template like the others so that each instruction set has its own; no tile).
template <typename Tile>
void optimizer_pass_with(const OptimizerPass& p) {
  static const OptimizerConfig kAdam{};
  OptimizerSink<float> update{&kAdam, 1e-3f, 0.f, 0.f, p.params, p.m, p.v, p.next};
  for (int64_t first = 0; first < p.count; first += p.block) {
    const int64_t last = std::min(p.count, first + p.block);
    if (!p.stream) {
      update(first, last, true, p.grad);
      continue;
    }
    const float* __restrict params = p.params + first;
    const float* __restrict g = p.grad;
    float* __restrict m = p.m + first, * __restrict v = p.v + first, * __restrict next = p.next + first;
    for (int64_t k = 0; k < last - first; ++k) {
      next[k] = params[k] + g[k];
      m[k] += g[k];
      v[k] += g[k];
    }
  }
}

#if NETSWEEP_HAS_VECTOR_CLONES
NETSWEEP_TARGET_AVX512 void train_step_avx512(TrainStep& t, const Split& s) { train_step_with<Avx512Tile>(t, s); }
NETSWEEP_TARGET_AVX512 BatchStats evaluate_chunk_avx512(const EvaluateChunk& e) {
  return evaluate_chunk_with<Avx512Tile>(e);
}
NETSWEEP_TARGET_AVX512 void layer_products_avx512(const LayerProducts& p) { layer_products_with<Avx512Tile>(p); }
NETSWEEP_TARGET_AVX512 void optimizer_pass_avx512(const OptimizerPass& p) { optimizer_pass_with<Avx512Tile>(p); }
NETSWEEP_TARGET_AVX2 void train_step_avx2(TrainStep& t, const Split& s) { train_step_with<Avx2Tile>(t, s); }
NETSWEEP_TARGET_AVX2 BatchStats evaluate_chunk_avx2(const EvaluateChunk& e) { return evaluate_chunk_with<Avx2Tile>(e); }
NETSWEEP_TARGET_AVX2 void layer_products_avx2(const LayerProducts& p) { layer_products_with<Avx2Tile>(p); }
NETSWEEP_TARGET_AVX2 void optimizer_pass_avx2(const OptimizerPass& p) { optimizer_pass_with<Avx2Tile>(p); }
NETSWEEP_TARGET_BASELINE void train_step_baseline(TrainStep& t, const Split& s) { train_step_with<BaselineTile>(t, s); }
NETSWEEP_TARGET_BASELINE BatchStats evaluate_chunk_baseline(const EvaluateChunk& e) {
  return evaluate_chunk_with<BaselineTile>(e);
}
NETSWEEP_TARGET_BASELINE void layer_products_baseline(const LayerProducts& p) { layer_products_with<BaselineTile>(p); }
NETSWEEP_TARGET_BASELINE void optimizer_pass_baseline(const OptimizerPass& p) { optimizer_pass_with<BaselineTile>(p); }
// The same test as vector_code(): the best the running CPU has.
EntryPoints choose_entry_points() {
  __builtin_cpu_init();  // static initialization may run before libgcc's own
  if (__builtin_cpu_supports("x86-64-v4"))
    return {train_step_avx512, evaluate_chunk_avx512, layer_products_avx512, optimizer_pass_avx512, Avx512Tile::rows};
  if (__builtin_cpu_supports("x86-64-v3"))
    return {train_step_avx2, evaluate_chunk_avx2, layer_products_avx2, optimizer_pass_avx2, Avx2Tile::rows};
  return {train_step_baseline, evaluate_chunk_baseline, layer_products_baseline, optimizer_pass_baseline,
          BaselineTile::rows};
}

#else
#if defined(__AVX512F__)
using NativeTile = Avx512Tile;
#elif defined(__AVX2__)
using NativeTile = Avx2Tile;
#else
using NativeTile = BaselineTile;
#endif
const EntryPoints kNative{train_step_with<NativeTile>, evaluate_chunk_with<NativeTile>, layer_products_with<NativeTile>,
                          optimizer_pass_with<NativeTile>, NativeTile::rows};
#endif

}  // namespace

const EntryPoints& entry_points() {
#if NETSWEEP_HAS_VECTOR_CLONES
  static const EntryPoints chosen = choose_entry_points();
  return chosen;
#else
  return kNative;
#endif
}

void layer_products(const LayerProducts& p) { entry_points().layer_products(p); }
void optimizer_pass(const OptimizerPass& p) { entry_points().optimizer_pass(p); }
int gradient_block_rows() { return entry_points().tile_rows; }
int padded_columns(int n) { return padded(n); }

}  // namespace netsweep::cpu
