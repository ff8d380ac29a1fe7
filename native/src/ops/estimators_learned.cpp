// Operations: learnedScoreDifferences (fit + dsx at the observational
// samples, or at `at`), evaluateLearnedScoreDifferences (a fitted model at new points),
// learnedObjective (training objectives and their gradients, for checks).
#include <cmath>

#include "scorecrl/estimators/estimators_learned.hpp"
#include "scorecrl/runtime/ops.hpp"

namespace scorecrl {
namespace {

const std::vector<std::string> kMethods = {"logistic-quadratic", "classifier-mlp", "ssm"};

LearnedOptions optionsOf(const OpArgs& args) {
  LearnedOptions o;
  o.method = parseLearnedMethod(args.string("method"), args.op);
  o.seed = static_cast<uint64_t>(args.integer("seed"));
  o.dimension = args.integer("dimension");
  o.epochs = static_cast<int>(args.integer("epochs"));
  o.width = static_cast<int>(args.integer("width"));
  o.hiddenLayers = static_cast<int>(args.integer("hiddenLayers"));
  o.learningRate = args.number("learningRate");
  o.cosineSchedule = args.string("schedule") == "cosine";
  o.validationFraction = args.number("validationFraction");
  o.batchSize = static_cast<int>(args.integer("batchSize"));
  o.patience = static_cast<int>(args.integer("patience"));
  o.weightDecay = args.number("weightDecay");
  o.projections = static_cast<int>(args.integer("projections"));
  o.quadraticHead = args.flag("quadraticHead");
  o.l2 = args.number("l2");
  o.maxIterations = static_cast<int>(args.integer("maxIterations"));
  o.tolerance = args.number("tolerance");
  return resolveLearnedOptions(o, args.op);
}

OpSpec optionsSpec(const std::string& name, const std::string& doc) {
  const LearnedOptions o;
  return OpSpec(name, doc)
      .choice("method", kMethods, std::nullopt, "estimator")
      .integer("seed", 0, 0, 9007199254740991.0, "seed of initialisation and batches")
      .integer("dimension", 0, 0, 1000000, "dimension n of the whitened space (0: d)")
      .integer("epochs", o.epochs, 1, 100000, "network training: epochs")
      .integer("width", o.width, 1, 4096, "network: hidden units per layer")
      .integer("hiddenLayers", o.hiddenLayers, 1, 8, "network: hidden layers")
      .number("learningRate", o.learningRate, "Adam's peak step size (0: the method's default)")
      .choice("schedule", {"cosine", "constant"}, "cosine", "step-size schedule")
      .number("validationFraction", o.validationFraction, "held out for early stopping, in [0, 0.9]")
      .integer("batchSize", o.batchSize, 1, 1000000, "mini-batch size")
      .integer("patience", o.patience, 1, 100000, "epochs without improvement before stopping")
      .number("weightDecay", o.weightDecay, "weight decay")
      .integer("projections", o.projections, 1, 64, "ssm: directions per sample")
      .flag("quadraticHead", o.quadraticHead, "classifier-mlp: add the quadratic logistic fit to the logit")
      .number("l2", o.l2, "logistic-quadratic: ridge penalty")
      .integer("maxIterations", o.maxIterations, 1, 10000, "logistic-quadratic: Newton iterations at most")
      .number("tolerance", o.tolerance, "logistic-quadratic: Newton stopping tolerance");
}

std::vector<double> asDoubles(const std::vector<int>& values) { return {values.begin(), values.end()}; }

OpResult opLearnedScoreDifferences(const OpArgs& args, const Context& context) {
  const ArrayView& x = args.array("x");
  const LearnedOptions options = optionsOf(args);
  const Index environments = x.shape[0], N = x.shape[1], d = x.shape[2];
  const double* at = nullptr;
  Index M = N;
  if (args.hasArray("at")) {
    ConstMatrixMap points = args.matrix("at");
    if (points.cols() != d)
      args.fail("'at' has " + std::to_string(points.cols()) + " columns, 'x' has d = " + std::to_string(d));
    at = points.data();
    M = points.rows();
  }
  LearnedFit fit = fitLearnedScoreDifferences(x.data, environments, N, d, options, &context, at, M);
  OpResult result;
  const int64_t K = environments - 1;
  result.put("dsx", std::move(fit.dsx), {K, M, d});
  std::vector<double> model = serialiseLearnedModel(fit.model);
  const int64_t size = static_cast<int64_t>(model.size());
  result.put("model", std::move(model), {size});
  const int64_t networks = static_cast<int64_t>(fit.report.iterations.size());
  result.put("iterations", asDoubles(fit.report.iterations), {networks});
  result.put("bestEpoch", asDoubles(fit.report.bestEpoch), {networks});
  result.put("loss", fit.report.loss, {networks});
  result.strings["method"] = learnedMethodName(options.method);
  result.numbers["dimension"] = static_cast<double>(fit.model.n);
  result.numbers["epochs"] = options.epochs;
  return result;
}

OpResult opEvaluateLearnedScoreDifferences(const OpArgs& args, const Context& context) {
  const ArrayView& flat = args.array("model");
  const LearnedModel model = deserialiseLearnedModel(flat.data, flat.shape[0], args.op);
  ConstMatrixMap x = args.matrix("x");
  if (x.cols() != model.d)
    args.fail("'x' has " + std::to_string(x.cols()) +
              " columns but the model was fitted on d = " + std::to_string(model.d));
  std::vector<double> out(static_cast<size_t>(model.K * x.rows() * model.d));
  evaluateLearnedScoreDifferences(model, x, out.data(), &context);
  OpResult result;
  result.put("dsx", std::move(out), {model.K, x.rows(), model.d});
  result.strings["method"] = learnedMethodName(model.method);
  return result;
}

OpResult opLearnedObjective(const OpArgs& args, const Context&) {
  const LearnedMethod method = parseLearnedMethod(args.string("method"), args.op);
  const Matrix y = args.matrix("y");
  const Matrix aux = args.matrix("aux");
  const ArrayView& p = args.array("params");
  const Vector params = ConstVectorMap(p.data, p.shape[0]);
  nn::Mlp net;
  if (method != LearnedMethod::LogisticQuadratic) {
    const Index width = args.integer("width");
    const int layers = static_cast<int>(args.integer("hiddenLayers"));
    std::vector<Index> sizes{y.cols()};
    for (int l = 0; l < layers; ++l) sizes.push_back(width);
    sizes.push_back(method == LearnedMethod::Ssm ? y.cols() : 1);
    net = nn::Mlp(sizes);
  }
  Vector gradient;
  Matrix hessian;
  const double loss = learnedObjective(method, net, params, y, aux, args.number("l2"), &gradient,
                                       method == LearnedMethod::LogisticQuadratic ? &hessian : nullptr);
  OpResult result;
  result.numbers["loss"] = loss;
  result.put("gradient", std::vector<double>(gradient.data(), gradient.data() + gradient.size()),
             {static_cast<int64_t>(gradient.size())});
  if (method == LearnedMethod::LogisticQuadratic) result.put("hessian", hessian);
  return result;
}

SCORECRL_OP(optionsSpec("learnedScoreDifferences",
                        "Fits a learned score-difference model; dsx at the observational samples.")
                .array("x", "K+1 N d", "samples, the observational environment first")
                .array("at", "M d", "points to evaluate at (default the observational samples)", Presence::Optional)
                .returnsArray("dsx", "K M d", "score differences s_0 - s_k")
                .returnsArray("model", "P", "the fitted model, serialised")
                .returnsArray("iterations", "networks", "iterations or epochs each network ran")
                .returnsArray("bestEpoch", "networks", "epoch kept for each network")
                .returnsArray("loss", "networks", "final loss of each network")
                .returnsString("method", "estimator")
                .returnsNumber("dimension", "dimension of the whitened space")
                .returnsNumber("epochs", "epochs allowed"),
            opLearnedScoreDifferences);
SCORECRL_OP(OpSpec("evaluateLearnedScoreDifferences", "A fitted learned score-difference model at new points.")
                .array("model", "P", "serialised model (from learnedScoreDifferences)")
                .array("x", "M d", "points")
                .returnsArray("dsx", "K M d", "score differences")
                .returnsString("method", "estimator"),
            opEvaluateLearnedScoreDifferences);
SCORECRL_OP(OpSpec("learnedObjective", "A learned estimator's training objective and gradient at given parameters.")
                .choice("method", kMethods, std::nullopt, "estimator")
                .array("y", "N p", "whitened samples")
                .array("aux", "N m", "labels or auxiliary values")
                .array("params", "P", "parameters")
                .integer("width", 64, 1, 4096, "network: hidden units per layer")
                .integer("hiddenLayers", 2, 1, 8, "network: hidden layers")
                .number("l2", 0.0, "ridge penalty")
                .returnsNumber("loss", "objective")
                .returnsArray("gradient", "P", "gradient")
                .returnsArray("hessian", "P P", "logistic-quadratic: Hessian", Presence::Optional),
            opLearnedObjective);

}  // namespace
}  // namespace scorecrl
