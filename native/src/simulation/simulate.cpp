#include "scorecrl/simulation/simulate.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <sstream>
#include <string>

#if !defined(__EMSCRIPTEN__)
#include <condition_variable>
#include <mutex>
#endif

#include "scorecrl/linalg/small_product.hpp"
#include "scorecrl/runtime/buffers.hpp"
#include "scorecrl/runtime/error.hpp"
#include "scorecrl/runtime/limits.hpp"
#include "scorecrl/runtime/ops.hpp"
#include "scorecrl/runtime/parallel.hpp"
#include "scorecrl/simulation/rng.hpp"

namespace scorecrl {

namespace {

// Rows per block in the sampling pipeline (a block of normals, latents and
// observations stays in cache before it is appended to its output).
constexpr Index kBlock = 512;
// Largest number of values in one output array.
constexpr double kMaxValues = 1ull << 38;

[[noreturn]] void fail(const std::string& message) { throw Error("simulate", message); }

std::string text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

const char* designName(InterventionDesign design) {
  switch (design) {
    case InterventionDesign::SingleNode: return "single-node";
    case InterventionDesign::TwoHardPerNode: return "two-hard-per-node";
    default: return "multi-node";
  }
}

// The K per-environment variance factors of a (validated) config.
std::vector<double> resolveFactors(const SimulationConfig& c) {
  const int K = environmentCount(c.design, c.n);
  std::vector<double> given = c.varianceFactors;
  if (given.empty()) {
    if (c.design == InterventionDesign::SingleNode)
      given = {5.0};
    else if (c.design == InterventionDesign::MultiNode)
      given = {0.25};
    else
      given = {0.25, 4.0};
  }
  std::vector<double> factors(static_cast<size_t>(K));
  for (int m = 0; m < K; ++m) {
    if (given.size() == 1)
      factors[static_cast<size_t>(m)] = given[0];
    else if (static_cast<int>(given.size()) == K)
      factors[static_cast<size_t>(m)] = given[static_cast<size_t>(m)];
    else
      factors[static_cast<size_t>(m)] = given[m < c.n ? 0 : 1];  // two-hard-per-node pair
  }
  return factors;
}

// Sizes an output whose every value is then written in place, block by block
// (each block computed where it belongs, its values written once while in
// cache). The storage comes from the buffer pool (scorecrl/runtime/buffers.hpp) with
// its old values, so nothing is written twice; it never moves, so threads
// may read finished blocks while others are written.
void sizeOutput(std::vector<double>& v, double count, const Context* context) {
  v = buffers::take(static_cast<size_t>(count), [context]() {
    if (context) context->checkCancelled("simulate");
  });
}

void checkEnvironmentIndex(const SimulationModel& model, int env, const char* function) {
  if (env < 0 || env > model.K())
    throw Error(function, "'environment' must be in 0.." + std::to_string(model.K()) + ", got " + std::to_string(env));
}

}  // namespace

int environmentCount(InterventionDesign design, int n) {
  return design == InterventionDesign::TwoHardPerNode ? 2 * n : n;
}

void validateSimulationConfig(const SimulationConfig& c) {
  if (c.n < 1) fail("'n' must be at least 1, got " + std::to_string(c.n));
  if (c.d < 0) fail("'d' must be at least n = " + std::to_string(c.n) + ", got " + std::to_string(c.d));
  const int d = c.d == 0 ? c.n : c.d;
  if (d < c.n)
    fail("'d' must be at least n = " + std::to_string(c.n) + " (the transform must be injective), got " +
         std::to_string(d));
  if (c.samples < 1) fail("'samples' must be at least 1, got " + std::to_string(c.samples));
  if (!(c.density >= 0.0 && c.density <= 1.0)) fail("'density' must be in [0, 1], got " + text(c.density));
  if (c.targetDensity >= 0.0 && c.targetDensity > 1.0)
    fail("'targetDensity' must be in [0, 1], got " + text(c.targetDensity));
  if (!(c.conditionFloor >= 0.0 && c.conditionFloor <= 1.0))
    fail("'conditionFloor' must be in [0, 1], got " + text(c.conditionFloor));
  if (c.mlpHidden < 1) fail("'mlpHidden' must be at least 1, got " + std::to_string(c.mlpHidden));
  if (c.transformLayers < 1) fail("'transformLayers' must be at least 1, got " + std::to_string(c.transformLayers));
  if (!std::isfinite(c.softScale)) fail("'softScale' must be a finite number");
  if (c.design == InterventionDesign::TwoHardPerNode && !c.hard)
    fail("design 'two-hard-per-node' uses hard interventions; set intervention to 'hard' or choose another design");
  const int K = environmentCount(c.design, c.n);
  const size_t count = c.varianceFactors.size();
  const bool pair = c.design == InterventionDesign::TwoHardPerNode && count == 2;
  if (count != 0 && count != 1 && !pair && static_cast<int>(count) != K)
    fail("'varianceFactors' must hold 1 value or one per environment (K = " + std::to_string(K) + ")" +
         (c.design == InterventionDesign::TwoHardPerNode ? " or 2 (first and second intervention)" : "") + ", got " +
         std::to_string(count));
  for (size_t i = 0; i < count; ++i) {
    const double f = c.varianceFactors[i];
    if (!(f > 0.0) || !std::isfinite(f))
      fail("variance factors must be positive and finite (" + std::string(designName(c.design)) +
           "); 'varianceFactors[" + std::to_string(i) + "]' is " + text(f));
  }
  const double values = static_cast<double>(K + 1) * static_cast<double>(c.samples) * static_cast<double>(d);
  if (values > kMaxValues) fail("(K+1) x samples x d = " + text(values) + " values is too large; lower 'samples'");
}

SimulationModel drawSimulationModel(const SimulationConfig& config, Generator& rng) {
  validateSimulationConfig(config);
  // The decoder is drawn from a d x d normal matrix (Haar Q, with its QR factors).
  const int64_t observed = config.d == 0 ? config.n : config.d, latents = config.n;
  limits::Request request("simulate");
  request.add("the d x d decoder draw", {3, observed, observed});
  // The model's parameters, which grow with the size options alone.
  if (config.latent == LatentModel::Mlp) request.add("the latent MLP weights", {latents, latents, config.mlpHidden});
  if (config.latent == LatentModel::Quadratic) request.add("the quadratic mechanisms", {latents, latents, latents});
  if (config.transform == MixingKind::TanhMlp)
    request.add("the transform's layers", {config.transformLayers, observed, observed});
  request.check();
  SimulationModel model;
  model.config = config;
  SimulationConfig& c = model.config;
  if (c.d == 0) c.d = c.n;
  if (c.targetDensity < 0.0) c.targetDensity = c.density;
  const std::vector<double> factors = resolveFactors(c);
  c.varianceFactors = factors;
  const int n = c.n;
  const int K = environmentCount(c.design, n);

  MixingOptions transform;
  transform.kind = c.transform;
  transform.conditionFloor = c.conditionFloor;
  transform.scaleColumns = c.scaleDecoder;
  transform.layers = c.transformLayers;
  model.transform = drawMixing(n, c.d, transform, rng);

  ScmOptions scm;
  scm.model = c.latent;
  scm.density = c.density;
  scm.randomOrder = c.randomOrder;
  scm.mlpHidden = c.mlpHidden;
  model.scm = drawLatentScm(n, scm, rng);

  // Targets of each interventional environment.
  std::vector<std::vector<int>> targets(static_cast<size_t>(K));
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  if (c.design == InterventionDesign::MultiNode) {
    order = rng.permutation(n);
    Adjacency dmat = Adjacency::Identity(n, n);
    if (c.targetMatrix == TargetMatrix::UpperTriangular) {
      Matrix u(n, n);
      rng.fillRandom(u.data(), static_cast<size_t>(n) * static_cast<size_t>(n));
      for (int i = 0; i < n; ++i)
        for (int j = i; j < n; ++j) dmat(i, j) = dmat(i, j) || u(i, j) <= c.targetDensity;
    }
    // Unit upper triangular, hence invertible; column j of the result is
    // column order[j] of dmat.
    for (int j = 0; j < K; ++j)
      for (int i = 0; i < n; ++i)
        if (dmat(i, static_cast<Index>(order[static_cast<size_t>(j)]))) targets[static_cast<size_t>(j)].push_back(i);
  } else {
    if (c.randomInterventionOrder) order = rng.permutation(n);
    for (int m = 0; m < K; ++m) targets[static_cast<size_t>(m)] = {static_cast<int>(order[static_cast<size_t>(m % n)])};
  }

  model.environments.push_back(observationalEnvironment(model.scm));
  model.targets = Adjacency::Constant(n, K, false);
  model.varianceFactors.resize(K);
  for (int m = 0; m < K; ++m) {
    InterventionSpec spec;
    spec.hard = c.hard;
    spec.factor = factors[static_cast<size_t>(m)];
    spec.change = c.varianceChange;
    spec.softScale = c.softScale;
    model.environments.push_back(intervenedEnvironment(model.scm, targets[static_cast<size_t>(m)], spec));
    for (int i : targets[static_cast<size_t>(m)]) model.targets(i, m) = true;
    model.varianceFactors[m] = spec.factor;
  }
  return model;
}

SimulationModel drawSimulationModel(const SimulationConfig& config) {
  validateSimulationConfig(config);
  Generator rng(config.seed);
  return drawSimulationModel(config, rng);
}

namespace {

// Writes dsx for environments 1..K at the observational latents z0 (N x n).
// Linear transform: environment-major, each environment's rows appended to
// `out` (or written at `dst` when given); nonlinear: row blocks, all
// environments at once (the Jacobian is factored once per point).
class ScoreDifferenceWriter {
 public:
  explicit ScoreDifferenceWriter(const SimulationModel& model) : model_(model) {
    const SimulationModel& m = model_;
    const Matrix theta0 = m.scm.model == LatentModel::Linear ? linearPrecision(m.scm, m.environments[0]) : Matrix();
    for (int e = 1; e <= m.K(); ++e) {
      if (m.scm.model == LatentModel::Linear) {
        // dsz (row form) = z (Theta_m - Theta_0)
        Matrix dtheta = linearPrecision(m.scm, m.environments[static_cast<size_t>(e)]) - theta0;
        latentMaps_.emplace_back(dtheta);
        if (m.transform.linear()) addObservedMap(e, dtheta);
      }
    }
    if (m.scm.model != LatentModel::Linear && m.transform.linear()) encoder_ = SmallProduct(m.transform.encoder());
  }

