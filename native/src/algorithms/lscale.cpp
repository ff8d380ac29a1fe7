#include "scorecrl/algorithms/lscale.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "scorecrl/algorithms/edge_tests.hpp"
#include "scorecrl/linalg/moments.hpp"
#include "scorecrl/runtime/ops.hpp"
#include "scorecrl/simulation/rng.hpp"

namespace scorecrl {

namespace {

constexpr const char* kFunction = "lscale";
// Adaptive rule (decideEdges): statistics at or below 10^kZeroLog of the
// Fisher information are numerically zero; two groups count as separated
// when kMinGap decades lie between them; without separation the soft stage
// places the threshold kNullMargin decades above the median pair minimum.
constexpr double kZeroLog = -12.0;
constexpr double kMinGap = 0.5;
constexpr double kNullMargin = 1.25;
// Regression rule, soft stage: a pair j before m (in the interventional order) is also an edge
// when its score statistic stands this many decades above the null level (chosen on seeds
// 1000-1009, docs/lscale-accuracy.md).
constexpr double kRegressionSoftMargin = 0.6;
// Regression rule, causal order: a decade of score margin weighs as much as this many decades of
// shift evidence (chosen on seeds 1000-1009 of the soft setting; 2 to 10 gave the same orders).
constexpr double kMarginWeight = 3.0;

std::string str(Index v) { return std::to_string(static_cast<long long>(v)); }

Matrix pseudoInverse(const Matrix& a) {
  Eigen::CompleteOrthogonalDecomposition<Matrix> cod(a);
  return cod.pseudoInverse();
}

// Eigenvector of the largest eigenvalue of a symmetric matrix.
Vector principalEigenvector(const Matrix& a) {
  const SymmetricEigen eig = symmetricEigen(0.5 * (a + a.transpose()));
  return eig.vectors.col(eig.vectors.cols() - 1);
}

// Orthonormal basis (columns) of the eigenvectors of a symmetric matrix whose
// eigenvalues exceed tol.
Matrix columnSpace(const Matrix& a, double tol) {
  const SymmetricEigen eig = symmetricEigen(0.5 * (a + a.transpose()));
  std::vector<Index> keep;
  for (Index i = 0; i < eig.values.size(); ++i)
    if (eig.values(i) > tol) keep.push_back(i);
  Matrix q(a.rows(), static_cast<Index>(keep.size()));
  for (size_t c = 0; c < keep.size(); ++c) q.col(static_cast<Index>(c)) = eig.vectors.col(keep[c]);
  return q;
}

// Flips the sign of encoder row m and decoder column m together so that the
// row's largest-|.| entry (first on ties) is positive (results are then
// deterministic; nothing else depends on the signs).
void canonicalSigns(Matrix& encoder, Matrix& decoder) {
  for (Index m = 0; m < encoder.rows(); ++m) {
    Index arg = 0;
    for (Index i = 1; i < encoder.cols(); ++i)
      if (std::abs(encoder(m, i)) > std::abs(encoder(m, arg))) arg = i;
    if (encoder(m, arg) < 0) {
      encoder.row(m) *= -1.0;
      decoder.col(m) *= -1.0;
    }
  }
}

std::vector<Matrix> latentCovariances(const std::vector<Matrix>& R, const Matrix& dec) {
  std::vector<Matrix> out;
  out.reserve(R.size());
  for (const Matrix& r : R) {
    Matrix z = dec.transpose() * r * dec;
    out.push_back(0.5 * (z + z.transpose()));
  }
  return out;
}

// Decoder d x n = B dec with each column scaled to max |entry| 1; updates dec.
void scaleDecoderColumns(const Matrix& basis, Matrix& dec) {
  const Matrix lifted = basis * dec;
  for (Index j = 0; j < dec.cols(); ++j) {
    const double scale = lifted.col(j).cwiseAbs().maxCoeff();
    if (!(scale > 0.0)) throw Error(kFunction, "decoder column " + str(j) + " vanishes");
    dec.col(j) /= scale;
  }
}

// Threshold between two groups of values: among the splits that leave at
// least `minLower` values in the lower group and `minGap` between the groups,
// the one maximising the between-group variance (Otsu). +inf if none.
double separatedSplit(std::vector<double> values, size_t minLower, double minGap,
                      double maxUpperStart = std::numeric_limits<double>::infinity()) {
  std::sort(values.begin(), values.end());
  const size_t M = values.size();
  double total = 0.0;
  for (double v : values) total += v;
  double best = -1.0, threshold = std::numeric_limits<double>::infinity(), lowerSum = 0.0;
  for (size_t k = 1; k < M; ++k) {
    lowerSum += values[k - 1];
    if (k < minLower || values[k] - values[k - 1] < minGap || values[k] > maxUpperStart) continue;
    const double w0 = static_cast<double>(k) / static_cast<double>(M);
    const double mu0 = lowerSum / static_cast<double>(k);
    const double mu1 = (total - lowerSum) / static_cast<double>(M - k);
    const double score = w0 * (1.0 - w0) * (mu0 - mu1) * (mu0 - mu1);
    if (score > best) {
      best = score;
      threshold = 0.5 * (values[k - 1] + values[k]);
    }
  }
  return threshold;
}

struct ClosedGraph {
  Adjacency dag;
  std::vector<int> order;
};

ClosedGraph makeDag(const Adjacency& raw) {
  ClosestDag c = closestDag(raw);
  return {c.dag, topologicalOrder(c.dag)};
}

void checkCancelled(const Context* context) {
  if (context) context->checkCancelled(kFunction);
}

}  // namespace

EdgeDecision decideEdges(const std::vector<Matrix>& Rz, const Matrix& dec, const Matrix& c0, EdgeRule rule,
                         double tolEdge, EdgeFallback fallback, const Adjacency* candidates, const Adjacency* certain,
                         double nullMargin) {
  const Index n = static_cast<Index>(Rz.size());
  EdgeDecision out;
  out.graph = Adjacency::Constant(n, n, false);
  out.statistic.resize(n, n);
  for (Index m = 0; m < n; ++m)
    for (Index j = 0; j < n; ++j) out.statistic(j, m) = Rz[static_cast<size_t>(m)](j, j);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  out.margin = Matrix::Constant(n, n, nan);
  out.nullLevel = nan;
  if (rule == EdgeRule::Absolute) {
    out.threshold = tolEdge;
    for (Index j = 0; j < n; ++j)
      for (Index m = 0; m < n; ++m) out.graph(j, m) = j != m && out.statistic(j, m) >= tolEdge;
    return out;
  }
  // Adaptive: relative to the Gaussian Fisher information of each latent.
  Eigen::LLT<Matrix> llt(0.5 * (c0 + c0.transpose()));
  if (llt.info() != Eigen::Success)
    throw Error(kFunction, "the observational covariance on the support is not positive definite");
  const Vector fisher = (dec.transpose() * llt.solve(dec)).diagonal();
  for (Index j = 0; j < n; ++j) {
    if (!(fisher(j) > 0.0))
      throw Error(kFunction, "latent " + str(j) + " has no variance in the observational environment");
    out.statistic.row(j) /= fisher(j);
  }
  const double inf = std::numeric_limits<double>::infinity();
  auto logOf = [&](Index j, Index m) {
    const double v = out.statistic(j, m);
    if (candidates && !(*candidates)(j, m)) return -inf;
    return v > 0.0 ? std::log10(v) : -inf;
  };
  // Active statistics (not numerically zero), whether zeros occur, and the
  // pair minima among active pairs (non-edges in any DAG).
  std::vector<double> active, pool;
  bool zeros = false;
  for (Index j = 0; j < n; ++j)
    for (Index m = 0; m < n; ++m) {
      if (j == m) continue;
      const double l = logOf(j, m);
      if (l > kZeroLog)
        active.push_back(l);
      else
        zeros = true;
      if (j < m) {
        const double low = std::min(l, logOf(m, j));
        if (low > kZeroLog) pool.push_back(low);
      }
    }
  out.exactZeros = zeros;
  // The non-edge level: median pair minimum (log10).
  double nullLog = nan;
  if (!pool.empty()) {
    std::vector<double> sorted = pool;
    std::sort(sorted.begin(), sorted.end());
    const size_t k = sorted.size();
    nullLog = k % 2 ? sorted[k / 2] : 0.5 * (sorted[k / 2 - 1] + sorted[k / 2]);
  }
  double logThreshold = inf;
  if (candidates && !active.empty()) {
    // Only candidate pairs can be edges, and the `certain` ones are: the
    // threshold splits the candidates below the weakest certain edge (the
    // others' noise) from the rest, if a separated split exists, else every
    // candidate is an edge.
    double weakestCertain = inf;
    for (Index j = 0; j < n; ++j)
      for (Index m = 0; m < n; ++m)
        if (certain && (*certain)(j, m) && logOf(j, m) > kZeroLog)
          weakestCertain = std::min(weakestCertain, logOf(j, m));
    const double split = separatedSplit(active, 1, kMinGap, weakestCertain);
    logThreshold = std::isfinite(split) ? split : *std::min_element(active.begin(), active.end()) - 1e-9;
  } else if (!active.empty()) {
    const double poolMax = pool.empty() ? -inf : *std::max_element(pool.begin(), pool.end());
    // A DAG has at most n(n-1)/2 edges: at least that many values are non-edges.
    const size_t nonEdges = static_cast<size_t>(n * (n - 1) / 2);
    const size_t zeroCount = static_cast<size_t>(n * (n - 1)) - active.size();
    const size_t minLower = nonEdges > zeroCount ? nonEdges - zeroCount : 1;
    const double split = separatedSplit(active, std::max<size_t>(minLower, 1), kMinGap);
    const double allActive = std::max(*std::min_element(active.begin(), active.end()) - 1e-9, poolMax);
    if (zeros && fallback == EdgeFallback::NullLevel) {
      // Soft stage with exact zeros (noise-free statistics): every clearly non-zero value is an edge.
      logThreshold = allActive;
    } else if (rule == EdgeRule::NullLevel && fallback == EdgeFallback::NoEdges && !zeros) {
      // Hard stage, learned scores: the unmixing error spreads the non-edges over a decade above
      // the pair minima, where a two-group split would cut; only a margin above the null level holds.
      if (!pool.empty()) logThreshold = std::max(nullLog + nullMargin, poolMax);
    } else if (std::isfinite(split)) {
      logThreshold = std::max(split, poolMax);
    } else if (zeros) {
      // One group of clearly non-zero statistics next to exact zeros: the zeros are the non-edges.
      logThreshold = allActive;
    } else if (fallback == EdgeFallback::NullLevel && !pool.empty()) {
      logThreshold = std::max(nullLog + kNullMargin, poolMax);
    }
  }
  out.threshold = std::isfinite(logThreshold) ? std::pow(10.0, logThreshold) : inf;
  for (Index j = 0; j < n; ++j)
    for (Index m = 0; m < n; ++m) out.graph(j, m) = j != m && logOf(j, m) > kZeroLog && logOf(j, m) > logThreshold;
  if (std::isfinite(nullLog)) {
    out.nullLevel = std::pow(10.0, nullLog);
    for (Index j = 0; j < n; ++j)
      for (Index m = 0; m < n; ++m)
        if (j != m && out.statistic(j, m) > 0.0 && std::log10(out.statistic(j, m)) > kZeroLog)
          out.margin(j, m) = std::log10(out.statistic(j, m)) - nullLog;
  }
  return out;
}

Matrix subspaceIntersection(const std::vector<Matrix>& q, double tol) {
  if (q.empty()) throw Error("subspaceIntersection", "no subspaces given");
  Matrix basis = q[0];
  for (size_t i = 1; i < q.size() && basis.cols() > 0; ++i) {
    if (q[i].cols() == 0) return Matrix(basis.rows(), 0);
    // Principal vectors: basis * U(:, k) with cosine s_k to the next space.
    Eigen::JacobiSVD<Matrix> svd(basis.transpose() * q[i], Eigen::ComputeFullU);
    const Vector s = svd.singularValues();
    Index keep = 0;
    for (Index k = 0; k < s.size(); ++k)
      if (std::sqrt(std::max(0.0, 1.0 - s(k) * s(k))) <= tol) ++keep;
    basis = basis * svd.matrixU().leftCols(keep);
  }
  return basis;
}

namespace {

// A stage's latent score-difference covariances for the decoder `dec` (n x n,
// in the basis), the edges the rule decides from them, and their closest DAG
// and its order.
LscaleStage stageWithEdges(const LscaleInput& in, const LscaleOptions& options, const Matrix& dec,
                           EdgeFallback fallback, const Adjacency* candidates = nullptr,
                           const Adjacency* certain = nullptr) {
  LscaleStage stage;
  stage.latentScoreDiffCov = latentCovariances(in.R, dec);
  // The regression rule decides the soft stage's edges as the null-level rule does.
  const EdgeRule rule = options.edgeRule == EdgeRule::Regression ? EdgeRule::NullLevel : options.edgeRule;
  const EdgeDecision e = decideEdges(stage.latentScoreDiffCov, dec, in.covariance[0], rule, options.tolEdge, fallback,
                                     candidates, certain, options.nullMargin);
  stage.rawGraph = e.graph;
  stage.edgeStatistic = e.statistic;
  stage.edgeThreshold = e.threshold;
  stage.edgeMargin = e.margin;
  stage.nullLevel = e.nullLevel;
  stage.exactStatistics = e.exactZeros;
  const ClosedGraph g = makeDag(e.graph);
  stage.graph = g.dag;
  stage.order = g.order;
  return stage;
}

// The regression rule's causal order: the order against which the least evidence for "j is an
// ancestor of m" is placed. Evidence for j -> m: the shift of soft latent m in environment j+1 as
// a log-likelihood ratio in decades (N KL / ln 10), or kMarginWeight times the score margin
// (decades above the null level), whichever is larger.
std::vector<int> regressionOrder(const LscaleInput& in, const Matrix& enc, const Matrix& margin) {
  const Index n = enc.rows();
  Matrix evidence =
      interventionalShifts(enc, in.covariance, in.mean) * (static_cast<double>(in.samples) / std::log(10.0));
  for (Index j = 0; j < n; ++j)
    for (Index m = 0; m < n; ++m) {
      const double scoreEvidence = j != m && std::isfinite(margin(j, m)) ? kMarginWeight * margin(j, m) : 0.0;
      evidence(j, m) = j == m ? 0.0 : std::max(evidence(j, m), scoreEvidence);
    }
  return interventionalOrder(evidence);
}

// The regression rule's soft graph (lscale.hpp): order from regressionOrder; j -> m for j before m
// when environment j+1 shifts latent m's mean or variance (test at edgeLevel over the n(n-1)
// ordered pairs) or its score statistic's margin exceeds kRegressionSoftMargin. The transitive
// closure is what the soft stage identifies.
void regressionSoftEdges(const LscaleInput& in, const LscaleOptions& options, const Matrix& enc, LscaleStage& s) {
  const Index n = enc.rows();
  const std::vector<int> order = regressionOrder(in, enc, s.edgeMargin);
  const Matrix p = interventionalShiftPValues(enc, in.covariance, in.mean, static_cast<double>(in.samples));
  std::vector<Index> position(static_cast<size_t>(n));
  for (Index t = 0; t < n; ++t) position[static_cast<size_t>(order[static_cast<size_t>(t)])] = t;
  const double level = n > 1 ? options.edgeLevel / static_cast<double>(n * (n - 1)) : options.edgeLevel;
  for (Index j = 0; j < n; ++j)
    for (Index m = 0; m < n; ++m) {
      const bool forward = j != m && position[static_cast<size_t>(j)] < position[static_cast<size_t>(m)];
      s.rawGraph(j, m) = forward && (p(j, m) < level || s.edgeMargin(j, m) > kRegressionSoftMargin);
    }
  s.graph = s.rawGraph;
  s.order = order;
  s.edgePValue = p;
}

LscaleStage softStage(const LscaleInput& in, const LscaleOptions& options) {
  const Index n = static_cast<Index>(in.R.size());
  Matrix enc(n, n);
  for (Index m = 0; m < n; ++m) {
    const Matrix& r = in.R[static_cast<size_t>(m)];
    const double top = r.cwiseAbs().maxCoeff();
    if (!(top > 0.0))
      throw Error(kFunction, "the score differences of environment " + str(m + 1) +
                                 " vanish on the support: every latent needs an intervention that changes its score");
    enc.row(m) = principalEigenvector(r).transpose();
  }
  Eigen::JacobiSVD<Matrix> svd(enc);
  const Vector sv = svd.singularValues();
  if (!(sv(n - 1) > 1e-10 * sv(0)))
    throw Error(kFunction,
                "the principal directions of the score differences are linearly dependent "
                "(two environments change the same latent direction): one intervention per latent is needed");
  Matrix dec = pseudoInverse(enc);
  scaleDecoderColumns(in.basis, dec);
  enc = pseudoInverse(dec);
  LscaleStage s = stageWithEdges(in, options, dec, EdgeFallback::NullLevel);
  if (options.edgeRule == EdgeRule::Regression && !s.exactStatistics) regressionSoftEdges(in, options, enc, s);
  s.encoder = enc * in.basis.transpose();
  s.decoder = in.basis * dec;
  canonicalSigns(s.encoder, s.decoder);
  return s;
}

// The hard stage's unmixing: in `order`, encoder row m minus its linear regression, in the
// covariance of environment m+1, on the soft rows of the latents before it (or of m's parents
// in `softParents`, when given).
Matrix unmixInOrder(const LscaleInput& in, const Matrix& encSoft, const std::vector<int>& order,
                    const Adjacency* softParents, const Context* context) {
  const Index n = static_cast<Index>(in.R.size());
  Matrix enc = encSoft;
  for (Index t = 1; t < n; ++t) {
    checkCancelled(context);
    const int m = order[static_cast<size_t>(t)];
    std::vector<Index> an;
    if (!softParents) {
      for (Index p = 0; p < t; ++p) an.push_back(order[static_cast<size_t>(p)]);
    } else {
      for (Index p = 0; p < n; ++p)
        if ((*softParents)(p, m)) an.push_back(p);
    }
    if (an.empty()) continue;
    const Matrix s = encSoft * in.covariance[static_cast<size_t>(m) + 1] * encSoft.transpose();
    const Index k = static_cast<Index>(an.size());
    Matrix a(k, k);
    Vector b(k);
    for (Index i = 0; i < k; ++i) {
      b(i) = s(an[static_cast<size_t>(i)], m);
      for (Index j = 0; j < k; ++j) a(i, j) = s(an[static_cast<size_t>(i)], an[static_cast<size_t>(j)]);
    }
    Eigen::LDLT<Matrix> ldlt(a);
    if (ldlt.info() != Eigen::Success || !(ldlt.vectorD().minCoeff() > 1e-12 * a.diagonal().maxCoeff()))
      throw Error(kFunction, "the covariance of the estimated ancestors of latent " + str(m) + " in environment " +
                                 str(m + 1) + " is singular (rank-deficient environment)");
    const Vector u = ldlt.solve(b);
    for (Index i = 0; i < k; ++i) enc.row(m) -= u(i) * encSoft.row(an[static_cast<size_t>(i)]);
  }
  return enc;
}

// The regression rule's hard stage (lscale.hpp): order from the interventional shifts of the
// soft latents, unmixing in it, edges from the regression tests on the observational samples.
LscaleStage regressionHardStage(const LscaleInput& in, const LscaleOptions& options, const LscaleStage& soft,
                                const Matrix& encSoft, const Context* context) {
  // The soft stage's order when it came from the same rule (its statistics were not exact).
  const std::vector<int> order =
      soft.edgePValue.size() > 0 ? soft.order : regressionOrder(in, encSoft, soft.edgeMargin);
  const Matrix enc = unmixInOrder(in, encSoft, order, nullptr, context);
  const Matrix dec = pseudoInverse(enc);
  const EdgeTests tests =
      regressionEdgeTests(in.observational * enc.transpose(), in.observationalWeights, order, context);
  const EdgeDecisionFromTests decision = decideFromTests(tests, options.edgeLevel, kLinearShareFloor);
  LscaleStage h;
  h.latentScoreDiffCov = latentCovariances(in.R, dec);
  h.edgeStatistic = tests.totalShare;
  h.edgePValue = decision.pValue;
  h.edgeThreshold = decision.level;
  h.nullLevel = std::numeric_limits<double>::quiet_NaN();
  h.edgeMargin = decision.margin;
  h.graph = decision.graph;
  h.rawGraph = h.graph;
  h.order = order;
  h.encoder = enc * in.basis.transpose();
  h.decoder = in.basis * dec;
  canonicalSigns(h.encoder, h.decoder);
  return h;
}

LscaleStage hardStage(const LscaleInput& in, const LscaleOptions& options, const LscaleStage& soft,
                      const Matrix& encSoft, const Context* context) {
  if (options.edgeRule == EdgeRule::Regression) return regressionHardStage(in, options, soft, encSoft, context);
  const Matrix enc =
      unmixInOrder(in, encSoft, soft.order, options.unmixing == Unmixing::SoftParents ? &soft.graph : nullptr, context);
  const Matrix dec = pseudoInverse(enc);
  // The hard stage's statistics carry the error of its unmixing regressions
  // even with exact scores; where the soft stage's are exact, its closure is
  // the true DAG's closure: it holds every edge, and every DAG with that
  // closure holds its transitive reduction.
  const bool exactClosure = options.hardGraphFilter == HardGraphFilter::Auto && soft.exactStatistics &&
                            options.edgeRule != EdgeRule::Absolute;
  const bool closureFilter = exactClosure || options.hardGraphFilter == HardGraphFilter::SoftClosure;
  const Adjacency closure = closureFilter ? transitiveClosure(soft.graph) : Adjacency();
  const Adjacency reduction = exactClosure ? transitiveReduction(closure) : Adjacency();
  LscaleStage h = exactClosure ? stageWithEdges(in, options, dec, EdgeFallback::NoEdges, &closure, &reduction)
                               : stageWithEdges(in, options, dec, EdgeFallback::NoEdges);
  if (options.hardGraphFilter == HardGraphFilter::SoftGraph) {
    h.graph = h.graph.array() && soft.graph.array();
  } else if (closureFilter) {
    h.graph = h.graph.array() && closure.array();
  }
  h.encoder = enc * in.basis.transpose();
  h.decoder = in.basis * dec;
  canonicalSigns(h.encoder, h.decoder);
  return h;
}

LscaleStage fullRankStage(const LscaleInput& in, const LscaleOptions& options, const LscaleStage& soft,
                          const Matrix& encSoft, std::vector<int>& intersectionDims, const Context* context) {
  const Index n = static_cast<Index>(in.R.size());
  const Adjacency reduction = transitiveReduction(soft.graph);
  const Adjacency closure = transitiveClosure(soft.graph);
  std::vector<Matrix> spaceGraph, spaceEncoder;
  for (const Matrix& r : in.R) {
    spaceGraph.push_back(columnSpace(r, options.tolEigv));
    spaceEncoder.push_back(columnSpace(r, options.tolIntersection));
  }
  // Graph: pairs in the soft order; an edge t -> k where the column spaces of
  // R_t and R_k share more directions than t and k have common parents.
  Adjacency graph = Adjacency::Constant(n, n, false);
  for (Index i = 0; i < n; ++i) {
    checkCancelled(context);
    const int k = soft.order[static_cast<size_t>(i)];
    for (Index j = 0; j < i; ++j) {
      const int t = soft.order[static_cast<size_t>(j)];
      if (reduction(t, k)) {
        graph(t, k) = true;
        continue;
      }
      if (!closure(t, k)) continue;
      const Index shared =
          subspaceIntersection({spaceGraph[static_cast<size_t>(t)], spaceGraph[static_cast<size_t>(k)]},
                               options.tolEigv)
              .cols();
      Index commonParents = 0;
      for (Index p = 0; p < n; ++p) commonParents += (graph(p, t) && graph(p, k)) ? 1 : 0;
      if (shared > commonParents) graph(t, k) = true;
    }
  }
  // Encoder: row m from the intersection over m and its children; the
  // direction of largest R_m within it.
  Matrix enc(n, n);
  intersectionDims.assign(static_cast<size_t>(n), 0);
  for (Index m = 0; m < n; ++m) {
    std::vector<Matrix> spaces{spaceEncoder[static_cast<size_t>(m)]};
    for (Index c = 0; c < n; ++c)
      if (graph(m, c)) spaces.push_back(spaceEncoder[static_cast<size_t>(c)]);
    const Matrix q = subspaceIntersection(spaces, options.tolIntersection);
    intersectionDims[static_cast<size_t>(m)] = static_cast<int>(q.cols());
    if (q.cols() == 0) {
      enc.row(m) = encSoft.row(m).normalized();
    } else {
      const Vector w = principalEigenvector(q.transpose() * in.R[static_cast<size_t>(m)] * q);
      enc.row(m) = (q * w).normalized().transpose();
    }
  }
  Matrix dec = pseudoInverse(enc);
  scaleDecoderColumns(in.basis, dec);
  enc = pseudoInverse(dec);
  LscaleStage f;
  f.latentScoreDiffCov = latentCovariances(in.R, dec);
  f.graph = graph;
  f.rawGraph = graph;
  f.order = soft.order;
  f.encoder = enc * in.basis.transpose();
  f.decoder = in.basis * dec;
  canonicalSigns(f.encoder, f.decoder);
  return f;
}

void checkInput(const LscaleInput& in, const LscaleOptions& options) {
  const Index n = static_cast<Index>(in.R.size());
  if (n < 1) throw Error(kFunction, "no score-difference covariances given");
  if (n > kClosestDagMaxNodes)
    throw Error(kFunction, "n = " + str(n) + " latents is more than the " + str(kClosestDagMaxNodes) + " supported");
  if (in.basis.cols() != n)
    throw Error(kFunction, "the basis has " + str(in.basis.cols()) + " columns for " + str(n) + " latents");
  const Index needed = options.hard ? n + 1 : 1;
  if (static_cast<Index>(in.covariance.size()) < needed)
    throw Error(kFunction, "needs " + str(needed) + " environment covariances, got " +
                               str(static_cast<Index>(in.covariance.size())));
  if (!(options.tolEdge >= 0.0) || !std::isfinite(options.tolEdge)) throw Error(kFunction, "'tolEdge' must be >= 0");
  if (!(options.nullMargin >= 0.0) || !std::isfinite(options.nullMargin))
    throw Error(kFunction, "'nullMargin' must be a finite number of decades >= 0");
  if (!(options.tolEigv >= 0.0) || !std::isfinite(options.tolEigv)) throw Error(kFunction, "'tolEigv' must be >= 0");
  if (!(options.edgeLevel > 0.0 && options.edgeLevel < 1.0))
    throw Error(kFunction, "'edgeLevel' must be a level between 0 and 1 (exclusive)");
  if (options.edgeRule == EdgeRule::Regression && !(in.samples > 2))
    throw Error(kFunction,
                "edgeRule 'regression' tests shifts between environments and needs their sample count: "
                "pass the samples 'x', or 'samples' with moments");
  if (options.hard && options.edgeRule == EdgeRule::Regression) {
    if (in.observational.rows() == 0 || in.observational.cols() != n)
      throw Error(kFunction,
                  "edgeRule 'regression' tests edges on the observational samples: pass the samples 'x' (not "
                  "moments), or choose another edgeRule");
    if (!in.mean.empty() && static_cast<Index>(in.mean.size()) != static_cast<Index>(in.covariance.size()))
      throw Error(kFunction, "one mean per environment is needed");
  }
  if (!(options.tolIntersection >= 0.0) || !std::isfinite(options.tolIntersection))
    throw Error(kFunction, "'tolIntersection' must be >= 0");
}

}  // namespace

LscaleResult lscale(const LscaleInput& input, const LscaleOptions& options, const Context* context) {
  checkInput(input, options);
  LscaleResult result;
  result.soft = softStage(input, options);
  // The soft encoder in the basis (n x n).
  const Matrix encSoft = result.soft.encoder * input.basis;
  checkCancelled(context);
  if (options.hard) result.hard = hardStage(input, options, result.soft, encSoft, context);
  if (options.fullRank)
    result.fullRank = fullRankStage(input, options, result.soft, encSoft, result.intersectionDims, context);
  return result;
}

LscaleResampling lscaleResampling(const double* x, Index environments, Index N, Index d, const double* dsx, Index Ns,
                                  const Matrix& basis, const LscaleOptions& options, int replicates, uint64_t seed,
                                  const Context* context) {
  const Index n = environments - 1;
  if (n < 1) throw Error(kFunction, "'x' needs the observational environment and at least one interventional one");
  if (basis.rows() != d || basis.cols() != n)
    throw Error(kFunction, "the basis must be " + str(d) + " x " + str(n) + " for resampling");
  if (replicates < 0) throw Error(kFunction, "'resamples' must be >= 0");
  LscaleResampling out;
  out.replicates = replicates;
  out.softFrequency = Matrix::Zero(n, n);
  if (options.hard) out.hardFrequency = Matrix::Zero(n, n);
  if (replicates == 0) return out;
  // Rows projected onto the support once: y_k = x_k B (N x n), v_m = dsx_m B (Ns x n).
  std::vector<Matrix> y, v;
  for (Index k = 0; k < environments; ++k) {
    checkCancelled(context);
    y.push_back(ConstMatrixMap(x + k * N * d, N, d) * basis);
  }
  for (Index m = 0; m < n; ++m) {
    checkCancelled(context);
    v.push_back(ConstMatrixMap(dsx + m * Ns * d, Ns, d) * basis);
  }
  // dsx rows are the score differences at the observational rows when the counts agree:
  // those are resampled together.
  const bool paired = Ns == N;
  LscaleOptions refit = options;
  refit.fullRank = false;  // its graph is not resampled
  Generator rng(seed);
  auto drawCounts = [&rng](Index rows) {
    Vector c = Vector::Zero(rows);
    for (Index i = 0; i < rows; ++i) c(static_cast<Index>(rng.integers(0, rows))) += 1.0;
    return c;
  };
  for (int r = 0; r < replicates; ++r) {
    checkCancelled(context);
    if (context) context->progress(static_cast<double>(r) / static_cast<double>(replicates));
    LscaleInput in;
    in.basis = basis;
    in.samples = N;
    Vector observational;
    for (Index k = 0; k < environments; ++k) {
      const Vector c = drawCounts(N);
      if (k == 0) observational = c;
      const Vector mean = y[static_cast<size_t>(k)].transpose() * c / static_cast<double>(N);
      in.mean.push_back(mean);
      Matrix second = y[static_cast<size_t>(k)].transpose() * c.asDiagonal() * y[static_cast<size_t>(k)];
      second /= static_cast<double>(N);
      const Matrix cov = second - mean * mean.transpose();
      in.covariance.push_back(0.5 * (cov + cov.transpose()));
    }
    in.observational = y[0];
    in.observationalWeights = observational;
    const Vector scoreCounts = paired ? observational : drawCounts(Ns);
    for (Index m = 0; m < n; ++m) {
      Matrix second = v[static_cast<size_t>(m)].transpose() * scoreCounts.asDiagonal() * v[static_cast<size_t>(m)];
      second /= static_cast<double>(Ns);
      in.R.push_back(0.5 * (second + second.transpose()));
    }
    try {
      const LscaleResult fit = lscale(in, refit, context);
      out.softFrequency += fit.soft.graph.cast<double>();
      if (fit.hard) out.hardFrequency += fit.hard->graph.cast<double>();
      ++out.completed;
    } catch (const Error& e) {
      // A resample on which the method finds no answer counts as not completed; anything else is real.
      if (e.code() != ErrorCode::InvalidArgument && e.code() != ErrorCode::NoSolution) throw;
    }
  }
  const double scale =
      out.completed > 0 ? 1.0 / static_cast<double>(out.completed) : std::numeric_limits<double>::quiet_NaN();
  out.softFrequency *= scale;
  if (options.hard) out.hardFrequency *= scale;
  return out;
}

LscaleInput lscaleInputFromSamples(const double* x, Index environments, Index N, Index d, const double* dsx, Index Ns,
                                   const Context* context) {
  const Index n = environments - 1;
  if (n < 1) throw Error(kFunction, "'x' needs the observational environment and at least one interventional one");
  const ReducedMoments moments = reducedMoments(x, environments, N, d, n, kFunction, context);
  LscaleInput in;
  in.basis = moments.basis;
  in.covariance = moments.covariance;
  in.mean = moments.mean;
  in.samples = N;
  in.R = reduceScoreDifferences(dsx, n, Ns, d, moments.basis, context);
  in.observational = ConstMatrixMap(x, N, d) * moments.basis;
  return in;
}

LscaleInput lscaleInputGaussian(const ReducedMoments& moments, bool centred, const std::string& function) {
  const GaussianPlugIn model = fitGaussianPlugIn(moments, centred, function);
  LscaleInput in;
  in.basis = moments.basis;
  in.covariance = moments.covariance;
  in.mean = moments.mean;
  in.samples = moments.samples;
  in.R = gaussianScoreDiffCovariances(model, moments);
  return in;
}

LscaleInput lscaleInputGaussian(const double* x, Index environments, Index N, Index d, bool centred,
                                const Context* context) {
  const Index n = environments - 1;
  if (n < 1) throw Error(kFunction, "'x' needs the observational environment and at least one interventional one");
  const ReducedMoments moments = reducedMoments(x, environments, N, d, n, kFunction, context);
  LscaleInput in = lscaleInputGaussian(moments, centred, kFunction);
  in.observational = ConstMatrixMap(x, N, d) * moments.basis;
  return in;
}

LscaleInput lscaleInputFromMoments(const std::vector<Matrix>& covariance, const std::vector<Vector>& mean,
                                   const std::vector<Matrix>& scoreDiffCovariance, bool gaussian, bool centred,
                                   Index samples) {
  const Index n = static_cast<Index>(covariance.size()) - 1;
  if (n < 1) throw Error(kFunction, "needs the observational covariance and one per interventional environment");
  const ReducedMoments moments = reducedMomentsFromCovariances(covariance, mean, n, samples, kFunction);
  if (gaussian) return lscaleInputGaussian(moments, centred, kFunction);
  if (static_cast<Index>(scoreDiffCovariance.size()) != n)
    throw Error(kFunction, "got " + str(static_cast<Index>(scoreDiffCovariance.size())) +
                               " score-difference covariances for n = " + str(n) + " interventional environments");
  LscaleInput in;
  in.basis = moments.basis;
  in.covariance = moments.covariance;
  in.mean = moments.mean;
  in.samples = samples;
  for (const Matrix& r : scoreDiffCovariance) {
    Matrix reduced = moments.basis.transpose() * r * moments.basis;
    in.R.push_back(0.5 * (reduced + reduced.transpose()));
  }
  return in;
}

}  // namespace scorecrl
