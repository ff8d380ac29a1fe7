// Standalone test of the 'regression' edge rule's pieces (edge_tests.hpp): the F distribution's
// survival function against SciPy's values, the interventional order on a synthetic shift
// matrix, and the edge tests on latents with a nonlinear edge, a linear dependence (what the
// unmixing's leakage looks like) and no dependence. Plain main; exits nonzero on failure.
#include <cmath>
#include <cstdio>
#include <vector>

#include "scorecrl/algorithms/edge_tests.hpp"
#include "scorecrl/simulation/rng.hpp"

#include "check.hpp"

using namespace scorecrl;

int main() {
  // scipy.stats.f.sf(f, d1, d2)
  const double cases[][4] = {
      {2.5, 3, 100, 0.0638329599790865},
      {10, 5, 50000, 1.4012163719216698e-09},
      {0.5, 1, 10, 0.4956475043831199},
      {40, 6, 1000, 9.321189267103019e-44},
      {1.0, 20, 20, 0.5},
  };
  for (const auto& c : cases) CHECK_NEAR(fDistributionSurvival(c[0], c[1], c[2]) / c[3], 1.0, 1e-9);
  CHECK(fDistributionSurvival(0.0, 3, 10) == 1.0);
  CHECK(fDistributionSurvival(INFINITY, 3, 10) == 0.0);

  // Chain 2 -> 0 -> 3 -> 1: an intervention on a latent shifts it and its descendants; small
  // noise elsewhere. The order must be 2, 0, 3, 1.
  {
    const int n = 4;
    const std::vector<int> truth{2, 0, 3, 1};
    Matrix shift = Matrix::Constant(n, n, 1e-4);
    for (int a = 0; a < n; ++a)
      for (int b = a; b < n; ++b) shift(truth[a], truth[b]) = b == a ? 2.0 : 0.3 / (b - a);
    CHECK(interventionalOrder(shift) == truth);
    // Shifts computed from moments: latent 1 doubles its variance in environment 2 (intervening
    // latent 1), latent 0 moves its mean in environment 1 and drags latent 1 along.
    std::vector<Matrix> cov{Matrix::Identity(2, 2), Matrix::Identity(2, 2), Matrix::Identity(2, 2)};
    cov[2](1, 1) = 2.0;
    std::vector<Vector> mean{Vector::Zero(2), Vector::Zero(2), Vector::Zero(2)};
    mean[1] << 1.0, 0.5;
    const Matrix s = interventionalShifts(Matrix::Identity(2, 2), cov, mean);
    CHECK_NEAR(s(0, 0), 0.5, 1e-15);
    CHECK_NEAR(s(0, 1), 0.125, 1e-15);
    CHECK_NEAR(s(1, 1), 0.5 * (1.0 - std::log(2.0)), 1e-15);
    CHECK_NEAR(s(1, 0), 0.0, 1e-15);
    CHECK((interventionalOrder(s) == std::vector<int>{0, 1}));
  }

  // z0 ~ N(0, 1); z1 = z0^2 + noise (nonlinear edge 0 -> 1); z2 = 0.3 z0 + noise (linear only);
  // z3 independent. Order 0, 1, 2, 3.
  {
    const Index N = 20000;
    Generator rng(7);
    Matrix z(N, 4);
    for (Index i = 0; i < N; ++i) {
      const double z0 = rng.standardNormal();
      z(i, 0) = z0;
      z(i, 1) = z0 * z0 + 0.5 * rng.standardNormal();
      z(i, 2) = 0.3 * z0 + rng.standardNormal();
      z(i, 3) = rng.standardNormal();
    }
    const EdgeTests t = regressionEdgeTests(z, Vector(), {0, 1, 2, 3});
    CHECK(t.pValue(0, 1) < 1e-100);
    CHECK(t.share(0, 1) > 0.5);
    CHECK(t.pValue(0, 2) > 1e-3);         // the nonlinear test does not see a linear dependence
    CHECK(t.totalPValue(0, 2) < 1e-100);  // the total test does
    CHECK(t.totalShare(0, 2) > 0.05 && t.totalShare(0, 2) < 0.12);
    CHECK(t.totalShare(0, 3) < 1e-3);
    CHECK(t.pValue(0, 3) > 1e-3);
    CHECK(t.pValue(1, 3) > 1e-3);
    CHECK(t.pValue(2, 3) > 1e-3);
    CHECK(std::isnan(t.pValue(1, 0)));
    CHECK(std::isnan(t.pValue(3, 3)));
    // Unit weights are the unweighted fit; counts of 2 on every row leave the statistics' shares.
    const EdgeTests ones = regressionEdgeTests(z, Vector::Ones(N), {0, 1, 2, 3});
    CHECK_NEAR(ones.pValue(0, 2), t.pValue(0, 2), 1e-12);
    const EdgeTests twos = regressionEdgeTests(z, Vector::Constant(N, 2.0), {0, 1, 2, 3});
    CHECK_NEAR(twos.share(0, 2), t.share(0, 2), 1e-12);
  }

  std::printf("test_edge_tests: %d checks, %d failures\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