  // Linear SCM and transform: dsx (row form) of environment e = z dTheta E
  // (E the encoder, n x d). Theta = sum_j u_j u_j^T / v_j with u_j = e_j -
  // c_j W[:, j], so where environment e changes few nodes J, dTheta =
  // sum_{j in J} (u'_j u'_j^T / v'_j - u_j u_j^T / v_j) has rank <= 2|J| and
  // z dTheta E = (z L) R with L = [u'_j / v'_j, -u_j / v_j] (n x 2|J|) and
  // R = [E^T u'_j, E^T u_j]^T (2|J| x d): (n + d) 2|J| products a row
  // instead of n d (a third of them for one node, n = 10, d = 15).
  void addObservedMap(int e, const Matrix& dtheta) {
    const SimulationModel& m = model_;
    const Environment& base = m.environments[0];
    const Environment& env = m.environments[static_cast<size_t>(e)];
    const Index n = m.scm.n, d = m.transform.d;
    const Matrix& encoder = m.transform.encoder();
    std::vector<int> changed;
    for (int j = 0; j < n; ++j)
      if (env.mechanismScale[j] != base.mechanismScale[j] || env.noiseVariance[j] != base.noiseVariance[j])
        changed.push_back(j);
    const Index rank = 2 * static_cast<Index>(changed.size());
    if (rank * (n + d) >= n * d) {
      observedMaps_.emplace_back(Matrix(dtheta * encoder));
      factorMaps_.emplace_back();
      return;
    }
    const Matrix weights = m.scm.weightMatrix();
    Matrix left(n, rank), right(rank, d);
    for (size_t k = 0; k < changed.size(); ++k) {
      const int j = changed[k];
      const Index a = 2 * static_cast<Index>(k), b = a + 1;
      Vector changedColumn = -env.mechanismScale[j] * weights.col(j);
      Vector baseColumn = -base.mechanismScale[j] * weights.col(j);
      changedColumn[j] += 1.0;
      baseColumn[j] += 1.0;
      left.col(a) = changedColumn / env.noiseVariance[j];
      left.col(b) = -baseColumn / base.noiseVariance[j];
      right.row(a) = changedColumn.transpose() * encoder;
      right.row(b) = baseColumn.transpose() * encoder;
    }
    observedMaps_.emplace_back(left);
    factorMaps_.emplace_back(right);
  }

