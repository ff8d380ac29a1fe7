// Operations of the linear algorithms (see lscale.hpp, finite_sample.hpp,
// score_estimators.hpp):
//
// lscale
//   data, one of:
//     arrays x ((n+1) x N x d), dsx (n x Ns x d)            samples and score differences
//     arrays x, string scores 'gaussian'                    Gaussian plug-in, dsx never formed
//     arrays covariances ((n+1) x d x d, centred),
//            scoreDiffCovariances (n x d x d)               moments
//     arrays covariances, means ((n+1) x d, optional), string scores 'gaussian'
//   strings intervention ('soft' | 'hard'), edgeRule ('adaptive' | 'absolute' | 'null-level' | 'regression'),
//           unmixing ('predecessors' | 'soft-parents'),
//           hardGraphFilter ('auto' | 'none' | 'soft-graph' | 'soft-closure')
//   numbers fullRank (0), tolEdge (1e-3), nullMargin (1.25), edgeLevel (0.01), tolEigv (1e-2), tolIntersection (1e-6),
//           centred (1), samples (informational, moments only)
//   returns basis (d x n) and per stage ('soft', 'hard', 'fullRank'): <stage>.encoder,
//   .decoder, .graph (0/1), .rawGraph, .order, .latentScoreDiffCov (n x n x n),
//   .edgeStatistic, .edgeMargin (soft, hard; NaN where undefined), hard.edgePValue ('regression')
//   and numbers <stage>.edgeThreshold,
//   <stage>.nullLevel;
//   fullRank.intersectionDims.
//   numbers resamples (0), resampleSeed (0): with x and dsx, bootstrap refits of the rows
//   (lscaleResampling); returns <stage>.edgeFrequency (soft, hard) and numbers
//   resamples.requested, resamples.completed.
//
// finiteSample
//   arrays rxs (n x d x d) | dsx (n x N x d) | x ((n+1) x N x d) with string scores 'gaussian'
//   numbers tolEigv (1e-2), tolOrth (1e-1), centred (1)
//   returns order, graphClosure (0/1), encoder (n x d).
//
// gaussianScoreDifferences
//   arrays x ((K+1) x N x d), optional at (M x d: points, default the observational samples)
//   numbers latents (n, default K), centred (1)
//   returns dsx (K x M x d), basis (d x n), means ((K+1) x n), precisions ((K+1) x n x n).
//
// lscaleTrial: one simulated trial without N x d arrays (linear SCM, linear
//   decoder): the latent moments of `simulate`'s samples -> observed moments
//   -> Gaussian plug-in or exact score-difference covariances -> lscale ->
//   metrics in the simulation's labelling.
//   numbers seed, n, d, samples, density (0.5), factor (5), scaleDecoder (1), randomOrder (0),
//           randomInterventionOrder (0), fullRank (0), tolEdge,
//   strings intervention, estimator ('gaussian' | 'exact'), edgeRule, unmixing, hardGraphFilter,
//           sampling ('samples': the N x n normals simulate() draws, accumulated;
//                     'wishart': the moments drawn from their exact distribution, O(n^2) draws)
//   returns numbers <stage>.mcc, <stage>.shd, <stage>.closureShd, <stage>.edges, <stage>.mixingLoss,
//   trueEdges; arrays graph (true, environment labelling), <stage>.graph, <stage>.order.
#include <algorithm>
#include <cmath>

#include "scorecrl/algorithms/finite_sample.hpp"
#include "scorecrl/algorithms/lscale.hpp"
#include "scorecrl/algorithms/trial.hpp"
#include "scorecrl/estimators/score_estimators.hpp"
#include "scorecrl/evaluation/metrics.hpp"
#include "scorecrl/linalg/moments.hpp"
#include "scorecrl/runtime/ops.hpp"
#include "scorecrl/simulation/rng.hpp"

