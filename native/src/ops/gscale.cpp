// Operations: gscale (train + graph), gscaleEncode, gscaleDecode,
// gscaleLatentScoreDifferences, gscaleLoss (loss and gradient at given
// parameters, for checks).
//
// A trained model crosses the boundary as the flat parameter vector plus the
// numbers n, d, hidden, clampEpsilon and the string family (layout in
// gscale.hpp).
#include <cstdint>
#include <limits>

#include "scorecrl/algorithms/gscale.hpp"
#include "scorecrl/runtime/ops.hpp"

namespace scorecrl {
namespace {

const std::vector<std::string> kFamilies = {"glm", "mlp"};

GscaleFamily familyOf(const OpArgs& args) {
  return args.string("family", "glm", kFamilies) == "glm" ? GscaleFamily::Glm : GscaleFamily::Mlp;
}

// The data arrays shared by gscale and gscaleLoss.
struct DataArgs {
  ConstMatrixMap x;
  const ArrayView* pairs;
  const ArrayView* obs = nullptr;
  GscaleData data() const {
    return GscaleData{x, pairs->data, obs ? obs->data : nullptr, static_cast<Index>(pairs->shape[0])};
  }
};

DataArgs dataArgs(const OpArgs& args, bool withObs) {
  ConstMatrixMap x = args.matrix("x");
  const ArrayView& pairs = args.array("dsxPairs", 3);
  const Index N = x.rows(), d = x.cols();
  auto checkShape = [&](const std::string& name, const ArrayView& a) {
    if (a.shape[1] != N || a.shape[2] != d)
      args.fail("'" + name + "' must be n x N x d = n x " + std::to_string(N) + " x " + std::to_string(d) +
                " (score differences at the rows of 'x'), got shape [" + std::to_string(a.shape[0]) + ", " +
                std::to_string(a.shape[1]) + ", " + std::to_string(a.shape[2]) + "]");
  };
  checkShape("dsxPairs", pairs);
  DataArgs out{x, &pairs};
  if (withObs && args.hasArray("dsxObs")) {
    const ArrayView& obs = args.array("dsxObs", 3);
    checkShape("dsxObs", obs);
    if (obs.shape[0] != pairs.shape[0])
      args.fail("'dsxObs' must hold one block per node like 'dsxPairs' (" + std::to_string(pairs.shape[0]) + "), got " +
                std::to_string(obs.shape[0]));
    out.obs = &obs;
  }
  return out;
}

// A model from parameters + sizes.
GscaleModel modelArgs(const OpArgs& args) {
  GscaleModel model;
  model.family = familyOf(args);
  model.n = static_cast<int>(args.integer("n", 1, 100000));
  model.d = static_cast<int>(args.integer("d", 1, 100000000));
  model.hidden = model.family == GscaleFamily::Mlp ? static_cast<int>(args.integer("hidden", 1, 4096)) : 0;
  model.clampEpsilon = args.number("clampEpsilon", 1e-12);
  const ArrayView& p = args.array("parameters", 1);
  model.theta = ConstVectorMap(p.data, p.shape[0]);
  model.validate(args.op);
  return model;
}

void putModel(OpResult& result, const GscaleModel& model) {
  result.put("parameters", std::vector<double>(model.theta.data(), model.theta.data() + model.theta.size()),
             {static_cast<int64_t>(model.theta.size())});
  result.numbers["n"] = model.n;
  result.numbers["d"] = model.d;
  result.numbers["hidden"] = model.hidden;
  result.numbers["clampEpsilon"] = model.clampEpsilon;
  result.strings["family"] = model.family == GscaleFamily::Glm ? "glm" : "mlp";
}

void putAdjacency(OpResult& result, const std::string& name, const Adjacency& a) { result.put(name, a.cast<double>()); }

OpResult opGscale(const OpArgs& args, const Context& context) {
  const DataArgs data = dataArgs(args, true);
  GscaleOptions o;
  o.family = familyOf(args);
  o.hidden = static_cast<int>(args.integer("hidden", o.hidden, 1, 4096));
  o.targetScale = args.number("targetScale", o.targetScale);
  o.reconstructionWeight = args.number("reconstructionWeight", o.reconstructionWeight);
  o.optimizer = args.string("optimizer", "adam", {"adam", "rmsprop"}) == "adam" ? GscaleOptimizer::Adam
                                                                                : GscaleOptimizer::RmsProp;
  o.learningRate = args.number("learningRate", o.learningRate);
  o.maxIterations = static_cast<int>(args.integer("maxIterations", o.maxIterations, 0, 100000000));
  o.tolerance = args.number("tolerance", o.tolerance);
  o.patience = static_cast<int>(args.integer("patience", o.patience, 1, 100000000));
  o.decays = static_cast<int>(args.integer("decays", o.decays, 0, 1000));
  o.lossTolerance = args.number("lossTolerance", o.lossTolerance);
  const std::string init = args.string("init", "auto", {"auto", "spectral", "random", "linear"});
  o.init = init == "spectral" ? GscaleInit::Spectral
           : init == "random" ? GscaleInit::Random
           : init == "linear" ? GscaleInit::Linear
                              : GscaleInit::Auto;
  o.seed = static_cast<uint64_t>(args.integer("seed", 0, 0, 9007199254740991LL));
  o.clampEpsilon = args.number("clampEpsilon", o.clampEpsilon);
  o.edgeRule = args.string("edgeRule", "threshold", {"threshold", "adaptive"}) == "threshold"
                   ? GscaleEdgeRule::Threshold
                   : GscaleEdgeRule::Adaptive;
  o.edgeThreshold = args.number("edgeThreshold", o.edgeThreshold);
  o.historyEvery = static_cast<int>(args.integer("historyEvery", o.historyEvery, 1, 100000000));
  o.restarts = static_cast<int>(args.integer("restarts", o.restarts, 0, 1000));
  o.restartIterations = static_cast<int>(args.integer("restartIterations", o.restartIterations, 1, 100000000));
  o.warmupIterations = static_cast<int>(args.integer("warmupIterations", o.warmupIterations, -1, 100000000));
  o.realign = static_cast<int>(args.integer("realign", o.realign, -1, 1));
  o.warmupLearningRate = args.number("warmupLearningRate", o.warmupLearningRate);

  const GscaleResult r = gscale(data.data(), o, &context);
  OpResult result;
  putModel(result, r.model);
  result.put("latents", r.latents);
  result.put("D", r.D);
  result.put("history", r.history);
  if (data.obs) {
    result.put("Dobs", r.Dobs);
    result.put("statistic", r.statistic);
    putAdjacency(result, "graph", r.graph);
    putAdjacency(result, "rawGraph", r.rawGraph);
    result.putVector("order", r.order);
    result.numbers["threshold"] = r.threshold;
  }
  result.numbers["iterations"] = r.iterations;
  result.numbers["converged"] = r.converged ? 1 : 0;
  result.numbers["loss"] = r.finalLoss.total;
  result.numbers["scoreTerm"] = r.finalLoss.scoreTerm;
  result.numbers["reconstruction"] = r.finalLoss.reconstruction;
  result.numbers["learningRate"] = r.learningRate;
  result.strings["init"] = r.init == GscaleInit::Spectral ? "spectral"
                           : r.init == GscaleInit::Linear ? "linear"
                                                          : "random";
  return result;
}

// The points (rows) of array argument `name`, which must have `columns`
// (the model's `dimension`: n or d) columns.
ConstMatrixMap pointsArg(const OpArgs& args, const std::string& name, Index columns, const char* dimension) {
  ConstMatrixMap points = args.matrix(name);
  if (points.cols() != columns)
    args.fail("'" + name + "' must have " + dimension + " = " + std::to_string(columns) + " columns, got " +
              std::to_string(points.cols()));
  return points;
}

OpResult opGscaleEncode(const OpArgs& args, const Context&) {
  const GscaleModel model = modelArgs(args);
  ConstMatrixMap x = pointsArg(args, "x", model.d, "d");
  OpResult result;
  result.put("z", model.encode(x));
  return result;
}

OpResult opGscaleDecode(const OpArgs& args, const Context&) {
  const GscaleModel model = modelArgs(args);
  ConstMatrixMap z = pointsArg(args, "z", model.n, "n");
  OpResult result;
  result.put("x", model.decode(z));
  return result;
}

OpResult opGscaleLatentScoreDifferences(const OpArgs& args, const Context&) {
  const GscaleModel model = modelArgs(args);
  ConstMatrixMap x = pointsArg(args, "x", model.d, "d");
  const ArrayView& dsx = args.array("dsx", 3);
  if (dsx.shape[1] != x.rows() || dsx.shape[2] != x.cols())
    args.fail("'dsx' must be K x N x d with N = " + std::to_string(x.rows()) + ", d = " + std::to_string(x.cols()) +
              " (score differences at the rows of 'x')");
  const Matrix z = model.encode(x);
  const Matrix dsz =
      model.pullBack(ConstMatrixMap(z.data(), z.rows(), z.cols()), dsx.data, static_cast<Index>(dsx.shape[0]));
  OpResult result;
  result.put("dsz", std::vector<double>(dsz.data(), dsz.data() + dsz.size()),
             {dsx.shape[0], static_cast<int64_t>(x.rows()), static_cast<int64_t>(model.n)});
  return result;
}

OpResult opGscaleLoss(const OpArgs& args, const Context&) {
  const GscaleModel model = modelArgs(args);
  const DataArgs data = dataArgs(args, false);
  if (data.pairs->shape[0] != model.n || data.x.cols() != model.d)
    args.fail("'dsxPairs' (n = " + std::to_string(data.pairs->shape[0]) +
              ") and 'x' (d = " + std::to_string(data.x.cols()) +
              ") must match the model (n = " + std::to_string(model.n) + ", d = " + std::to_string(model.d) + ")");
  Vector gradient;
  const bool wantGradient = args.flag("gradient", true);
  const GscaleLoss loss = gscaleLoss(model, data.data(), args.number("targetScale", 1.0),
                                     args.number("reconstructionWeight", 1.0), wantGradient ? &gradient : nullptr);
  OpResult result;
  result.numbers["loss"] = loss.total;
  result.numbers["scoreTerm"] = loss.scoreTerm;
  result.numbers["reconstruction"] = loss.reconstruction;
  result.put("D", loss.D);
  if (wantGradient)
    result.put("gradient", std::vector<double>(gradient.data(), gradient.data() + gradient.size()),
               {static_cast<int64_t>(gradient.size())});
  return result;
}

SCORECRL_OP("gscale", opGscale);
SCORECRL_OP("gscaleEncode", opGscaleEncode);
SCORECRL_OP("gscaleDecode", opGscaleDecode);
SCORECRL_OP("gscaleLatentScoreDifferences", opGscaleLatentScoreDifferences);
SCORECRL_OP("gscaleLoss", opGscaleLoss);

}  // namespace
}  // namespace scorecrl
