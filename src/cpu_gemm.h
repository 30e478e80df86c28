// The CPU backend's register-blocked matrix products, and the three products
// of a layer's training step built on them. Host-only, templated on the
// scalar and on the tile shape (cpu_steps.cpp picks one per instruction set).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <utility>

namespace netsweep::cpu {

// Batch buffers are (units, padded batch): a multiple of kBatchPad samples.
constexpr int kBatchPad = 16;

inline int padded(int n) { return (n + kBatchPad - 1) / kBatchPad * kBatchPad; }

// Register-blocked products. Each tile computes Tile::rows rows of its output
// for Tile::vectors x kBatchPad columns, with the accumulators in vector
// registers (GCC/Clang vector types: a zmm of floats with AVX-512, two ymm
// with AVX2, four xmm without). The tile is sized per instruction set
// (cpu_steps.cpp) so the accumulators fill the register file without spills;
// remainders use tiles of 4 rows, then 1 row, and one vector of columns.
template <typename T>
struct Lanes {
  typedef T type __attribute__((vector_size(kBatchPad * sizeof(T))));
};
template <typename T>
using lanes_t = typename Lanes<T>::type;

template <typename T>
inline lanes_t<T> load_lanes(const T* p) {
  lanes_t<T> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename T>
inline void store_lanes(T* p, const lanes_t<T>& v) {
  std::memcpy(p, &v, sizeof v);
}

// R rows x V vectors of accumulators; `wide`: the shape for products over many
// columns (a frame's forward pass), where more vectors and fewer rows load
// fewer scalars of W per multiply-add.
template <int R, int V, int WR = R, int WV = V>
struct TileShape {
  static constexpr int rows = R, vectors = V;
  using wide = TileShape<WR, WV>;
};
using DefaultTile = TileShape<8, 1>;  // double-precision tests and builds without a tuned shape
// The shapes cpu_steps.cpp compiles for each instruction set, filling its
// register file: 12 rows x 32 columns in 24 of AVX-512's 32 zmm registers
// (6 x 64 in a frame's forward pass: measured 8% faster there); 6 x 16 in 12
// of AVX2's 16 ymm; 3 x 16 in 12 of the baseline's 16 xmm.
using Avx512Tile = TileShape<12, 2, 6, 4>;
using Avx2Tile = TileShape<6, 1>;
using BaselineTile = TileShape<3, 1>;

// C[m0..m0+R)[n0..n0+V*kBatchPad) = init + sum over k of A(m, k) B[k][n], where
// A(m, k) = A[m * lda + k] (kTransA false) or A[k * lda + m] (true), B is
// (K, ldb) row-major and C (M, ldc). init: a per-row bias (or null for 0);
// kAccumulate: C's own values instead (C += op(A) B, the sum continued in the
// same order, so a product split along K gives the same bits as one call; it
// reads whole vectors of C, which has them: ldc >= N).
// Only the first `valid` columns of the tile are stored.
// kKList: the sum visits only k = k_list[0..K), in increasing order (rows of B
// that are all zero left out: see nonzero_rows()). kRowList: tile row m is A's
// and C's row row_list[m] (only without kTransA).
template <typename T, int R, int V, bool kTransA, bool kAccumulate = false, bool kKList = false, bool kRowList = false>
inline void gemm_tile(const T* A, int lda, const T* B, int ldb, T* C, int ldc, int K, int m0, int n0, const T* init,
                      int valid, const int* k_list = nullptr, const int* row_list = nullptr) {
  static_assert(!(kTransA && kRowList), "row lists index A's rows");
  int row[R];
  for (int r = 0; r < R; ++r) row[r] = kRowList ? row_list[m0 + r] : m0 + r;
  lanes_t<T> acc[R][V];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) {
      if constexpr (kAccumulate)
        acc[r][v] = load_lanes(C + size_t(row[r]) * ldc + n0 + v * kBatchPad);
      else
        acc[r][v] = lanes_t<T>{} + (init ? init[row[r]] : T(0));
    }
  for (int i = 0; i < K; ++i) {
    const int k = kKList ? k_list[i] : i;
    // Fetch A ahead of the tile (W comes from L3 at every step): W^T's tiles walk W's rows a few
    // floats at a time, so the floats two tiles on; W's tiles walk R rows, so 4 lines on in each.
    if constexpr (kTransA) {
      __builtin_prefetch(A + size_t(k) * lda + m0 + 2 * kBatchPad);
    } else if (i % kBatchPad == 0) {
      for (int r = 0; r < R; ++r) __builtin_prefetch(A + size_t(row[r]) * lda + k + 4 * kBatchPad);
    }
    lanes_t<T> b[V];
    for (int v = 0; v < V; ++v) b[v] = load_lanes(B + size_t(k) * ldb + n0 + v * kBatchPad);
    for (int r = 0; r < R; ++r) {
      const T a = kTransA ? A[size_t(k) * lda + row[r]] : A[size_t(row[r]) * lda + k];
      for (int v = 0; v < V; ++v) acc[r][v] += a * b[v];
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) {
      T* c = C + size_t(row[r]) * ldc + n0 + v * kBatchPad;
      const int n = std::min(kBatchPad, valid - v * kBatchPad);
      if (n == kBatchPad)
        store_lanes(c, acc[r][v]);
      else
        for (int t = 0; t < n; ++t) c[t] = acc[r][v][t];
    }
}

// Transposes 16 vectors of 16 lanes in place, r[i][j] <-> r[j][i]: at each
// stage h = 8, 4, 2, 1, the h x h blocks off the diagonal of every 2h x 2h
// block swap places.
template <int H, typename V, size_t... J>
inline void swap_off_diagonal(V& a, V& b, std::index_sequence<J...>) {
  const V top = __builtin_shufflevector(a, b, ((J & H) ? int(J) + kBatchPad - H : int(J))...);
  const V bottom = __builtin_shufflevector(a, b, ((J & H) ? int(J) + kBatchPad : int(J) + H)...);
  a = top;
  b = bottom;
}
template <int H, typename T>
inline void transpose_stage(lanes_t<T> (&r)[kBatchPad]) {
  for (int i = 0; i < kBatchPad; ++i)
    if (!(i & H)) swap_off_diagonal<H>(r[i], r[i + H], std::make_index_sequence<kBatchPad>{});
}

// x_t (samples, ldx) = x (rows, cap) transposed, for the samples [b_lo, b_hi)
// (multiples of kBatchPad) and columns [0, ldx) (a multiple of kBatchPad),
// zero past rows: a layer's inputs sample-major, in 16 x 16 blocks.
template <typename T>
inline void transpose_samples(const T* x, int rows, int cap, T* x_t, int ldx, int b_lo, int b_hi) {
  for (int b = b_lo; b < b_hi; b += kBatchPad)
    for (int i = 0; i < ldx; i += kBatchPad) {
      lanes_t<T> r[kBatchPad];
      for (int j = 0; j < kBatchPad; ++j) r[j] = i + j < rows ? load_lanes(x + size_t(i + j) * cap + b) : lanes_t<T>{};
      transpose_stage<8, T>(r);
      transpose_stage<4, T>(r);
      transpose_stage<2, T>(r);
      transpose_stage<1, T>(r);
      for (int j = 0; j < kBatchPad; ++j) store_lanes(x_t + size_t(b + j) * ldx + i, r[j]);
    }
}

// Rows [0, M) of C in tiles of Tile::rows, then 4, then 1, for the columns of one strip.
template <typename T, typename Tile, int V, bool kTransA, bool kAccumulate, bool kKList = false, bool kRowList = false>
inline void gemm_rows(const T* A, int lda, const T* B, int ldb, T* C, int ldc, int M, int K, int n0, const T* init,
                      int valid, const int* k_list, const int* row_list) {
  int m = 0;
  for (; m + Tile::rows <= M; m += Tile::rows)
    gemm_tile<T, Tile::rows, V, kTransA, kAccumulate, kKList, kRowList>(A, lda, B, ldb, C, ldc, K, m, n0, init, valid,
                                                                        k_list, row_list);
  if constexpr (Tile::rows > 4)
    for (; m + 4 <= M; m += 4)
      gemm_tile<T, 4, V, kTransA, kAccumulate, kKList, kRowList>(A, lda, B, ldb, C, ldc, K, m, n0, init, valid, k_list,
                                                                 row_list);
  for (; m < M; ++m)
    gemm_tile<T, 1, V, kTransA, kAccumulate, kKList, kRowList>(A, lda, B, ldb, C, ldc, K, m, n0, init, valid, k_list,
                                                               row_list);
}

// C (M, columns) = init + op(A) B over columns [0, N) (N a multiple of kBatchPad),
// storing only the first n_valid of them: strips of Tile::vectors, then of one
// vector. With kKList, K counts the entries of k_list; with kRowList, M those
// of row_list.
template <typename T, typename Tile, bool kTransA, bool kAccumulate = false, bool kKList = false, bool kRowList = false>
inline void gemm(const T* A, int lda, const T* B, int ldb, T* C, int ldc, int M, int N, int K, const T* init,
                 int n_valid, const int* k_list = nullptr, const int* row_list = nullptr) {
  constexpr int strip = Tile::vectors * kBatchPad;
  int n0 = 0;
  for (; n0 + strip <= N; n0 += strip)
    gemm_rows<T, Tile, Tile::vectors, kTransA, kAccumulate, kKList, kRowList>(A, lda, B, ldb, C, ldc, M, K, n0, init,
                                                                              n_valid - n0, k_list, row_list);
  if constexpr (Tile::vectors > 1)
    for (; n0 < N; n0 += kBatchPad)
      gemm_rows<T, Tile, 1, kTransA, kAccumulate, kKList, kRowList>(A, lda, B, ldb, C, ldc, M, K, n0, init,
                                                                    n_valid - n0, k_list, row_list);
}

// The rows of x (rows, cap) holding a value other than ±0 (NaN counts), in
// order, to list[0..n); returns n. A product that leaves out the rows of B that
// are zero (kKList) gives every sum the same bits as one over all rows while
// A is finite: each term left out is ±0, and adding ±0 changes no sum (at
// most the sign of a zero sum, which hidden units' rules, z > 0, do not read).
// A ReLU layer's units that are off for a whole batch give such rows.
template <typename T>
inline int nonzero_rows(const T* x, int rows, int cap, int* list) {
  int n = 0;
  for (int i = 0; i < rows; ++i) {
    const T* r = x + size_t(i) * cap;
    int any = 0;
#pragma omp simd reduction(| : any)
    for (int b = 0; b < cap; ++b) any |= r[b] != T(0);
    list[n] = i;
    n += any;
  }
  return n;
}

// The three products of a layer's training step, named once for the step and
// for `netsweep bench --by-width` (which times them alone). W is (out, ldw),
// batch buffers (units, cap), x_t the layer's inputs sample-major (count, ldx).
// kLists: compiled with the sparse form (lists of nonzero_rows()), used where
// its list is given (only ReLU networks have such rows: the others need not
// carry the code).

// z (rows, cap) = bias + W (rows, in) x (in, cap); with `inputs`, over those
// `count` inputs only (nonzero_rows() of x).
template <typename T, typename Tile, bool kLists = false>
inline void output_product(const T* W, int in, const T* x, int cap, T* z, int rows, const T* bias,
                           const int* inputs = nullptr, int count = 0) {
  auto run = [&](auto shape) {
    using Shape = decltype(shape);
    if (kLists && inputs)
      gemm<T, Shape, false, false, kLists>(W, in, x, cap, z, cap, rows, cap, count, bias, cap, inputs);
    else
      gemm<T, Shape, false>(W, in, x, cap, z, cap, rows, cap, in, bias, cap);
  };
  using Wide = typename Tile::wide;
  if constexpr (Wide::rows != Tile::rows || Wide::vectors != Tile::vectors) {
    if (cap % (Wide::vectors * kBatchPad) == 0 && cap > Tile::vectors * kBatchPad) return run(Wide{});
  }
  run(Tile{});
}

// dx (cols, cap) = W^T dz over `rows` rows of W, whose first `cols` columns
// start at W; kAccumulate: dx += that, continuing the sum of earlier rows.
// With `live`, over those `count` rows only (indices from W's and dz's first
// row: nonzero_rows() of dz).
template <typename T, typename Tile, bool kAccumulate = false, bool kLists = false>
inline void input_gradient_product(const T* W, int ldw, const T* dz, int cap, T* dx, int cols, int rows,
                                   const int* live = nullptr, int count = 0) {
  if (kLists && live)
    gemm<T, Tile, true, kAccumulate, kLists>(W, ldw, dz, cap, dx, cap, cols, cap, count, nullptr, cap, live);
  else
    gemm<T, Tile, true, kAccumulate>(W, ldw, dz, cap, dx, cap, cols, cap, rows, nullptr, cap);
}

// g (rows, ldg) = dz (rows, cap) x^T over `count` samples, for `cols` inputs
// starting at x_t (whose rows have room for cols rounded up to a vector). With
// `live`, only those `live_count` rows of g (indices from dz's and g's first
// row); the caller writes the others.
template <typename T, typename Tile, bool kLists = false>
inline void weight_gradient_product(const T* dz, int cap, const T* x_t, int ldx, T* g, int ldg, int rows, int cols,
                                    int count, const int* live = nullptr, int live_count = 0) {
  const int whole = (cols + kBatchPad - 1) / kBatchPad * kBatchPad;
  if (kLists && live)
    gemm<T, Tile, false, false, false, kLists>(dz, cap, x_t, ldx, g, ldg, live_count, whole, count, nullptr, cols,
                                               nullptr, live);
  else
    gemm<T, Tile, false>(dz, cap, x_t, ldx, g, ldg, rows, whole, count, nullptr, cols);
}

}  // namespace netsweep::cpu
