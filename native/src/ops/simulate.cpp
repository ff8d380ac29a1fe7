// Operations: simulate, simulationScores, simulationTransform.
//
// All three take the same configuration (numbers, strings and the optional
// 1-d array varianceFactors); the last two re-draw the model from the seed
// (cheap: no samples) and evaluate it at caller-given latent points z (N x n)
// or observed points x (N x d, mapped back with the inverse transform).
#include <string>

#include "scorecrl/runtime/limits.hpp"
#include "scorecrl/runtime/ops.hpp"
#include "scorecrl/simulation/simulate.hpp"

namespace scorecrl {
namespace {

SimulationConfig parseConfig(const OpArgs& args, bool needSamples) {
  SimulationConfig c;
  c.n = static_cast<int>(args.integer("n", 1, 100000));
  c.d = static_cast<int>(args.integer("d", c.n, 1, 1000000));
  c.samples =
      needSamples ? args.integer("samples", 1, int64_t(1) << 40) : args.integer("samples", 1, 1, int64_t(1) << 40);
  c.density = args.number("density", 0.5);
  c.seed = static_cast<uint64_t>(args.integer("seed", 0, 9007199254740991LL));
  c.randomOrder = args.flag("randomOrder", false);
  const std::string latent = args.string("latent", "linear", {"linear", "quadratic", "mlp"});
  c.latent = latent == "linear"      ? LatentModel::Linear
             : latent == "quadratic" ? LatentModel::Quadratic
                                     : LatentModel::Mlp;
  c.mlpHidden = static_cast<int>(args.integer("mlpHidden", 32, 1, 100000));
  c.hard = args.string("intervention", "hard", {"hard", "soft"}) == "hard";
  c.softScale = args.number("softScale", 0.5);
  c.varianceChange =
      args.string("varianceChange", "scale", {"scale", "add"}) == "scale" ? VarianceChange::Scale : VarianceChange::Add;
  if (args.hasArray("varianceFactors")) {
    const ArrayView& f = args.array("varianceFactors", 1);
    c.varianceFactors.assign(f.data, f.data + f.size());
  }
  const std::string design = args.string("design", "single-node", {"single-node", "two-hard-per-node", "multi-node"});
  c.design = design == "single-node"         ? InterventionDesign::SingleNode
             : design == "two-hard-per-node" ? InterventionDesign::TwoHardPerNode
                                             : InterventionDesign::MultiNode;
  c.randomInterventionOrder = args.flag("randomInterventionOrder", false);
  c.targetMatrix = args.string("targetMatrix", "upper-triangular", {"upper-triangular", "identity"}) == "identity"
                       ? TargetMatrix::Identity
                       : TargetMatrix::UpperTriangular;
  if (args.hasNumber("targetDensity")) {
    c.targetDensity = args.number("targetDensity");
    if (c.targetDensity < 0.0 || c.targetDensity > 1.0)
      args.fail("'targetDensity' must be in [0, 1], got " + std::to_string(c.targetDensity));
  }
  const std::string transform = args.string("transform", "linear", {"linear", "tanh", "tanh-mlp"});
  c.transform = transform == "linear" ? MixingKind::Linear
                : transform == "tanh" ? MixingKind::Tanh
                                      : MixingKind::TanhMlp;
  c.scaleDecoder = args.flag("scaleDecoder", true);
  c.conditionFloor = args.number("conditionFloor", 0.1);
  c.transformLayers = static_cast<int>(args.integer("transformLayers", 2, 1, 1000));
  c.outputs.z = args.flag("outputZ", true);
  c.outputs.x = args.flag("outputX", true);
  c.outputs.dsx = args.flag("outputDsx", true);
  return c;
}

void putModel(OpResult& result, const SimulationModel& model) {
  const LatentScm& scm = model.scm;
  const Mixing& transform = model.transform;
  const int n = scm.n, K = model.K();
  result.put("graph", scm.adjacency.cast<double>());
  result.putVector("order", scm.order);
  result.put("variances", std::vector<double>(scm.variances.data(), scm.variances.data() + n), {n});
  if (scm.model == LatentModel::Linear) {
    result.put("weights", scm.weightMatrix());
  } else if (scm.model == LatentModel::Quadratic) {
    // Block j: A_j placed at (parents, parents), zero elsewhere.
    std::vector<double> blocks(static_cast<size_t>(n) * n * n, 0.0);
    for (int j = 0; j < n; ++j) {
      const auto& pa = scm.parents[static_cast<size_t>(j)];
      for (size_t a = 0; a < pa.size(); ++a)
        for (size_t b = 0; b < pa.size(); ++b)
          blocks[(static_cast<size_t>(j) * n + pa[a]) * n + pa[b]] =
              scm.quadratic[static_cast<size_t>(j)](static_cast<Index>(a), static_cast<Index>(b));
    }
    result.put("quadratic", std::move(blocks), {n, n, n});
  } else {
    const int h = model.config.mlpHidden;
    std::vector<double> w1(static_cast<size_t>(n) * h * n, 0.0), b1(static_cast<size_t>(n) * h, 0.0),
        w2(static_cast<size_t>(n) * h, 0.0), b2(static_cast<size_t>(n), 0.0);
    for (int j = 0; j < n; ++j) {
      const auto& pa = scm.parents[static_cast<size_t>(j)];
      const MlpMechanism& m = scm.mlp[static_cast<size_t>(j)];
      if (pa.empty()) continue;
      for (int u = 0; u < h; ++u) {
        for (size_t t = 0; t < pa.size(); ++t)
          w1[(static_cast<size_t>(j) * h + u) * n + pa[t]] = m.w1(u, static_cast<Index>(t));
        b1[static_cast<size_t>(j) * h + u] = m.b1[u];
        w2[static_cast<size_t>(j) * h + u] = m.w2[u];
      }
      b2[static_cast<size_t>(j)] = m.b2;
    }
    result.put("mlp.w1", std::move(w1), {n, h, n});
    result.put("mlp.b1", std::move(b1), {n, h});
    result.put("mlp.w2", std::move(w2), {n, h});
    result.put("mlp.b2", std::move(b2), {n});
  }
  result.put("decoder", transform.decoder());
  result.put("encoder", transform.encoder());
  if (!transform.linear()) {
    for (size_t l = 0; l < transform.weights.size(); ++l) {
      result.put("layer" + std::to_string(l) + ".weight", transform.weights[l]);
      const Vector& b = transform.biases[l];
      result.put("layer" + std::to_string(l) + ".bias", std::vector<double>(b.data(), b.data() + b.size()),
                 {static_cast<int64_t>(b.size())});
    }
  }
  result.put("targets", model.targets.cast<double>());
  result.put("varianceFactors", std::vector<double>(model.varianceFactors.data(), model.varianceFactors.data() + K),
             {K});
  Matrix scale(K + 1, n), variance(K + 1, n);
  for (int e = 0; e <= K; ++e) {
    scale.row(e) = model.environments[static_cast<size_t>(e)].mechanismScale.transpose();
    variance.row(e) = model.environments[static_cast<size_t>(e)].noiseVariance.transpose();
  }
  result.put("mechanismScale", scale);
  result.put("noiseVariance", variance);
  result.numbers["n"] = n;
  result.numbers["d"] = transform.d;
  result.numbers["K"] = K;
  result.numbers["samples"] = static_cast<double>(model.config.samples);
  result.numbers["targetDensity"] = model.config.targetDensity;
}

OpResult opSimulate(const OpArgs& args, const Context& context) {
  Simulation sim = simulate(parseConfig(args, true), &context);
  const SimulationModel& model = sim.model;
  const int64_t K = model.K(), N = model.config.samples, n = model.scm.n, d = model.transform.d;
  OpResult result;
  putModel(result, model);
  if (model.config.outputs.z) result.put("z", std::move(sim.z), {K + 1, N, n});
  if (model.config.outputs.x) result.put("x", std::move(sim.x), {K + 1, N, d});
  if (model.config.outputs.dsx) result.put("dsx", std::move(sim.dsx), {K, N, d});
  return result;
}

// The latent points of a scores/transform call: 'z' (N x n), or 'x' (N x d)
// mapped back through the inverse transform.
Matrix latentPoints(const OpArgs& args, const SimulationModel& model) {
  const bool hasZ = args.hasArray("z"), hasX = args.hasArray("x");
  if (hasZ == hasX) args.fail("give exactly one of 'z' (N x n latent points) or 'x' (N x d observed points)");
  const Index n = model.scm.n, d = model.transform.d;
  if (hasZ) {
    ConstMatrixMap z = args.matrix("z");
    if (z.cols() != n)
      args.fail("'z' must have n = " + std::to_string(n) + " columns, got " + std::to_string(z.cols()));
    return z;
  }
  ConstMatrixMap x = args.matrix("x");
  if (x.cols() != d) args.fail("'x' must have d = " + std::to_string(d) + " columns, got " + std::to_string(x.cols()));
  Matrix z(x.rows(), n);
  model.transform.inverse(x.data(), x.rows(), z.data());
  if (!z.allFinite())
    args.fail(
        "'x' has points the inverse transform cannot map (|x| >= 1 in a tanh layer); pass latent points 'z' instead");
  return z;
}

OpResult opSimulationScores(const OpArgs& args, const Context&) {
  const SimulationModel model = drawSimulationModel(parseConfig(args, false));
  const std::string quantity =
      args.string("quantity", {"latentScore", "latentScoreDifference", "observedScore", "observedScoreDifference",
                               "latentLogDensity", "observedLogDensity"});
  const int env = static_cast<int>(args.integer("environment", 0, 0, model.K()));
  const Matrix z = latentPoints(args, model);
  const Index N = z.rows(), n = model.scm.n, d = model.transform.d;
  OpResult result;
  if (quantity == "latentScore" || quantity == "latentScoreDifference") {
    Matrix out(N, n);
    if (quantity == "latentScore")
      latentScoreAt(model, env, z.data(), N, out.data());
    else
      latentScoreDifferenceAt(model, env, z.data(), N, out.data());
    result.put("values", out);
  } else if (quantity == "observedScore" || quantity == "observedScoreDifference") {
    limits::Request("simulationScores").add("values (N x d)", {N, d}).check();
    Matrix out(N, d);
    if (quantity == "observedScore")
      observedScoreAt(model, env, z.data(), N, out.data());
    else
      observedScoreDifferenceAt(model, env, z.data(), N, out.data());
    result.put("values", out);
  } else {
    std::vector<double> out(static_cast<size_t>(N));
    if (quantity == "latentLogDensity")
      latentLogDensityAt(model, env, z.data(), N, out.data());
    else
      observedLogDensityAt(model, env, z.data(), N, out.data());
    result.put("values", std::move(out), {N});
  }
  return result;
}

OpResult opSimulationTransform(const OpArgs& args, const Context&) {
  const SimulationModel model = drawSimulationModel(parseConfig(args, false));
  const std::string map = args.string("map", {"forward", "inverse", "jacobian"});
  const Index n = model.scm.n, d = model.transform.d;
  OpResult result;
  if (map == "inverse") {
    ConstMatrixMap x = args.matrix("x");
    if (x.cols() != d)
      args.fail("'x' must have d = " + std::to_string(d) + " columns, got " + std::to_string(x.cols()));
    Matrix z(x.rows(), n);
    model.transform.inverse(x.data(), x.rows(), z.data());
    result.put("values", z);
    return result;
  }
  ConstMatrixMap z = args.matrix("z");
  if (z.cols() != n) args.fail("'z' must have n = " + std::to_string(n) + " columns, got " + std::to_string(z.cols()));
  const Index N = z.rows();
  if (map == "forward") {
    limits::Request("simulationTransform").add("x (N x d)", {N, d}).check();
    Matrix x(N, d);
    model.transform.forward(z.data(), N, x.data());
    result.put("values", x);
  } else {
    std::vector<double> j(limits::checkedCount("simulationTransform", "the Jacobians (N x d x n)", {N, d, n}));
    for (Index t = 0; t < N; ++t) MatrixMap(j.data() + t * d * n, d, n) = model.transform.jacobian(z.data() + t * n);
    result.put("values", std::move(j), {N, d, n});
  }
  return result;
}

SCORECRL_OP("simulate", opSimulate);
SCORECRL_OP("simulationScores", opSimulationScores);
SCORECRL_OP("simulationTransform", opSimulationTransform);

}  // namespace
}  // namespace scorecrl
