#include "scorecrl/algorithms/edge_tests.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <utility>

#include "scorecrl/runtime/ops.hpp"

namespace scorecrl {

namespace {

constexpr const char* kFunction = "lscale";
constexpr const char* kGraphFunction = "interventionalGraph";
constexpr int kMaxOrderNodes = 20;
// Per-latent features: the linear one first (kept in both fits), then the nonlinear ones.
constexpr Index kPerLatent = 6;

// KL(N(mu0 + mu, v1) || N(mu0, v0)) of a scalar: how far environment 1 moved a latent.
double gaussianShift(double v0, double v1, double mu) {
  const double r = v1 / v0;
  return 0.5 * (r - 1.0 - std::log(r) + mu * mu / v0);
}

// log of the complete beta function.
double logBeta(double a, double b) { return std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b); }

// Continued fraction of the incomplete beta function (modified Lentz), valid for x < (a+1)/(a+b+2).
double betaContinuedFraction(double a, double b, double x) {
  constexpr double tiny = 1e-300;
  constexpr double eps = 1e-15;
  double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
  if (std::abs(d) < tiny) d = tiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    double coefficient = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
    for (int pass = 0; pass < 2; ++pass) {
      d = 1.0 + coefficient * d;
      if (std::abs(d) < tiny) d = tiny;
      c = 1.0 + coefficient / c;
      if (std::abs(c) < tiny) c = tiny;
      d = 1.0 / d;
      const double delta = c * d;
      h *= delta;
      if (pass == 1 && std::abs(delta - 1.0) < eps) return h;
      coefficient = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
    }
  }
  return h;
}

// Regularised incomplete beta I_x(a, b).
double regularisedBeta(double x, double a, double b) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const double front = std::exp(a * std::log(x) + b * std::log1p(-x) - logBeta(a, b));
  if (x < (a + 1.0) / (a + b + 2.0)) return front * betaContinuedFraction(a, b, x) / a;
  return 1.0 - front * betaContinuedFraction(b, a, 1.0 - x) / b;
}

}  // namespace

double fDistributionSurvival(double f, double d1, double d2) {
  if (!(f > 0.0)) return 1.0;
  if (!std::isfinite(f)) return 0.0;
  return regularisedBeta(d2 / (d2 + d1 * f), 0.5 * d2, 0.5 * d1);
}

Matrix interventionalShifts(const Matrix& encoder, const std::vector<Matrix>& covariance,
                            const std::vector<Vector>& mean) {
  const Index n = encoder.rows();
  Matrix shift(n, n);
  for (Index m = 0; m < n; ++m)
    for (Index k = 0; k < n; ++k) {
      const Vector w = encoder.row(k).transpose();
      const double v0 = w.dot(covariance[0] * w);
      const double v1 = w.dot(covariance[static_cast<size_t>(m) + 1] * w);
      const double mu = mean.empty() ? 0.0 : w.dot(mean[static_cast<size_t>(m) + 1] - mean[0]);
      if (!(v0 > 0.0) || !(v1 > 0.0))
        throw Error(kFunction, "latent " + std::to_string(k) + " has no variance in environment " +
                                   std::to_string(v0 > 0.0 ? m + 1 : 0) + " (rank-deficient environment)");
      shift(m, k) = gaussianShift(v0, v1, mu);
    }
  return shift;
}

Matrix interventionalShiftPValues(const Matrix& encoder, const std::vector<Matrix>& covariance,
                                  const std::vector<Vector>& mean, double samples) {
  const Index n = encoder.rows();
  if (!(samples > 2.0))
    throw Error(kFunction, "the shift tests need the number of samples per environment (more than 2)");
  Matrix p = Matrix::Constant(n, n, std::numeric_limits<double>::quiet_NaN());
  const double df = samples - 1.0;
  for (Index j = 0; j < n; ++j)
    for (Index m = 0; m < n; ++m) {
      if (j == m) continue;
      const Vector w = encoder.row(m).transpose();
      const double v0 = w.dot(covariance[0] * w);
      const double v1 = w.dot(covariance[static_cast<size_t>(j) + 1] * w);
      const double upper = fDistributionSurvival(v1 / v0, df, df);
      const double variance = 2.0 * std::min(upper, 1.0 - upper);
      const double mu = mean.empty() ? 0.0 : w.dot(mean[static_cast<size_t>(j) + 1] - mean[0]);
      const double z = std::abs(mu) / std::sqrt((v0 + v1) / samples);
      const double location = std::erfc(z / std::sqrt(2.0));
      p(j, m) = std::min(1.0, 2.0 * std::min(variance, location));
    }
  return p;
}

