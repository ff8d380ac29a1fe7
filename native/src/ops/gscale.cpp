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

GscaleFamily familyOf(const OpArgs& args) {
  return args.string("family") == "glm" ? GscaleFamily::Glm : GscaleFamily::Mlp;
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
  const ArrayView& pairs = args.array("dsxPairs");
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
    const ArrayView& obs = args.array("dsxObs");
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
  model.n = static_cast<int>(args.integer("n"));
  model.d = static_cast<int>(args.integer("d"));
  if (model.family == GscaleFamily::Mlp) {
    model.hidden = static_cast<int>(args.integerOr("hidden", 0));
    if (model.hidden < 1)
      args.fail("'hidden' must be between 1 and 4096 for the mlp family, got " + std::to_string(model.hidden));
  }
  model.clampEpsilon = args.number("clampEpsilon");
  const ArrayView& p = args.array("parameters");
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

GscaleScoreLoss scoreLossOf(const OpArgs& args) {
  const std::string v = args.string("scoreLoss");
  return v == "mean-abs"    ? GscaleScoreLoss::MeanAbs
         : v == "direction" ? GscaleScoreLoss::Direction
                            : GscaleScoreLoss::Auto;
}

const char* kScoreLossHelp =
    "score term: 'mean-abs' (the paper's sum |D - cI|), 'direction' (per-sample share outside the pair's "
    "coordinate); auto = mean-abs for glm, direction for mlp";

void putAdjacency(OpResult& result, const std::string& name, const Adjacency& a) { result.put(name, a.cast<double>()); }

OpResult opGscale(const OpArgs& args, const Context& context) {
  const DataArgs data = dataArgs(args, true);
  GscaleOptions o;
  o.family = familyOf(args);
  o.hidden = static_cast<int>(args.integer("hidden"));
  o.targetScale = args.number("targetScale");
  o.scoreLoss = scoreLossOf(args);
  o.reconstructionWeight = args.number("reconstructionWeight");
  o.optimizer = args.string("optimizer") == "adam" ? GscaleOptimizer::Adam : GscaleOptimizer::RmsProp;
  o.learningRate = args.number("learningRate");
  o.maxIterations = static_cast<int>(args.integer("maxIterations"));
  o.tolerance = args.number("tolerance");
  o.patience = static_cast<int>(args.integer("patience"));
  o.decays = static_cast<int>(args.integer("decays"));
  o.lossTolerance = args.number("lossTolerance");
  const std::string init = args.string("init");
  o.init = init == "spectral" ? GscaleInit::Spectral
           : init == "random" ? GscaleInit::Random
           : init == "linear" ? GscaleInit::Linear
                              : GscaleInit::Auto;
  o.seed = static_cast<uint64_t>(args.integer("seed"));
  o.clampEpsilon = args.number("clampEpsilon");
  o.edgeRule = args.string("edgeRule") == "threshold" ? GscaleEdgeRule::Threshold : GscaleEdgeRule::Adaptive;
  o.edgeThreshold = args.number("edgeThreshold");
  o.historyEvery = static_cast<int>(args.integer("historyEvery"));
  o.restarts = static_cast<int>(args.integer("restarts"));
  o.restartIterations = static_cast<int>(args.integer("restartIterations"));
  o.batchSize = static_cast<int>(args.integer("batchSize"));
  o.retries = static_cast<int>(args.integer("retries"));
  o.retryScore = args.number("retryScore");
  o.warmupIterations = static_cast<int>(args.integer("warmupIterations"));
  o.realign = static_cast<int>(args.integer("realign"));
  o.warmupLearningRate = args.number("warmupLearningRate");

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
  const ArrayView& dsx = args.array("dsx");
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
  const bool wantGradient = args.flag("gradient");
  const GscaleLoss loss =
      gscaleLoss(model, data.data(), args.number("targetScale"), args.number("reconstructionWeight"), scoreLossOf(args),
                 wantGradient ? &gradient : nullptr);
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

const char* kPairs = "score differences of the two hard interventions per node, at the rows of x";

// A trained model as inputs (see putModel).
OpSpec modelSpec() {
  return OpSpec("gscaleModel", "")
      .choice("family", {"glm", "mlp"}, "glm", "autoencoder family")
      .integer("n", std::nullopt, 1, 100000, "latent dimension")
      .integer("d", std::nullopt, 1, 100000000, "observed dimension")
      .integerDefaultedBy("hidden", "required for mlp", 0, 4096, "mlp family: hidden width (glm: ignored)")
      .number("clampEpsilon", 1e-12, "glm family: clamp of atanh's argument")
      .array("parameters", "P", "flat parameters");
}

OpSpec gscaleSpec() {
  const GscaleOptions o;
  return OpSpec("gscale", "GSCALE-I: trains the autoencoder on the score-difference loss; latents and graph.")
      .array("x", "N d", "observational samples")
      .array("dsxPairs", "n N d", kPairs)
      .array("dsxObs", "n N d", "observational minus first interventional score differences (for the graph)",
             Presence::Optional)
      .choice("family", {"glm", "mlp"}, "glm", "autoencoder family")
      .integer("hidden", o.hidden, 1, 4096, "mlp family: hidden width")
      .number("targetScale", o.targetScale, "target c of the diagonal of D")
      .choice("scoreLoss", {"auto", "mean-abs", "direction"}, "auto", kScoreLossHelp)
      .number("reconstructionWeight", o.reconstructionWeight, "weight of the reconstruction term")
      .choice("optimizer", {"adam", "rmsprop"}, "adam", "optimiser")
      .number("learningRate", o.learningRate, "step size (< 0: the family's default)")
      .integer("maxIterations", o.maxIterations, 0, 100000000, "iterations at most")
      .number("tolerance", o.tolerance, "relative improvement that resets the patience")
      .integer("patience", o.patience, 1, 100000000, "iterations without improvement before a decay")
      .integer("decays", o.decays, 0, 1000, "learning-rate decays before stopping")
      .number("lossTolerance", o.lossTolerance, "stop below this loss")
      .choice(
          "init", {"auto", "spectral", "random", "linear"}, "auto",
          "start: 'spectral' (glm, specific to x = tanh(Uz)), 'random', 'linear' (from the data's linear structure)")
      .integer("seed", 0, 0, 9007199254740991.0, "seed of the random start")
      .number("clampEpsilon", o.clampEpsilon, "glm family: clamp of atanh's argument")
      .choice("edgeRule", {"threshold", "adaptive"}, "threshold", "how edges are decided")
      .number("edgeThreshold", o.edgeThreshold, "'threshold' rule: the threshold")
      .integer("historyEvery", o.historyEvery, 1, 100000000, "record the loss every this many iterations")
      .integer("restarts", o.restarts, 0, 1000, "extra random starts probed; the lowest training loss is kept")
      .integer("restartIterations", o.restartIterations, 1, 100000000, "iterations of each restart probe")
      .integer("batchSize", o.batchSize, -1, 100000000,
               "rows per iteration (0: all rows; -1: the family's default, mlp 256, glm all)")
      .integer("retries", o.retries, -1, 1000,
               "new random starts while the score term exceeds retryScore per pair (-1: 2 for the direction term "
               "from a random start, else 0)")
      .number("retryScore", o.retryScore, "per-pair score term above which training is retried")
      .integer("warmupIterations", o.warmupIterations, -1, 100000000,
               "reconstruction-only warm-up iterations (-1: the family's default)")
      .integer("realign", o.realign, -1, 1,
               "realign the latents by the pair rule after the warm-up (-1: family default)")
      .number("warmupLearningRate", o.warmupLearningRate, "warm-up step size (< 0: the family's default)")
      .returnsArray("parameters", "P", "flat parameters of the trained model")
      .returnsNumber("n", "latent dimension")
      .returnsNumber("d", "observed dimension")
      .returnsNumber("hidden", "hidden width (0 for glm)")
      .returnsNumber("clampEpsilon", "glm clamp")
      .returnsString("family", "autoencoder family")
      .returnsArray("latents", "N n", "estimated latents at the rows of x")
      .returnsArray("D", "n n", "E|dsz| per pair, the loss's matrix")
      .returnsArray("history", "T 5", "iteration, loss, score term, reconstruction, learning rate")
      .returnsArray("Dobs", "n n", "with dsxObs: the observational statistic", Presence::Optional)
      .returnsArray("statistic", "n n", "with dsxObs: the edge statistic", Presence::Optional)
      .returnsArray("graph", "n n", "with dsxObs: 0/1 DAG", Presence::Optional)
      .returnsArray("rawGraph", "n n", "with dsxObs: 0/1 graph before the DAG projection", Presence::Optional)
      .returnsArray("order", "n", "with dsxObs: causal order", Presence::Optional)
      .returnsNumber("threshold", "with dsxObs: threshold in force", Presence::Optional)
      .returnsNumber("iterations", "iterations run")
      .returnsNumber("converged", "1 if a stopping rule ended training")
      .returnsNumber("loss", "final loss")
      .returnsNumber("scoreTerm", "final score term")
      .returnsNumber("reconstruction", "final reconstruction error")
      .returnsNumber("learningRate", "step size used")
      .returnsString("init", "start used: 'spectral', 'random' or 'linear'");
}

SCORECRL_OP(gscaleSpec(), opGscale);
SCORECRL_OP(OpSpec("gscaleEncode", "z_hat for x under a trained GSCALE-I model.")
                .inputsOf(modelSpec())
                .array("x", "N d", "observations")
                .returnsArray("z", "N n", "latents"),
            opGscaleEncode);
SCORECRL_OP(OpSpec("gscaleDecode", "x_hat for z under a trained GSCALE-I model.")
                .inputsOf(modelSpec())
                .array("z", "N n", "latents")
                .returnsArray("x", "N d", "observations"),
            opGscaleDecode);
SCORECRL_OP(OpSpec("gscaleLatentScoreDifferences", "J_dec(z_hat)^T dsx for each slice of dsx.")
                .inputsOf(modelSpec())
                .array("x", "N d", "observations")
                .array("dsx", "K N d", "score differences at the rows of x")
                .returnsArray("dsz", "K N n", "latent score differences"),
            opGscaleLatentScoreDifferences);
SCORECRL_OP(OpSpec("gscaleLoss", "GSCALE-I loss terms, D and the hand-derived gradient at a model's parameters.")
                .inputsOf(modelSpec())
                .array("x", "N d", "observational samples")
                .array("dsxPairs", "n N d", kPairs)
                .number("targetScale", 1.0, "target c of the diagonal of D")
                .choice("scoreLoss", {"auto", "mean-abs", "direction"}, "auto", kScoreLossHelp)
                .number("reconstructionWeight", 1.0, "weight of the reconstruction term")
                .flag("gradient", true, "return the gradient")
                .returnsNumber("loss", "total loss")
                .returnsNumber("scoreTerm", "score term")
                .returnsNumber("reconstruction", "reconstruction error")
                .returnsArray("D", "n n", "E|dsz| per pair")
                .returnsArray("gradient", "P", "gradient of the loss", Presence::Optional),
            opGscaleLoss);

}  // namespace
}  // namespace scorecrl
