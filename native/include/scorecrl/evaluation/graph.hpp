// Directed-graph utilities on boolean adjacency matrices.
//
// Convention (docs/lscale.md, "Data and results"): `a(i, j) == true` means the edge i -> j, so the
// parents of node j are the `true` entries of column j. Matrices must be square;
// every function throws `scorecrl::Error` naming the argument otherwise.
//
// Conventions fixed for parity with the authors' reference code
// (acarturk-e/score-based-crl, utils/dag.py):
//   * topologicalOrder repeatedly takes the lowest-index node that has no parent
//     among the nodes not yet taken (the reference's `np.argmin` over parent counts).
//   * closestDag keeps the edges consistent with the node order that keeps the most
//     edges; among such orders it picks the lexicographically smallest one, i.e. the
//     first that `itertools.permutations(range(n))` enumerates (the reference
//     replaces its best order only on a strict improvement). Unlike the reference,
//     which tries all n! orders, this is an exact O(2^n n) dynamic program.
//   * compareGraphs counts SHD exactly as the reference's `graph_diff`: a reversed
//     edge counts once, not as an addition plus a deletion.
#pragma once
#include <vector>

#include "scorecrl/linalg/linalg.hpp"

namespace scorecrl {

using Adjacency = Eigen::Matrix<bool, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Largest n accepted by closestDag (its table has 2^n entries).
constexpr int kClosestDagMaxNodes = 20;

// Reachability by paths of length >= 1, for any graph (cycles allowed). The diagonal
// of the result is always false, even for nodes on a cycle.
Adjacency transitiveClosure(const Adjacency& a);

// The unique minimal subgraph with the same reachability: keeps i -> j unless some
// other path i -> k ->...-> j exists. Throws if `dag` has a cycle (or a self loop).
Adjacency transitiveReduction(const Adjacency& dag);

// True iff the graph has no directed cycle. A self loop is a cycle.
bool isDag(const Adjacency& a);

// Topological order (sources first): repeatedly the lowest-index node with no
// remaining parents. Throws if `dag` has a cycle (or a self loop).
std::vector<int> topologicalOrder(const Adjacency& dag);

// Closest DAG: `order` is the node order (order[0] first) that keeps the most edges
// of `a` pointing forward, ties broken towards the lexicographically smallest order;
// `dag` holds exactly the edges of `a` that point forward in `order` (self loops of
// `a` are dropped). `order` is always a topological order of `dag`, though not
// necessarily the one topologicalOrder(dag) returns. Throws if n > 20.
struct ClosestDag {
  Adjacency dag;
  std::vector<int> order;
};
ClosestDag closestDag(const Adjacency& a);

// Edge-level comparison of an estimated graph with the true one, in the labelling
// given (no node matching). With T = truth, E = estimate, for every ordered pair (i, j):
//   reversal   T(i,j) and E(j,i), i != j      (counted once per true edge)
//   deletion   T(i,j), not E(i,j), not E(j,i)
//   addition   E(i,j), not T(i,j), not T(j,i)
//   shd = additions + deletions + reversals.
// For DAG inputs this is the usual SHD with a reversal counted once. If the estimate
// holds both i -> j and j -> i while the truth holds i -> j, that pair counts as one
// reversal (as in the reference). Self loops, if present, count as ordinary edges.
// truePositives = #(T & E), falsePositives = #(E & !T), falseNegatives = #(T & !E),
// on directed edges (a reversed edge is one FP and one FN here).
// precision = TP / (TP + FP), defined as 1 when the estimate has no edges;
// recall    = TP / (TP + FN), defined as 1 when the truth has no edges.
struct GraphScores {
  int shd;
  int additions;
  int deletions;
  int reversals;
  double precision;
  double recall;
  int truePositives;
  int falsePositives;
  int falseNegatives;
};
GraphScores compareGraphs(const Adjacency& truth, const Adjacency& estimate);

}  // namespace scorecrl