  // dsz (rows x n) of environment e at the rows of z.
  void latentBlock(int e, const double* z, Index rows, Matrix& dsz) const {
    const SimulationModel& m = model_;
    dsz.resize(rows, m.scm.n);
    if (m.scm.model == LatentModel::Linear) {
      latentMaps_[static_cast<size_t>(e - 1)].apply(z, rows, dsz.data());
    } else {
      latentScoreDifference(m.scm, m.environments[0], m.environments[static_cast<size_t>(e)], z, rows, dsz.data());
    }
  }

  // Linear transform: dsx of environment e for rows of z into out (rows x d).
  void observedBlock(int e, const double* z, Index rows, Matrix& dsz, double* out) const {
    const SimulationModel& m = model_;
    if (m.scm.model == LatentModel::Linear) {
      const SmallProduct& right = factorMaps_[static_cast<size_t>(e - 1)];
      if (right.k() == 0) {
        observedMaps_[static_cast<size_t>(e - 1)].apply(z, rows, out);
      } else {
        dsz.resize(rows, right.k());
        observedMaps_[static_cast<size_t>(e - 1)].apply(z, rows, dsz.data());
        right.apply(dsz.data(), rows, out);
      }
    } else {
      latentBlock(e, z, rows, dsz);
      encoder_.apply(dsz.data(), rows, out);
    }
  }

