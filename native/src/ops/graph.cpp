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
// interventionalGraph                      latents ((K+1) x M x n), targets (n x K), numbers edgeLevel,
//                                          linearShareFloor -> order, graph, pValue, share, margin,
//                                          unmixing; number level (edge_tests.hpp)
#include <string>

#include "scorecrl/algorithms/edge_tests.hpp"
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
  const bool maximize = args.flag("maximize");
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
  const double threshold = args.number("threshold");
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
  r.put("allowed", allowedPattern(readGraph(args, "graph"), args.flag("includeAncestors")).cast<double>());
  return r;
}

OpResult opInterventionalGraph(const OpArgs& args, const Context& context) {
  const ArrayView& z = args.array("latents");
  const int64_t K1 = z.shape[0], M = z.shape[1], n = z.shape[2];
  const ConstMatrixMap t = args.matrix("targets");
  if (t.rows() != n || t.cols() != K1 - 1)
    args.fail("'targets' must be n x K = " + std::to_string(n) + " x " + std::to_string(K1 - 1) +
              " (targets(i, k) = 1: environment k+1 intervenes latent i), got " + std::to_string(t.rows()) + " x " +
              std::to_string(t.cols()));
  std::vector<Matrix> latents;
  for (int64_t k = 0; k < K1; ++k) latents.push_back(ConstMatrixMap(z.data + k * M * n, M, n));
  const InterventionalGraph g = interventionalGraph(latents, t.array() != 0.0, args.number("edgeLevel"),
                                                    args.number("linearShareFloor"), &context);
  OpResult r;
  r.putVector("order", g.order);
  r.put("graph", g.graph.cast<double>());
  r.put("pValue", g.pValue);
  r.put("share", g.share);
  r.put("margin", g.margin);
  r.put("unmixing", g.unmixing);
  r.numbers["level"] = g.level;
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

const char* kGraph = "adjacency matrix: a[i][j] != 0 is an edge i -> j";

SCORECRL_OP(OpSpec("transitiveClosure", "Transitive closure of a graph.")
                .array("a", "n n", kGraph)
                .returnsArray("graph", "n n", "0/1 closure"),
            opTransitiveClosure);
SCORECRL_OP(OpSpec("transitiveReduction", "Transitive reduction of a DAG.")
                .array("a", "n n", kGraph)
                .returnsArray("graph", "n n", "0/1 reduction"),
            opTransitiveReduction);
SCORECRL_OP(OpSpec("isDag", "Whether a graph has no directed cycle.")
                .array("a", "n n", kGraph)
                .returnsNumber("isDag", "1 for a DAG, else 0"),
            opIsDag);
SCORECRL_OP(OpSpec("topologicalOrder", "A topological order of a DAG.")
                .array("dag", "n n", kGraph)
                .returnsArray("order", "n", "node indices, parents first"),
            opTopologicalOrder);
SCORECRL_OP(OpSpec("closestDag", "The DAG nearest a graph (fewest edges removed) and its order.")
                .array("a", "n n", kGraph)
                .returnsArray("dag", "n n", "0/1 DAG")
                .returnsArray("order", "n", "a topological order of it"),
            opClosestDag);
SCORECRL_OP(OpSpec("compareGraphs", "Structural Hamming distance and edge counts of an estimated graph.")
                .array("truth", "n n", kGraph)
                .array("estimate", "n n", kGraph)
                .returnsNumber("shd", "structural Hamming distance (a reversal counts once)")
                .returnsNumber("additions", "edges added")
                .returnsNumber("deletions", "edges missing")
                .returnsNumber("reversals", "edges reversed")
                .returnsNumber("precision", "true positives / estimated edges")
                .returnsNumber("recall", "true positives / true edges")
                .returnsNumber("truePositives", "edges right")
                .returnsNumber("falsePositives", "edges not in truth")
                .returnsNumber("falseNegatives", "true edges not found"),
            opCompareGraphs);
SCORECRL_OP(OpSpec("linearSumAssignment", "Minimum (or maximum) cost assignment of rows to columns.")
                .array("cost", "rows cols", "costs (rows <= cols)")
                .flag("maximize", false, "maximise the total instead")
                .returnsArray("assignment", "rows", "column of each row")
                .returnsNumber("total", "total cost of the assignment"),
            opLinearSumAssignment);
SCORECRL_OP(OpSpec("meanCorrelationCoefficient",
                   "Mean |Pearson correlation| of true and estimated latents, best matched.")
                .array("zTrue", "N n", "true latents")
                .array("zEstimate", "N n", "estimated latents")
                .returnsNumber("mcc", "mean correlation of the matched pairs")
                .returnsArray("matching", "n", "estimated latent matched to each true one")
                .returnsArray("perLatent", "n", "|correlation| of each matched pair"),
            opMeanCorrelationCoefficient);
SCORECRL_OP(OpSpec("effectiveMixingError", "Size of the effective mixing encoder decoder outside an allowed pattern.")
                .array("encoder", "n d", "estimated encoder")
                .array("decoder", "d n", "true decoder")
                .array("allowed", "n n", "allowed pattern (non-zero: allowed)")
                .number("threshold", 0.05, "entries with |value| >= threshold count as incorrect", Range::atLeast(0))
                .returnsNumber("incorrectCount", "entries outside the pattern at or above the threshold")
                .returnsNumber("incorrectRatio", "their share of the entries outside the pattern")
                .returnsNumber("offPatternSpectralNorm", "spectral norm of the part outside the pattern")
                .returnsArray("effective", "n n", "the unit-row effective mixing"),
            opEffectiveMixingError);
SCORECRL_OP(OpSpec("allowedPattern", "Identity plus parents (or ancestors) of a graph: the mixing a stage may keep.")
                .array("graph", "n n", kGraph)
                .flag("includeAncestors", false, "allow ancestors, not only parents")
                .returnsArray("allowed", "n n", "0/1 pattern"),
            opAllowedPattern);
SCORECRL_OP(OpSpec("relativeRmse", "Root-mean-square error relative to the truth's root mean square.")
                .array("estimate", "*", "estimate (any shape)")
                .array("truth", "*", "truth (the same shape)")
                .returnsNumber("rmse", "relative RMSE"),
            opRelativeRmse);

}  // namespace
SCORECRL_OP(OpSpec("interventionalGraph",
                   "The DAG over identified latents from samples of every environment: order from the "
                   "interventional shifts, linear unmixing, regression edge tests.")
                .array("latents", "K+1 M n", "latents of each environment's samples, the observational first")
                .array("targets", "n K", "1 where environment k+1 (hard) intervenes latent i; one or two per latent")
                .number("edgeLevel", 0.01, "family-wise level of the edge tests over the n(n-1)/2 pairs",
                        Range::open(0, 1))
                .number("linearShareFloor", kLinearShareFloor,
                        "share of variance above which a significant linear dependence is an edge",
                        Range::between(0, 1))
                .returnsArray("order", "n", "causal order from the shifts")
                .returnsArray("graph", "n n", "0/1 DAG (edges only forward in the order)")
                .returnsArray("pValue", "n n", "the deciding test's p-value (NaN: not tested)")
                .returnsArray("share", "n n", "share of m's variance explained by all of j's terms")
                .returnsArray("margin", "n n", "decades of the p-value below the per-pair level")
                .returnsArray("unmixing", "n n", "W: unmixed latents = W latents")
                .returnsNumber("level", "per-pair level"),
            opInterventionalGraph);

}  // namespace scorecrl
