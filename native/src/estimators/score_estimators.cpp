#include "scorecrl/estimators/score_estimators.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "scorecrl/linalg/moments.hpp"
#include "scorecrl/linalg/small_product.hpp"
#include "scorecrl/runtime/ops.hpp"
#include "scorecrl/runtime/parallel.hpp"

namespace scorecrl {

namespace {

// Rows per block of the projection: y_block = x_block B stays in cache.
constexpr Index kProjectRows = 512;
// Below this many multiply-adds one thread is faster.
constexpr double kParallelWork = 2e6;

std::string str(Index v) { return std::to_string(static_cast<long long>(v)); }

// Top-n eigenvectors (descending eigenvalues) of a symmetric d x d matrix,
// with the eigenvalues and the next one.
void topEigenvectors(const Matrix& c, Index n, const std::string& function, ReducedMoments& out) {
  const Index d = c.rows();
  const SymmetricEigen eig = symmetricEigen(0.5 * (c + c.transpose()));
  out.basis.resize(d, n);
  out.basisEigenvalues.resize(n);
  for (Index i = 0; i < n; ++i) {
    out.basis.col(i) = eig.vectors.col(d - 1 - i);
    out.basisEigenvalues(i) = eig.values(d - 1 - i);
  }
  out.residualEigenvalue = n < d ? std::max(0.0, eig.values(d - 1 - n)) : 0.0;
  const double top = out.basisEigenvalues(0);
  const double last = out.basisEigenvalues(n - 1);
  if (!(top > 0.0) || !(last > 1e-12 * top))
    throw Error(function, "the observational covariance has rank < n = " + str(n) + " (its " + str(n) +
                              "-th largest eigenvalue is " + std::to_string(last) + ", the largest " +
                              std::to_string(top) +
                              "): the observations do not span n dimensions; check n, or add samples");
}

}  // namespace

ProjectedMoments projectedMoments(const ConstMatrixMap& x, const Matrix& basis, const Context* context) {
  const Index N = x.rows(), d = x.cols(), n = basis.cols();
  const double work = static_cast<double>(N) * static_cast<double>(d) * static_cast<double>(n);
  const int parts = work < kParallelWork ? 1 : threads();
  std::vector<Vector> sums(static_cast<size_t>(parts), Vector::Zero(n));
  std::vector<Eigen::MatrixXd> grams(static_cast<size_t>(parts), Eigen::MatrixXd::Zero(n, n));
  const SmallProduct project(basis);
  parallelRanges(N, parts, [&](int part, int64_t begin, int64_t end) {
    Matrix y(std::min<Index>(kProjectRows, end - begin), n);
    Vector& sum = sums[static_cast<size_t>(part)];
    Eigen::MatrixXd& gram = grams[static_cast<size_t>(part)];
    Index counter = 0;
    for (Index start = begin; start < end; start += kProjectRows) {
      const Index rows = std::min<Index>(kProjectRows, end - start);
      project.apply(x.data() + start * d, rows, y.data());
      auto yb = y.topRows(rows);
      sum += yb.colwise().sum().transpose();
      gram.selfadjointView<Eigen::Lower>().rankUpdate(yb.transpose());
      if (context && (++counter % 64) == 0) context->checkCancelled("projectedMoments");
    }
  });
  ProjectedMoments out;
  out.mean = sums[0];
  Eigen::MatrixXd total = grams[0];
  for (size_t p = 1; p < sums.size(); ++p) {
    out.mean += sums[p];
    total += grams[p];
  }
  out.mean /= static_cast<double>(N);
  out.second = total.selfadjointView<Eigen::Lower>();
  out.second /= static_cast<double>(N);
  return out;
}

ReducedMoments reducedMoments(const double* x, Index environments, Index N, Index d, Index n,
                              const std::string& function, const Context* context) {
  if (n < 1) throw Error(function, "n must be >= 1");
  if (d < n)
    throw Error(function,
                "d = " + str(d) + " observed dimensions is fewer than n = " + str(n) + " latents: need d >= n");
  if (N < n + 1)
    throw Error(function, "N = " + str(N) + " samples per environment is too few to fit n = " + str(n) +
                              "-dimensional covariances: need N >= n + 1 = " + str(n + 1));
  ReducedMoments out;
  out.samples = N;
  const ConstMatrixMap x0(x, N, d);
  const Matrix c0 = covariance(x0, context);
  topEigenvectors(c0, n, function, out);
  out.covariance.resize(static_cast<size_t>(environments));
  out.mean.resize(static_cast<size_t>(environments));
  const Vector mu0 = columnMean(x0);
  out.covariance[0] = out.basis.transpose() * c0 * out.basis;
  out.mean[0] = out.basis.transpose() * mu0;
  for (Index k = 1; k < environments; ++k) {
    if (context) {
      context->checkCancelled(function);
      context->progress(static_cast<double>(k) / static_cast<double>(environments));
    }
    const ProjectedMoments m = projectedMoments(ConstMatrixMap(x + k * N * d, N, d), out.basis, context);
    out.mean[static_cast<size_t>(k)] = m.mean;
    out.covariance[static_cast<size_t>(k)] = m.second - m.mean * m.mean.transpose();
  }
  return out;
}

ReducedMoments reducedMomentsFromCovariances(const std::vector<Matrix>& covariance, const std::vector<Vector>& mean,
                                             Index n, Index samples, const std::string& function) {
  if (covariance.empty()) throw Error(function, "no environment covariances given");
  const Index d = covariance[0].rows();
  if (n < 1) throw Error(function, "n must be >= 1");
  if (d < n)
    throw Error(function,
                "d = " + str(d) + " observed dimensions is fewer than n = " + str(n) + " latents: need d >= n");
  if (!mean.empty() && mean.size() != covariance.size())
    throw Error(function, "got " + str(static_cast<Index>(mean.size())) + " means for " +
                              str(static_cast<Index>(covariance.size())) + " covariances");
  ReducedMoments out;
  out.samples = samples;
  topEigenvectors(covariance[0], n, function, out);
  for (size_t k = 0; k < covariance.size(); ++k) {
    const Matrix& c = covariance[k];
    if (c.rows() != d || c.cols() != d)
      throw Error(function, "covariance " + str(static_cast<Index>(k)) + " is not " + str(d) + " x " + str(d));
    out.covariance.push_back(out.basis.transpose() * c * out.basis);
    out.mean.push_back(mean.empty() ? Vector(Vector::Zero(n)) : Vector(out.basis.transpose() * mean[k]));
  }
  return out;
}

std::vector<Matrix> reduceScoreDifferences(const double* dsx, Index K, Index N, Index d, const Matrix& basis,
                                           const Context* context) {
  std::vector<Matrix> out;
  out.reserve(static_cast<size_t>(K));
  for (Index m = 0; m < K; ++m) {
    if (context) context->checkCancelled("reduceScoreDifferences");
    out.push_back(projectedMoments(ConstMatrixMap(dsx + m * N * d, N, d), basis, context).second);
  }
  return out;
}

GaussianPlugIn fitGaussianPlugIn(const ReducedMoments& moments, bool centred, const std::string& function) {
  GaussianPlugIn model;
  model.basis = moments.basis;
  model.centred = centred;
  const Index n = moments.basis.cols();
  for (size_t k = 0; k < moments.covariance.size(); ++k) {
    const Matrix c = 0.5 * (moments.covariance[k] + moments.covariance[k].transpose());
    Eigen::LLT<Matrix> llt(c);
    const double scale = c.diagonal().maxCoeff();
    if (llt.info() != Eigen::Success || !(scale > 0.0) ||
        !(llt.matrixL().toDenseMatrix().diagonal().minCoeff() > 1e-7 * std::sqrt(scale)))
      throw Error(function, "environment " + str(static_cast<Index>(k)) +
                                "'s covariance on the n-dimensional support is singular (rank-deficient environment): "
                                "it needs samples spreading over all n latent directions");
    model.precision.push_back(llt.solve(Matrix::Identity(n, n)));
    model.mean.push_back(centred ? moments.mean[k] : Vector(Vector::Zero(n)));
  }
  return model;
}

namespace {

// dsx_m(x) = B (D_m y + c_m), y = B^T x.
void affineScoreDifference(const GaussianPlugIn& model, size_t m, Matrix& D, Vector& c) {
  const Matrix& p0 = model.precision[0];
  const Matrix& pm = model.precision[m];
  D = pm - p0;
  c = p0 * model.mean[0] - pm * model.mean[m];
}

}  // namespace

std::vector<Matrix> gaussianScoreDiffCovariances(const GaussianPlugIn& model, const ReducedMoments& moments) {
  std::vector<Matrix> R;
  const Matrix& c0 = moments.covariance[0];
  const Vector& nu0 = moments.mean[0];
  for (size_t m = 1; m < model.precision.size(); ++m) {
    Matrix D;
    Vector c;
    affineScoreDifference(model, m, D, c);
    const Vector shift = D * nu0 + c;
    Matrix r = D * c0 * D + shift * shift.transpose();
    R.push_back(0.5 * (r + r.transpose()));
  }
  return R;
}

void gaussianScoreDifferences(const GaussianPlugIn& model, const ConstMatrixMap& at, double* out,
                              const Context* context) {
  const Index M = at.rows(), d = at.cols(), n = model.basis.cols();
  const Index K = static_cast<Index>(model.precision.size()) - 1;
  if (d != model.basis.rows())
    throw Error("gaussianScoreDifferences", "points have " + str(d) + " columns, the model " + str(model.basis.rows()));
  // Row form: dsx_m(x)^T = (x^T B) D_m^T B^T + (B c_m)^T; maps[m] = D_m^T B^T (n x d), shifts[m] = (B c_m)^T.
  std::vector<Matrix> maps;
  std::vector<Eigen::RowVectorXd> shifts;
  for (Index m = 1; m <= K; ++m) {
    Matrix D;
    Vector c;
    affineScoreDifference(model, static_cast<size_t>(m), D, c);
    maps.push_back(D.transpose() * model.basis.transpose());
    shifts.push_back((model.basis * c).transpose());
  }
  const SmallProduct project(model.basis);
  std::vector<SmallProduct> lift;
  for (const Matrix& map : maps) lift.emplace_back(map);
  const double work =
      static_cast<double>(M) * static_cast<double>(d) * static_cast<double>(n) * static_cast<double>(K + 1);
  const int parts = work < kParallelWork ? 1 : threads();
  parallelRanges(M, parts, [&](int, int64_t begin, int64_t end) {
    Matrix y(std::min<Index>(kProjectRows, end - begin), n);
    Index counter = 0;
    for (Index start = begin; start < end; start += kProjectRows) {
      const Index rows = std::min<Index>(kProjectRows, end - start);
      project.apply(at.data() + start * d, rows, y.data());
      for (Index m = 0; m < K; ++m) {
        double* dst = out + (m * M + start) * d;
        lift[static_cast<size_t>(m)].apply(y.data(), rows, dst);
        MatrixMap(dst, rows, d).rowwise() += shifts[static_cast<size_t>(m)];
      }
      if (context && (++counter % 32) == 0) context->checkCancelled("gaussianScoreDifferences");
    }
  });
}

}  // namespace scorecrl
