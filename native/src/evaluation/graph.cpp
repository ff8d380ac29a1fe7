// Graph utilities: closure, reduction, acyclicity, topological order, closest DAG,
// graph comparison. See graph.hpp for the conventions.
#include "scorecrl/evaluation/graph.hpp"

#include <cstdint>
#include <functional>
#include <queue>
#include <string>

#include "scorecrl/runtime/error.hpp"

namespace scorecrl {
namespace {

std::string shapeOf(const Adjacency& a) { return std::to_string(a.rows()) + "x" + std::to_string(a.cols()); }

void requireSquare(const char* function, const char* argument, const Adjacency& a) {
  if (a.rows() != a.cols()) {
    throw Error(function, std::string("`") + argument + "` must be a square n x n adjacency matrix (got " + shapeOf(a) +
                              "); pass one row and one column per node");
  }
}

// Kahn's algorithm with a min-heap of ready nodes: the node taken at each step is
// the lowest-index node with no remaining parents. Returns fewer than n nodes iff the
// graph has a cycle (a self loop keeps its node from ever becoming ready).
std::vector<int> lowestIndexKahn(const Adjacency& a) {
  const int n = static_cast<int>(a.rows());
  std::vector<int> remainingParents(n, 0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      if (a(i, j)) ++remainingParents[j];
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int j = 0; j < n; ++j)
    if (remainingParents[j] == 0) ready.push(j);
  std::vector<int> order;
  order.reserve(n);
  while (!ready.empty()) {
    const int v = ready.top();
    ready.pop();
    order.push_back(v);
    for (int j = 0; j < n; ++j)
      if (a(v, j) && j != v && --remainingParents[j] == 0) ready.push(j);
  }
  return order;
}

// Portable bit helpers (GCC/Clang builtins; plain loops elsewhere, e.g. MSVC).
inline int popcount32(std::uint32_t x) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_popcount(x);
#else
  int c = 0;
  for (; x != 0; x &= x - 1) ++c;
  return c;
#endif
}

inline int lowestBit32(std::uint32_t x) {  // x != 0
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_ctz(x);
#else
  int b = 0;
  while ((x & 1u) == 0) {
    x >>= 1;
    ++b;
  }
  return b;
#endif
}

}  // namespace

Adjacency transitiveClosure(const Adjacency& a) {
  requireSquare("transitiveClosure", "a", a);
  const Index n = a.rows();
  Adjacency reach = a;
  // Warshall: after step k, reach(i, j) iff a path i ->...-> j exists whose inner
  // nodes are all < k+1.
  for (Index k = 0; k < n; ++k) {
    for (Index i = 0; i < n; ++i) {
      if (i != k && reach(i, k)) reach.row(i) = reach.row(i).array() || reach.row(k).array();
    }
  }
  reach.diagonal().setConstant(false);
  return reach;
}

bool isDag(const Adjacency& a) {
  requireSquare("isDag", "a", a);
  return static_cast<Index>(lowestIndexKahn(a).size()) == a.rows();
}

std::vector<int> topologicalOrder(const Adjacency& dag) {
  requireSquare("topologicalOrder", "dag", dag);
  std::vector<int> order = lowestIndexKahn(dag);
  if (static_cast<Index>(order.size()) != dag.rows()) {
    throw Error("topologicalOrder",
                "`dag` has a directed cycle (or a self loop), so it has no topological "
                "order; make it acyclic first, e.g. with closestDag");
  }
  return order;
}

Adjacency transitiveReduction(const Adjacency& dag) {
  requireSquare("transitiveReduction", "dag", dag);
  if (!isDag(dag)) {
    throw Error("transitiveReduction",
                "`dag` has a directed cycle (or a self loop); the transitive reduction is "
                "defined here for DAGs only, make it acyclic first, e.g. with closestDag");
  }
  const Index n = dag.rows();
  const Adjacency closure = transitiveClosure(dag);
  Adjacency reduced = dag;
  // Drop i -> j when i -> k and k ->...-> j for some k (a path of length >= 2).
  for (Index i = 0; i < n; ++i) {
    for (Index k = 0; k < n; ++k) {
      if (!dag(i, k)) continue;
      for (Index j = 0; j < n; ++j)
        if (closure(k, j)) reduced(i, j) = false;
    }
  }
  return reduced;
}

