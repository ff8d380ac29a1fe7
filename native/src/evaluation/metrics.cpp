// Metrics: linear sum assignment, MCC, effective mixing error, relative RMSE.
// See metrics.hpp for definitions and conventions.
#include "scorecrl/evaluation/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "scorecrl/runtime/error.hpp"

namespace scorecrl {
namespace {

std::string shapeOf(Index rows, Index cols) { return std::to_string(rows) + "x" + std::to_string(cols); }

void requireFinite(const char* function, const char* argument, const Matrix& m) {
  if (!m.allFinite()) {
    throw Error(function, std::string("`") + argument + "` contains NaN or infinite entries; pass finite values");
  }
}

// A diagonal entry of E below this fraction of its row's norm is treated as zero
// when choosing the row's sign.
constexpr double kNegligibleDiagonal = 1e-10;

}  // namespace

std::vector<int> linearSumAssignment(const Matrix& cost) {
  const char* fn = "linearSumAssignment";
  const Index rows = cost.rows(), cols = cost.cols();
  if (rows > cols) {
    throw Error(fn, "`cost` is " + shapeOf(rows, cols) +
                        " but needs rows <= cols so every row can get its own column; "
                        "pass the transpose and invert the result");
  }
  requireFinite(fn, "cost", cost);
  if (rows == 0) return {};

  // Shortest augmenting paths with dual potentials u (rows), v (columns); index 0 is
  // a virtual column used as the root of each augmentation (1-based below).
  const int n = static_cast<int>(rows), m = static_cast<int>(cols);
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0.0), v(m + 1, 0.0), minv(m + 1);
  std::vector<int> rowOfCol(m + 1, 0), way(m + 1, 0);
  std::vector<char> used(m + 1);
  for (int i = 1; i <= n; ++i) {
    rowOfCol[0] = i;
    int j0 = 0;
    std::fill(minv.begin(), minv.end(), inf);
    std::fill(used.begin(), used.end(), 0);
    do {
      used[j0] = 1;
      const int i0 = rowOfCol[j0];
      double delta = inf;
      int j1 = 0;
      for (int j = 1; j <= m; ++j) {
        if (used[j]) continue;
        const double reduced = cost(i0 - 1, j - 1) - u[i0] - v[j];
        if (reduced < minv[j]) {
          minv[j] = reduced;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (int j = 0; j <= m; ++j) {
        if (used[j]) {
          u[rowOfCol[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (rowOfCol[j0] != 0);
    do {  // augment along the alternating path back to the root
      const int j1 = way[j0];
      rowOfCol[j0] = rowOfCol[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<int> result(n, -1);
  for (int j = 1; j <= m; ++j)
    if (rowOfCol[j] != 0) result[rowOfCol[j] - 1] = j - 1;
  return result;
}

MccResult meanCorrelationCoefficient(const Matrix& zTrue, const Matrix& zEstimate) {
  const char* fn = "meanCorrelationCoefficient";
  if (zTrue.rows() != zEstimate.rows() || zTrue.cols() != zEstimate.cols()) {
    throw Error(fn, "`zTrue` (" + shapeOf(zTrue.rows(), zTrue.cols()) + ") and `zEstimate` (" +
                        shapeOf(zEstimate.rows(), zEstimate.cols()) +
                        ") must have the same shape N x n (samples as rows)");
  }
  if (zTrue.rows() < 2) {
    throw Error(
        fn, "`zTrue` and `zEstimate` need at least 2 samples (rows) to correlate; got " + std::to_string(zTrue.rows()));
  }
  requireFinite(fn, "zTrue", zTrue);
  requireFinite(fn, "zEstimate", zEstimate);
  const Index n = zTrue.cols();

  const Matrix t = zTrue.rowwise() - zTrue.colwise().mean();
  const Matrix e = zEstimate.rowwise() - zEstimate.colwise().mean();
  const Vector tNorm = t.colwise().norm().transpose();
  const Vector eNorm = e.colwise().norm().transpose();
  Matrix corr = t.transpose() * e;  // n x n, true latents as rows
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < n; ++j) {
      const double denom = tNorm(i) * eNorm(j);
      // |corr| <= 1 up to rounding; clamp so a perfect copy gives exactly 1.
      corr(i, j) = denom > 0.0 ? std::min(1.0, std::abs(corr(i, j)) / denom) : 0.0;
    }
  }

  MccResult result;
  result.matching = linearSumAssignment(-corr);
  result.perLatent.resize(n);
  for (Index i = 0; i < n; ++i) result.perLatent(i) = corr(i, result.matching[i]);
  result.mcc = n > 0 ? result.perLatent.mean() : 0.0;
  return result;
}

Adjacency allowedPattern(const Adjacency& graph, bool includeAncestors) {
  if (graph.rows() != graph.cols()) {
    throw Error("allowedPattern",
                "`graph` must be a square n x n adjacency matrix (got " + shapeOf(graph.rows(), graph.cols()) + ")");
  }
  // graph(j, i): j -> i, i.e. j is a parent of i; allowed(i, j) needs the transpose.
  Adjacency related = includeAncestors ? transitiveClosure(graph) : graph;
  Adjacency allowed = related.transpose();
  allowed.diagonal().setConstant(true);
  return allowed;
}

MixingError effectiveMixingError(const Matrix& encoder, const Matrix& decoder, const Adjacency& allowed,
                                 double threshold) {
  const char* fn = "effectiveMixingError";
  const Index n = encoder.rows();
  if (decoder.rows() != encoder.cols() || decoder.cols() != n) {
    throw Error(fn, "`encoder` is " + shapeOf(encoder.rows(), encoder.cols()) +
                        " (n x d) so `decoder` must be d x n = " + shapeOf(encoder.cols(), n) + ", got " +
                        shapeOf(decoder.rows(), decoder.cols()));
  }
  if (allowed.rows() != n || allowed.cols() != n) {
    throw Error(fn, "`allowed` must be n x n = " + shapeOf(n, n) + " (got " + shapeOf(allowed.rows(), allowed.cols()) +
                        "); build it with allowedPattern(graph, includeAncestors)");
  }
  if (!(threshold >= 0.0) || !std::isfinite(threshold)) {
    throw Error(fn, "`threshold` must be a finite number >= 0 (got " + std::to_string(threshold) +
                        "); the usual value is 0.05");
  }
  requireFinite(fn, "encoder", encoder);
  requireFinite(fn, "decoder", decoder);

  MixingError result;
  result.effective.noalias() = encoder * decoder;
  Matrix& eff = result.effective;
  for (Index i = 0; i < n; ++i) {
    const double norm = eff.row(i).norm();
    if (norm == 0.0) continue;
    // Diagonal positive; a diagonal entry that is zero up to rounding (relative to
    // the row) carries no sign, so fall back to the largest-|.| entry.
    double pivot = eff(i, i);
    if (std::abs(pivot) <= kNegligibleDiagonal * norm) {
      Index k = 0;
      eff.row(i).cwiseAbs().maxCoeff(&k);
      pivot = eff(i, k);
    }
    eff.row(i) *= (pivot < 0.0 ? -1.0 : 1.0) / norm;
  }

  Matrix offPattern = eff;
  int offCount = 0;
  result.incorrectCount = 0;
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < n; ++j) {
      if (allowed(i, j)) {
        offPattern(i, j) = 0.0;
      } else {
        ++offCount;
        if (std::abs(eff(i, j)) >= threshold) ++result.incorrectCount;
      }
    }
  }
  result.incorrectRatio = offCount == 0 ? 0.0 : static_cast<double>(result.incorrectCount) / offCount;

  // Largest singular value = sqrt of the largest eigenvalue of M^T M (n is small).
  result.offPatternSpectralNorm = 0.0;
  if (n > 0) {
    Matrix gram = Matrix::Zero(n, n);
    gram.selfadjointView<Eigen::Lower>().rankUpdate(offPattern.transpose());
    Eigen::SelfAdjointEigenSolver<Matrix> eig(gram, Eigen::EigenvaluesOnly);
    result.offPatternSpectralNorm = std::sqrt(std::max(0.0, eig.eigenvalues()(n - 1)));
  }
  return result;
}

double relativeRmse(const Matrix& estimate, const Matrix& truth) {
  const char* fn = "relativeRmse";
  if (estimate.rows() != truth.rows() || estimate.cols() != truth.cols()) {
    throw Error(fn, "`estimate` (" + shapeOf(estimate.rows(), estimate.cols()) + ") and `truth` (" +
                        shapeOf(truth.rows(), truth.cols()) + ") must have the same shape");
  }
  requireFinite(fn, "estimate", estimate);
  requireFinite(fn, "truth", truth);
  const double denom = truth.squaredNorm();
  if (denom == 0.0) {
    throw Error(fn,
                "`truth` is all zeros, so the relative error is undefined; "
                "use an absolute error instead");
  }
  return std::sqrt((estimate - truth).squaredNorm() / denom);
}

}  // namespace scorecrl