namespace scorecrl {
namespace {

std::string str(int64_t v) { return std::to_string(static_cast<long long>(v)); }

LscaleOptions readLscaleOptions(const OpArgs& args) {
  LscaleOptions o;
  o.hard = args.string("intervention") == "hard";
  o.fullRank = args.flag("fullRank");
  const std::string rule = args.string("edgeRule");
  o.edgeRule = rule == "absolute"     ? EdgeRule::Absolute
               : rule == "null-level" ? EdgeRule::NullLevel
               : rule == "regression" ? EdgeRule::Regression
                                      : EdgeRule::Adaptive;
  o.unmixing = args.string("unmixing") == "soft-parents" ? Unmixing::SoftParents : Unmixing::Predecessors;
  const std::string filter = args.string("hardGraphFilter");
  o.hardGraphFilter = filter == "soft-graph"     ? HardGraphFilter::SoftGraph
                      : filter == "soft-closure" ? HardGraphFilter::SoftClosure
                      : filter == "none"         ? HardGraphFilter::None
                                                 : HardGraphFilter::Auto;
  o.tolEdge = args.number("tolEdge");
  o.nullMargin = args.number("nullMargin");
  o.edgeLevel = args.number("edgeLevel");
  o.tolEigv = args.number("tolEigv");
  o.tolIntersection = args.number("tolIntersection");
  return o;
}

// The options of lscale and lscaleTrial.
OpSpec lscaleOptionsSpec() {
  const LscaleOptions o;
  OpSpec s("lscaleOptions", "");
  s.choice("intervention", {"soft", "hard"}, "soft", "'hard' adds the hard stage: latents up to scaling and the DAG")
      .flag("fullRank", false, "run the full-rank variant")
      .choice("edgeRule", {"adaptive", "absolute", "null-level", "regression"}, "adaptive", "how edges are decided")
      .choice("unmixing", {"predecessors", "soft-parents"}, "predecessors", "hard stage: latents unmixed against")
      .choice("hardGraphFilter", {"auto", "none", "soft-graph", "soft-closure"}, "auto",
              "hard stage: candidate edges kept from the soft stage")
      .number("tolEdge", o.tolEdge, "'absolute' rule: edge threshold", Range::atLeast(0))
      .number("nullMargin", o.nullMargin, "'null-level' rule: decades above the non-edge level", Range::atLeast(0))
      .number("edgeLevel", o.edgeLevel, "'regression' rule: family-wise level of the hard stage's edge tests",
              Range::open(0, 1))
      .number("tolEigv", o.tolEigv, "full-rank: eigenvalue threshold of the graph step", Range::atLeast(0))
      .number("tolIntersection", o.tolIntersection, "full-rank: eigenvalue threshold of the encoder step",
              Range::atLeast(0));
  return s;
}

// Slices of a k x d x d array as symmetric matrices.
std::vector<Matrix> symmetricSlices(const OpArgs& args, const std::string& name, int64_t count, int64_t d) {
  const ArrayView& a = args.array(name);
  if (a.shape[0] != count || a.shape[1] != d || a.shape[2] != d)
    args.fail("'" + name + "' must be " + str(count) + " x " + str(d) + " x " + str(d) + ", got [" + str(a.shape[0]) +
              ", " + str(a.shape[1]) + ", " + str(a.shape[2]) + "]");
  std::vector<Matrix> out;
  for (int64_t k = 0; k < count; ++k) {
    Matrix c = args.slice(name, k);
    const double scale = std::max(1.0, c.cwiseAbs().maxCoeff());
    if ((c - c.transpose()).cwiseAbs().maxCoeff() > 1e-8 * scale)
      args.fail("'" + name + "' slice " + str(k) + " is not symmetric");
    out.push_back(0.5 * (c + c.transpose()));
  }
  return out;
}

LscaleInput readLscaleInput(const OpArgs& args, const Context& context) {
  const bool gaussian = args.string("scores") == "gaussian";
  const bool centred = args.flag("centred");
  if (args.hasArray("covariances")) {
    const ArrayView& cov = args.array("covariances");
    const int64_t K1 = cov.shape[0], d = cov.shape[1];
    if (K1 < 2) args.fail("'covariances' needs the observational environment and at least one interventional one");
    const std::vector<Matrix> covariances = symmetricSlices(args, "covariances", K1, d);
    std::vector<Vector> means;
    if (args.hasArray("means")) {
      const ArrayView& mean = args.array("means");
      if (mean.shape[0] != K1 || mean.shape[1] != d) args.fail("'means' must be " + str(K1) + " x " + str(d));
      for (int64_t k = 0; k < K1; ++k) means.push_back(Eigen::Map<const Vector>(mean.data + k * d, d));
    }
    std::vector<Matrix> R;
    if (!gaussian) {
      if (!args.hasArray("scoreDiffCovariances"))
        args.fail("pass 'scoreDiffCovariances' (n x d x d) with 'covariances', or scores: 'gaussian'");
      R = symmetricSlices(args, "scoreDiffCovariances", K1 - 1, d);
    }
    const int64_t samples = args.integer("samples");
    return lscaleInputFromMoments(covariances, means, R, gaussian, centred, samples);
  }
  if (!args.hasArray("x")) args.fail("pass 'x' ((n+1) x N x d samples) or 'covariances' ((n+1) x d x d)");
  const ArrayView& x = args.array("x");
  const int64_t K1 = x.shape[0], N = x.shape[1], d = x.shape[2];
  if (K1 < 2)
    args.fail("'x' needs the observational environment and at least one interventional one (shape [n+1, N, d])");
  if (gaussian) {
    if (args.hasArray("dsx")) args.fail("pass either 'dsx' or scores: 'gaussian', not both");
    return lscaleInputGaussian(x.data, K1, N, d, centred, &context);
  }
  if (!args.hasArray("dsx")) args.fail("missing 'dsx' (n x N x d score differences); or pass scores: 'gaussian'");
  const ArrayView& dsx = args.array("dsx");
  if (dsx.shape[0] != K1 - 1)
    args.fail("'x' has " + str(K1) + " environments and 'dsx' " + str(dsx.shape[0]) +
              ": 'x' needs the observational environment first, then one per row of 'dsx'");
  if (dsx.shape[2] != d) args.fail("'x' has d = " + str(d) + " columns but 'dsx' has " + str(dsx.shape[2]));
  return lscaleInputFromSamples(x.data, K1, N, d, dsx.data, dsx.shape[1], &context);
}

void putMatrices(OpResult& result, const std::string& name, const std::vector<Matrix>& ms) {
  std::vector<double> data;
  const int64_t rows = ms.empty() ? 0 : ms[0].rows(), cols = ms.empty() ? 0 : ms[0].cols();
  for (const Matrix& m : ms) data.insert(data.end(), m.data(), m.data() + m.size());
  result.put(name, std::move(data), {static_cast<int64_t>(ms.size()), rows, cols});
}

void putStage(OpResult& result, const std::string& prefix, const LscaleStage& s, bool withStatistic) {
  result.put(prefix + ".encoder", s.encoder);
  result.put(prefix + ".decoder", s.decoder);
  result.put(prefix + ".graph", s.graph.cast<double>());
  result.put(prefix + ".rawGraph", s.rawGraph.cast<double>());
  result.putVector(prefix + ".order", s.order);
  putMatrices(result, prefix + ".latentScoreDiffCov", s.latentScoreDiffCov);
  if (withStatistic) {
    result.put(prefix + ".edgeStatistic", s.edgeStatistic);
    result.numbers[prefix + ".edgeThreshold"] = s.edgeThreshold;
    result.put(prefix + ".edgeMargin", s.edgeMargin);
    result.numbers[prefix + ".nullLevel"] = s.nullLevel;
    if (s.edgePValue.size() > 0) result.put(prefix + ".edgePValue", s.edgePValue);
  }
}

OpResult opLscale(const OpArgs& args, const Context& context) {
  const LscaleOptions options = readLscaleOptions(args);
  const LscaleInput input = readLscaleInput(args, context);
  const LscaleResult r = lscale(input, options, &context);
  OpResult result;
  result.put("basis", input.basis);
  putStage(result, "soft", r.soft, true);
  if (r.hard) putStage(result, "hard", *r.hard, true);
  if (r.fullRank) {
    putStage(result, "fullRank", *r.fullRank, false);
    result.putVector("fullRank.intersectionDims", r.intersectionDims);
  }
  const int64_t resamples = args.integer("resamples");
  const int64_t resampleSeed = args.integer("resampleSeed");
  if (resamples > 0) {
    if (!args.hasArray("x") || !args.hasArray("dsx"))
      args.fail("'resamples' needs the samples and their score differences ({ x, dsx })");
    const ArrayView& x = args.array("x");
    const ArrayView& dsx = args.array("dsx");
    const LscaleResampling rs =
        lscaleResampling(x.data, x.shape[0], x.shape[1], x.shape[2], dsx.data, dsx.shape[1], input.basis, options,
                         static_cast<int>(resamples), static_cast<uint64_t>(resampleSeed), &context);
    result.put("soft.edgeFrequency", rs.softFrequency);
    if (r.hard) result.put("hard.edgeFrequency", rs.hardFrequency);
    result.numbers["resamples.requested"] = rs.replicates;
    result.numbers["resamples.completed"] = rs.completed;
  }
  return result;
}

OpResult opFiniteSample(const OpArgs& args, const Context& context) {
  FiniteSampleOptions options;
  options.tolEigv = args.number("tolEigv");
  options.tolOrth = args.number("tolOrth");
  std::vector<Matrix> R;
  const int given = (args.hasArray("rxs") ? 1 : 0) + (args.hasArray("dsx") ? 1 : 0) + (args.hasArray("x") ? 1 : 0);
  if (given != 1) args.fail("pass exactly one of 'rxs' (n x d x d), 'dsx' (n x N x d) or 'x' with scores: 'gaussian'");
  if (args.hasArray("rxs")) {
    const ArrayView& rxs = args.array("rxs");
    R = symmetricSlices(args, "rxs", rxs.shape[0], rxs.shape[1]);
  } else if (args.hasArray("dsx")) {
    const ArrayView& dsx = args.array("dsx");
    const int64_t K = dsx.shape[0], N = dsx.shape[1], d = dsx.shape[2];
    const Matrix stacked = scoreDiffCovariance(dsx.data, K, N, d, &context);
    for (int64_t m = 0; m < K; ++m) R.push_back(stacked.middleRows(m * d, d));
  } else {
    if (args.string("scores") != "gaussian") args.fail("'x' needs scores: 'gaussian' (or pass 'dsx' / 'rxs')");
    const ArrayView& x = args.array("x");
    const int64_t K1 = x.shape[0];
    if (K1 < 2) args.fail("'x' needs the observational environment and at least one interventional one");
    const ReducedMoments moments = reducedMoments(x.data, K1, x.shape[1], x.shape[2], K1 - 1, "finiteSample", &context);
    const GaussianPlugIn model = fitGaussianPlugIn(moments, args.flag("centred"), "finiteSample");
    for (const Matrix& r : gaussianScoreDiffCovariances(model, moments))
      R.push_back(moments.basis * r * moments.basis.transpose());
  }
  const FiniteSampleResult r = finiteSample(R, options, &context);
  OpResult result;
  result.putVector("order", r.order);
  result.put("graphClosure", r.graphClosure.cast<double>());
  result.put("encoder", r.encoder);
  return result;
}

OpResult opGaussianScoreDifferences(const OpArgs& args, const Context& context) {
  const ArrayView& x = args.array("x");
  const int64_t K1 = x.shape[0], N = x.shape[1], d = x.shape[2];
  if (K1 < 2)
    args.fail("'x' needs the observational environment and at least one interventional one (shape [K+1, N, d])");
  const int64_t n = args.integerOr("latents", K1 - 1);
  if (n > d) args.fail("'latents' must be between 1 and " + str(d) + ", got " + str(n));
  const ReducedMoments moments = reducedMoments(x.data, K1, N, d, n, "gaussianScoreDifferences", &context);
  const GaussianPlugIn model = fitGaussianPlugIn(moments, args.flag("centred"), "gaussianScoreDifferences");
  int64_t M = N;
  const double* at = x.data;
  if (args.hasArray("at")) {
    const ArrayView& points = args.array("at");
    if (points.shape[1] != d) args.fail("'at' has " + str(points.shape[1]) + " columns, 'x' has d = " + str(d));
    M = points.shape[0];
    at = points.data;
  }
  std::vector<double> dsx(static_cast<size_t>((K1 - 1) * M * d));
  gaussianScoreDifferences(model, ConstMatrixMap(at, M, d), dsx.data(), &context);
  OpResult result;
  result.put("dsx", std::move(dsx), {K1 - 1, M, d});
  result.put("basis", model.basis);
  Matrix means(K1, n);
  for (int64_t k = 0; k < K1; ++k) means.row(k) = model.mean[static_cast<size_t>(k)].transpose();
  result.put("means", means);
  putMatrices(result, "precisions", model.precision);
  return result;
}

// Pearson correlations between true latents z (covariance cz) and the
// estimate H x = H G z, and the best matching's mean |correlation|.
double mccFromMoments(const Matrix& encoder, const Matrix& decoder, const Matrix& cz) {
  const Matrix e = encoder * decoder;  // estimated = e z
  const Matrix cross = cz * e.transpose();
  const Vector varTrue = cz.diagonal();
  const Vector varEst = (e * cz * e.transpose()).diagonal();
  const Index n = cz.rows();
  Matrix cost(n, n);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) {
      const double denom = std::sqrt(std::max(0.0, varTrue(i) * varEst(j)));
      cost(i, j) = denom > 0 ? -std::abs(cross(i, j)) / denom : 0.0;
    }
  const std::vector<int> match = linearSumAssignment(cost);
  double total = 0.0;
  for (Index i = 0; i < n; ++i) total -= cost(i, match[static_cast<size_t>(i)]);
  return total / static_cast<double>(n);
}

OpResult opLscaleTrial(const OpArgs& args, const Context& context) {
  TrialSpec spec;
  SimulationConfig& c = spec.simulation;
  readTrialShape(args, c);
  c.density = args.number("density");
  c.varianceFactors = {args.number("factor")};
  c.scaleDecoder = args.flag("scaleDecoder");
  c.randomOrder = args.flag("randomOrder");
  c.randomInterventionOrder = args.flag("randomInterventionOrder");
  c.outputs.z = c.outputs.x = c.outputs.dsx = false;
  LscaleOptions options = readLscaleOptions(args);
  c.hard = options.hard;
  spec.estimator = args.string("estimator") == "gaussian" ? TrialEstimator::GaussianPlugIn : TrialEstimator::Exact;
  Generator rng(c.seed);
  const SimulationModel model = drawSimulationModel(c, rng);
  const TrialSampling sampling = args.string("sampling") == "wishart" ? TrialSampling::Wishart : TrialSampling::Samples;
  const std::vector<LatentMoments> latent = drawLatentMoments(model, rng, c.samples, &context, sampling);
  const Matrix& G = model.transform.decoder();
  const ObservedMoments observed = observedMoments(G, latent);
  LscaleInput input;
  if (spec.estimator == TrialEstimator::GaussianPlugIn) {
    input = lscaleInputFromMoments(observed.covariances, observed.means, {}, true, true, c.samples);
  } else {
    input = lscaleInputFromMoments(observed.covariances, observed.means,
                                   scoreDiffCovariancesFromMoments(model, latent, TrialEstimator::Exact), false, true,
                                   c.samples);
  }
  const LscaleResult r = lscale(input, options, &context);
  // Truth in the labelling of the environments: latent m = node targeted by environment m+1.
  const int n = c.n;
  std::vector<int> node(static_cast<size_t>(n));
  for (int m = 0; m < n; ++m)
    node[static_cast<size_t>(m)] = model.environments[static_cast<size_t>(m) + 1].targets.at(0);
  Adjacency truth(n, n);
  Matrix decoderTrue(G.rows(), n);
  Matrix cz(n, n);
  const Matrix czNodes = latent[0].covariance();
  for (int a = 0; a < n; ++a) {
    decoderTrue.col(a) = G.col(node[static_cast<size_t>(a)]);
    for (int b = 0; b < n; ++b) {
      truth(a, b) = model.scm.adjacency(node[static_cast<size_t>(a)], node[static_cast<size_t>(b)]);
      cz(a, b) = czNodes(node[static_cast<size_t>(a)], node[static_cast<size_t>(b)]);
    }
  }
  OpResult result;
  result.put("graph", truth.cast<double>());
  result.numbers["trueEdges"] = static_cast<double>(truth.count());
  const Adjacency truthClosure = transitiveClosure(truth);
  // The paper's effective-mixing losses: l_scale (hard stage: nothing but the diagonal is
  // allowed) and l_pa (soft stage: each latent may mix with its parents).
  const Adjacency scaleOnly = allowedPattern(Adjacency::Constant(n, n, false), false);
  const Adjacency parents = allowedPattern(truth, false);
  auto score = [&](const std::string& prefix, const LscaleStage& s) {
    result.numbers[prefix + ".mcc"] = mccFromMoments(s.encoder, decoderTrue, cz);
    result.numbers[prefix + ".mixingLoss"] =
        effectiveMixingError(s.encoder, decoderTrue, prefix == "hard" ? scaleOnly : parents).offPatternSpectralNorm;
    result.numbers[prefix + ".shd"] = compareGraphs(truth, s.graph).shd;
    result.numbers[prefix + ".closureShd"] = compareGraphs(truthClosure, transitiveClosure(s.graph)).shd;
    result.numbers[prefix + ".edges"] = static_cast<double>(s.graph.count());
    result.put(prefix + ".graph", s.graph.cast<double>());
    result.putVector(prefix + ".order", s.order);
  };
  score("soft", r.soft);
  if (r.hard) score("hard", *r.hard);
  if (r.fullRank) score("fullRank", *r.fullRank);
  return result;
}

// The outputs of one stage of lscale; `statistics` for the soft and hard stages.
void stageOutputs(OpSpec& s, const std::string& stage, Presence presence, bool statistics) {
  s.returnsArray(stage + ".encoder", "n d", "encoder: z_hat = encoder x", presence)
      .returnsArray(stage + ".decoder", "d n", "decoder", presence)
      .returnsArray(stage + ".graph", "n n", "0/1 latent graph", presence)
      .returnsArray(stage + ".rawGraph", "n n", "0/1 graph before the stage's filter", presence)
      .returnsArray(stage + ".order", "n", "causal order of the latents", presence)
      .returnsArray(stage + ".latentScoreDiffCov", "n n n", "latent score-difference moments", presence);
  if (!statistics) return;
  s.returnsArray(stage + ".edgeStatistic", "n n", "the statistic each edge decision compares", presence)
      .returnsArray(stage + ".edgeMargin", "n n", "decades above (+) or below (-) the threshold; NaN if undefined",
                    presence)
      .returnsNumber(stage + ".edgeThreshold", "threshold of the edge rule", presence)
      .returnsNumber(stage + ".nullLevel", "non-edge level of the 'null-level' rule", presence);
}

OpSpec lscaleSpec() {
  OpSpec s("lscale",
           "LSCALE-I on samples and score differences, on samples with Gaussian plug-in scores, or on moments.");
  s.array("x", "K+1 N d", "samples, the observational environment first", Presence::Optional)
      .array("dsx", "K Ns d", "score differences s_0 - s_k at observational samples", Presence::Optional)
      .array("covariances", "K+1 d d", "centred covariances per environment (instead of samples)", Presence::Optional)
      .array("means", "K+1 d", "means per environment (with covariances)", Presence::Optional)
      .array("scoreDiffCovariances", "K d d", "E[dsx_k dsx_k^T] (with covariances)", Presence::Optional)
      .choice("scores", {"given", "gaussian"}, "given", "'gaussian': Gaussian plug-in scores, dsx never formed")
      .flag("centred", true, "Gaussian plug-in: subtract the means")
      .integer("samples", 0, 0, 9007199254740991.0, "observational sample count (informational, moments only)")
      .inputsOf(lscaleOptionsSpec())
      .integer("resamples", 0, 0, 100000, "with x and dsx: bootstrap refits of the rows for per-edge evidence")
      .integer("resampleSeed", 0, 0, 9007199254740991.0, "seed of the bootstrap draws")
      .returnsArray("basis", "d n", "orthonormal basis of the reduced space")
      .returnsNumber("resamples.requested", "with resamples: refits asked for", Presence::Optional)
      .returnsNumber("resamples.completed", "with resamples: refits that ran to the end", Presence::Optional);
  stageOutputs(s, "soft", Presence::Required, true);
  stageOutputs(s, "hard", Presence::Optional, true);
  s.returnsArray("soft.edgePValue", "n n",
                 "'regression' rule: p-value of the shift of latent m in environment j+1 (NaN on the diagonal)",
                 Presence::Optional)
      .returnsArray("hard.edgePValue", "n n", "'regression' rule: p-value of each edge test j -> m (NaN: not tested)",
                    Presence::Optional);
  for (const std::string stage : {"soft", "hard"})
    s.returnsArray(stage + ".edgeFrequency", "n n", "with resamples: share of refits holding each edge",
                   Presence::Optional);
  stageOutputs(s, "fullRank", Presence::Optional, false);
  s.returnsArray("fullRank.intersectionDims", "n", "full-rank: dimensions of the intersections", Presence::Optional);
  return s;
}

OpSpec finiteSampleSpec() {
  const FiniteSampleOptions o;
  return OpSpec("finiteSample", "The sample-complexity algorithm: causal order, transitive closure, encoder.")
      .array("rxs", "K d d", "score-difference moments", Presence::Optional)
      .array("dsx", "K N d", "score differences", Presence::Optional)
      .array("x", "K+1 N d", "samples (with scores 'gaussian')", Presence::Optional)
      .choice("scores", {"given", "gaussian"}, "given", "'gaussian': Gaussian plug-in scores from 'x'")
      .flag("centred", true, "Gaussian plug-in: subtract the means")
      .number("tolEigv", o.tolEigv, "eigenvalue threshold", Range::atLeast(0))
      .number("tolOrth", o.tolOrth, "orthogonality threshold", Range::atLeast(0))
      .returnsArray("order", "n", "causal order")
      .returnsArray("graphClosure", "n n", "0/1 transitive closure")
      .returnsArray("encoder", "n d", "encoder");
}

OpSpec gaussianScoreDifferencesSpec() {
  return OpSpec("gaussianScoreDifferences", "Gaussian plug-in score differences s_0 - s_k.")
      .array("x", "K+1 N d", "samples, the observational environment first")
      .array("at", "M d", "points to evaluate at (default the observational samples)", Presence::Optional)
      .integerDefaultedBy("latents", "K", 1, 1000000, "latent dimension n (<= d)")
      .flag("centred", true, "subtract the means")
      .returnsArray("dsx", "K M d", "score differences")
      .returnsArray("basis", "d n", "basis of the reduced space")
      .returnsArray("means", "K+1 n", "reduced means")
      .returnsArray("precisions", "K+1 n n", "reduced precisions");
}

OpSpec lscaleTrialSpec() {
  OpSpec s("lscaleTrial", "One simulated LSCALE-I trial on latent moments (linear SCM, linear decoder).");
  s.inputsOf(trialShapeSpec(kClosestDagMaxNodes))
      .number("density", 0.5, "Erdos-Renyi edge probability")
      .number("factor", 5.0, "noise-variance factor of intervened nodes")
      .flag("scaleDecoder", true, "scale decoder columns to max |entry| 1")
      .flag("randomOrder", false, "relabel the nodes by a random permutation")
      .flag("randomInterventionOrder", false, "environments in random order of their targets")
      .inputsOf(lscaleOptionsSpec())
      .choice("estimator", {"gaussian", "exact"}, "gaussian", "score differences: Gaussian plug-in or exact")
      .choice("sampling", {"samples", "wishart"}, "samples", "moments from samples or from their exact law")
      .returnsArray("graph", "n n", "true DAG in the environments' labelling")
      .returnsNumber("trueEdges", "edges of the true DAG");
  for (const std::string stage : {"soft", "hard", "fullRank"}) {
    const Presence p = stage == "soft" ? Presence::Required : Presence::Optional;
    s.returnsNumber(stage + ".mcc", "mean correlation of latents", p)
        .returnsNumber(stage + ".shd", "SHD of the DAG", p)
        .returnsNumber(stage + ".closureShd", "SHD of the transitive closures", p)
        .returnsNumber(stage + ".mixingLoss",
                       "spectral norm of the unit-row effective mixing outside the identity (hard: l_scale) or "
                       "the parents and identity (soft, full rank: l_pa)",
                       p)
        .returnsNumber(stage + ".edges", "estimated edges", p)
        .returnsArray(stage + ".graph", "n n", "estimated graph", p)
        .returnsArray(stage + ".order", "n", "estimated order", p);
  }
  return s;
}

SCORECRL_OP(lscaleSpec(), opLscale);
SCORECRL_OP(finiteSampleSpec(), opFiniteSample);
SCORECRL_OP(gaussianScoreDifferencesSpec(), opGaussianScoreDifferences);
SCORECRL_OP(lscaleTrialSpec(), opLscaleTrial);

}  // namespace
}  // namespace scorecrl
