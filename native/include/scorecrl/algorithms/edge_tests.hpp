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

// The order (oldest first) that minimises the total shift placed against it:
// sum of shift(m, k) over the pairs where k comes before m (an intervention on m
// would then move a latent that precedes it). Exact, by dynamic programming over
// subsets: O(2^n n^2); n <= 20.
std::vector<int> interventionalOrder(const Matrix& shift);

// The edge tests on observational samples of the latents. For the latent at
// position t of `order`, least squares of it on features of the latents before
// it: per latent, a, a^2, a^3, max(a-1, 0), max(-a-1, 0), max(a, 0) of its
// standardised value a; the product a_i a_j of each pair of them; an intercept.
// For each earlier latent j, the fit without j's nonlinear terms (all but a_j,
// with the products holding a_j) is compared to the full fit. The linear term
// stays in both because the unmixing's residual leakage between latents is
// linear (x = G z): it cannot be told from a linear edge, and a test of it
// would report that leakage at any sample size.
struct EdgeTests {
  Matrix pValue;  // n x n, [j][m]: P(F > observed) under no nonlinear j -> m; NaN if not tested
  Matrix share;   // n x n, [j][m]: variance share of m explained by j's nonlinear terms; NaN if not tested
};
// `latents`: N x n; `weights`: N row weights (bootstrap counts) or empty.
EdgeTests regressionEdgeTests(const Matrix& latents, const Vector& weights, const std::vector<int>& order,
                              const Context* context = nullptr);

double fDistributionSurvival(double f, double d1, double d2);

}  // namespace scorecrl