  // Nonlinear transform: all environments for rows [start, start+rows) into
  // dsx (K x N x d).
  void allEnvironmentsBlock(const double* z0, Index N, Index start, Index rows, double* dsx,
                            std::vector<Matrix>& dsz) const {
    const SimulationModel& m = model_;
    const int K = m.K();
    const Index n = m.scm.n, d = m.transform.d;
    dsz.resize(static_cast<size_t>(K));
    std::vector<const double*> in(static_cast<size_t>(K));
    std::vector<double*> out(static_cast<size_t>(K));
    for (int e = 1; e <= K; ++e) {
      latentBlock(e, z0 + start * n, rows, dsz[static_cast<size_t>(e - 1)]);
      in[static_cast<size_t>(e - 1)] = dsz[static_cast<size_t>(e - 1)].data();
      out[static_cast<size_t>(e - 1)] = dsx + (static_cast<Index>(e - 1) * N + start) * d;
    }
    m.transform.mapCovectors(z0 + start * n, rows, K, in.data(), out.data(), false);
  }

 private:
  const SimulationModel& model_;
  std::vector<SmallProduct> latentMaps_, observedMaps_;
  // Linear: the right factor R of environment e's map (empty: observedMaps_
  // holds dTheta E itself), see addObservedMap.
  std::vector<SmallProduct> factorMaps_;
  SmallProduct encoder_;
};

}  // namespace

void observedScoreDifferences(const SimulationModel& model, const double* z, Index N, double* dsx,
                              const Context* context) {
  const ScoreDifferenceWriter writer(model);
  const Index d = model.transform.d;
  Matrix dsz;
  std::vector<Matrix> blocks;
  Index counter = 0;
  if (model.transform.linear()) {
    for (int e = 1; e <= model.K(); ++e)
      for (Index start = 0; start < N; start += kBlock) {
        const Index rows = std::min(kBlock, N - start);
        writer.observedBlock(e, z + start * model.scm.n, rows, dsz, dsx + ((e - 1) * N + start) * d);
        if (context && ++counter % 64 == 0) context->checkCancelled("observedScoreDifferences");
      }
    return;
  }
  for (Index start = 0; start < N; start += kBlock) {
    writer.allEnvironmentsBlock(z, N, start, std::min(kBlock, N - start), dsx, blocks);
    if (context && ++counter % 8 == 0) context->checkCancelled("observedScoreDifferences");
  }
}

namespace {

// Runs the tasks of a few chains on up to two threads. Tasks of one chain run
// in order, one at a time (each appends to its own output); a task may wait
// for a number of tasks of the first chain (the random draws) to be done.
// Every thread prefers the chains in its own priority order.
class ChainScheduler {
 public:
  struct Chain {
    int tasks = 0;
    // Task i may start once needsFirst + i tasks of chain `after` are done
    // (needsFirst alone if fixedNeed); chain 0 depends on nothing.
    int needsFirst = 0;
    bool fixedNeed = false;
    std::function<void(int task)> run;
    int after = 0;
  };

