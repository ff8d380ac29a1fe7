// Data-based pieces of LSCALE-I's 'regression' edge rule (docs/lscale.md#the-regression-rule),
// for learned score differences, whose statistics carry estimation error that
// a threshold on them cannot separate from weak edges.
//
//   interventionalOrder   a causal order from how each environment shifts the
//                         soft stage's latents: an intervention on latent m changes
//                         the distribution of m's descendants and of nothing else.
//   regressionEdgeTests   for each latent m and each latent j before it in the
//                         order: does the nonlinear part of j's influence explain
//                         any of m's variance in the observational environment,
//                         given everything else before m? An F-test of nested
//                         least-squares fits on fixed features.
//   fDistributionSurvival P(F > f) for the F(d1, d2) distribution.
#pragma once
#include <vector>

#include "scorecrl/evaluation/graph.hpp"
#include "scorecrl/linalg/linalg.hpp"

namespace scorecrl {

class Context;

// Shift of latent k's distribution from environment 0 to environment m+1, for
// each m (rows) and k (columns), under a Gaussian reading of its mean and
// variance: the Kullback-Leibler divergence KL(N(mu_{m+1}, v_{m+1}) || N(mu_0, v_0))
// of the latent w_k^T y. `encoder`: n x n rows w_k in the reduced basis;
// `covariance`, `mean`: n+1 reduced covariances and means (means may be empty:
// no mean shifts).
Matrix interventionalShifts(const Matrix& encoder, const std::vector<Matrix>& covariance,
                            const std::vector<Vector>& mean);

// Tests of the same shifts: [j][m] = p-value of "latent m's mean and variance are the same in
// environment j+1 as in environment 0" (two-sided F-test of the variances and z-test of the
// means, on `samples` rows per environment; the smaller p-value, doubled, capped at 1). Diagonal NaN.
Matrix interventionalShiftPValues(const Matrix& encoder, const std::vector<Matrix>& covariance,
                                  const std::vector<Vector>& mean, double samples);

// The order (oldest first) that minimises the total shift placed against it:
// sum of shift(m, k) over the pairs where k comes before m (an intervention on m
// would then move a latent that precedes it). Exact, by dynamic programming over
// subsets: O(2^n n^2); n <= 20.
std::vector<int> interventionalOrder(const Matrix& shift);

// The edge tests on observational samples of the latents. For the latent at
// position t of `order`, least squares of it on features of the latents before
// it: per latent, a, a^2, a^3, max(a-1, 0), max(-a-1, 0), max(a, 0) of its
// standardised value a; the product a_i a_j of each pair of them; an intercept.
// For each earlier latent j two nested fits are compared to the full one (F-tests):
//   nonlinear  without j's nonlinear terms (all but a_j, with the products holding
//              a_j). The linear term stays because the unmixing's residual leakage
//              between latents is linear (x = G z): a test of it would report that
//              leakage at any sample size.
//   total      without any of j's terms; `totalShare` is the share of m's variance
//              they explain beyond the other latents. The rule lets it decide only
//              above a floor the leakage does not reach (a linear mechanism).
struct EdgeTests {
  Matrix pValue;       // n x n, [j][m]: p-value of the nonlinear test; NaN if not tested
  Matrix share;        // n x n, [j][m]: variance share of m explained by j's nonlinear terms
  Matrix totalPValue;  // n x n, [j][m]: p-value of the total test
  Matrix totalShare;   // n x n, [j][m]: variance share of m explained by all of j's terms
};
// `latents`: N x n; `weights`: N row weights (bootstrap counts) or empty.
// `function` names the caller in errors.
EdgeTests regressionEdgeTests(const Matrix& latents, const Vector& weights, const std::vector<int>& order,
                              const Context* context = nullptr, const char* function = "lscale");

double fDistributionSurvival(double f, double d1, double d2);

// The share of a latent's variance above which a significant total dependence makes an edge even
// without a nonlinear part (a linear mechanism): the unmixing's leakage stayed below 0.008 on
// LSCALE-I's tuning seeds 1000-1019 (docs/lscale-accuracy.md).
constexpr double kLinearShareFloor = 0.03;

// The edge decision on EdgeTests at the family-wise level `edgeLevel` over the n(n-1)/2 pairs
// (Bonferroni: per-pair level edgeLevel / (n(n-1)/2)): j -> m when the nonlinear test's p-value
// is below the per-pair level, or when all of j's terms explain at least `linearShareFloor` of m's
// variance with a total p-value below it. pValue: the deciding test's p-value (NaN where not
// tested); margin: log10(level) - log10(pValue), decades below the level (an edge when positive).
struct EdgeDecisionFromTests {
  Adjacency graph;
  Matrix pValue;
  Matrix margin;
  double level = 0;  // the per-pair level
};
EdgeDecisionFromTests decideFromTests(const EdgeTests& tests, double edgeLevel, double linearShareFloor);

// A graph over latents that are already identified (up to per-coordinate maps, with some residual
// mixing), from samples of every environment: `latents[k]` (M_k x n) are the latents of
// environment k (0 observational), `targets` (n x K) marks the environments that intervene each
// latent (hard interventions; one or two per latent). Steps (docs/gscale.md#graphs-from-the-environments):
//   1. order: interventionalOrder of the evidence max_e M N-KL(latent m: env e vs env 0) / ln 10
//      over the environments e of latent j;
//   2. unmixing in that order, linear: latent m minus its regression on the latents before it in
//      m's environment (where m is independent of them); with two environments of different
//      strength the leakage of m into those latents is solved for too (its covariance with them
//      scales with m's variance, theirs does not) and removed;
//   3. regressionEdgeTests on the unmixed observational latents, decided by decideFromTests.
struct InterventionalGraph {
  std::vector<int> order;
  Adjacency graph;
  Matrix pValue;     // n x n, the deciding test's p-value (NaN: not tested)
  Matrix share;      // n x n, variance share of m explained by all of j's terms
  Matrix margin;     // n x n, decades of the p-value below the per-pair level
  Matrix unmixing;   // n x n, W: unmixed latents = W latents
  double level = 0;  // per-pair level
};
InterventionalGraph interventionalGraph(const std::vector<Matrix>& latents, const Adjacency& targets, double edgeLevel,
                                        double linearShareFloor, const Context* context = nullptr);

}  // namespace scorecrl