std::vector<int> interventionalOrder(const Matrix& shift) {
  const int n = static_cast<int>(shift.rows());
  if (n > kMaxOrderNodes)
    throw Error(kFunction, "the interventional order supports at most " + std::to_string(kMaxOrderNodes) + " latents");
  const size_t states = size_t{1} << n;
  std::vector<double> cost(states, std::numeric_limits<double>::infinity());
  std::vector<int> last(states, -1);
  cost[0] = 0.0;
  for (size_t placed = 0; placed < states; ++placed) {
    if (!std::isfinite(cost[placed])) continue;
    for (int v = 0; v < n; ++v) {
      if (placed >> v & 1U) continue;
      // v after every latent in `placed`: intervening on v would shift those, against the order.
      double c = cost[placed];
      for (int s = 0; s < n; ++s)
        if (placed >> s & 1U) c += shift(v, s);
      const size_t next = placed | (size_t{1} << v);
      if (c < cost[next]) {
        cost[next] = c;
        last[next] = v;
      }
    }
  }
  std::vector<int> order(static_cast<size_t>(n));
  size_t state = states - 1;
  for (int t = n - 1; t >= 0; --t) {
    const int v = last[state];
    order[static_cast<size_t>(t)] = v;
    state &= ~(size_t{1} << v);
  }
  return order;
}

EdgeTests regressionEdgeTests(const Matrix& latents, const Vector& weights, const std::vector<int>& order,
                              const Context* context, const char* function) {
  const Index N = latents.rows(), n = latents.cols();
  const bool weighted = weights.size() > 0;
  const Vector w = weighted ? weights : Vector::Ones(N);
  const double total = w.sum();
  EdgeTests out;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  out.pValue = Matrix::Constant(n, n, nan);
  out.share = Matrix::Constant(n, n, nan);
  out.totalPValue = Matrix::Constant(n, n, nan);
  out.totalShare = Matrix::Constant(n, n, nan);
  // Standardised latents (weighted moments).
  Matrix a(N, n);
  for (Index k = 0; k < n; ++k) {
    const double mu = w.dot(latents.col(k)) / total;
    const Vector centred = latents.col(k).array() - mu;
    const double var = w.dot(centred.cwiseProduct(centred)) / total;
    if (!(var > 0.0))
      throw Error(function, "latent " + std::to_string(k) + " has no variance in the observational samples");
    a.col(k) = centred / std::sqrt(var);
  }
  for (size_t t = 1; t < order.size(); ++t) {
    if (context) context->checkCancelled(function);
    const int m = order[t];
    const Index k = static_cast<Index>(t);  // latents before m
    // Columns: intercept, per earlier latent its kPerLatent features, then the pair products.
    const Index p = 1 + kPerLatent * k + k * (k - 1) / 2;
    if (static_cast<double>(p) + 1.0 >= total)
      throw Error(function, "the edge tests need more observational samples than their " + std::to_string(p) +
                                " regression terms (latent " + std::to_string(m) + ")");
    Matrix features(N, p);
    std::vector<std::vector<Index>> nonlinear(static_cast<size_t>(k));
    std::vector<Index> linear(static_cast<size_t>(k));
    features.col(0).setOnes();
    Index col = 1;
    for (Index i = 0; i < k; ++i) {
      const Vector z = a.col(order[static_cast<size_t>(i)]);
      linear[static_cast<size_t>(i)] = col;
      features.col(col++) = z;
      for (Index f = 1; f < kPerLatent; ++f) nonlinear[static_cast<size_t>(i)].push_back(col + f - 1);
      features.col(col++) = z.cwiseProduct(z);
      features.col(col++) = z.cwiseProduct(z).cwiseProduct(z);
      features.col(col++) = (z.array() - 1.0).max(0.0).matrix();
      features.col(col++) = (-z.array() - 1.0).max(0.0).matrix();
      features.col(col++) = z.array().max(0.0).matrix();
    }
    for (Index i = 0; i < k; ++i)
      for (Index j = i + 1; j < k; ++j) {
        features.col(col) = a.col(order[static_cast<size_t>(i)]).cwiseProduct(a.col(order[static_cast<size_t>(j)]));
        nonlinear[static_cast<size_t>(i)].push_back(col);
        nonlinear[static_cast<size_t>(j)].push_back(col);
        ++col;
      }
    const Matrix weightedFeatures = w.asDiagonal() * features;
    const Matrix gram = features.transpose() * weightedFeatures;
    const Vector y = a.col(m);
    const Vector cross = weightedFeatures.transpose() * y;
    const double yy = w.dot(y.cwiseProduct(y));
    // Residual sum of squares of the fit on the columns `keep`.
    auto rss = [&](const std::vector<Index>& keep) {
      const Index q = static_cast<Index>(keep.size());
      Matrix g(q, q);
      Vector h(q);
      for (Index r = 0; r < q; ++r) {
        h(r) = cross(keep[static_cast<size_t>(r)]);
        for (Index c = 0; c < q; ++c) g(r, c) = gram(keep[static_cast<size_t>(r)], keep[static_cast<size_t>(c)]);
      }
      // A small ridge relative to the diagonal keeps collinear features (a latent with few
      // distinct values) from breaking the solve; it changes well-posed fits by ~1e-10.
      g.diagonal().array() += 1e-10 * g.diagonal().maxCoeff();
      const Vector beta = g.ldlt().solve(h);
      return std::max(0.0, yy - h.dot(beta));
    };
    std::vector<Index> all(static_cast<size_t>(p));
    for (Index c = 0; c < p; ++c) all[static_cast<size_t>(c)] = c;
    const double full = rss(all);
    const double df2 = total - static_cast<double>(p);
    // F-test of the fit without the columns `drop` against the full fit: p-value and variance share.
    auto test = [&](const std::vector<Index>& drop) {
      std::vector<Index> keep;
      for (Index c = 0; c < p; ++c)
        if (std::find(drop.begin(), drop.end(), c) == drop.end()) keep.push_back(c);
      const double gain = std::max(0.0, rss(keep) - full);
      const double df1 = static_cast<double>(drop.size());
      const double f = full > 0.0 ? (gain / df1) / (full / df2) : std::numeric_limits<double>::infinity();
      return std::make_pair(fDistributionSurvival(f, df1, df2), gain / yy);
    };
    for (Index i = 0; i < k; ++i) {
      const int j = order[static_cast<size_t>(i)];
      std::vector<Index> drop = nonlinear[static_cast<size_t>(i)];
      std::tie(out.pValue(j, m), out.share(j, m)) = test(drop);
      drop.push_back(linear[static_cast<size_t>(i)]);
      std::tie(out.totalPValue(j, m), out.totalShare(j, m)) = test(drop);
    }
  }
  return out;
}

