// The sample-complexity algorithm for linear causal representation learning
// with soft interventions (NeurIPS 2024; docs/lscale.md). It works on the
// d x d score-difference second moments R_m = E_0[dsx_m dsx_m^T], m = 0..n-1,
// where environment m+1 intervenes latent m.
//
//   order    t = n-1 down to 1: among the remaining set V, remove the node k
//            whose removal leaves the smallest (d-t)-th largest eigenvalue,
//            i.e. eigenvalue index d-t-1 ascending, of sum_{i in V\k} R_i (the
//            youngest node adds a new direction to the column space). The last
//            remaining node is the oldest; ties go to the lowest index.
//   graph    transitive closure, for t = n-2 down to 0 and j = t+1..n-1: with
//            V_t the first t+1 nodes of the order, W the top-(t+1)
//            eigenvectors of sum_{V_t} R, and M = {m in V_j, m != pi_t,
//            no edge pi_t -> m yet}, the edge pi_t -> pi_j is added (and
//            pi_t inherits pi_j's descendants) when || P_null(M) W ||_2 <=
//            tolOrth, P_null(M) projecting on the eigenvectors of sum_M R with
//            eigenvalue <= tolEigv (all of R^d when M is empty).
//   encoder  row t = principal eigenvector of R_t (unit norm, largest-|.|
//            entry positive); latent t up to mixing with its ancestors.
#pragma once
#include <vector>

#include "scorecrl/evaluation/graph.hpp"
#include "scorecrl/linalg/linalg.hpp"

namespace scorecrl {

class Context;

struct FiniteSampleOptions {
  double tolEigv = 1e-2;
  double tolOrth = 1e-1;
};

struct FiniteSampleResult {
  std::vector<int> order;  // oldest first
  Adjacency graphClosure;  // n x n, (i, j): i is an ancestor of j
  Matrix encoder;          // n x d
};

// Throws Error("finiteSample", ...) for inconsistent shapes or tolerances.
std::vector<int> finiteSampleOrder(const std::vector<Matrix>& R);
Adjacency finiteSampleGraph(const std::vector<Matrix>& R, const std::vector<int>& order, double tolEigv,
                            double tolOrth);
Matrix finiteSampleEncoder(const std::vector<Matrix>& R);
FiniteSampleResult finiteSample(const std::vector<Matrix>& R, const FiniteSampleOptions& options,
                                const Context* context = nullptr);

}  // namespace scorecrl
