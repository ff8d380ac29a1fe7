// Operations: learnedScoreDifferences (fit + dsx at the observational
// samples, or at `at`), evaluateLearnedScoreDifferences (a fitted model at new points),
// learnedObjective (training objectives and their gradients, for checks).
#include <cmath>

#include "scorecrl/estimators/estimators_learned.hpp"
#include "scorecrl/runtime/ops.hpp"

namespace scorecrl {
namespace {

const std::vector<std::string> kMethods = {"logistic-quadratic", "classifier-mlp", "ssm"};

uint64_t seedOf(const OpArgs& args) {
  const double value = args.number("seed", 0.0);
  if (!(value >= 0) || value != std::floor(value) || value > 9007199254740991.0)
    args.fail("'seed' must be a non-negative integer below 2^53");
  return static_cast<uint64_t>(value);
}

LearnedOptions optionsOf(const OpArgs& args) {
  LearnedOptions o;
  o.method = parseLearnedMethod(args.string("method", kMethods), args.op);
  o.seed = seedOf(args);
  o.dimension = args.integer("dimension", 0, 0, 1000000);
  o.epochs = static_cast<int>(args.integer("epochs", o.epochs, 1, 100000));
  o.width = static_cast<int>(args.integer("width", o.width, 1, 4096));
  o.hiddenLayers = static_cast<int>(args.integer("hiddenLayers", o.hiddenLayers, 1, 8));
  o.learningRate = args.number("learningRate", o.learningRate);
  o.cosineSchedule = args.string("schedule", "cosine", {"cosine", "constant"}) == "cosine";
  o.validationFraction = args.number("validationFraction", o.validationFraction);
  o.batchSize = static_cast<int>(args.integer("batchSize", o.batchSize, 1, 1000000));
  o.patience = static_cast<int>(args.integer("patience", o.patience, 1, 100000));
  o.weightDecay = args.number("weightDecay", o.weightDecay);
  o.projections = static_cast<int>(args.integer("projections", o.projections, 1, 64));
  o.quadraticHead = args.flag("quadraticHead", o.quadraticHead);
  o.l2 = args.number("l2", o.l2);
  o.maxIterations = static_cast<int>(args.integer("maxIterations", o.maxIterations, 1, 10000));
  o.tolerance = args.number("tolerance", o.tolerance);
  return resolveLearnedOptions(o, args.op);
}

std::vector<double> asDoubles(const std::vector<int>& values) { return {values.begin(), values.end()}; }

OpResult opLearnedScoreDifferences(const OpArgs& args, const Context& context) {
  const ArrayView& x = args.array("x", 3);
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
  const ArrayView& flat = args.array("model", 1);
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
  const LearnedMethod method = parseLearnedMethod(args.string("method", kMethods), args.op);
  const Matrix y = args.matrix("y");
  const Matrix aux = args.matrix("aux");
  const ArrayView& p = args.array("params", 1);
  const Vector params = ConstVectorMap(p.data, p.shape[0]);
  nn::Mlp net;
  if (method != LearnedMethod::LogisticQuadratic) {
    const Index width = args.integer("width", 64, 1, 4096);
    const int layers = static_cast<int>(args.integer("hiddenLayers", 2, 1, 8));
    std::vector<Index> sizes{y.cols()};
    for (int l = 0; l < layers; ++l) sizes.push_back(width);
    sizes.push_back(method == LearnedMethod::Ssm ? y.cols() : 1);
    net = nn::Mlp(sizes);
  }
  Vector gradient;
  Matrix hessian;
  const double loss = learnedObjective(method, net, params, y, aux, args.number("l2", 0.0), &gradient,
                                       method == LearnedMethod::LogisticQuadratic ? &hessian : nullptr);
  OpResult result;
  result.numbers["loss"] = loss;
  result.put("gradient", std::vector<double>(gradient.data(), gradient.data() + gradient.size()),
             {static_cast<int64_t>(gradient.size())});
  if (method == LearnedMethod::LogisticQuadratic) result.put("hessian", hessian);
  return result;
}

SCORECRL_OP("learnedScoreDifferences", opLearnedScoreDifferences);
SCORECRL_OP("evaluateLearnedScoreDifferences", opEvaluateLearnedScoreDifferences);
SCORECRL_OP("learnedObjective", opLearnedObjective);

}  // namespace
}  // namespace scorecrl
