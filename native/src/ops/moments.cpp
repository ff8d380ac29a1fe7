// Operations: covariance, scoreDiffCovariance, crossScoreDiffCovariance, symmetricEigen.
#include <cmath>

#include "scorecrl/linalg/moments.hpp"
#include "scorecrl/runtime/limits.hpp"
#include "scorecrl/runtime/ops.hpp"

namespace scorecrl {
namespace {

OpResult opCovariance(const OpArgs& args, const Context& context) {
  ConstMatrixMap x = args.matrix("x");
  if (x.rows() < 2) args.fail("'x' needs at least 2 samples (rows), got " + std::to_string(x.rows()));
  // The d x d result (and its copy into the output) grow with d squared: a
  // short, wide input can ask for far more than it holds.
  limits::Request("covariance").add("the d x d covariance and its copy", {2, x.cols(), x.cols()}).check();
  OpResult result;
  result.put("covariance", covariance(x, &context));
  return result;
}

OpResult scoreDiffMoments(const OpArgs& args, const Context& context, bool cross) {
  const ArrayView& dsx = args.array("dsx");
  const Index K = dsx.shape[0], N = dsx.shape[1], d = dsx.shape[2];
  OpResult result;
  if (cross) {
    if (K * d > 20000)
      args.fail("K*d = " + std::to_string(K * d) + " is too large for the cross moment matrix (max 20000)");
    limits::Request("crossScoreDiffCovariance")
        .add("the (K d) x (K d) moments and their copy", {2, K * d, K * d})
        .check();
    result.put("covariance", crossScoreDiffCovariance(dsx.data, K, N, d, &context));
  } else {
    limits::Request("scoreDiffCovariance").add("the K x d x d moments and their copy", {2, K, d, d}).check();
    Matrix stacked = scoreDiffCovariance(dsx.data, K, N, d, &context);
    result.put("covariance", std::vector<double>(stacked.data(), stacked.data() + stacked.size()), {K, d, d});
  }
  return result;
}

OpResult opScoreDiffCovariance(const OpArgs& args, const Context& context) {
  return scoreDiffMoments(args, context, false);
}

OpResult opCrossScoreDiffCovariance(const OpArgs& args, const Context& context) {
  return scoreDiffMoments(args, context, true);
}

OpResult opSymmetricEigen(const OpArgs& args, const Context&) {
  ConstMatrixMap a = args.matrix("a");
  if (a.rows() != a.cols())
    args.fail("'a' must be square, got " + std::to_string(a.rows()) + "x" + std::to_string(a.cols()));
  const double scale = a.cwiseAbs().maxCoeff();
  if ((a - a.transpose()).cwiseAbs().maxCoeff() > 1e-10 * std::max(scale, 1.0))
    args.fail("'a' must be symmetric (max |a - a^T| exceeds 1e-10 relative)");
  SymmetricEigen eig = symmetricEigen(Matrix(a));
  OpResult result;
  result.put("values", std::vector<double>(eig.values.data(), eig.values.data() + eig.values.size()),
             {eig.values.size()});
  result.put("vectors", eig.vectors);
  return result;
}

SCORECRL_OP(OpSpec("covariance", "Centred covariance (1/N) of the rows of x.")
                .array("x", "N d", "samples, one per row (N >= 2)")
                .returnsArray("covariance", "d d", "the covariance"),
            opCovariance);
SCORECRL_OP(OpSpec("scoreDiffCovariance", "Uncentred second moments E[dsx_k dsx_k^T], one per environment k.")
                .array("dsx", "K N d", "score differences")
                .returnsArray("covariance", "K d d", "the moments"),
            opScoreDiffCovariance);
SCORECRL_OP(OpSpec("crossScoreDiffCovariance",
                   "All cross moments E[dsx_i dsx_j^T]; block (i, j) at rows i d.., columns j d...")
                .array("dsx", "K N d", "score differences (K d <= 20000)")
                .returnsArray("covariance", "K*d K*d", "the moments"),
            opCrossScoreDiffCovariance);
SCORECRL_OP(OpSpec("symmetricEigen", "Eigen-decomposition of a symmetric matrix.")
                .array("a", "d d", "a symmetric matrix")
                .returnsArray("values", "d", "eigenvalues, ascending")
                .returnsArray("vectors", "d d", "eigenvectors as columns"),
            opSymmetricEigen);

}  // namespace
}  // namespace scorecrl
