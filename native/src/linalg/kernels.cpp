#include "scorecrl/linalg/kernels.hpp"

namespace scorecrl {

namespace {

bool useAvx2() {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(EIGEN_VECTORIZE_AVX2)
  static const bool supported = avx2::compiled() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return supported;
#else
  return false;
#endif
}

}  // namespace

void gramAccumulate(const double* x, Index rows, Index cols, double* acc) {
#if defined(__wasm_simd128__)
  simd128::gramAccumulate(x, static_cast<long>(rows), static_cast<long>(cols), acc);
#else
  if (useAvx2()) {
    avx2::gramAccumulate(x, rows, cols, acc);
    return;
  }
  Eigen::Map<Eigen::MatrixXd> out(acc, cols, cols);
  out.selfadjointView<Eigen::Lower>().rankUpdate(ConstMatrixMap(x, rows, cols).transpose());
#endif
}

const char* kernelSimd() {
  if (useAvx2()) return "avx2+fma";
#if defined(__wasm_simd128__)
  return "wasm-simd128";
#elif defined(EIGEN_VECTORIZE_AVX2) && defined(EIGEN_VECTORIZE_FMA)
  return "avx2+fma";
#elif defined(EIGEN_VECTORIZE_AVX)
  return "avx";
#elif defined(EIGEN_VECTORIZE_SSE2)
  return "sse2";
#elif defined(EIGEN_VECTORIZE_NEON)
  return "neon";
#else
  return "none";
#endif
}

}  // namespace scorecrl
