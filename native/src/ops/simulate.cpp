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

// The configuration every simulation operation takes; `samplesRequired`
// for simulate (the others draw no samples).
OpSpec configSpec(bool samplesRequired) {
  OpSpec s("simulationConfig", "");
  s.integer("n", std::nullopt, 1, 100000, "latent dimension")
      .integerDefaultedBy("d", "n", 1, 1000000, "observed dimension")
      .integer("samples", samplesRequired ? std::nullopt : std::optional<double>(1), 1, 1099511627776.0,
               "samples per environment")
      .number("density", 0.5, "Erdos-Renyi edge probability of the latent DAG")
      .integer("seed", 0, 0, 9007199254740991.0, "seed of every draw")
      .flag("randomOrder", false, "relabel the nodes by a random permutation")
      .choice("latent", {"linear", "quadratic", "mlp"}, "linear", "latent SCM")
      .integer("mlpHidden", 32, 1, 100000, "hidden width of the mlp SCM's mechanisms")
      .choice("intervention", {"hard", "soft"}, "hard", "intervention type")
      .number("softScale", 0.5, "soft interventions: scale of the changed mechanism")
      .choice("varianceChange", {"scale", "add"}, "scale", "how an intervention changes the noise variance")
      .array("varianceFactors", "K", "noise-variance factor per interventional environment (cycled)",
             Presence::Optional)
      .choice("design", {"single-node", "two-hard-per-node", "multi-node"}, "single-node", "intervention design")
      .flag("randomInterventionOrder", false, "environments in random order of their targets")
      .choice("targetMatrix", {"upper-triangular", "identity"}, "upper-triangular", "multi-node design's target matrix")
      .numberDefaultedBy("targetDensity", "density", "multi-node design: probability of an off-diagonal target",
                         Range::between(0, 1))
      .choice("transform", {"linear", "tanh", "tanh-mlp"}, "linear", "transform x = g(z)")
      .flag("scaleDecoder", true, "scale decoder columns to max |entry| 1")
      .number("conditionFloor", 0.1, "smallest singular value of the linear decoder relative to the largest")
      .integer("transformLayers", 2, 1, 1000, "tanh-mlp transform: layers")
      .flag("outputZ", true, "return the latents z")
      .flag("outputX", true, "return the observations x")
      .flag("outputDsx", true, "return the exact score differences dsx");
  return s;
}

