// Operations over graph.hpp and metrics.hpp. Graphs cross the boundary as
// n x n float64 arrays of 0/1 (a(i, j) = 1: edge i -> j); any non-zero entry
// counts as an edge. Orders and matchings are float64 vectors of indices.
//
// transitiveClosure, transitiveReduction   a (n x n) -> graph
// isDag                                    a -> number isDag (0/1)
// topologicalOrder                         dag -> order (n)
// closestDag                               a -> dag, order
// compareGraphs                            truth, estimate -> numbers shd, additions, deletions,
//                                          reversals, precision, recall, truePositives,
//                                          falsePositives, falseNegatives
// linearSumAssignment                      cost (rows x cols, rows <= cols), number maximize (0)
//                                          -> assignment (rows), number total
// meanCorrelationCoefficient               zTrue, zEstimate (N x n) -> number mcc,
//                                          matching (n), perLatent (n)
// effectiveMixingError                     encoder (n x d), decoder (d x n), allowed (n x n),
//                                          number threshold (0.05) -> numbers incorrectCount,
//                                          incorrectRatio, offPatternSpectralNorm; effective (n x n)
// allowedPattern                           graph, number includeAncestors (0) -> allowed
// relativeRmse                             estimate, truth (same shape, any rank) -> number rmse
#include <string>

#include "scorecrl/evaluation/graph.hpp"
#include "scorecrl/evaluation/metrics.hpp"
#include "scorecrl/runtime/ops.hpp"

namespace scorecrl {
namespace {

Adjacency readGraph(const OpArgs& args, const std::string& name) {
  const ConstMatrixMap a = args.matrix(name);
  if (a.rows() != a.cols())
    args.fail("'" + name + "' must be a square adjacency matrix, got " + std::to_string(a.rows()) + "x" +
              std::to_string(a.cols()));
  return a.array() != 0.0;
}

OpResult opTransitiveClosure(const OpArgs& args, const Context&) {
  OpResult r;
  r.put("graph", transitiveClosure(readGraph(args, "a")).cast<double>());
  return r;
}

OpResult opTransitiveReduction(const OpArgs& args, const Context&) {
  OpResult r;
  r.put("graph", transitiveReduction(readGraph(args, "a")).cast<double>());
  return r;
}

OpResult opIsDag(const OpArgs& args, const Context&) {
  OpResult r;
  r.numbers["isDag"] = isDag(readGraph(args, "a")) ? 1.0 : 0.0;
  return r;
}

OpResult opTopologicalOrder(const OpArgs& args, const Context&) {
  OpResult r;
  r.putVector("order", topologicalOrder(readGraph(args, "dag")));
  return r;
}

OpResult opClosestDag(const OpArgs& args, const Context&) {
  const ClosestDag c = closestDag(readGraph(args, "a"));
  OpResult r;
  r.put("dag", c.dag.cast<double>());
  r.putVector("order", c.order);
  return r;
}

OpResult opCompareGraphs(const OpArgs& args, const Context&) {
  const GraphScores s = compareGraphs(readGraph(args, "truth"), readGraph(args, "estimate"));
  OpResult r;
  r.numbers["shd"] = s.shd;
  r.numbers["additions"] = s.additions;
  r.numbers["deletions"] = s.deletions;
  r.numbers["reversals"] = s.reversals;
  r.numbers["precision"] = s.precision;
  r.numbers["recall"] = s.recall;
  r.numbers["truePositives"] = s.truePositives;
  r.numbers["falsePositives"] = s.falsePositives;
  r.numbers["falseNegatives"] = s.falseNegatives;
  return r;
}

OpResult opLinearSumAssignment(const OpArgs& args, const Context&) {
  const Matrix cost = args.matrix("cost");
  const bool maximize = args.flag("maximize", false);
  const std::vector<int> assignment = linearSumAssignment(maximize ? Matrix(-cost) : cost);
  double total = 0.0;
  for (size_t i = 0; i < assignment.size(); ++i) total += cost(static_cast<Index>(i), assignment[i]);
  OpResult r;
  r.putVector("assignment", assignment);
  r.numbers["total"] = total;
  return r;
}

OpResult opMeanCorrelationCoefficient(const OpArgs& args, const Context&) {
  const Matrix zTrue = args.matrix("zTrue");
  const Matrix zEstimate = args.matrix("zEstimate");
  const MccResult m = meanCorrelationCoefficient(zTrue, zEstimate);
  OpResult r;
  r.numbers["mcc"] = m.mcc;
  r.putVector("matching", m.matching);
  r.put("perLatent", std::vector<double>(m.perLatent.data(), m.perLatent.data() + m.perLatent.size()),
        {static_cast<int64_t>(m.perLatent.size())});
  return r;
}

OpResult opEffectiveMixingError(const OpArgs& args, const Context&) {
  const Matrix encoder = args.matrix("encoder");
  const Matrix decoder = args.matrix("decoder");
  const Adjacency allowed = readGraph(args, "allowed");
  const double threshold = args.number("threshold", 0.05);
  const MixingError e = effectiveMixingError(encoder, decoder, allowed, threshold);
  OpResult r;
  r.numbers["incorrectCount"] = e.incorrectCount;
  r.numbers["incorrectRatio"] = e.incorrectRatio;
  r.numbers["offPatternSpectralNorm"] = e.offPatternSpectralNorm;
  r.put("effective", e.effective);
  return r;
}

OpResult opAllowedPattern(const OpArgs& args, const Context&) {
  OpResult r;
  r.put("allowed", allowedPattern(readGraph(args, "graph"), args.flag("includeAncestors", false)).cast<double>());
  return r;
}

OpResult opRelativeRmse(const OpArgs& args, const Context&) {
  const ArrayView& estimate = args.array("estimate");
  const ArrayView& truth = args.array("truth");
  if (estimate.shape != truth.shape) args.fail("'estimate' and 'truth' must have the same shape");
  const int64_t size = truth.size();
  OpResult r;
  r.numbers["rmse"] = relativeRmse(ConstMatrixMap(estimate.data, 1, size), ConstMatrixMap(truth.data, 1, size));
  return r;
}

SCORECRL_OP("transitiveClosure", opTransitiveClosure);
SCORECRL_OP("transitiveReduction", opTransitiveReduction);
SCORECRL_OP("isDag", opIsDag);
SCORECRL_OP("topologicalOrder", opTopologicalOrder);
SCORECRL_OP("closestDag", opClosestDag);
SCORECRL_OP("compareGraphs", opCompareGraphs);
SCORECRL_OP("linearSumAssignment", opLinearSumAssignment);
SCORECRL_OP("meanCorrelationCoefficient", opMeanCorrelationCoefficient);
SCORECRL_OP("effectiveMixingError", opEffectiveMixingError);
SCORECRL_OP("allowedPattern", opAllowedPattern);
SCORECRL_OP("relativeRmse", opRelativeRmse);

}  // namespace
}  // namespace scorecrl
