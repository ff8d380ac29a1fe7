// Operation: umni (UMNI-CRL, see scorecrl/algorithms/umni.hpp).
//   arrays  x ((K+1) x N x d), dsx (K x Ns x d)
//   numbers kappa (2), tolEigv (0.05), tolCi (0.05), tolUnmix (0.1), latents (K), prefilter (1),
//           maxCandidates (1e7)
//   strings intervention ('soft' | 'hard'), order ('l1' | 'lexicographic')
// Returns weightsOrder, encoderOrder, weights, encoder, graphClosure (0/1),
// basis, and with hard interventions hardEncoder, hardGraph (0/1); numbers
// n, candidates, fullTests.
//
// Operation: umniGaussian (UMNI-CRL with Gaussian plug-in scores, from moments).
//   arrays  covariances ((K+1) x d x d, centred), means ((K+1) x d, optional)
//   numbers samples (observational N), centred (1), and the umni numbers
// Returns what umni returns.
//
// Operation: umniTrial (a fused simulated trial, see umniTrial in umni.hpp).
//   numbers seed, n, d (n), samples, density (0.5), factor (0.25), targetDensity
//           (density), scaleDecoder (0), randomOrder (0), and the umni numbers
//   strings intervention ('soft' | 'hard'), scores ('exact' | 'gaussian'), order
// Returns numbers soft.{shd, precision, recall, mcc, incorrectMixing,
// incorrectMixingRatio, offPatternNorm}, the same as hard.* with hard
// interventions, candidates and fullTests.
#include <cmath>

#include "scorecrl/algorithms/umni.hpp"
#include "scorecrl/runtime/ops.hpp"

