// Standalone test of LSCALE-I's edge rules (decideEdges in lscale.hpp) on synthetic statistics.
// Plain main; exits nonzero on failure.
//
// With an identity decoder and observational covariance the adaptive statistic q_jm is
// Rz_m[j][j] itself, so the statistics can be laid out directly: here as LSCALE-I's hard stage
// sees them with learned score differences (pair minima near 10^-3.4, non-edges spread up to
// 10^-2.55 by unmixing leakage, edges from 10^-2.1 up).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "scorecrl/algorithms/lscale.hpp"

#include "check.hpp"

using namespace scorecrl;

namespace {

constexpr int n = 5;

// log10 of the statistic of j -> m (j before m in the order 0..4); the reverse pairs get
// `reverse` (a non-edge in any DAG), or exact zeros when it is -inf.
std::vector<Matrix> statistics(double reverse) {
  const double forward[n][n] = {
      {0, -1.5, -2.6, -2.9, -2.7},  // 0 -> 1 edge
      {0, 0, -2.0, -2.55, -2.8},    // 1 -> 2 edge
      {0, 0, 0, -3.0, -1.6},        // 2 -> 4 edge
      {0, 0, 0, 0, -2.1},           // 3 -> 4 edge
      {0, 0, 0, 0, 0},
  };
  std::vector<Matrix> rz(n, Matrix::Zero(n, n));
  for (int m = 0; m < n; ++m) {
    rz[m](m, m) = 1.0;
    for (int j = 0; j < n; ++j) {
      if (j == m) continue;
      const double reverseLog = reverse + 0.03 * (j + 2 * m) - 0.2;  // a little spread
      const double l = j < m ? forward[j][m] : reverseLog;
      rz[m](j, j) = std::isfinite(l) ? std::pow(10.0, l) : 0.0;
    }
  }
  return rz;
}

bool isEdge(int j, int m) {
  return (j == 0 && m == 1) || (j == 1 && m == 2) || (j == 2 && m == 4) || (j == 3 && m == 4);
}

}  // namespace

int main() {
  const Matrix eye = Matrix::Identity(n, n);
  {
    // Learned-like statistics: the adaptive split finds no separated groups and the hard stage
    // reports no edges; the null-level rule reports exactly the edges.
    const std::vector<Matrix> rz = statistics(-3.4);
    const EdgeDecision adaptive = decideEdges(rz, eye, eye, EdgeRule::Adaptive, 1e-3, EdgeFallback::NoEdges);
    CHECK(adaptive.graph.count() == 0);
    const EdgeDecision learned = decideEdges(rz, eye, eye, EdgeRule::NullLevel, 1e-3, EdgeFallback::NoEdges);
    for (int j = 0; j < n; ++j)
      for (int m = 0; m < n; ++m) CHECK(learned.graph(j, m) == isEdge(j, m));
    // The null level is the median pair minimum; margins are decades above it; the threshold
    // is nullMargin decades above it.
    std::vector<double> minima;
    for (int j = 0; j < n; ++j)
      for (int m = j + 1; m < n; ++m) minima.push_back(std::log10(std::min(rz[m](j, j), rz[j](m, m))));
    std::sort(minima.begin(), minima.end());
    const double median = 0.5 * (minima[4] + minima[5]);
    CHECK(std::abs(std::log10(learned.nullLevel) - median) < 1e-12);
    CHECK(std::abs(std::log10(learned.threshold) - (median + 1.25)) < 1e-12);
    CHECK(std::abs(learned.margin(0, 1) - (-1.5 - median)) < 1e-12);
    CHECK(std::isnan(learned.margin(2, 2)));
    // The adaptive rule reports the same margins.
    CHECK(std::abs(adaptive.margin(0, 1) - learned.margin(0, 1)) < 1e-15);
    // A larger margin drops the weakest edges; a smaller one admits leakage-level non-edges.
    const EdgeDecision strict =
        decideEdges(rz, eye, eye, EdgeRule::NullLevel, 1e-3, EdgeFallback::NoEdges, nullptr, nullptr, 1.6);
    CHECK(strict.graph.count() == 2 && strict.graph(0, 1) && strict.graph(2, 4));
    const EdgeDecision loose =
        decideEdges(rz, eye, eye, EdgeRule::NullLevel, 1e-3, EdgeFallback::NoEdges, nullptr, nullptr, 0.5);
    CHECK(loose.graph.count() > 4 && loose.graph(1, 3));
    // The soft stage (NullLevel fallback) decides as the adaptive rule under both.
    const EdgeDecision softA = decideEdges(rz, eye, eye, EdgeRule::Adaptive, 1e-3, EdgeFallback::NullLevel);
    const EdgeDecision softN = decideEdges(rz, eye, eye, EdgeRule::NullLevel, 1e-3, EdgeFallback::NullLevel);
    CHECK(softA.graph == softN.graph && softA.threshold == softN.threshold);
  }
  {
    // Exact zeros (exact scores): both rules decide alike.
    const std::vector<Matrix> rz = statistics(-std::numeric_limits<double>::infinity());
    const EdgeDecision a = decideEdges(rz, eye, eye, EdgeRule::Adaptive, 1e-3, EdgeFallback::NoEdges);
    const EdgeDecision b = decideEdges(rz, eye, eye, EdgeRule::NullLevel, 1e-3, EdgeFallback::NoEdges);
    CHECK(a.exactZeros && b.exactZeros);
    CHECK(a.graph == b.graph && a.threshold == b.threshold);
    CHECK(std::isnan(b.nullLevel));
  }
  {
    // The absolute rule has no margins.
    const EdgeDecision r = decideEdges(statistics(-3.4), eye, eye, EdgeRule::Absolute, 1e-3, EdgeFallback::NoEdges);
    CHECK(std::isnan(r.nullLevel) && std::isnan(r.margin(0, 1)));
  }
  std::printf("test_edge_rules: %d checks, %d failures\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
