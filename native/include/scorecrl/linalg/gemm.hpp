// Dense products for the learned estimators, independent of EIGEN_USE_BLAS.
//
// The addon may build Eigen on OpenBLAS, whose threaded kernels help large
// products but make the many small products of minibatch training issued
// from several threads at once several times slower (its worker threads
// oversubscribe the cores). These entry points run Eigen's own kernels: their
// translation unit is compiled without EIGEN_USE_BLAS and with Eigen in a
// private namespace, so no Eigen template instance is shared with the BLAS
// build of the rest of the core. Plain pointers only: this header includes no
// Eigen.
#pragma once
#include <cstddef>

namespace scorecrl {

// C = alpha op(A) op(B) + beta C for row-major matrices: op(A) is m x k,
// op(B) is k x n, C is m x n; lda, ldb, ldc are the row strides of A, B, C as
// stored; transA / transB select op(X) = X^T. beta == 0 overwrites C (NaN in
// C does not propagate).
void gemm(bool transA, bool transB, std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, double alpha, const double* A,
          std::ptrdiff_t lda, const double* B, std::ptrdiff_t ldb, double beta, double* C, std::ptrdiff_t ldc);
void gemm(bool transA, bool transB, std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, float alpha, const float* A,
          std::ptrdiff_t lda, const float* B, std::ptrdiff_t ldb, float beta, float* C, std::ptrdiff_t ldc);

}  // namespace scorecrl
