// Operation trial: one fused simulated trial (simulate -> estimate ->
// algorithm -> metrics) returning only its metrics.
#include "scorecrl/ops.hpp"
#include "scorecrl/trial.hpp"

namespace scorecrl {
namespace {

OpResult opTrial(const OpArgs& args, const Context& context) {
  TrialSpec spec;
  SimulationConfig& c = spec.simulation;
  const double seed = args.number("seed");
  if (seed < 0 || seed > 9007199254740991.0 || seed != static_cast<double>(static_cast<uint64_t>(seed)))
    args.fail("'seed' must be a whole number in [0, 2^53)");
  c.seed = static_cast<uint64_t>(seed);
  c.n = static_cast<int>(args.integer("n", 1, 20));
  c.d = static_cast<int>(args.integer("d", 1, 100000));
  if (c.d < c.n) args.fail("'d' (" + std::to_string(c.d) + ") must be >= 'n' (" + std::to_string(c.n) + ")");
  c.samples = args.integer("samples", 2, 100000000);
  c.density = args.number("density", 0.5);
  c.randomOrder = args.flag("randomOrder", true);
  c.randomInterventionOrder = args.flag("randomInterventionOrder", true);
  c.scaleDecoder = args.flag("scaleDecoder", false);
  c.conditionFloor = args.number("conditionFloor", 0.1);
  c.varianceFactors = {args.number("factor", 0.25)};

  const std::string latent = args.string("latent", "linear", {"linear", "quadratic", "mlp"});
  c.latent = latent == "linear" ? LatentModel::Linear : latent == "quadratic" ? LatentModel::Quadratic : LatentModel::Mlp;
  c.hard = args.string("intervention", "hard", {"hard", "soft"}) == "hard";
  c.varianceChange =
      args.string("varianceChange", "scale", {"scale", "add"}) == "scale" ? VarianceChange::Scale : VarianceChange::Add;
  const std::string design = args.string("design", "single-node", {"single-node", "two-hard", "multi-node"});
  c.design = design == "single-node"  ? InterventionDesign::SingleNode
             : design == "two-hard" ? InterventionDesign::TwoHardPerNode
                                    : InterventionDesign::MultiNode;
  const std::string transform = args.string("transform", "linear", {"linear", "tanh", "tanh-mlp"});
  c.transform = transform == "linear" ? MixingKind::Linear : transform == "tanh" ? MixingKind::Tanh : MixingKind::TanhMlp;
  c.outputs.z = c.outputs.x = c.outputs.dsx = false;
  spec.estimator = args.string("estimator", "gaussian", {"gaussian", "exact"}) == "gaussian" ? TrialEstimator::GaussianPlugIn
                                                                                            : TrialEstimator::Exact;
  args.string("algorithm", "finite-sample", {"finite-sample"});
  spec.algorithm = TrialAlgorithm::FiniteSample;
  spec.tolEigv = args.number("tolEigv", 1e-2);
  spec.tolOrth = args.number("tolOrth", 1e-1);

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

SCORECRL_OP("trial", opTrial);

}  // namespace
}  // namespace scorecrl