EdgeDecisionFromTests decideFromTests(const EdgeTests& tests, double edgeLevel, double linearShareFloor) {
  const Index n = tests.pValue.rows();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double pairs = n > 1 ? static_cast<double>(n * (n - 1) / 2) : 1.0;
  const double level = edgeLevel / pairs;
  EdgeDecisionFromTests out{Adjacency::Constant(n, n, false), Matrix::Constant(n, n, nan), Matrix::Constant(n, n, nan),
                            level};
  for (Index j = 0; j < n; ++j)
    for (Index m = 0; m < n; ++m) {
      if (std::isnan(tests.pValue(j, m))) continue;
      // The nonlinear test decides; a large enough total share (a linear mechanism) also makes an edge.
      const bool linearEdge = tests.totalShare(j, m) >= linearShareFloor && tests.totalPValue(j, m) < level;
      const double p = linearEdge && !(tests.pValue(j, m) < level) ? tests.totalPValue(j, m) : tests.pValue(j, m);
      out.pValue(j, m) = p;
      out.graph(j, m) = p < level;
      out.margin(j, m) = std::log10(level) - std::log10(std::max(p, 1e-300));
    }
  return out;
}

namespace {

struct Moments {
  Vector mean;
  Matrix covariance;
  double rows = 0;
};

Moments momentsOf(const Matrix& z) {
  Moments m;
  m.rows = static_cast<double>(z.rows());
  m.mean = z.colwise().mean().transpose();
  const Matrix centred = z.rowwise() - m.mean.transpose();
  m.covariance = centred.transpose() * centred / m.rows;
  return m;
}

}  // namespace

