// AVX2+FMA copies of the hot kernels, chosen at run time by kernels.cpp.
//
// Compiled with the rest of the core (no per-file flags, so node-gyp, cmake
// and emscripten need nothing special): the target pragma switches code
// generation, the feature macros make Eigen pick its AVX2 packets, and Eigen's
// namespace is renamed so none of its AVX2 template instances can be merged
// with the baseline ones. This file is last in native/sources.txt so that the
// linker keeps the baseline copy of any shared standard-library template.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__EMSCRIPTEN__)
#pragma GCC target("avx2,fma")
#ifndef __AVX2__
#define __SSE3__ 1
#define __SSSE3__ 1
#define __SSE4_1__ 1
#define __SSE4_2__ 1
#define __AVX__ 1
#define __AVX2__ 1
#define __FMA__ 1
#endif
#undef EIGEN_USE_BLAS
#define Eigen scorecrl_eigen_avx2
#include <Eigen/Dense>

namespace scorecrl {
namespace avx2 {

bool compiled() { return true; }

void gramAccumulate(const double* x, long rows, long cols, double* acc) {
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const RowMajor> block(x, rows, cols);
  Eigen::Map<Eigen::MatrixXd> out(acc, cols, cols);
  out.selfadjointView<Eigen::Lower>().rankUpdate(block.transpose());
}

}  // namespace avx2
}  // namespace scorecrl

#else

namespace scorecrl {
namespace avx2 {
bool compiled() { return false; }
void gramAccumulate(const double*, long, long, double*) {}
}  // namespace avx2
}  // namespace scorecrl

#endif