  explicit ChainScheduler(std::vector<Chain> chains) : chains_(std::move(chains)) {
    next_.assign(chains_.size(), 0);
    busy_.assign(chains_.size(), false);
  }

  // Works until every chain is done (or another worker failed).
  void work(const std::vector<int>& priority, bool alone) {
    for (;;) {
      int chosen = -1, task = 0;
      {
#if !defined(__EMSCRIPTEN__)
        std::unique_lock<std::mutex> lock(mutex_);
#endif
        for (;;) {
          if (failed_) return;
          bool allDone = true;
          for (int c : priority) {
            const Chain& ch = chains_[static_cast<size_t>(c)];
            const int i = next_[static_cast<size_t>(c)];
            if (i >= ch.tasks) continue;
            allDone = false;
            const int need = ch.fixedNeed ? ch.needsFirst : ch.needsFirst + i;
            if (busy_[static_cast<size_t>(c)] || (c != 0 && next_[static_cast<size_t>(ch.after)] < need)) continue;
            chosen = c;
            task = i;
            break;
          }
          if (chosen >= 0 || allDone) break;
          if (alone) throw Error("simulate", "internal error: no runnable task");
#if !defined(__EMSCRIPTEN__)
          cv_.wait(lock);
#endif
        }
        if (chosen < 0) return;
        busy_[static_cast<size_t>(chosen)] = true;
      }
      try {
        chains_[static_cast<size_t>(chosen)].run(task);
      } catch (...) {
        fail();
        throw;
      }
      {
#if !defined(__EMSCRIPTEN__)
        std::lock_guard<std::mutex> lock(mutex_);
#endif
        busy_[static_cast<size_t>(chosen)] = false;
        ++next_[static_cast<size_t>(chosen)];
      }
#if !defined(__EMSCRIPTEN__)
      cv_.notify_all();
#endif
    }
  }

  void fail() {
    {
#if !defined(__EMSCRIPTEN__)
      std::lock_guard<std::mutex> lock(mutex_);
#endif
      failed_ = true;
    }
#if !defined(__EMSCRIPTEN__)
    cv_.notify_all();
#endif
  }

