#include "scorecrl/algorithms/finite_sample.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "scorecrl/linalg/moments.hpp"
#include "scorecrl/runtime/ops.hpp"

namespace scorecrl {

namespace {

constexpr const char* kFunction = "finiteSample";

std::string str(Index v) { return std::to_string(static_cast<long long>(v)); }

void checkR(const std::vector<Matrix>& R) {
  if (R.empty()) throw Error(kFunction, "no score-difference covariances given");
  const Index d = R[0].rows();
  if (static_cast<Index>(R.size()) > d)
    throw Error(kFunction,
                "n = " + str(static_cast<Index>(R.size())) + " environments exceed d = " + str(d) + ": need d >= n");
  for (size_t m = 0; m < R.size(); ++m)
    if (R[m].rows() != d || R[m].cols() != d)
      throw Error(kFunction, "covariance " + str(static_cast<Index>(m)) + " is not " + str(d) + " x " + str(d));
  if (static_cast<Index>(R.size()) > kClosestDagMaxNodes * 4) throw Error(kFunction, "too many environments");
}

Matrix sumOf(const std::vector<Matrix>& R, const std::vector<int>& nodes) {
  const Index d = R[0].rows();
  Matrix s = Matrix::Zero(d, d);
  for (int i : nodes) s += R[static_cast<size_t>(i)];
  return 0.5 * (s + s.transpose());
}

Vector eigenvalues(const Matrix& a) {
  Eigen::SelfAdjointEigenSolver<Matrix> solver(a, Eigen::EigenvaluesOnly);
  if (solver.info() != Eigen::Success)
    throw Error(kFunction, "the eigen solver did not converge", ErrorCode::NoSolution);
  return solver.eigenvalues();
}

}  // namespace

std::vector<int> finiteSampleOrder(const std::vector<Matrix>& R) {
  checkR(R);
  const int n = static_cast<int>(R.size());
  const Index d = R[0].rows();
  std::vector<int> remaining(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) remaining[static_cast<size_t>(i)] = i;
  std::vector<int> order(static_cast<size_t>(n), 0);
  for (int t = n - 1; t >= 1; --t) {
    int youngest = -1;
    double best = std::numeric_limits<double>::infinity();
    for (int k : remaining) {
      std::vector<int> rest;
      for (int i : remaining)
        if (i != k) rest.push_back(i);
      const double v = eigenvalues(sumOf(R, rest))(d - t - 1);
      if (v < best) {
        best = v;
        youngest = k;
      }
    }
    order[static_cast<size_t>(t)] = youngest;
    remaining.erase(std::find(remaining.begin(), remaining.end(), youngest));
  }
  order[0] = remaining[0];
  return order;
}

Adjacency finiteSampleGraph(const std::vector<Matrix>& R, const std::vector<int>& order, double tolEigv,
                            double tolOrth) {
  checkR(R);
  const int n = static_cast<int>(R.size());
  const Index d = R[0].rows();
  if (static_cast<int>(order.size()) != n)
    throw Error(kFunction, "the order must list all " + std::to_string(n) + " nodes");
  Adjacency g = Adjacency::Constant(n, n, false);
  for (int t = n - 2; t >= 0; --t) {
    const int pt = order[static_cast<size_t>(t)];
    const std::vector<int> vt(order.begin(), order.begin() + t + 1);
    const SymmetricEigen vtEig = symmetricEigen(sumOf(R, vt));
    const Matrix w = vtEig.vectors.rightCols(t + 1);
    for (int j = t + 1; j < n; ++j) {
      const int pj = order[static_cast<size_t>(j)];
      std::vector<int> mtj;
      for (int i = 0; i <= j; ++i) {
        const int m = order[static_cast<size_t>(i)];
        if (m != pt && !g(pt, m)) mtj.push_back(m);
      }
      double metric;
      if (mtj.empty()) {
        metric = 1.0;  // the null space is all of R^d and W has unit columns
      } else {
        const SymmetricEigen eig = symmetricEigen(sumOf(R, mtj));
        Index nullDim = 0;
        while (nullDim < d && !(eig.values(nullDim) > tolEigv)) ++nullDim;
        if (nullDim == 0) {
          metric = 0.0;
        } else {
          const Matrix proj = eig.vectors.leftCols(nullDim).transpose() * w;  // coordinates in the null space
          metric = Eigen::JacobiSVD<Matrix>(proj).singularValues()(0);
        }
      }
      if (metric <= tolOrth) {
        g(pt, pj) = true;
        g.row(pt) = g.row(pt).array() || g.row(pj).array();
      }
    }
  }
  return g;
}

Matrix finiteSampleEncoder(const std::vector<Matrix>& R) {
  checkR(R);
  const Index n = static_cast<Index>(R.size()), d = R[0].rows();
  Matrix enc(n, d);
  for (Index t = 0; t < n; ++t) {
    const SymmetricEigen eig =
        symmetricEigen(0.5 * (R[static_cast<size_t>(t)] + R[static_cast<size_t>(t)].transpose()));
    enc.row(t) = eig.vectors.col(d - 1).transpose();
    Index arg = 0;
    for (Index i = 1; i < d; ++i)
      if (std::abs(enc(t, i)) > std::abs(enc(t, arg))) arg = i;
    if (enc(t, arg) < 0) enc.row(t) *= -1.0;
  }
  return enc;
}

FiniteSampleResult finiteSample(const std::vector<Matrix>& R, const FiniteSampleOptions& options,
                                const Context* context) {
  checkR(R);
  if (!(options.tolEigv >= 0.0) || !std::isfinite(options.tolEigv)) throw Error(kFunction, "'tolEigv' must be >= 0");
  if (!(options.tolOrth >= 0.0) || !std::isfinite(options.tolOrth)) throw Error(kFunction, "'tolOrth' must be >= 0");
  FiniteSampleResult out;
  out.order = finiteSampleOrder(R);
  if (context) context->checkCancelled(kFunction);
  out.graphClosure = finiteSampleGraph(R, out.order, options.tolEigv, options.tolOrth);
  out.encoder = finiteSampleEncoder(R);
  return out;
}

}  // namespace scorecrl