InterventionalGraph interventionalGraph(const std::vector<Matrix>& latents, const Adjacency& targets, double edgeLevel,
                                        double linearShareFloor, const Context* context) {
  const Index K1 = static_cast<Index>(latents.size());
  if (K1 < 2) throw Error(kGraphFunction, "needs the observational environment and at least one interventional one");
  const Index n = latents[0].cols();
  if (targets.rows() != n || targets.cols() != K1 - 1)
    throw Error(kGraphFunction, "'targets' must be n x K = " + std::to_string(n) + " x " + std::to_string(K1 - 1));
  std::vector<Moments> env;
  for (Index k = 0; k < K1; ++k) {
    if (latents[static_cast<size_t>(k)].cols() != n)
      throw Error(kGraphFunction, "environment " + std::to_string(k) + " has latents of another dimension");
    if (latents[static_cast<size_t>(k)].rows() < 3)
      throw Error(kGraphFunction, "environment " + std::to_string(k) + " has fewer than 3 rows");
    env.push_back(momentsOf(latents[static_cast<size_t>(k)]));
  }
  std::vector<std::vector<Index>> environmentsOf(static_cast<size_t>(n));
  for (Index i = 0; i < n; ++i) {
    for (Index e = 0; e < K1 - 1; ++e)
      if (targets(i, e)) environmentsOf[static_cast<size_t>(i)].push_back(e + 1);
    if (environmentsOf[static_cast<size_t>(i)].empty())
      throw Error(kGraphFunction, "latent " + std::to_string(i) + " has no intervening environment in 'targets'");
  }
  InterventionalGraph out;
  // 1. Order.
  Matrix evidence = Matrix::Zero(n, n);
  for (Index j = 0; j < n; ++j)
    for (Index m = 0; m < n; ++m) {
      if (j == m) continue;
      for (Index e : environmentsOf[static_cast<size_t>(j)]) {
        const Moments& a = env[0];
        const Moments& b = env[static_cast<size_t>(e)];
        if (!(a.covariance(m, m) > 0.0) || !(b.covariance(m, m) > 0.0))
          throw Error(kGraphFunction, "latent " + std::to_string(m) + " has no variance in environment " +
                                          std::to_string(a.covariance(m, m) > 0.0 ? e : 0));
        const double shift = gaussianShift(a.covariance(m, m), b.covariance(m, m), b.mean(m) - a.mean(m));
        evidence(j, m) = std::max(evidence(j, m), std::min(a.rows, b.rows) * shift / std::log(10.0));
      }
    }
  out.order = interventionalOrder(evidence);
  // 2. Unmixing, tracked as W on the environments' covariances.
  Matrix W = Matrix::Identity(n, n);
  for (Index t = 1; t < n; ++t) {
    if (context) context->checkCancelled(kGraphFunction);
    const int m = out.order[static_cast<size_t>(t)];
    std::vector<Index> P(out.order.begin(), out.order.begin() + t);
    const Index k = static_cast<Index>(P.size());
    const std::vector<Index>& envs = environmentsOf[static_cast<size_t>(m)];
    auto block = [&](Index e) { return Matrix(W * env[static_cast<size_t>(e)].covariance * W.transpose()); };
    const Matrix Ca = block(envs[0]);
    Vector ca(k), eps = Vector::Zero(k);
    Matrix sigma(k, k);
    for (Index i = 0; i < k; ++i) {
      ca(i) = Ca(P[static_cast<size_t>(i)], m);
      for (Index j = 0; j < k; ++j) sigma(i, j) = Ca(P[static_cast<size_t>(i)], P[static_cast<size_t>(j)]);
    }
    const double Va = Ca(m, m);
    const Matrix plain = sigma;
    if (envs.size() >= 2) {
      const Matrix Cb = block(envs[1]);
      const double Vb = Cb(m, m);
      // Two strengths of the same intervention: the predecessors' covariance with m changes with
      // m's variance only through their leakage of m (their own distribution is the same).
      if (std::abs(Vb - Va) > 1e-3 * std::max(Va, Vb)) {
        for (Index i = 0; i < k; ++i) eps(i) = (Cb(P[static_cast<size_t>(i)], m) - ca(i)) / (Vb - Va);
        sigma -= eps * eps.transpose() * Va;
      }
    }
    auto positive = [](const Eigen::LDLT<Matrix>& f, const Matrix& a) {
      return f.info() == Eigen::Success && f.vectorD().minCoeff() > 1e-12 * a.diagonal().cwiseAbs().maxCoeff();
    };
    Eigen::LDLT<Matrix> ldlt(0.5 * (sigma + sigma.transpose()));
    if (!positive(ldlt, sigma)) {
      // The leakage estimate is too noisy to correct for here: the one-sided regression instead.
      eps.setZero();
      ldlt.compute(plain);
    }
    if (!positive(ldlt, plain))
      throw Error(kGraphFunction,
                  "the latents before latent " + std::to_string(m) + " are collinear in its environment " +
                      std::to_string(envs[0]),
                  ErrorCode::NoSolution);
    const Vector beta = ldlt.solve(ca - eps * Va);
    for (Index i = 0; i < k; ++i) W.row(m) -= beta(i) * W.row(P[static_cast<size_t>(i)]);
    for (Index i = 0; i < k; ++i) W.row(P[static_cast<size_t>(i)]) -= eps(i) * W.row(m);
  }
  out.unmixing = W;
  // 3. Tests on the unmixed observational latents.
  const EdgeTests tests = regressionEdgeTests(latents[0] * W.transpose(), Vector(), out.order, context, kGraphFunction);
  EdgeDecisionFromTests decision = decideFromTests(tests, edgeLevel, linearShareFloor);
  out.level = decision.level;
  out.graph = std::move(decision.graph);
  out.pValue = std::move(decision.pValue);
  out.margin = std::move(decision.margin);
  out.share = tests.totalShare;
  return out;
}

}  // namespace scorecrl
