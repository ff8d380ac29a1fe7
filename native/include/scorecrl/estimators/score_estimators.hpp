// Score-difference estimation for linear mixing, and the n-dimensional
// statistics the linear algorithms (LSCALE-I, the finite-sample algorithm)
// start from.
//
// With x = G z and G of rank n, x lives on the n-dim column space of G. Every
// statistic below is expressed in an orthonormal basis B (d x n) of that space:
// the top-n eigenvectors of the observational covariance. A sample row x maps
// to y = B^T x.
//
// Environment moments are computed with one pass over each environment's
// samples: the observational environment needs its d x d covariance (for B);
// the others only need y = x B, i.e. O(N d n) work, never a d x d product.
//
// Gaussian plug-in estimator: environment k's score is estimated as that of a
// Gaussian fitted to y on the support,
//   s_k(x) = -B P_k (B^T x - nu_k),   P_k = C_k^{-1},
// with C_k, nu_k the centred covariance (1/N) and the mean of y in
// environment k (`centred = false` drops nu_k, i.e. s_k(x) = -B P_k B^T x).
// The score difference dsx_m = s_0 - s_m is affine in x, so its second moment
// over the observational samples follows from the moments alone:
//   R_m = E_0[dsx_m dsx_m^T] (in the basis, n x n)
//       = D C_0 D + (D nu_0 + c_m)(D nu_0 + c_m)^T,
//   D = P_m - P_0,  c_m = P_0 nu_0 - P_m nu_m (0 when not centred).
// Other estimators (learned ones) produce dsx samples; the algorithms take
// those through reduceScoreDifferences.
#pragma once
#include <string>
#include <vector>

#include "scorecrl/linalg/linalg.hpp"

namespace scorecrl {

class Context;

// Per-environment moments of y = B^T x.
struct ReducedMoments {
  Matrix basis;                     // d x n, orthonormal columns (top-n eigenvectors of C_0)
  Vector basisEigenvalues;          // the n leading eigenvalues of the observational covariance, descending
  double residualEigenvalue = 0.0;  // the (n+1)-th eigenvalue (0 when d == n): variance off the support
  std::vector<Matrix> covariance;   // K+1 centred covariances of y (n x n), 1/N
  std::vector<Vector> mean;         // K+1 means of y (n)
  Index samples = 0;                // N per environment
};

// x: (K+1) environments of N x d samples, laid out environment-major. n <= d.
// Throws Error(function, ...) if the observational covariance has rank < n,
// or N < n + 1.
ReducedMoments reducedMoments(const double* x, Index environments, Index N, Index d, Index n,
                              const std::string& function, const Context* context = nullptr);

// The same from precomputed d x d centred covariances and means (means may be
// empty: zero means). `samples` is informational (0 if unknown).
ReducedMoments reducedMomentsFromCovariances(const std::vector<Matrix>& covariance, const std::vector<Vector>& mean,
                                             Index n, Index samples, const std::string& function);

// Uncentred second moments E[v v^T] of v = B^T dsx_m for K stacked N x d
// blocks of score differences (one pass each, O(N d n)).
std::vector<Matrix> reduceScoreDifferences(const double* dsx, Index K, Index N, Index d, const Matrix& basis,
                                           const Context* context = nullptr);

// Mean and uncentred second moment of y = X B over the rows of X (N x d), in
// parallel blocks; neither X nor y is copied whole.
struct ProjectedMoments {
  Vector mean;    // n
  Matrix second;  // n x n, (1/N) sum y y^T
};
ProjectedMoments projectedMoments(const ConstMatrixMap& x, const Matrix& basis, const Context* context = nullptr);

// The Gaussian plug-in model fitted to the K+1 environments.
struct GaussianPlugIn {
  Matrix basis;                   // d x n
  std::vector<Matrix> precision;  // K+1 (n x n)
  std::vector<Vector> mean;       // K+1 (n); zeros when not centred
  bool centred = true;
};

// Throws Error(function, ...) naming the environment whose covariance on the
// support is singular.
GaussianPlugIn fitGaussianPlugIn(const ReducedMoments& moments, bool centred, const std::string& function);

// R_m (n x n, in the basis), m = 1..K, over the observational distribution
// described by `moments` (environment 0).
std::vector<Matrix> gaussianScoreDiffCovariances(const GaussianPlugIn& model, const ReducedMoments& moments);

// dsx_m at the rows of `at` (M x d), written to out as K x M x d.
void gaussianScoreDifferences(const GaussianPlugIn& model, const ConstMatrixMap& at, double* out,
                              const Context* context = nullptr);

}  // namespace scorecrl
