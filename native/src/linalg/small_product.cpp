// The AVX2+FMA kernel is one function with a target attribute rather than a
// file compiled for AVX2: it uses only intrinsics and file-local templates, so
// no inline function or template instance it generates can be shared with
// (and leak AVX2 code into) the baseline build.
#include "scorecrl/linalg/small_product.hpp"

#include <algorithm>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__EMSCRIPTEN__)
#define SCORECRL_SMALL_PRODUCT_AVX2 1
#include <immintrin.h>
#endif
#if defined(__EMSCRIPTEN__) && defined(__wasm_simd128__)
#define SCORECRL_SMALL_PRODUCT_SIMD128 1
#include <wasm_simd128.h>
#endif

namespace scorecrl {

namespace {

#if defined(SCORECRL_SMALL_PRODUCT_AVX2)

// Rows of out[:, c0 : c0 + 4*NV] (the last vector masked to `tail` lanes).
template <int NV>
__attribute__((target("avx2,fma"))) void columnsAvx2(const double* a, long rows, long k, const double* b, long padded,
                                                     long m, long c0, long tail, double* out) {
  const __m256i mask = _mm256_setr_epi64x(-1, tail > 1 ? -1 : 0, tail > 2 ? -1 : 0, tail > 3 ? -1 : 0);
  for (long r = 0; r < rows; ++r) {
    const double* ar = a + r * k;
    __m256d acc[NV];
    for (int v = 0; v < NV; ++v) acc[v] = _mm256_setzero_pd();
    for (long t = 0; t < k; ++t) {
      const __m256d av = _mm256_broadcast_sd(ar + t);
      const double* bt = b + t * padded + c0;
      for (int v = 0; v < NV; ++v) acc[v] = _mm256_fmadd_pd(av, _mm256_loadu_pd(bt + 4 * v), acc[v]);
    }
    double* o = out + r * m + c0;
    for (int v = 0; v < NV - 1; ++v) _mm256_storeu_pd(o + 4 * v, acc[v]);
    _mm256_maskstore_pd(o + 4 * (NV - 1), mask, acc[NV - 1]);
  }
}

__attribute__((target("avx2,fma"))) void productAvx2(const double* a, long rows, long k, const double* b, long padded,
                                                     long m, double* out) {
  for (long c0 = 0; c0 < m; c0 += 16) {
    const long width = m - c0 < 16 ? m - c0 : 16;
    const long nv = (width + 3) / 4;
    const long tail = width - (nv - 1) * 4;
    switch (nv) {
      case 1: columnsAvx2<1>(a, rows, k, b, padded, m, c0, tail, out); break;
      case 2: columnsAvx2<2>(a, rows, k, b, padded, m, c0, tail, out); break;
      case 3: columnsAvx2<3>(a, rows, k, b, padded, m, c0, tail, out); break;
      default: columnsAvx2<4>(a, rows, k, b, padded, m, c0, tail, out); break;
    }
  }
}

bool useAvx2() {
  static const bool supported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return supported;
}

#else

bool useAvx2() { return false; }

#endif

#if defined(SCORECRL_SMALL_PRODUCT_SIMD128)

// Rows of out[:, c0 : c0 + width] with the accumulators in 2-lane registers
// (the scalar loop keeps them in memory), R rows at a time: a narrow output
// has few accumulators a row, and their chains of dependent additions would
// otherwise leave the adder idle. WASM has no fused multiply-add: multiply
// then add, in the scalar loop's order, so the result is the same to the bit.
template <int NV, int R>
void rowsSimd128(const double* a, long k, const double* b, long padded, long m, long c0, long width, double* out) {
  v128_t acc[R][NV];
  for (int q = 0; q < R; ++q)
    for (int v = 0; v < NV; ++v) acc[q][v] = wasm_f64x2_splat(0.0);
  for (long t = 0; t < k; ++t) {
    const double* bt = b + t * padded + c0;  // padded: loads past `width` read zeros
    v128_t bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = wasm_v128_load(bt + 2 * v);
    for (int q = 0; q < R; ++q) {
      const v128_t av = wasm_f64x2_splat(a[q * k + t]);
      for (int v = 0; v < NV; ++v) acc[q][v] = wasm_f64x2_add(acc[q][v], wasm_f64x2_mul(av, bv[v]));
    }
  }
  for (int q = 0; q < R; ++q) {
    double* o = out + q * m + c0;
    for (int v = 0; v < NV; ++v) {
      if (2 * v + 1 < width)
        wasm_v128_store(o + 2 * v, acc[q][v]);
      else if (2 * v < width)
        o[2 * v] = wasm_f64x2_extract_lane(acc[q][v], 0);
    }
  }
}

template <int NV>
void columnsSimd128(const double* a, long rows, long k, const double* b, long padded, long m, long c0, long width,
                    double* out) {
  constexpr int R = NV <= 2 ? 4 : NV <= 4 ? 2 : 1;
  long r = 0;
  for (; r + R <= rows; r += R) rowsSimd128<NV, R>(a + r * k, k, b, padded, m, c0, width, out + r * m);
  for (; r < rows; ++r) rowsSimd128<NV, 1>(a + r * k, k, b, padded, m, c0, width, out + r * m);
}

void productSimd128(const double* a, long rows, long k, const double* b, long padded, long m, double* out) {
  for (long c0 = 0; c0 < m; c0 += 16) {
    const long width = m - c0 < 16 ? m - c0 : 16;
    switch ((width + 1) / 2) {
      case 1: columnsSimd128<1>(a, rows, k, b, padded, m, c0, width, out); break;
      case 2: columnsSimd128<2>(a, rows, k, b, padded, m, c0, width, out); break;
      case 3: columnsSimd128<3>(a, rows, k, b, padded, m, c0, width, out); break;
      case 4: columnsSimd128<4>(a, rows, k, b, padded, m, c0, width, out); break;
      case 5: columnsSimd128<5>(a, rows, k, b, padded, m, c0, width, out); break;
      case 6: columnsSimd128<6>(a, rows, k, b, padded, m, c0, width, out); break;
      case 7: columnsSimd128<7>(a, rows, k, b, padded, m, c0, width, out); break;
      default: columnsSimd128<8>(a, rows, k, b, padded, m, c0, width, out); break;
    }
  }
}

#endif

}  // namespace

SmallProduct::SmallProduct(const Matrix& b) : k_(b.rows()), m_(b.cols()), padded_((b.cols() + 3) / 4 * 4) {
  b_.assign(static_cast<size_t>(k_ * padded_), 0.0);
  for (Index t = 0; t < k_; ++t) std::copy(b.row(t).data(), b.row(t).data() + m_, b_.begin() + t * padded_);
}

void SmallProduct::apply(const double* a, Index rows, double* out) const {
#if defined(SCORECRL_SMALL_PRODUCT_AVX2)
  if (useAvx2()) {
    productAvx2(a, rows, k_, b_.data(), padded_, m_, out);
    return;
  }
#endif
#if defined(SCORECRL_SMALL_PRODUCT_SIMD128)
  productSimd128(a, rows, k_, b_.data(), padded_, m_, out);
  return;
#endif
  for (Index r = 0; r < rows; ++r) {
    double* o = out + r * m_;
    const double* ar = a + r * k_;
    std::fill(o, o + m_, 0.0);
    for (Index t = 0; t < k_; ++t) {
      const double av = ar[t];
      const double* bt = b_.data() + t * padded_;
      for (Index j = 0; j < m_; ++j) o[j] += av * bt[j];
    }
  }
}

const char* smallProductSimd() {
#if defined(SCORECRL_SMALL_PRODUCT_SIMD128)
  return "wasm-simd128";
#else
  return useAvx2() ? "avx2+fma" : "baseline";
#endif
}

}  // namespace scorecrl
