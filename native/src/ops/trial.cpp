// Operation trial: one fused simulated trial (simulate -> estimate ->
// algorithm -> metrics) returning only its metrics.
#include <algorithm>
#include <cmath>

#include "scorecrl/algorithms/trial.hpp"
#include "scorecrl/runtime/ops.hpp"
#include "scorecrl/simulation/rng.hpp"

namespace scorecrl {

void readTrialShape(const OpArgs& args, SimulationConfig& config, int maxLatents) {
  const double seed = args.number("seed");
  if (!(seed >= 0) || seed > 9007199254740991.0 || seed != std::floor(seed))
    args.fail("'seed' must be a whole number in [0, 2^53)");
  config.seed = static_cast<uint64_t>(seed);
  config.n = static_cast<int>(args.integer("n", 1, maxLatents));
  config.d = static_cast<int>(args.integer("d", config.n, 1, 100000));
  if (config.d < config.n)
    args.fail("'d' (" + std::to_string(config.d) + ") must be >= 'n' (" + std::to_string(config.n) + ")");
  config.samples = args.integer("samples", 2, 100000000);
}

namespace {

TrialSpec readSpec(const OpArgs& args) {
  TrialSpec spec;
  SimulationConfig& c = spec.simulation;
  readTrialShape(args, c, 20);
  c.density = args.number("density", 0.5);
  c.randomOrder = args.flag("randomOrder", true);
  c.randomInterventionOrder = args.flag("randomInterventionOrder", true);
  c.scaleDecoder = args.flag("scaleDecoder", false);
  c.conditionFloor = args.number("conditionFloor", 0.1);
  c.varianceFactors = {args.number("factor", 0.25)};

  const std::string latent = args.string("latent", "linear", {"linear", "quadratic", "mlp"});
  c.latent = latent == "linear"      ? LatentModel::Linear
             : latent == "quadratic" ? LatentModel::Quadratic
                                     : LatentModel::Mlp;
  c.hard = args.string("intervention", "hard", {"hard", "soft"}) == "hard";
  c.varianceChange =
      args.string("varianceChange", "scale", {"scale", "add"}) == "scale" ? VarianceChange::Scale : VarianceChange::Add;
  const std::string design = args.string("design", "single-node", {"single-node", "two-hard-per-node", "multi-node"});
  c.design = design == "single-node"         ? InterventionDesign::SingleNode
             : design == "two-hard-per-node" ? InterventionDesign::TwoHardPerNode
                                             : InterventionDesign::MultiNode;
  const std::string transform = args.string("transform", "linear", {"linear", "tanh", "tanh-mlp"});
  c.transform = transform == "linear" ? MixingKind::Linear
                : transform == "tanh" ? MixingKind::Tanh
                                      : MixingKind::TanhMlp;
  c.outputs.z = c.outputs.x = c.outputs.dsx = false;
  spec.estimator = args.string("estimator", "gaussian", {"gaussian", "exact"}) == "gaussian"
                       ? TrialEstimator::GaussianPlugIn
                       : TrialEstimator::Exact;
  spec.sampling = args.string("sampling", "samples", {"samples", "wishart"}) == "samples" ? TrialSampling::Samples
                                                                                          : TrialSampling::Wishart;
  args.string("algorithm", "finite-sample", {"finite-sample"});
  spec.algorithm = TrialAlgorithm::FiniteSample;
  spec.tolEigv = args.number("tolEigv", 1e-2);
  spec.tolOrth = args.number("tolOrth", 1e-1);
  return spec;
}

OpResult opTrial(const OpArgs& args, const Context& context) {
  const TrialSpec spec = readSpec(args);
  const TrialResult r = runTrial(spec, &context);
  OpResult result;
  result.numbers["shd"] = r.shd;
  result.numbers["precision"] = r.precision;
  result.numbers["recall"] = r.recall;
  result.numbers["encoderError"] = r.encoderError;
  result.numbers["correct"] = r.correct() ? 1.0 : 0.0;
  result.numbers["trueEdges"] = r.trueEdges;
  result.numbers["estimatedEdges"] = r.estimatedEdges;
  result.numbers["incorrectMixing"] = r.incorrectMixing;
  return result;
}

// The score-difference covariances R_m (K x d x d) a trial's algorithm sees,
// and the latent moments they come from ((K+1) x n x n uncentred second
// moments, (K+1) x n means): for checking the moment path against
// covariances of materialised data.
OpResult opTrialCovariances(const OpArgs& args, const Context& context) {
  const TrialSpec spec = readSpec(args);
  validateTrialSpec(spec);
  Generator rng(spec.simulation.seed);
  const SimulationModel model = drawSimulationModel(spec.simulation, rng);
  const auto moments = drawLatentMoments(model, rng, spec.simulation.samples, &context, spec.sampling);
  const auto R = scoreDiffCovariancesFromMoments(model, moments, spec.estimator);
  const int64_t K = static_cast<int64_t>(R.size()), d = model.transform.d, n = model.scm.n;
  std::vector<double> r, second, mean;
  for (const Matrix& m : R) r.insert(r.end(), m.data(), m.data() + m.size());
  for (const LatentMoments& m : moments) {
    second.insert(second.end(), m.second.data(), m.second.data() + m.second.size());
    mean.insert(mean.end(), m.mean.data(), m.mean.data() + m.mean.size());
  }
  OpResult result;
  result.put("covariances", std::move(r), {K, d, d});
  result.put("latentSecondMoments", std::move(second), {K + 1, n, n});
  result.put("latentMeans", std::move(mean), {K + 1, n});
  return result;
}

// The finite-sample algorithm with Gaussian plug-in scores on data given as
// per-environment moments: covariances ((K+1) x d x d, centred) and means
// ((K+1) x d), environment 0 observational.
OpResult opFitFiniteSample(const OpArgs& args, const Context&) {
  const ArrayView& cov = args.array("covariances", 3);
  const ArrayView& mean = args.array("means", 2);
  const int64_t K1 = cov.shape[0], d = cov.shape[1];
  if (cov.shape[2] != d) args.fail("'covariances' must be (K+1) x d x d");
  if (mean.shape[0] != K1 || mean.shape[1] != d) args.fail("'means' must be (K+1) x d, matching 'covariances'");
  std::vector<Matrix> covariances;
  std::vector<Vector> means;
  for (int64_t k = 0; k < K1; ++k) {
    Matrix c = args.slice("covariances", k);
    if ((c - c.transpose()).cwiseAbs().maxCoeff() > 1e-8 * std::max(1.0, c.cwiseAbs().maxCoeff()))
      args.fail("'covariances' slice " + std::to_string(k) + " is not symmetric");
    covariances.push_back(0.5 * (c + c.transpose()));
    means.push_back(Eigen::Map<const Vector>(mean.data + k * d, d));
  }
  const int n = static_cast<int>(args.integer("n", 1, 20));
  const FitResult fit =
      fitFiniteSample(covariances, means, n, args.number("tolEigv", 1e-2), args.number("tolOrth", 1e-1));
  OpResult result;
  std::vector<double> order(fit.order.begin(), fit.order.end());
  result.put("order", std::move(order), {n});
  result.put("graph", fit.graph.cast<double>());
  result.put("encoder", fit.encoder);
  std::vector<double> r;
  for (const Matrix& m : fit.R) r.insert(r.end(), m.data(), m.data() + m.size());
  result.put("covariances", std::move(r), {K1 - 1, d, d});
  result.put("supportEigenvalues",
             std::vector<double>(fit.supportEigenvalues.data(), fit.supportEigenvalues.data() + d), {d});
  result.put("scoreDiffEigenvalues", fit.scoreDiffEigenvalues);
  return result;
}

SCORECRL_OP("trial", opTrial);
SCORECRL_OP("fitFiniteSample", opFitFiniteSample);
SCORECRL_OP("trialCovariances", opTrialCovariances);

}  // namespace
}  // namespace scorecrl
