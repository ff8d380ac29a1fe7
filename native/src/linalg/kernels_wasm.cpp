// WebAssembly SIMD (simd128) copy of the Gram kernel, used by kernels.cpp in
// builds compiled with -msimd128. Eigen 3.4 has no simd128 packets, so its
// rank update runs scalar there; this kernel is written with the intrinsics.
//
// Layout: the rows of x are processed in chunks. Each chunk is copied into
// panels of 4 columns (panel p holds x(r, 4p..4p+3) for every row r of the
// chunk, contiguously, zero-padded past the last column), so both operands of
// the inner loop are read sequentially and 16-byte aligned whatever the
// column count. A micro-tile is a 4×4 block of acc held in eight f64x2
// registers: per row it takes two vector loads of the row panel, four
// broadcasts from the column panel, and 8 multiplies + 8 adds (simd128 has no
// fused multiply-add). Only tiles on or below the diagonal are computed.
//
// Compiled in every build; empty unless the compiler targets simd128.
#include "scorecrl/linalg/kernels.hpp"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace scorecrl {
namespace simd128 {

namespace {

constexpr long kPanel = 4;
// Rows per chunk: at most the 256-row blocks moments.cpp passes, and few
// enough that the packed chunk (rows × padded cols doubles) stays near 512 KiB.
constexpr long kMaxChunkRows = 256;
constexpr long kMinChunkRows = 16;
constexpr long kChunkDoubles = 1L << 16;

// Copies rows×cols of the row-major x into panels of kPanel columns (see the
// file comment); panels must hold rows × ceil(cols / kPanel) × kPanel values.
// Kept out of line (as is tile) so the engine optimizes it after a few calls
// even when one call covers a whole matrix.
__attribute__((noinline)) void pack(const double* x, long rows, long cols, double* panels) {
  const long full = cols / kPanel;
  for (long p = 0; p < full; ++p) {
    const double* src = x + p * kPanel;
    double* dst = panels + p * kPanel * rows;
    for (long r = 0; r < rows; ++r, src += cols, dst += kPanel) {
      wasm_v128_store(dst, wasm_v128_load(src));
      wasm_v128_store(dst + 2, wasm_v128_load(src + 2));
    }
  }
  const long rest = cols - full * kPanel;
  if (rest == 0) return;
  const double* src = x + full * kPanel;
  double* dst = panels + full * kPanel * rows;
  for (long r = 0; r < rows; ++r, src += cols, dst += kPanel)
    for (long c = 0; c < kPanel; ++c) dst[c] = c < rest ? src[c] : 0.0;
}

// out(0..3, 0..3) += a^T b summed over `rows` rows, where a and b are panels
// (rows × 4, row-major) and out is column-major with leading dimension ldo:
// out(i, j) += sum_r a(r, i) b(r, j).
__attribute__((noinline)) void tile(const double* a, const double* b, long rows, double* out, long ldo) {
  v128_t c00 = wasm_f64x2_splat(0.0), c10 = c00;  // column 0: rows 0-1, 2-3
  v128_t c01 = c00, c11 = c00;
  v128_t c02 = c00, c12 = c00;
  v128_t c03 = c00, c13 = c00;
  for (long r = 0; r < rows; ++r, a += kPanel, b += kPanel) {
    const v128_t a0 = wasm_v128_load(a);
    const v128_t a1 = wasm_v128_load(a + 2);
    v128_t bj = wasm_v128_load64_splat(b);
    c00 = wasm_f64x2_add(c00, wasm_f64x2_mul(a0, bj));
    c10 = wasm_f64x2_add(c10, wasm_f64x2_mul(a1, bj));
    bj = wasm_v128_load64_splat(b + 1);
    c01 = wasm_f64x2_add(c01, wasm_f64x2_mul(a0, bj));
    c11 = wasm_f64x2_add(c11, wasm_f64x2_mul(a1, bj));
    bj = wasm_v128_load64_splat(b + 2);
    c02 = wasm_f64x2_add(c02, wasm_f64x2_mul(a0, bj));
    c12 = wasm_f64x2_add(c12, wasm_f64x2_mul(a1, bj));
    bj = wasm_v128_load64_splat(b + 3);
    c03 = wasm_f64x2_add(c03, wasm_f64x2_mul(a0, bj));
    c13 = wasm_f64x2_add(c13, wasm_f64x2_mul(a1, bj));
  }
  const v128_t sums[4][2] = {{c00, c10}, {c01, c11}, {c02, c12}, {c03, c13}};
  for (long j = 0; j < kPanel; ++j) {
    double* col = out + j * ldo;
    wasm_v128_store(col, wasm_f64x2_add(wasm_v128_load(col), sums[j][0]));
    wasm_v128_store(col + 2, wasm_f64x2_add(wasm_v128_load(col + 2), sums[j][1]));
  }
}

}  // namespace

void gramAccumulate(const double* x, long rows, long cols, double* acc) {
  if (rows <= 0 || cols <= 0) return;
  const long panels = (cols + kPanel - 1) / kPanel;
  const long width = panels * kPanel;
  const long chunk = std::min(rows, std::clamp(kChunkDoubles / width, kMinChunkRows, kMaxChunkRows));
  // Reused across calls (each thread has its own); it only grows. One spare
  // value lets the panels start on a 16-byte boundary.
  thread_local std::vector<double> buffer;
  const size_t needed = static_cast<size_t>(chunk * width) + 1;
  if (buffer.size() < needed) buffer.resize(needed);
  double* packed = buffer.data() + ((reinterpret_cast<uintptr_t>(buffer.data()) & 15) ? 1 : 0);

  for (long r0 = 0; r0 < rows; r0 += chunk) {
    const long n = std::min(chunk, rows - r0);
    pack(x + r0 * cols, n, cols, packed);
    for (long pj = 0; pj < panels; ++pj) {
      const long j0 = pj * kPanel;
      const double* b = packed + j0 * n;
      for (long pi = pj; pi < panels; ++pi) {
        const long i0 = pi * kPanel;
        const double* a = packed + i0 * n;
        if (pi != pj && i0 + kPanel <= cols) {
          // Strictly below the diagonal and inside acc: update in place.
          tile(a, b, n, acc + j0 * cols + i0, cols);
          continue;
        }
        // Diagonal or last (partial) tile: keep the entries with i >= j inside acc.
        alignas(16) double part[kPanel * kPanel] = {};
        tile(a, b, n, part, kPanel);
        for (long j = j0; j < std::min(j0 + kPanel, cols); ++j)
          for (long i = std::max(i0, j); i < std::min(i0 + kPanel, cols); ++i)
            acc[j * cols + i] += part[(j - j0) * kPanel + (i - i0)];
      }
    }
  }
}

}  // namespace simd128
}  // namespace scorecrl

#endif  // __wasm_simd128__
