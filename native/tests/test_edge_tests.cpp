// Standalone test of the 'regression' edge rule's pieces (edge_tests.hpp): the F distribution's
// survival function against SciPy's values, the interventional order on a synthetic shift
// matrix, and the edge tests on latents with a nonlinear edge, a linear dependence (what the
// unmixing's leakage looks like) and no dependence. Plain main; exits nonzero on failure.
#include <cmath>
#include <cstdio>
#include <vector>

#include "scorecrl/algorithms/edge_tests.hpp"
#include "scorecrl/runtime/ops.hpp"
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

  // interventionalGraph: z0 -> z1 (nonlinear), z2 alone; two hard interventions per latent (noise
  // sd x0.5 and x2); the latents seen with linear leakage in both directions, as GSCALE-I's are.
  {
    const Index M = 20000;
    Generator rng(11);
    auto draw = [&](int target, double scale) {
      Matrix z(M, 3);
      for (Index i = 0; i < M; ++i) {
        const double s0 = target == 0 ? scale : 1.0, s1 = target == 1 ? scale : 1.0, s2 = target == 2 ? scale : 1.0;
        const double z0 = s0 * rng.standardNormal();
        const double z1 = target == 1 ? s1 * rng.standardNormal() : z0 * z0 - 1.0 + 0.5 * rng.standardNormal();
        const double z2 = s2 * rng.standardNormal();
        // Observed: each latent leaks a little of the others.
        z(i, 0) = z0 + 0.08 * z1;
        z(i, 1) = z1 + 0.08 * z0 + 0.03 * z2;
        z(i, 2) = z2 + 0.05 * z0;
      }
      return z;
    };
    std::vector<Matrix> latents{draw(-1, 1.0)};
    for (int target = 0; target < 3; ++target) latents.push_back(draw(target, 0.5));
    for (int target = 0; target < 3; ++target) latents.push_back(draw(target, 2.0));
    Adjacency targets = Adjacency::Constant(3, 6, false);
    for (int i = 0; i < 3; ++i) targets(i, i) = targets(i, 3 + i) = true;
    const InterventionalGraph g = interventionalGraph(latents, targets, 0.01, kLinearShareFloor);
    std::vector<int> position(3);
    for (int t = 0; t < 3; ++t) position[static_cast<size_t>(g.order[static_cast<size_t>(t)])] = t;
    CHECK(position[0] < position[1]);
    CHECK(g.graph(0, 1));
    CHECK(g.graph.count() == 1);
    CHECK(g.pValue(0, 1) < 1e-100);
    CHECK_NEAR(g.level, 0.01 / 3, 1e-15);
    // The unmixing undoes the leakage between 0 and 1 (rows stay near the identity's).
    CHECK(std::abs(g.unmixing(1, 0) / g.unmixing(1, 1) + 0.08) < 0.03);
    // One environment per latent: no two-sided solve, still the order and the edge.
    std::vector<Matrix> one(latents.begin(), latents.begin() + 4);
    Adjacency single = Adjacency::Constant(3, 3, false);
    for (int i = 0; i < 3; ++i) single(i, i) = true;
    const InterventionalGraph h = interventionalGraph(one, single, 0.01, kLinearShareFloor);
    CHECK(h.graph(0, 1));
    bool threw = false;
    try {
      interventionalGraph(one, Adjacency::Constant(3, 3, false), 0.01, kLinearShareFloor);
    } catch (const Error&) {
      threw = true;
    }
    CHECK(threw);
  }

  std::printf("test_edge_tests: %d checks, %d failures\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