namespace scorecrl {
namespace {

UmniOptions readOptions(const OpArgs& args, bool trial = false) {
  UmniOptions options;
  options.kappa = static_cast<int>(args.integer("kappa"));
  options.hard = args.string("intervention") == "hard";
  options.tolEigv = args.number("tolEigv");
  options.tolCi = args.number("tolCi");
  options.tolUnmix = args.number("tolUnmix");
  if (!trial) {
    options.latents = static_cast<int>(args.integerOr("latents", 0));
    options.prefilter = args.flag("prefilter");
  }
  options.maxCandidates = args.number("maxCandidates");
  options.order = args.string("order") == "l1" ? UmniOrder::L1 : UmniOrder::Lexicographic;
  return options;
}

// The options of umni, umniGaussian and (without latents, prefilter) umniTrial.
OpSpec optionsSpec(bool trial) {
  const UmniOptions o;
  OpSpec s("umniOptions", "");
  s.integer("kappa", o.kappa, -1000000, 1000000, "integer weights range over {-kappa..kappa}, kappa >= 1")
      .choice("intervention", {"soft", "hard"}, "soft", "'hard' adds the unmixing stage")
      .number("tolEigv", o.tolEigv, "eigenvalue threshold of the rank-one test, in (0, 1)")
      .number("tolCi", o.tolCi, "level of the hard stage's Fisher z-tests, in (0, 1)")
      .number("tolUnmix", o.tolUnmix, "hard stage: regression change that marks an intervening environment")
      .number("maxCandidates", o.maxCandidates, "largest search allowed ((2 kappa + 1)^n), at most 1e12")
      .choice("order", {"lexicographic", "l1"}, "l1", "candidate order");
  if (!trial)
    s.integerDefaultedBy("latents", "K", 0, 1000000, "number of latents n; must equal K")
        .flag("prefilter", o.prefilter, "cheap screening before the eigendecomposition");
  return s;
}

OpSpec resultOutputs() {
  return OpSpec("umniResult", "")
      .returnsArray("weightsOrder", "n n", "integer weights of the causal-order search")
      .returnsArray("encoderOrder", "n d", "encoder of the causal-order search")
      .returnsArray("weights", "n n", "integer weights after the ancestor refinement")
      .returnsArray("encoder", "n d", "encoder after the refinement (unit rows)")
      .returnsArray("graphClosure", "n n", "0/1 transitive closure")
      .returnsArray("basis", "d n", "orthonormal basis of the reduced space")
      .returnsArray("hardEncoder", "n d", "hard stage: encoder up to scaling", Presence::Optional)
      .returnsArray("hardGraph", "n n", "hard stage: 0/1 DAG", Presence::Optional)
      .returnsNumber("n", "number of latents")
      .returnsNumber("candidates", "weight vectors examined")
      .returnsNumber("fullTests", "of those, eigendecompositions");
}

OpResult umniResult(const UmniResult& r) {
  OpResult result;
  result.put("weightsOrder", r.weightsOrder);
  result.put("encoderOrder", r.encoderOrder);
  result.put("weights", r.weights);
  result.put("encoder", r.encoder);
  result.put("graphClosure", r.graphClosure.cast<double>());
  result.put("basis", r.basis);
  if (r.hard) {
    result.put("hardEncoder", r.hardEncoder);
    result.put("hardGraph", r.hardGraph.cast<double>());
  }
  result.numbers["n"] = r.n;
  result.numbers["candidates"] = static_cast<double>(r.stats.candidates);
  result.numbers["fullTests"] = static_cast<double>(r.stats.fullTests);
  return result;
}

OpResult opUmni(const OpArgs& args, const Context& context) {
  const ArrayView& x = args.array("x");
  const ArrayView& dsx = args.array("dsx");
  if (x.shape[2] != dsx.shape[2])
    args.fail("'x' has d = " + std::to_string(x.shape[2]) + " columns but 'dsx' has " + std::to_string(dsx.shape[2]));
  return umniResult(umni(x.data, x.shape[0], x.shape[1], x.shape[2], dsx.data, dsx.shape[0], dsx.shape[1],
                         readOptions(args), &context));
}

OpResult opUmniGaussian(const OpArgs& args, const Context& context) {
  const ArrayView& cov = args.array("covariances");
  const Index envs = cov.shape[0], d = cov.shape[1];
  if (cov.shape[2] != d) args.fail("'covariances' must be (K+1) x d x d");
  if (envs < 2) args.fail("'covariances' needs the observational environment and at least one interventional one");
  std::vector<Matrix> covariances;
  std::vector<Vector> means;
  for (Index k = 0; k < envs; ++k) covariances.push_back(args.slice("covariances", k));
  if (args.hasArray("means")) {
    const ConstMatrixMap m = args.matrix("means");
    if (m.rows() != envs || m.cols() != d)
      args.fail("'means' must be (K+1) x d = " + std::to_string(envs) + " x " + std::to_string(d));
    for (Index k = 0; k < envs; ++k) means.push_back(m.row(k).transpose());
  }
  const UmniOptions options = readOptions(args);
  const int n = options.latents > 0 ? options.latents : static_cast<int>(envs - 1);
  const int64_t samples = args.integer("samples");
  const UmniStatistics stats =
      gaussianPlugInStatistics(covariances, means, n, samples, args.flag("centred"), "umniGaussian");
  return umniResult(umni(stats, options, &context));
}

void putStage(OpResult& result, const std::string& prefix, const UmniStageMetrics& m) {
  result.numbers[prefix + ".shd"] = m.shd;
  result.numbers[prefix + ".precision"] = m.precision;
  result.numbers[prefix + ".recall"] = m.recall;
  result.numbers[prefix + ".mcc"] = m.mcc;
  result.numbers[prefix + ".incorrectMixing"] = m.incorrectMixing;
  result.numbers[prefix + ".incorrectMixingRatio"] = m.incorrectMixingRatio;
  result.numbers[prefix + ".offPatternNorm"] = m.offPatternNorm;
}

OpResult opUmniTrial(const OpArgs& args, const Context& context) {
  UmniTrialSpec spec;
  SimulationConfig& c = spec.simulation;
  readTrialShape(args, c);
  c.density = args.number("density");
  c.targetDensity = args.numberOr("targetDensity", -1.0);
  c.varianceFactors = {args.number("factor")};
  c.scaleDecoder = args.flag("scaleDecoder");
  c.randomOrder = args.flag("randomOrder");
  c.design = InterventionDesign::MultiNode;
  spec.options = readOptions(args, true);
  c.hard = spec.options.hard;
  spec.scores = args.string("scores") == "gaussian" ? UmniScores::GaussianPlugIn : UmniScores::Exact;
  const UmniTrialResult r = umniTrial(spec, &context);
  OpResult result;
  putStage(result, "soft", r.soft);
  if (r.hard) putStage(result, "hard", r.hardStage);
  result.numbers["candidates"] = static_cast<double>(r.stats.candidates);
  result.numbers["fullTests"] = static_cast<double>(r.stats.fullTests);
  return result;
}

SCORECRL_OP(OpSpec("umni", "UMNI-CRL on samples and score differences from unknown multi-node interventions.")
                .array("x", "K+1 N d", "samples, the observational environment first")
                .array("dsx", "K Ns d", "score differences s_0 - s_k at observational samples")
                .inputsOf(optionsSpec(false))
                .outputsOf(resultOutputs()),
            opUmni);
SCORECRL_OP(OpSpec("umniGaussian", "UMNI-CRL with Gaussian plug-in scores, from per-environment moments.")
                .array("covariances", "K+1 d d", "centred covariances, the observational environment first")
                .array("means", "K+1 d", "means (default zero)", Presence::Optional)
                .integer("samples", std::nullopt, 1, 4503599627370496.0, "observational sample count N")
                .flag("centred", true, "subtract the means")
                .inputsOf(optionsSpec(false))
                .outputsOf(resultOutputs()),
            opUmniGaussian);

OpSpec umniTrialSpec() {
  OpSpec s("umniTrial", "One simulated UMNI-CRL trial (linear SCM, linear decoder, multi-node design).");
  s.inputsOf(trialShapeSpec(64))
      .number("density", 0.5, "Erdos-Renyi edge probability")
      .numberDefaultedBy("targetDensity", "density", "probability of an off-diagonal target")
      .number("factor", 0.25, "noise-variance factor of intervened nodes")
      .flag("scaleDecoder", false, "scale decoder columns to max |entry| 1")
      .flag("randomOrder", false, "relabel the nodes by a random permutation")
      .choice("scores", {"exact", "gaussian"}, "exact", "score differences: exact or Gaussian plug-in")
      .inputsOf(optionsSpec(true))
      .returnsNumber("candidates", "weight vectors examined")
      .returnsNumber("fullTests", "of those, eigendecompositions");
  for (const std::string stage : {"soft", "hard"}) {
    const Presence p = stage == "soft" ? Presence::Required : Presence::Optional;
    s.returnsNumber(stage + ".shd", "SHD (soft: of the closures)", p)
        .returnsNumber(stage + ".precision", "edge precision", p)
        .returnsNumber(stage + ".recall", "edge recall", p)
        .returnsNumber(stage + ".mcc", "mean correlation of latents", p)
        .returnsNumber(stage + ".incorrectMixing", "entries of the effective mixing outside the pattern", p)
        .returnsNumber(stage + ".incorrectMixingRatio", "their share", p)
        .returnsNumber(stage + ".offPatternNorm", "spectral norm of the part outside the pattern", p);
  }
  return s;
}

SCORECRL_OP(umniTrialSpec(), opUmniTrial);

}  // namespace
}  // namespace scorecrl