SimulationConfig parseConfig(const OpArgs& args) {
  SimulationConfig c;
  c.n = static_cast<int>(args.integer("n"));
  c.d = static_cast<int>(args.integerOr("d", c.n));
  c.samples = args.integer("samples");
  c.density = args.number("density");
  c.seed = static_cast<uint64_t>(args.integer("seed"));
  c.randomOrder = args.flag("randomOrder");
  const std::string latent = args.string("latent");
  c.latent = latent == "linear"      ? LatentModel::Linear
             : latent == "quadratic" ? LatentModel::Quadratic
                                     : LatentModel::Mlp;
  c.mlpHidden = static_cast<int>(args.integer("mlpHidden"));
  c.hard = args.string("intervention") == "hard";
  c.softScale = args.number("softScale");
  c.varianceChange = args.string("varianceChange") == "scale" ? VarianceChange::Scale : VarianceChange::Add;
  if (args.hasArray("varianceFactors")) {
    const ArrayView& f = args.array("varianceFactors");
    c.varianceFactors.assign(f.data, f.data + f.size());
  }
  const std::string design = args.string("design");
  c.design = design == "single-node"         ? InterventionDesign::SingleNode
             : design == "two-hard-per-node" ? InterventionDesign::TwoHardPerNode
                                             : InterventionDesign::MultiNode;
  c.randomInterventionOrder = args.flag("randomInterventionOrder");
  c.targetMatrix = args.string("targetMatrix") == "identity" ? TargetMatrix::Identity : TargetMatrix::UpperTriangular;
  c.targetDensity = args.numberOr("targetDensity", c.targetDensity);
  const std::string transform = args.string("transform");
  c.transform = transform == "linear" ? MixingKind::Linear
                : transform == "tanh" ? MixingKind::Tanh
                                      : MixingKind::TanhMlp;
  c.scaleDecoder = args.flag("scaleDecoder");
  c.conditionFloor = args.number("conditionFloor");
  c.transformLayers = static_cast<int>(args.integer("transformLayers"));
  c.outputs.z = args.flag("outputZ");
  c.outputs.x = args.flag("outputX");
  c.outputs.dsx = args.flag("outputDsx");
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
  Simulation sim = simulate(parseConfig(args), &context);
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
  const SimulationModel model = drawSimulationModel(parseConfig(args));
  const std::string quantity = args.string("quantity");
  const int env = static_cast<int>(args.integer("environment"));
  if (env > model.K())
    args.fail("'environment' must be between 0 and " + std::to_string(model.K()) + ", got " + std::to_string(env));
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
  const SimulationModel model = drawSimulationModel(parseConfig(args));
  const std::string map = args.string("map");
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

// What simulate returns besides the samples: the drawn model.
OpSpec modelOutputs() {
  OpSpec s("simulationModel", "");
  s.returnsArray("graph", "n n", "0/1 latent DAG")
      .returnsArray("order", "n", "a topological order")
      .returnsArray("variances", "n", "observational noise variances")
      .returnsArray("weights", "n n", "linear SCM: edge weights", Presence::Optional)
      .returnsArray("quadratic", "n n n", "quadratic SCM: block j holds A_j at (parents, parents)", Presence::Optional)
      .returnsArray("mlp.w1", "n h n", "mlp SCM: first-layer weights", Presence::Optional)
      .returnsArray("mlp.b1", "n h", "mlp SCM: first-layer biases", Presence::Optional)
      .returnsArray("mlp.w2", "n h", "mlp SCM: output weights", Presence::Optional)
      .returnsArray("mlp.b2", "n", "mlp SCM: output biases", Presence::Optional)
      .returnsArray("decoder", "d n", "linear decoder (or the transform's last linear map)")
      .returnsArray("encoder", "n d", "its pseudo-inverse")
      .returnsArray("layer*.weight", "rows cols", "nonlinear transforms: weight of layer *", Presence::Optional)
      .returnsArray("layer*.bias", "rows", "nonlinear transforms: bias of layer *", Presence::Optional)
      .returnsArray("targets", "K n", "0/1 intervention targets of each interventional environment")
      .returnsArray("varianceFactors", "K", "noise-variance factor of each interventional environment")
      .returnsArray("mechanismScale", "K+1 n", "mechanism scale per environment and node")
      .returnsArray("noiseVariance", "K+1 n", "noise variance per environment and node")
      .returnsNumber("n", "latent dimension")
      .returnsNumber("d", "observed dimension")
      .returnsNumber("K", "interventional environments")
      .returnsNumber("samples", "samples per environment")
      .returnsNumber("targetDensity", "multi-node design's target density (in force)");
  return s;
}

const char* kPoints = "give exactly one of 'z' and 'x'";

SCORECRL_OP(OpSpec("simulate", "Simulated latents, observations and exact score differences (docs/simulation.md).")
                .inputsOf(configSpec(true))
                .outputsOf(modelOutputs())
                .returnsArray("z", "K+1 N n", "latents per environment", Presence::Optional)
                .returnsArray("x", "K+1 N d", "observations per environment", Presence::Optional)
                .returnsArray("dsx", "K N d", "exact score differences s_0 - s_k at the observational samples",
                              Presence::Optional),
            opSimulate);
SCORECRL_OP(OpSpec("simulationScores", "Exact scores or log-densities of one environment of a simulated model.")
                .inputsOf(configSpec(false))
                .choice("quantity",
                        {"latentScore", "latentScoreDifference", "observedScore", "observedScoreDifference",
                         "latentLogDensity", "observedLogDensity"},
                        std::nullopt, "what to evaluate")
                .integer("environment", 0, 0, 1000000, "environment (0: observational, up to K)")
                .array("z", "N n", std::string("latent points; ") + kPoints, Presence::Optional)
                .array("x", "N d", std::string("observed points; ") + kPoints, Presence::Optional)
                .returnsArray("values", "N m", "N x n, N x d, or N (log-densities)"),
            opSimulationScores);
SCORECRL_OP(OpSpec("simulationTransform", "A simulated model's transform: forward g(z), inverse, or Jacobian.")
                .inputsOf(configSpec(false))
                .choice("map", {"forward", "inverse", "jacobian"}, std::nullopt, "which map")
                .array("z", "N n", "latent points (forward, jacobian)", Presence::Optional)
                .array("x", "N d", "observed points (inverse)", Presence::Optional)
                .returnsArray("values", "N m", "N x d, N x n, or N x d x n (Jacobians)"),
            opSimulationTransform);

}  // namespace
}  // namespace scorecrl