ClosestDag closestDag(const Adjacency& a) {
  requireSquare("closestDag", "a", a);
  const int n = static_cast<int>(a.rows());
  if (n > kClosestDagMaxNodes) {
    throw Error("closestDag", "`a` has " + std::to_string(n) +
                                  " nodes; the exact closest-DAG search supports at most " +
                                  std::to_string(kClosestDagMaxNodes) +
                                  " (its table has 2^n entries); reduce the graph or "
                                  "pick an order another way");
  }
  ClosestDag result;
  result.dag = Adjacency::Constant(n, n, false);
  if (n == 0) return result;

  // out[v]: bitmask of the children of v (self loop removed).
  std::vector<std::uint32_t> out(n, 0);
  for (int v = 0; v < n; ++v)
    for (int u = 0; u < n; ++u)
      if (u != v && a(v, u)) out[v] |= (std::uint32_t{1} << u);

  // best[S]: most edges that can point forward among the nodes of S when S is
  // ordered optimally. Placing v first among S keeps its edges to S \ {v}:
  //   best[S] = max_{v in S} popcount(out[v] & S) + best[S \ {v}].
  // At most n(n-1)/2 <= 190 kept edges, so 16 bits suffice.
  const std::uint32_t full = (std::uint32_t{1} << n) - 1;
  std::vector<std::uint16_t> best(static_cast<std::size_t>(full) + 1, 0);
  for (std::uint32_t s = 1; s <= full; ++s) {
    int top = 0;
    for (std::uint32_t rest = s; rest != 0; rest &= rest - 1) {
      const int v = lowestBit32(rest);
      const std::uint32_t without = s & ~(std::uint32_t{1} << v);
      const int value = popcount32(out[v] & without) + best[without];
      if (value > top) top = value;
    }
    best[s] = static_cast<std::uint16_t>(top);
  }

  // Build the order front to back, taking at each position the smallest node from
  // which an optimal completion exists: this is the lexicographically smallest
  // optimal order, the first one itertools.permutations(range(n)) yields.
  result.order.reserve(n);
  std::uint32_t s = full;
  while (s != 0) {
    for (std::uint32_t rest = s; rest != 0; rest &= rest - 1) {
      const int v = lowestBit32(rest);
      const std::uint32_t without = s & ~(std::uint32_t{1} << v);
      if (popcount32(out[v] & without) + best[without] == best[s]) {
        result.order.push_back(v);
        for (std::uint32_t kids = out[v] & without; kids != 0; kids &= kids - 1)
          result.dag(v, lowestBit32(kids)) = true;
        s = without;
        break;
      }
    }
  }
  return result;
}

GraphScores compareGraphs(const Adjacency& truth, const Adjacency& estimate) {
  requireSquare("compareGraphs", "truth", truth);
  requireSquare("compareGraphs", "estimate", estimate);
  if (truth.rows() != estimate.rows()) {
    throw Error("compareGraphs", "`truth` (" + shapeOf(truth) + ") and `estimate` (" + shapeOf(estimate) +
                                     ") must have the same number of nodes");
  }
  const Index n = truth.rows();
  GraphScores s{};
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < n; ++j) {
      const bool t = truth(i, j), e = estimate(i, j);
      const bool tRev = i != j && truth(j, i);
      const bool eRev = i != j && estimate(j, i);
      if (t && e) ++s.truePositives;
      if (e && !t) ++s.falsePositives;
      if (t && !e) ++s.falseNegatives;
      if (t && eRev) ++s.reversals;
      if (t && !e && !eRev) ++s.deletions;
      if (e && !t && !tRev) ++s.additions;
    }
  }
  s.shd = s.additions + s.deletions + s.reversals;
  const int estimated = s.truePositives + s.falsePositives;
  const int actual = s.truePositives + s.falseNegatives;
  s.precision = estimated == 0 ? 1.0 : static_cast<double>(s.truePositives) / estimated;
  s.recall = actual == 0 ? 1.0 : static_cast<double>(s.truePositives) / actual;
  return s;
}

}  // namespace scorecrl
