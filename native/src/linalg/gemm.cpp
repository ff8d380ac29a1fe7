// Eigen's own matrix products behind a pointer interface (see gemm.hpp). The
// macros below must come before any include that could pull in Eigen.
#undef EIGEN_USE_BLAS
#define Eigen scorecrl_eigen_gemm
#include <Eigen/Dense>

#include "scorecrl/linalg/gemm.hpp"

namespace scorecrl {

namespace {

template <typename Scalar>
void product(bool transA, bool transB, std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, Scalar alpha,
             const Scalar* A, std::ptrdiff_t lda, const Scalar* B, std::ptrdiff_t ldb, Scalar beta, Scalar* C,
             std::ptrdiff_t ldc) {
  using RowMajor = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using In = Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>>;
  using Out = Eigen::Map<RowMajor, 0, Eigen::OuterStride<>>;
  Out c(C, m, n, Eigen::OuterStride<>(ldc));
  if (m == 0 || n == 0) return;
  if (beta == Scalar(0))
    c.setZero();
  else if (beta != Scalar(1))
    c *= beta;
  if (k == 0 || alpha == Scalar(0)) return;
  const In a(A, transA ? k : m, transA ? m : k, Eigen::OuterStride<>(lda));
  const In b(B, transB ? n : k, transB ? k : n, Eigen::OuterStride<>(ldb));
  if (!transA && !transB)
    c.noalias() += alpha * a * b;
  else if (!transA && transB)
    c.noalias() += alpha * a * b.transpose();
  else if (transA && !transB)
    c.noalias() += alpha * a.transpose() * b;
  else
    c.noalias() += alpha * a.transpose() * b.transpose();
}

}  // namespace

void gemm(bool transA, bool transB, std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, double alpha, const double* A,
          std::ptrdiff_t lda, const double* B, std::ptrdiff_t ldb, double beta, double* C, std::ptrdiff_t ldc) {
  product<double>(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm(bool transA, bool transB, std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, float alpha, const float* A,
          std::ptrdiff_t lda, const float* B, std::ptrdiff_t ldb, float beta, float* C, std::ptrdiff_t ldc) {
  product<float>(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace scorecrl
