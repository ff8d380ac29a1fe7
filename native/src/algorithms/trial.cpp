#include "scorecrl/algorithms/trial.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "scorecrl/algorithms/finite_sample.hpp"
#include "scorecrl/evaluation/graph.hpp"
#include "scorecrl/evaluation/metrics.hpp"
#include "scorecrl/runtime/error.hpp"
#include "scorecrl/runtime/ops.hpp"
#include "scorecrl/simulation/rng.hpp"
#include "scorecrl/simulation/scm.hpp"

namespace scorecrl {

namespace {

[[noreturn]] void fail(const std::string& message) { throw Error("trial", message); }

// Rows of standard normals drawn per block (the block stays in L1/L2 cache).
constexpr Index kRows = 1024;

// Gamma(shape, 1) by Marsaglia and Tsang's method (shape < 1 through
// Gamma(shape + 1) * U^(1/shape)).
double gammaDraw(Generator& rng, double shape) {
  if (shape < 1.0) {
    const double g = gammaDraw(rng, shape + 1.0);
    double u = rng.random();
    while (u <= 0.0) u = rng.random();
    return g * std::pow(u, 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = rng.standardNormal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = rng.random();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (u > 0.0 && std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

// Sum of e e^T and of e over N standard normal n-vectors, drawn from their
// joint distribution: mean ~ N(0, I/N); centred scatter = A A^T with A lower
// triangular, A(i,i)^2 ~ chi^2(N-1-i), A(i,j) ~ N(0,1) below the diagonal
// (Bartlett), independent of the mean.
void wishartStatistics(Generator& rng, Index n, Index N, Eigen::MatrixXd& gram, Vector& sum) {
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(n, n);
  for (Index i = 0; i < n; ++i) {
    a(i, i) = std::sqrt(2.0 * gammaDraw(rng, 0.5 * static_cast<double>(N - 1 - i)));
    for (Index j = 0; j < i; ++j) a(i, j) = rng.standardNormal();
  }
  Vector mean(n);
  for (Index i = 0; i < n; ++i) mean[i] = rng.standardNormal() / std::sqrt(static_cast<double>(N));
  gram = a * a.transpose() + static_cast<double>(N) * mean * mean.transpose();
  sum = static_cast<double>(N) * mean;
}

}  // namespace

ObservedMoments observedMoments(const Matrix& decoder, const std::vector<LatentMoments>& latent) {
  ObservedMoments out;
  for (const LatentMoments& m : latent) {
    out.covariances.push_back(decoder * m.covariance() * decoder.transpose());
    out.means.push_back(decoder * m.mean);
  }
  return out;
}

std::vector<LatentMoments> drawLatentMoments(const SimulationModel& model, Generator& rng, Index N,
                                             const Context* context, TrialSampling sampling) {
  if (model.scm.model != LatentModel::Linear) fail("latent moments need a linear SCM");
  if (N < 2) fail("'samples' must be at least 2, got " + std::to_string(N));
  const Index n = model.scm.n;
  std::vector<LatentMoments> out;
  out.reserve(model.environments.size());
  std::vector<double> block(static_cast<size_t>(kRows * n));
  for (size_t k = 0; k < model.environments.size(); ++k) {
    // The sampler is linear in the normals for a linear SCM: z_row = e_row L,
    // and applying it to the identity gives L.
    const LatentSampler sampler(model.scm, model.environments[k]);
    Matrix linearMap = Matrix::Identity(n, n);
    sampler(linearMap.data(), n);
    Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(n, n);
    Vector sum = Vector::Zero(n);
    if (sampling == TrialSampling::Wishart) {
      if (N <= n) fail("Wishart sampling needs more samples than latents (N > n)");
      wishartStatistics(rng, n, N, gram, sum);
    }
    for (Index start = 0; sampling == TrialSampling::Samples && start < N; start += kRows) {
      const Index rows = std::min(kRows, N - start);
      rng.fillStandardNormal(block.data(), static_cast<size_t>(rows * n));
      MatrixMap e(block.data(), rows, n);
      gram.selfadjointView<Eigen::Lower>().rankUpdate(e.transpose());
      sum.noalias() += e.colwise().sum().transpose();
      if (context && (start / kRows) % 64 == 63) context->checkCancelled("trial");
    }
    const Matrix second = Matrix(gram.selfadjointView<Eigen::Lower>()) / static_cast<double>(N);
    LatentMoments m;
    m.second = linearMap.transpose() * second * linearMap;
    m.second = 0.5 * (m.second + m.second.transpose()).eval();
    m.mean = linearMap.transpose() * (sum / static_cast<double>(N));
    m.samples = N;
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<Matrix> scoreDiffCovariancesFromMoments(const SimulationModel& model,
                                                    const std::vector<LatentMoments>& moments,
                                                    TrialEstimator estimator) {
  if (!model.transform.linear()) fail("score-difference covariances from moments need a linear decoder");
  if (moments.size() != model.environments.size()) fail("one set of moments per environment is needed");
  const Matrix& G = model.transform.decoder();  // d x n
  const Index n = G.cols();
  const int K = model.K();
  std::vector<Matrix> r;
  r.reserve(static_cast<size_t>(K));
  if (estimator == TrialEstimator::Exact) {
    const Matrix& H = model.transform.encoder();  // n x d
    const Matrix theta0 = linearPrecision(model.scm, model.environments[0]);
    for (int m = 1; m <= K; ++m) {
      const Matrix D = linearPrecision(model.scm, model.environments[static_cast<size_t>(m)]) - theta0;
      const Matrix inner = D * moments[0].second * D;
      Matrix R = H.transpose() * inner * H;
      r.push_back(0.5 * (R + R.transpose()));
    }
    return r;
  }
  // Gaussian plug-in on the n-dimensional support: the top-n eigenvectors of
  // the observational covariance of x = G z.
  const Matrix cx0 = G * moments[0].covariance() * G.transpose();
  Eigen::SelfAdjointEigenSolver<Matrix> eig(cx0);
  if (eig.info() != Eigen::Success) fail("eigen-decomposition of the observational covariance failed");
  const Matrix B = eig.eigenvectors().rightCols(n);  // d x n, orthonormal
  const Matrix A = B.transpose() * G;                // reduced coordinates: B^T x = A z
  std::vector<Matrix> precision;
  precision.reserve(moments.size());
  for (size_t k = 0; k < moments.size(); ++k) {
    const Matrix cov = A * moments[k].covariance() * A.transpose();
    Eigen::LLT<Matrix> llt(cov);
    if (llt.info() != Eigen::Success) {
      fail("the sample covariance of environment " + std::to_string(k) +
           " is not positive definite (too few samples for the dimension?)");
    }
    precision.push_back(llt.solve(Matrix::Identity(n, n)));
  }
  const Matrix u0 = A * moments[0].second * A.transpose();
  for (int m = 1; m <= K; ++m) {
    Matrix D = precision[static_cast<size_t>(m)] - precision[0];
    D = 0.5 * (D + D.transpose()).eval();
    const Matrix inner = D * u0 * D;
    Matrix R = B * inner * B.transpose();
    r.push_back(0.5 * (R + R.transpose()));
  }
  return r;
}

void validateTrialSpec(const TrialSpec& spec) {
  const SimulationConfig& c = spec.simulation;
  validateSimulationConfig(c);
  if (c.latent != LatentModel::Linear) fail("the fused trial supports the linear latent model only (latent = linear)");
  if (c.transform != MixingKind::Linear)
    fail("the fused trial supports the linear transform only (transform = linear)");
  if (c.design != InterventionDesign::SingleNode) {
    fail("the finite-sample algorithm needs one single-node intervention per latent (design = single-node)");
  }
  if (c.samples < 2) fail("'samples' must be at least 2");
  if (!(spec.tolEigv >= 0.0) || !std::isfinite(spec.tolEigv)) fail("'tolEigv' must be a finite number >= 0");
  if (!(spec.tolOrth >= 0.0) || !std::isfinite(spec.tolOrth)) fail("'tolOrth' must be a finite number >= 0");
}

FitResult fitFiniteSample(const std::vector<Matrix>& covariances, const std::vector<Vector>& means, int n,
                          double tolEigv, double tolOrth) {
  if (covariances.size() < 2) fail("at least two environments (observational + interventional) are needed");
  if (means.size() != covariances.size()) fail("one mean per environment is needed");
  const int K = static_cast<int>(covariances.size()) - 1;
  const Index d = covariances[0].rows();
  if (n < 1) fail("'n' must be at least 1");
  if (d < n) fail("the data have " + std::to_string(d) + " columns, fewer than n = " + std::to_string(n) + " latents");
  if (K != n) {
    fail("the finite-sample algorithm needs one interventional environment per latent: n = " + std::to_string(n) +
         " latents, " + std::to_string(K) + " interventional environments");
  }
  if (!(tolEigv >= 0.0) || !(tolOrth >= 0.0)) fail("tolerances must be >= 0");
  for (size_t k = 0; k < covariances.size(); ++k) {
    if (covariances[k].rows() != d || covariances[k].cols() != d || means[k].size() != d)
      fail("environment " + std::to_string(k) + " has moments of the wrong size");
  }
  FitResult fit;
  Eigen::SelfAdjointEigenSolver<Matrix> eig(covariances[0]);
  if (eig.info() != Eigen::Success) fail("eigen-decomposition of the observational covariance failed");
  fit.supportEigenvalues = eig.eigenvalues().reverse();
  const Matrix B = eig.eigenvectors().rightCols(n);
  std::vector<Matrix> precision;
  for (int k = 0; k <= K; ++k) {
    const Matrix reduced = B.transpose() * covariances[static_cast<size_t>(k)] * B;
    Eigen::LLT<Matrix> llt(reduced);
    if (llt.info() != Eigen::Success) {
      fail("the covariance of environment " + std::to_string(k) + " on the " + std::to_string(n) +
           "-dimensional support is singular (constant columns, or too few rows?)");
    }
    precision.push_back(llt.solve(Matrix::Identity(n, n)));
  }
  const Matrix c0 = B.transpose() * covariances[0] * B;
  fit.scoreDiffEigenvalues = Matrix::Zero(K, d);
  for (int m = 1; m <= K; ++m) {
    Matrix D = precision[static_cast<size_t>(m)] - precision[0];
    D = 0.5 * (D + D.transpose()).eval();
    const Vector shift =
        precision[static_cast<size_t>(m)] * (B.transpose() * (means[0] - means[static_cast<size_t>(m)]));
    const Matrix inner = D * c0 * D + shift * shift.transpose();
    Matrix R = B * inner * B.transpose();
    R = 0.5 * (R + R.transpose()).eval();
    Eigen::SelfAdjointEigenSolver<Matrix> er(R, Eigen::EigenvaluesOnly);
    fit.scoreDiffEigenvalues.row(m - 1) = er.eigenvalues().reverse().transpose();
    fit.R.push_back(std::move(R));
  }
  FiniteSampleOptions options;
  options.tolEigv = tolEigv;
  options.tolOrth = tolOrth;
  const FiniteSampleResult estimate = finiteSample(fit.R, options);
  fit.order = estimate.order;
  fit.graph = estimate.graphClosure;
  fit.encoder = estimate.encoder;
  for (Index i = 0; i < fit.encoder.rows(); ++i) {
    Index arg = 0;
    fit.encoder.row(i).cwiseAbs().maxCoeff(&arg);
    if (fit.encoder(i, arg) < 0) fit.encoder.row(i) *= -1.0;
  }
  return fit;
}

TrialResult runTrial(const TrialSpec& spec, const Context* context) {
  validateTrialSpec(spec);
  Generator rng(spec.simulation.seed);
  const SimulationModel model = drawSimulationModel(spec.simulation, rng);
  const int n = model.scm.n;
  const auto moments = drawLatentMoments(model, rng, spec.simulation.samples, context, spec.sampling);
  const auto R = scoreDiffCovariancesFromMoments(model, moments, spec.estimator);

  FiniteSampleOptions options;
  options.tolEigv = spec.tolEigv;
  options.tolOrth = spec.tolOrth;
  const FiniteSampleResult estimate = finiteSample(R, options, context);

  // Estimated latent t belongs to environment t + 1, which intervenes true node perm[t].
  std::vector<int> perm(static_cast<size_t>(n));
  for (int t = 0; t < n; ++t)
    perm[static_cast<size_t>(t)] = model.environments[static_cast<size_t>(t + 1)].targets.at(0);
  TrialResult result;
  result.graph = Adjacency::Constant(n, n, false);
  result.encoder = Matrix::Zero(n, model.transform.d);
  for (int a = 0; a < n; ++a) {
    result.encoder.row(perm[static_cast<size_t>(a)]) = estimate.encoder.row(a);
    for (int b = 0; b < n; ++b)
      result.graph(perm[static_cast<size_t>(a)], perm[static_cast<size_t>(b)]) = estimate.graphClosure(a, b);
  }
  for (int t : estimate.order) result.order.push_back(perm[static_cast<size_t>(t)]);
  result.graph = transitiveClosure(result.graph);

  const Adjacency truth = transitiveClosure(model.scm.adjacency);
  const GraphScores scores = compareGraphs(truth, result.graph);
  result.shd = scores.falsePositives + scores.falseNegatives;
  result.precision = scores.precision;
  result.recall = scores.recall;
  result.trueEdges = static_cast<int>(truth.count());
  result.estimatedEdges = static_cast<int>(result.graph.count());
  const MixingError mixing =
      effectiveMixingError(result.encoder, model.transform.decoder(), allowedPattern(model.scm.adjacency, false), 0.05);
  result.encoderError = mixing.offPatternSpectralNorm;
  result.incorrectMixing = mixing.incorrectCount;
  return result;
}

}  // namespace scorecrl