 private:
  std::vector<Chain> chains_;
  std::vector<int> next_;
  std::vector<bool> busy_;
  bool failed_ = false;
#if !defined(__EMSCRIPTEN__)
  std::mutex mutex_;
  std::condition_variable cv_;
#endif
};

}  // namespace

namespace {

// Checks the memory of a simulation's samples before anything is drawn (z
// is drawn even when not returned).
void checkSimulationRequest(const SimulationConfig& c) {
  const int64_t K = environmentCount(c.design, c.n), N = c.samples, n = c.n, d = c.d == 0 ? c.n : c.d;
  const SimulationOutputs& want = c.outputs;
  limits::Request request("simulate");
  if (want.z || want.x || want.dsx) request.add("z", {(want.z || want.x) ? K + 1 : 1, N, n});
  if (want.x) request.add("x", {K + 1, N, d});
  if (want.dsx) request.add("dsx", {K, N, d});
  request.check();
}

// Blocks of kBlock rows between two cancellation checks: about 2 million
// multiply-adds of work (a millisecond or so), however costly a row is.
int blocksPerCancelCheck(const SimulationModel& model) {
  const SimulationConfig& c = model.config;
  const double n = model.scm.n, d = model.transform.d;
  double rowCost = n * n + n * d;
  if (c.latent == LatentModel::Quadratic) rowCost += n * n * n;
  if (c.latent == LatentModel::Mlp) rowCost += n * n * c.mlpHidden;
  if (!model.transform.linear()) rowCost += d * d * c.transformLayers * (1 + n);
  const double blocks = 2e6 / (rowCost * static_cast<double>(kBlock));
  return static_cast<int>(std::clamp(blocks, 1.0, 64.0));
}

}  // namespace

Simulation simulate(const SimulationConfig& config, const Context* context) {
  validateSimulationConfig(config);
  checkSimulationRequest(config);
  Generator rng(config.seed);
  Simulation sim;
  sim.model = drawSimulationModel(config, rng);
  const SimulationModel& model = sim.model;
  const SimulationOutputs& want = model.config.outputs;
  if (!want.z && !want.x && !want.dsx) return sim;
  if (context) context->checkCancelled("simulate");

  const Index n = model.scm.n, d = model.transform.d, N = model.config.samples;
  const int K = model.K();
  // Environments whose latents are drawn: all, unless only dsx is wanted.
  const int drawn = (want.z || want.x) ? K + 1 : 1;
  const double Nd = static_cast<double>(N);

  std::vector<double> zInternal;
  std::vector<double>& z = want.z ? sim.z : zInternal;
  sizeOutput(z, static_cast<double>(drawn) * Nd * static_cast<double>(n), context);
  if (want.x) sizeOutput(sim.x, static_cast<double>(K + 1) * Nd * static_cast<double>(d), context);
  if (want.dsx) sizeOutput(sim.dsx, static_cast<double>(K) * Nd * static_cast<double>(d), context);
  const bool linearTransform = model.transform.linear();
  double* const zData = z.data();

  // Through a nonlinear transform the Jacobian's conditioning would magnify
  // last-bit differences of the latents, so they are then drawn reproducibly.
  std::vector<LatentSampler> samplers;
  samplers.reserve(static_cast<size_t>(drawn));
  for (int e = 0; e < drawn; ++e)
    samplers.emplace_back(model.scm, model.environments[static_cast<size_t>(e)], !linearTransform);
  const ScoreDifferenceWriter writer(model);
  const SmallProduct decoderT = linearTransform ? SmallProduct(model.transform.decoder().transpose()) : SmallProduct();

  // Progress: tasks done out of all tasks, reported from the calling thread.
  const int totalTasks = drawn + (want.x ? K + 1 : 0) + (want.dsx ? (linearTransform ? K : 1) : 0);
  std::atomic<int> doneTasks{0};
  const auto finished = [&](int part) {
    const int done = ++doneTasks;
    if (context && part == 0) context->progress(static_cast<double>(done) / totalTasks, "simulate");
  };
  const int checkEvery = blocksPerCancelCheck(model);
  const auto cancelPoint = [&](Index& counter, int every) {
    if (context && ++counter % std::min(every, checkEvery) == 0) context->checkCancelled("simulate");
  };
  thread_local int currentPart = 0;

  // With two threads the generator alone is the critical path, so the
  // drawing thread only draws and the other applies the mechanisms (chain 1)
  // besides the transforms; with one, each block is sampled while in cache.
  const bool sampleWhileDrawing = threads() < 2;
  std::vector<ChainScheduler::Chain> chains;
  // Chain 0: the normals, environment by environment (the generator is
  // sequential), written straight into z.
  chains.push_back({drawn, 0, false, [&](int e) {
                      Index counter = 0;
                      for (Index start = 0; start < N; start += kBlock) {
                        const Index rows = std::min(kBlock, N - start);
                        double* block = zData + (static_cast<Index>(e) * N + start) * n;
                        rng.fillStandardNormal(block, static_cast<size_t>(rows * n));
                        if (sampleWhileDrawing) samplers[static_cast<size_t>(e)](block, rows);
                        cancelPoint(counter, 64);
                      }
                      finished(currentPart);
                    }});
  // Chain 1: the mechanisms, in place, environment e once it is drawn.
  chains.push_back({drawn, 1, false,
                    [&](int e) {
                      if (sampleWhileDrawing) return;
                      double* ze = zData + static_cast<Index>(e) * N * n;
                      Index counter = 0;
                      for (Index start = 0; start < N; start += kBlock) {
                        samplers[static_cast<size_t>(e)](ze + start * n, std::min(kBlock, N - start));
                        cancelPoint(counter, 64);
                      }
                    },
                    0});
  constexpr int kSampled = 1;  // the transforms wait for chain 1
  if (want.x) {
    chains.push_back({K + 1, 1, false,
                      [&](int e) {
                        Index counter = 0;
                        const double* ze = zData + static_cast<Index>(e) * N * n;
                        for (Index start = 0; start < N; start += kBlock) {
                          const Index rows = std::min(kBlock, N - start);
                          double* out = sim.x.data() + (static_cast<Index>(e) * N + start) * d;
                          if (linearTransform)
                            decoderT.apply(ze + start * n, rows, out);
                          else
                            model.transform.forward(ze + start * n, rows, out);
                          cancelPoint(counter, 64);
                        }
                        finished(currentPart);
                      },
                      kSampled});
  }
  if (want.dsx) {
    if (linearTransform) {
      chains.push_back({K, 1, true,
                        [&](int task) {
                          Matrix dsz;
                          Index counter = 0;
                          for (Index start = 0; start < N; start += kBlock) {
                            const Index rows = std::min(kBlock, N - start);
                            writer.observedBlock(task + 1, zData + start * n, rows, dsz,
                                                 sim.dsx.data() + (static_cast<Index>(task) * N + start) * d);
                            cancelPoint(counter, 64);
                          }
                          finished(currentPart);
                        },
                        kSampled});
    } else {
      chains.push_back({1, 1, true,
                        [&](int) {
                          std::vector<Matrix> blocks;
                          Index counter = 0;
                          for (Index start = 0; start < N; start += kBlock) {
                            writer.allEnvironmentsBlock(zData, N, start, std::min(kBlock, N - start), sim.dsx.data(),
                                                        blocks);
                            cancelPoint(counter, 8);
                          }
                          finished(currentPart);
                        },
                        kSampled});
    }
  }

  ChainScheduler scheduler(std::move(chains));
  const int count = static_cast<int>(want.x) + static_cast<int>(want.dsx);
  parallelRanges(2, 2, [&](int part, int64_t begin, int64_t end) {
    currentPart = part;
    std::vector<int> priority;
    // Chains: 0 draws, 1 mechanisms, 2.. transforms.
    if (end - begin == 2) {
      // One thread: use each environment's latents while they are in cache.
      for (int c = 2; c <= count + 1; ++c) priority.push_back(c);
      priority.push_back(1);
      priority.push_back(0);
      scheduler.work(priority, true);
      return;
    }
    // The drawing thread keeps the generator busy; the other samples and transforms.
    if (part == 0) priority.push_back(0);
    for (int c = 1; c <= count + 1; ++c) priority.push_back(c);
    if (part != 0) priority.push_back(0);
    scheduler.work(priority, false);
  });
  if (!want.z) buffers::give(std::move(zInternal));
  return sim;
}

void latentScoreAt(const SimulationModel& model, int env, const double* z, Index N, double* out) {
  checkEnvironmentIndex(model, env, "latentScore");
  latentScore(model.scm, model.environments[static_cast<size_t>(env)], z, N, out);
}

void latentScoreDifferenceAt(const SimulationModel& model, int env, const double* z, Index N, double* out) {
  checkEnvironmentIndex(model, env, "latentScoreDifference");
  latentScoreDifference(model.scm, model.environments[0], model.environments[static_cast<size_t>(env)], z, N, out);
}

void observedScoreAt(const SimulationModel& model, int env, const double* z, Index N, double* out) {
  checkEnvironmentIndex(model, env, "observedScore");
  std::vector<double> sz(static_cast<size_t>(N * model.scm.n));
  latentScore(model.scm, model.environments[static_cast<size_t>(env)], z, N, sz.data());
  const double* in = sz.data();
  model.transform.mapCovectors(z, N, 1, &in, &out, true);
}

void observedScoreDifferenceAt(const SimulationModel& model, int env, const double* z, Index N, double* out) {
  checkEnvironmentIndex(model, env, "observedScoreDifference");
  std::vector<double> dsz(static_cast<size_t>(N * model.scm.n));
  latentScoreDifference(model.scm, model.environments[0], model.environments[static_cast<size_t>(env)], z, N,
                        dsz.data());
  const double* in = dsz.data();
  model.transform.mapCovectors(z, N, 1, &in, &out, false);
}

void latentLogDensityAt(const SimulationModel& model, int env, const double* z, Index N, double* out) {
  checkEnvironmentIndex(model, env, "latentLogDensity");
  latentLogDensity(model.scm, model.environments[static_cast<size_t>(env)], z, N, out);
}

void observedLogDensityAt(const SimulationModel& model, int env, const double* z, Index N, double* out) {
  checkEnvironmentIndex(model, env, "observedLogDensity");
  latentLogDensity(model.scm, model.environments[static_cast<size_t>(env)], z, N, out);
  std::vector<double> volume(static_cast<size_t>(N));
  model.transform.logVolume(z, N, volume.data());
  for (Index t = 0; t < N; ++t) out[t] -= volume[static_cast<size_t>(t)];
}

}  // namespace scorecrl
