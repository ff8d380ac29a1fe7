// Second moments of samples (rows) — the statistics every algorithm starts
// from. All are built on symmetric rank updates and read the caller's buffer
// in place; only small row blocks are copied (to centre or concatenate them).
#pragma once
#include "scorecrl/linalg/linalg.hpp"

namespace scorecrl {

class Context;

// Centred covariance of x (N×d), normalised by 1/N.
Matrix covariance(const ConstMatrixMap& x, const Context* context = nullptr);

// Column means of x (N×d).
Vector columnMean(const ConstMatrixMap& x);

// Uncentred second moment E[v v^T] = v^T v / N of v (N×d).
Matrix secondMoment(const ConstMatrixMap& v);

// For K stacked N×d blocks (data laid out K×N×d): the K uncentred second
// moments, returned as a (K·d)×d matrix (block k = rows k·d .. k·d+d-1).
Matrix scoreDiffCovariance(const double* dsx, Index K, Index N, Index d, const Context* context = nullptr);

// Cross second moments E[dsx_i dsx_j^T] for all pairs: the (K·d)×(K·d) Gram of
// the N×(K·d) matrix whose row t concatenates dsx_0[t], ..., dsx_{K-1}[t].
Matrix crossScoreDiffCovariance(const double* dsx, Index K, Index N, Index d, const Context* context = nullptr);

// Symmetric eigendecomposition: eigenvalues ascending, eigenvectors as columns.
struct SymmetricEigen {
  Vector values;
  Matrix vectors;
};
SymmetricEigen symmetricEigen(const Matrix& a);

}  // namespace scorecrl
