// Operation trial: one fused simulated trial (simulate -> estimate ->
// algorithm -> metrics) returning only its metrics.
#include <algorithm>
#include <cmath>

#include "scorecrl/algorithms/trial.hpp"
#include "scorecrl/runtime/ops.hpp"
#include "scorecrl/simulation/rng.hpp"

namespace scorecrl {

OpSpec trialShapeSpec(int maxLatents) {
  return OpSpec("trialShape", "")
      .integer("seed", std::nullopt, 0, 9007199254740991.0, "seed of every draw")
      .integer("n", std::nullopt, 1, maxLatents, "latent dimension")
      .integerDefaultedBy("d", "n", 1, 100000, "observed dimension (>= n)")
      .integer("samples", std::nullopt, 2, 100000000, "samples per environment");
}

void readTrialShape(const OpArgs& args, SimulationConfig& config) {
  config.seed = static_cast<uint64_t>(args.integer("seed"));
  config.n = static_cast<int>(args.integer("n"));
  config.d = static_cast<int>(args.integerOr("d", config.n));
  if (config.d < config.n)
    args.fail("'d' (" + std::to_string(config.d) + ") must be >= 'n' (" + std::to_string(config.n) + ")");
  config.samples = args.integer("samples");
}

namespace {

TrialSpec readSpec(const OpArgs& args) {
  TrialSpec spec;
  SimulationConfig& c = spec.simulation;
  readTrialShape(args, c);
  c.density = args.number("density");
  c.randomOrder = args.flag("randomOrder");
  c.randomInterventionOrder = args.flag("randomInterventionOrder");
  c.scaleDecoder = args.flag("scaleDecoder");
  c.conditionFloor = args.number("conditionFloor");
  c.varianceFactors = {args.number("factor")};

  const std::string latent = args.string("latent");
  c.latent = latent == "linear"      ? LatentModel::Linear
             : latent == "quadratic" ? LatentModel::Quadratic
                                     : LatentModel::Mlp;
  c.hard = args.string("intervention") == "hard";
  c.varianceChange = args.string("varianceChange") == "scale" ? VarianceChange::Scale : VarianceChange::Add;
  const std::string design = args.string("design");
  c.design = design == "single-node"         ? InterventionDesign::SingleNode
             : design == "two-hard-per-node" ? InterventionDesign::TwoHardPerNode
                                             : InterventionDesign::MultiNode;
  const std::string transform = args.string("transform");
  c.transform = transform == "linear" ? MixingKind::Linear
                : transform == "tanh" ? MixingKind::Tanh
                                      : MixingKind::TanhMlp;
  c.outputs.z = c.outputs.x = c.outputs.dsx = false;
  spec.estimator = args.string("estimator") == "gaussian" ? TrialEstimator::GaussianPlugIn : TrialEstimator::Exact;
  spec.sampling = args.string("sampling") == "samples" ? TrialSampling::Samples : TrialSampling::Wishart;
  spec.algorithm = TrialAlgorithm::FiniteSample;
  spec.tolEigv = args.number("tolEigv");
  spec.tolOrth = args.number("tolOrth");
  return spec;
}

// The inputs of trial and trialCovariances.
OpSpec trialSpecInputs(const std::string& name, const std::string& doc) {
  return OpSpec(name, doc)
      .inputsOf(trialShapeSpec(20))
      .number("density", 0.5, "Erdos-Renyi edge probability")
      .flag("randomOrder", true, "relabel the nodes by a random permutation")
      .flag("randomInterventionOrder", true, "environments in random order of their targets")
      .flag("scaleDecoder", false, "scale decoder columns to max |entry| 1")
      .number("conditionFloor", 0.1, "smallest singular value of the decoder relative to the largest")
      .number("factor", 0.25, "noise-variance factor of intervened nodes")
      .choice("latent", {"linear", "quadratic", "mlp"}, "linear", "latent SCM")
      .choice("intervention", {"hard", "soft"}, "hard", "intervention type")
      .choice("varianceChange", {"scale", "add"}, "scale", "how an intervention changes the noise variance")
      .choice("design", {"single-node", "two-hard-per-node", "multi-node"}, "single-node", "intervention design")
      .choice("transform", {"linear", "tanh", "tanh-mlp"}, "linear", "transform x = g(z)")
      .choice("estimator", {"gaussian", "exact"}, "gaussian", "score differences: Gaussian plug-in or exact")
      .choice("sampling", {"samples", "wishart"}, "samples", "moments from samples or from their exact law")
      .choice("algorithm", {"finite-sample"}, "finite-sample", "the algorithm run")
      .number("tolEigv", 1e-2, "eigenvalue threshold")
      .number("tolOrth", 1e-1, "orthogonality threshold");
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
  const ArrayView& cov = args.array("covariances");
  const ArrayView& mean = args.array("means");
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
  const int n = static_cast<int>(args.integer("n"));
  const FitResult fit = fitFiniteSample(covariances, means, n, args.number("tolEigv"), args.number("tolOrth"));
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

SCORECRL_OP(trialSpecInputs("trial", "One fused simulated trial (simulate, estimate, algorithm, metrics).")
                .returnsNumber("shd", "SHD of the transitive closure")
                .returnsNumber("precision", "edge precision")
                .returnsNumber("recall", "edge recall")
                .returnsNumber("encoderError", "error of the encoder")
                .returnsNumber("correct", "1 if the order and closure are right")
                .returnsNumber("trueEdges", "true edges")
                .returnsNumber("estimatedEdges", "estimated edges")
                .returnsNumber("incorrectMixing", "entries of the effective mixing outside the pattern"),
            opTrial);
SCORECRL_OP(OpSpec("fitFiniteSample",
                   "The finite-sample algorithm with Gaussian plug-in scores on per-environment moments.")
                .array("covariances", "K+1 d d", "centred covariances, the observational environment first")
                .array("means", "K+1 d", "means")
                .integer("n", std::nullopt, 1, 20, "latent dimension")
                .number("tolEigv", 1e-2, "eigenvalue threshold")
                .number("tolOrth", 1e-1, "orthogonality threshold")
                .returnsArray("order", "n", "causal order")
                .returnsArray("graph", "n n", "0/1 transitive closure")
                .returnsArray("encoder", "n d", "encoder")
                .returnsArray("covariances", "K d d", "score-difference moments")
                .returnsArray("supportEigenvalues", "d", "eigenvalues of the observational covariance")
                .returnsArray("scoreDiffEigenvalues", "K d", "eigenvalues of each score-difference moment, descending"),
            opFitFiniteSample);
SCORECRL_OP(trialSpecInputs("trialCovariances",
                            "The score-difference moments a trial's algorithm sees, and their latent moments.")
                .returnsArray("covariances", "K d d", "score-difference moments")
                .returnsArray("latentSecondMoments", "K+1 n n", "uncentred latent second moments")
                .returnsArray("latentMeans", "K+1 n", "latent means"),
            opTrialCovariances);

}  // namespace
}  // namespace scorecrl
