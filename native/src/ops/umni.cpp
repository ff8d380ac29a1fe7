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

UmniOptions readOptions(const OpArgs& args) {
  UmniOptions options;
  options.kappa = static_cast<int>(args.integer("kappa", 2, -1000000, 1000000));
  options.hard = args.string("intervention", "soft", {"soft", "hard"}) == "hard";
  options.tolEigv = args.number("tolEigv", options.tolEigv);
  options.tolCi = args.number("tolCi", options.tolCi);
  options.tolUnmix = args.number("tolUnmix", options.tolUnmix);
  options.latents = static_cast<int>(args.integer("latents", 0, 0, 1000000));
  options.prefilter = args.flag("prefilter", true);
  options.maxCandidates = args.number("maxCandidates", options.maxCandidates);
  options.order =
      args.string("order", "l1", {"lexicographic", "l1"}) == "l1" ? UmniOrder::L1 : UmniOrder::Lexicographic;
  return options;
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
  const ArrayView& x = args.array("x", 3);
  const ArrayView& dsx = args.array("dsx", 3);
  if (x.shape[2] != dsx.shape[2])
    args.fail("'x' has d = " + std::to_string(x.shape[2]) + " columns but 'dsx' has " + std::to_string(dsx.shape[2]));
  return umniResult(umni(x.data, x.shape[0], x.shape[1], x.shape[2], dsx.data, dsx.shape[0], dsx.shape[1],
                         readOptions(args), &context));
}

OpResult opUmniGaussian(const OpArgs& args, const Context& context) {
  const ArrayView& cov = args.array("covariances", 3);
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
  const int64_t samples = args.integer("samples", 1, int64_t(1) << 52);
  const UmniStatistics stats =
      gaussianPlugInStatistics(covariances, means, n, samples, args.flag("centred", true), "umniGaussian");
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
  readTrialShape(args, c, 64);
  c.density = args.number("density", 0.5);
  c.targetDensity = args.number("targetDensity", -1.0);
  c.varianceFactors = {args.number("factor", 0.25)};
  c.scaleDecoder = args.flag("scaleDecoder", false);
  c.randomOrder = args.flag("randomOrder", false);
  c.design = InterventionDesign::MultiNode;
  spec.options = readOptions(args);
  c.hard = spec.options.hard;
  spec.scores = args.string("scores", "exact", {"exact", "gaussian"}) == "gaussian" ? UmniScores::GaussianPlugIn
                                                                                    : UmniScores::Exact;
  const UmniTrialResult r = umniTrial(spec, &context);
  OpResult result;
  putStage(result, "soft", r.soft);
  if (r.hard) putStage(result, "hard", r.hardStage);
  result.numbers["candidates"] = static_cast<double>(r.stats.candidates);
  result.numbers["fullTests"] = static_cast<double>(r.stats.fullTests);
  return result;
}

SCORECRL_OP("umni", opUmni);
SCORECRL_OP("umniTrial", opUmniTrial);
SCORECRL_OP("umniGaussian", opUmniGaussian);

}  // namespace
}  // namespace scorecrl
