#include "scorecrl/linalg/moments.hpp"

#include <algorithm>
#include <vector>

#include "scorecrl/linalg/kernels.hpp"
#include "scorecrl/runtime/ops.hpp"
#include "scorecrl/runtime/parallel.hpp"

namespace scorecrl {

namespace {

// Rows per copied block: large enough for the rank update to run at full
// speed, small enough that the block stays in cache.
constexpr Index kBlockRows = 256;
// Below this many multiply-adds a second thread costs more than it saves.
constexpr double kParallelWork = 4e6;

using ColMatrix = Eigen::MatrixXd;

Matrix symmetricFromLower(const ColMatrix& lower, double scale) {
  Matrix out = lower.selfadjointView<Eigen::Lower>();
  out *= scale;
  return out;
}

int partsFor(Index rows, Index cols) {
  const double work = static_cast<double>(rows) * static_cast<double>(cols) * static_cast<double>(cols);
  return work < kParallelWork ? 1 : threads();
}

// Sum over row ranges of the Gram of blocks produced by fill(block, start,
// rows): fill writes `rows` rows (from row `start`) of width `cols` into
// block. Each thread keeps its own accumulator; they are added at the end.
template <typename Fill>
ColMatrix blockedGram(Index total, Index cols, const Context* context, const char* function, Fill fill) {
  const int parts = partsFor(total, cols);
  std::vector<ColMatrix> partial(static_cast<size_t>(parts), ColMatrix::Zero(cols, cols));
  parallelRanges(total, parts, [&](int part, int64_t begin, int64_t end) {
    Matrix block(std::min<Index>(kBlockRows, std::max<int64_t>(end - begin, 1)), cols);
    Index counter = 0;
    for (Index start = begin; start < end; start += kBlockRows) {
      const Index rows = std::min<Index>(kBlockRows, end - start);
      fill(block, start, rows);
      gramAccumulate(block.data(), rows, cols, partial[static_cast<size_t>(part)].data());
      if (context && (++counter % 32) == 0) {
        context->checkCancelled(function);
        if (part == 0) context->progress(static_cast<double>(start - begin) / static_cast<double>(end - begin));
      }
    }
  });
  for (size_t p = 1; p < partial.size(); ++p) partial[0] += partial[p];
  return partial[0];
}

// Gram of a contiguous row-major matrix, read in place.
ColMatrix contiguousGram(const double* x, Index rows, Index cols) {
  const int parts = partsFor(rows, cols);
  std::vector<ColMatrix> partial(static_cast<size_t>(parts), ColMatrix::Zero(cols, cols));
  parallelRanges(rows, parts, [&](int part, int64_t begin, int64_t end) {
    gramAccumulate(x + begin * cols, end - begin, cols, partial[static_cast<size_t>(part)].data());
  });
  for (size_t p = 1; p < partial.size(); ++p) partial[0] += partial[p];
  return partial[0];
}

}  // namespace

Vector columnMean(const ConstMatrixMap& x) { return x.colwise().mean().transpose(); }

Matrix covariance(const ConstMatrixMap& x, const Context* context) {
  // One parallel pass instead of a mean pass and then a centred one: the Gram
  // of the rows shifted by the mean of the first block, each with a 1
  // appended, so that its last row holds the sums of the shifted rows; then
  // cov = (S - N m mᵀ) / N with m their mean. The shift is close to the mean,
  // so the subtraction loses no more than centring would.
  const Index N = x.rows(), d = x.cols();
  const Eigen::RowVectorXd shift = x.topRows(std::min<Index>(N, kBlockRows)).colwise().mean();
  ColMatrix acc = blockedGram(N, d + 1, context, "covariance", [&](Matrix& block, Index start, Index rows) {
    block.topLeftCorner(rows, d).noalias() = x.middleRows(start, rows).rowwise() - shift;
    block.col(d).head(rows).setOnes();
  });
  const Eigen::VectorXd m = acc.row(d).head(d).transpose() / static_cast<double>(N);
  ColMatrix gram = acc.topLeftCorner(d, d);
  gram.selfadjointView<Eigen::Lower>().rankUpdate(m, -static_cast<double>(N));
  return symmetricFromLower(gram, 1.0 / static_cast<double>(N));
}

Matrix secondMoment(const ConstMatrixMap& v) {
  return symmetricFromLower(contiguousGram(v.data(), v.rows(), v.cols()), 1.0 / static_cast<double>(v.rows()));
}

Matrix scoreDiffCovariance(const double* dsx, Index K, Index N, Index d, const Context* context) {
  Matrix out(K * d, d);
  for (Index k = 0; k < K; ++k) {
    if (context) context->checkCancelled("scoreDiffCovariance");
    out.middleRows(k * d, d) = secondMoment(ConstMatrixMap(dsx + k * N * d, N, d));
    if (context) context->progress(static_cast<double>(k + 1) / static_cast<double>(K));
  }
  return out;
}

Matrix crossScoreDiffCovariance(const double* dsx, Index K, Index N, Index d, const Context* context) {
  ColMatrix acc =
      blockedGram(N, K * d, context, "crossScoreDiffCovariance", [&](Matrix& block, Index start, Index rows) {
        for (Index k = 0; k < K; ++k)
          block.block(0, k * d, rows, d) = ConstMatrixMap(dsx + (k * N + start) * d, rows, d);
      });
  return symmetricFromLower(acc, 1.0 / static_cast<double>(N));
}

SymmetricEigen symmetricEigen(const Matrix& a) {
  Eigen::SelfAdjointEigenSolver<ColMatrix> solver(a);
  if (solver.info() != Eigen::Success)
    throw Error("symmetricEigen", "the eigen solver did not converge", ErrorCode::NoSolution);
  return {solver.eigenvalues(), solver.eigenvectors()};
}

}  // namespace scorecrl
