#include "scorecrl/simulation/scm.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "scorecrl/linalg/repro_math.hpp"
#include "scorecrl/runtime/error.hpp"
#include "scorecrl/simulation/rng.hpp"

namespace scorecrl {

namespace {

using ColMatrix = Eigen::MatrixXd;

// Rows per internal block: the column-major copies of a block stay in cache.
constexpr Index kRows = 256;
// Redraw limit for the quadratic link matrices.
constexpr int kMaxRedraws = 100000;
constexpr double kLog2Pi = 1.8378770664093454835606594728112;

// f_j and, if grad is given, df_j/dz_pa (rows x k) at the parents' columns
// zpa (rows x k). Not for Linear (handled with matrix products). Plain loops
// in a fixed order, so that samples are bit-identical on every platform.
void mechanism(const LatentScm& scm, int j, const ColMatrix& zpa, Vector& f, ColMatrix* grad) {
  const Index rows = zpa.rows();
  const Index k = zpa.cols();
  f.resize(rows);
  if (grad) grad->resize(rows, k);
  if (k == 0) {
    f.setZero();
    return;
  }
  std::vector<double> z(static_cast<size_t>(k));
  if (scm.model == LatentModel::Quadratic) {
    const Matrix& a = scm.quadratic[static_cast<size_t>(j)];
    std::vector<double> az(static_cast<size_t>(k));
    for (Index r = 0; r < rows; ++r) {
      for (Index t = 0; t < k; ++t) z[static_cast<size_t>(t)] = zpa(r, t);
      double q = 0.0;
      for (Index b = 0; b < k; ++b) {
        double acc = 0.0;
        for (Index t = 0; t < k; ++t) acc += z[static_cast<size_t>(t)] * a(t, b);
        az[static_cast<size_t>(b)] = acc;
        q += acc * z[static_cast<size_t>(b)];
      }
      const double fr = std::sqrt(q);
      f[r] = fr;
      if (grad)
        for (Index b = 0; b < k; ++b) (*grad)(r, b) = az[static_cast<size_t>(b)] / fr;
    }
    return;
  }
  const MlpMechanism& m = scm.mlp[static_cast<size_t>(j)];
  const Index h = m.w1.rows();
  std::vector<double> g(static_cast<size_t>(k));
  for (Index r = 0; r < rows; ++r) {
    for (Index t = 0; t < k; ++t) z[static_cast<size_t>(t)] = zpa(r, t);
    double fr = 0.0;
    if (grad) std::fill(g.begin(), g.end(), 0.0);
    for (Index u = 0; u < h; ++u) {
      double pre = 0.0;
      for (Index t = 0; t < k; ++t) pre += m.w1(u, t) * z[static_cast<size_t>(t)];
      pre += m.b1[u];
      if (pre > 0.0) {
        fr += m.w2[u] * pre;
        if (grad)
          for (Index t = 0; t < k; ++t) g[static_cast<size_t>(t)] += m.w2[u] * m.w1(u, t);
      }
    }
    f[r] = fr + m.b2;
    if (grad)
      for (Index t = 0; t < k; ++t) (*grad)(r, t) = g[static_cast<size_t>(t)];
  }
}

ColMatrix gatherParents(const ColMatrix& z, const std::vector<int>& parents) {
  ColMatrix out(z.rows(), static_cast<Index>(parents.size()));
  for (size_t t = 0; t < parents.size(); ++t) out.col(static_cast<Index>(t)) = z.col(parents[t]);
  return out;
}

// Adds to s (rows x n) the score terms of node i for mechanism scales and
// variances (ca, va) minus those for (cb, vb); pass cb = vb = 0 for a single
// environment's term. f and grad are node i's mechanism and gradient.
void addNodeTerms(const LatentScm& scm, int i, const ColMatrix& z, const Vector& f, const ColMatrix* grad, double ca,
                  double va, double cb, double vb, ColMatrix& s) {
  const auto zi = z.col(i).array();
  Eigen::ArrayXd ra = -(zi - ca * f.array()) / va;
  Eigen::ArrayXd coef = ra * ca;
  if (vb > 0) {
    Eigen::ArrayXd rb = -(zi - cb * f.array()) / vb;
    ra -= rb;
    coef -= rb * cb;
  }
  s.col(i).array() += ra;
  const auto& pa = scm.parents[static_cast<size_t>(i)];
  for (size_t t = 0; t < pa.size(); ++t) {
    if (scm.model == LatentModel::Linear) {
      s.col(pa[t]).array() -= coef * scm.weights[static_cast<size_t>(i)][static_cast<Index>(t)];
    } else {
      s.col(pa[t]).array() -= coef * grad->col(static_cast<Index>(t)).array();
    }
  }
}

void checkEnvironment(const LatentScm& scm, const Environment& env, const char* function) {
  if (env.mechanismScale.size() != scm.n || env.noiseVariance.size() != scm.n)
    throw Error(function, "environment does not match the model (" + std::to_string(scm.n) + " nodes)");
}

// Runs body(start, rows, zc) over blocks of the rows of z (N x n, row-major),
// zc being the block as a column-major matrix.
template <typename Body>
void forBlocks(const double* z, Index N, Index n, Body body) {
  ColMatrix zc;
  for (Index start = 0; start < N; start += kRows) {
    const Index rows = std::min(kRows, N - start);
    zc = ConstMatrixMap(z + start * n, rows, n);
    body(start, rows, zc);
  }
}

}  // namespace

Matrix LatentScm::weightMatrix() const {
  Matrix w = Matrix::Zero(n, n);
  if (model != LatentModel::Linear) return w;
  for (int j = 0; j < n; ++j) {
    const auto& pa = parents[static_cast<size_t>(j)];
    for (size_t t = 0; t < pa.size(); ++t) w(pa[t], j) = weights[static_cast<size_t>(j)][static_cast<Index>(t)];
  }
  return w;
}

LatentScm drawLatentScm(int n, const ScmOptions& options, Generator& rng) {
  const char* fn = "drawLatentScm";
  if (n < 1) throw Error(fn, "'n' must be at least 1, got " + std::to_string(n));
  if (!(options.density >= 0.0 && options.density <= 1.0))
    throw Error(fn, "'density' must be in [0, 1], got " + std::to_string(options.density));
  if (options.model == LatentModel::Mlp && options.mlpHidden < 1)
    throw Error(fn, "'mlpHidden' must be at least 1, got " + std::to_string(options.mlpHidden));
  if (!(options.minSingularValue >= 0.0)) throw Error(fn, "'minSingularValue' must be non-negative");

  LatentScm scm;
  scm.model = options.model;
  scm.n = n;
  scm.order.resize(static_cast<size_t>(n));
  if (options.randomOrder) {
    const auto perm = rng.permutation(n);
    for (int k = 0; k < n; ++k) scm.order[static_cast<size_t>(k)] = static_cast<int>(perm[static_cast<size_t>(k)]);
  } else {
    for (int k = 0; k < n; ++k) scm.order[static_cast<size_t>(k)] = k;
  }
  std::vector<int> position(static_cast<size_t>(n));
  for (int k = 0; k < n; ++k) position[static_cast<size_t>(scm.order[static_cast<size_t>(k)])] = k;

  Matrix u(n, n);
  rng.fillRandom(u.data(), static_cast<size_t>(n) * static_cast<size_t>(n));
  scm.adjacency = Adjacency::Constant(n, n, false);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      const int a = position[static_cast<size_t>(i)], b = position[static_cast<size_t>(j)];
      scm.adjacency(i, j) = a < b && u(a, b) <= options.density;
    }
  scm.parents.assign(static_cast<size_t>(n), {});
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < n; ++i)
      if (scm.adjacency(i, j)) scm.parents[static_cast<size_t>(j)].push_back(i);

  scm.variances.resize(n);
  rng.fillRandom(scm.variances.data(), static_cast<size_t>(n));
  scm.variances.array() += 0.5;

  for (int j = 0; j < n; ++j) {
    const Index k = static_cast<Index>(scm.parents[static_cast<size_t>(j)].size());
    if (options.model == LatentModel::Linear) {
      Vector signs(k), magnitudes(k);
      rng.fillRandom(signs.data(), static_cast<size_t>(k));
      rng.fillRandom(magnitudes.data(), static_cast<size_t>(k));
      Vector w(k);
      for (Index t = 0; t < k; ++t) {
        const double s = signs[t] > 0.5 ? 1.0 : (signs[t] < 0.5 ? -1.0 : 0.0);
        w[t] = s * (0.5 + magnitudes[t]);
      }
      scm.weights.push_back(std::move(w));
    } else if (options.model == LatentModel::Quadratic) {
      Matrix l(k, k);
      const auto drawL = [&]() {
        rng.fillRandom(l.data(), static_cast<size_t>(k * k));
        l = (2.0 * l.array() - 1.0).matrix();
      };
      drawL();
      if (k > 0) {
        int tries = 1;
        while (Eigen::JacobiSVD<Matrix>(l).singularValues().minCoeff() < options.minSingularValue) {
          if (++tries > kMaxRedraws)
            throw Error(fn,
                        "could not draw a " + std::to_string(k) + "x" + std::to_string(k) +
                            " link matrix with smallest singular value >= " + std::to_string(options.minSingularValue) +
                            " in " + std::to_string(kMaxRedraws) + " tries; lower 'minSingularValue'",
                        ErrorCode::NoSolution);
          drawL();
        }
      }
      scm.quadratic.push_back(l.transpose() * l);
    } else {
      MlpMechanism m;
      if (k > 0) {
        const Index h = options.mlpHidden;
        const double in = 1.0 / std::sqrt(static_cast<double>(k));
        const double out = 1.0 / std::sqrt(static_cast<double>(h));
        m.w1.resize(h, k);
        m.b1.resize(h);
        m.w2.resize(h);
        rng.fillUniform(m.w1.data(), static_cast<size_t>(h * k), -in, in);
        rng.fillUniform(m.b1.data(), static_cast<size_t>(h), -in, in);
        rng.fillUniform(m.w2.data(), static_cast<size_t>(h), -out, out);
        m.b2 = rng.uniform(-out, out);
      }
      scm.mlp.push_back(std::move(m));
    }
  }
  return scm;
}

Environment observationalEnvironment(const LatentScm& scm) {
  Environment env;
  env.mechanismScale = Vector::Ones(scm.n);
  env.noiseVariance = scm.variances;
  return env;
}

Environment intervenedEnvironment(const LatentScm& scm, const std::vector<int>& targets, const InterventionSpec& spec) {
  const char* fn = "intervenedEnvironment";
  if (!(spec.factor > 0.0) || !std::isfinite(spec.factor))
    throw Error(fn, "the variance factor must be a positive finite number, got " + std::to_string(spec.factor));
  if (!spec.hard && !std::isfinite(spec.softScale)) throw Error(fn, "'softScale' must be finite");
  Environment env = observationalEnvironment(scm);
  for (int t : targets) {
    if (t < 0 || t >= scm.n)
      throw Error(fn, "target " + std::to_string(t) + " is not a node (0.." + std::to_string(scm.n - 1) + ")");
    if (std::find(env.targets.begin(), env.targets.end(), t) != env.targets.end()) continue;
    env.targets.push_back(t);
    env.mechanismScale[t] = spec.hard ? 0.0 : spec.softScale;
    env.noiseVariance[t] =
        spec.change == VarianceChange::Scale ? scm.variances[t] * spec.factor : scm.variances[t] + spec.factor;
  }
  std::sort(env.targets.begin(), env.targets.end());
  return env;
}

Matrix linearPrecision(const LatentScm& scm, const Environment& env) {
  if (scm.model != LatentModel::Linear) throw Error("linearPrecision", "the model is not linear");
  checkEnvironment(scm, env, "linearPrecision");
  // s(z) = -(I - W_c) V^{-1} (I - W_c)^T z with W_c(i, j) = c_j W(i, j).
  Matrix u = Matrix::Identity(scm.n, scm.n) - scm.weightMatrix() * env.mechanismScale.asDiagonal();
  return u * env.noiseVariance.cwiseInverse().asDiagonal() * u.transpose();
}

LatentSampler::LatentSampler(const LatentScm& scm, const Environment& env, bool reproducible)
    : scm_(&scm), env_(&env), reproducible_(reproducible) {
  checkEnvironment(scm, env, "LatentSampler");
  noiseScale_ = env.noiseVariance.cwiseSqrt();
  if (scm.model == LatentModel::Linear) {
    // Row form z^T = (sqrt(v) .* e)^T (I - W_c)^{-1}. Y = (I - W_c)^{-1}
    // satisfies Y = I + W_c Y; W_c(i, k) != 0 only for children k of i, so
    // rows of Y follow in reverse topological order.
    const int n = scm.n;
    Matrix wc = scm.weightMatrix() * env.mechanismScale.asDiagonal();
    Matrix y = Matrix::Zero(n, n);
    Matrix row(1, n);
    for (int q = n - 1; q >= 0; --q) {
      const int i = scm.order[static_cast<size_t>(q)];
      repro::product(wc.data() + static_cast<Index>(i) * n, 1, n, y.data(), n, row.data());
      y.row(i) = row;
      y(i, i) += 1.0;
    }
    linearMap_ = noiseScale_.asDiagonal() * y;
    if (!reproducible_) fastMap_ = SmallProduct(linearMap_);
  }
}

void LatentSampler::operator()(double* block, Index rows) const {
  const LatentScm& scm = *scm_;
  const Index n = scm.n;
  MatrixMap out(block, rows, n);
  if (scm.model == LatentModel::Linear) {
    std::vector<double> e(static_cast<size_t>(std::min(kRows, rows) * n));
    for (Index start = 0; start < rows; start += kRows) {
      const Index r = std::min(kRows, rows - start);
      std::copy(block + start * n, block + (start + r) * n, e.begin());
      if (reproducible_)
        repro::product(e.data(), r, n, linearMap_.data(), n, block + start * n);
      else
        fastMap_.apply(e.data(), r, block + start * n);
    }
    return;
  }
  ColMatrix z;
  Vector f;
  for (Index start = 0; start < rows; start += kRows) {
    const Index r = std::min(kRows, rows - start);
    z = out.middleRows(start, r);
    for (int j : scm.order) {
      const double c = env_->mechanismScale[j];
      z.col(j) *= noiseScale_[j];
      if (c != 0.0 && !scm.parents[static_cast<size_t>(j)].empty()) {
        mechanism(scm, j, gatherParents(z, scm.parents[static_cast<size_t>(j)]), f, nullptr);
        z.col(j) += c * f;
      }
    }
    out.middleRows(start, r) = z;
  }
}

void sampleLatents(const LatentScm& scm, const Environment& env, Generator& rng, Index N, double* z) {
  rng.fillStandardNormal(z, static_cast<size_t>(N * scm.n));
  LatentSampler(scm, env)(z, N);
}

void latentScore(const LatentScm& scm, const Environment& env, const double* z, Index N, double* out) {
  checkEnvironment(scm, env, "latentScore");
  const Index n = scm.n;
  if (scm.model == LatentModel::Linear) {
    MatrixMap(out, N, n).noalias() = -(ConstMatrixMap(z, N, n) * linearPrecision(scm, env));
    return;
  }
  Vector f;
  ColMatrix grad, s;
  forBlocks(z, N, n, [&](Index start, Index rows, const ColMatrix& zc) {
    s.setZero(rows, n);
    for (int i = 0; i < scm.n; ++i) {
      mechanism(scm, i, gatherParents(zc, scm.parents[static_cast<size_t>(i)]), f, &grad);
      addNodeTerms(scm, i, zc, f, &grad, env.mechanismScale[i], env.noiseVariance[i], 0.0, 0.0, s);
    }
    MatrixMap(out + start * n, rows, n) = s;
  });
}

void latentScoreDifference(const LatentScm& scm, const Environment& a, const Environment& b, const double* z, Index N,
                           double* out) {
  checkEnvironment(scm, a, "latentScoreDifference");
  checkEnvironment(scm, b, "latentScoreDifference");
  const Index n = scm.n;
  if (scm.model == LatentModel::Linear) {
    MatrixMap(out, N, n).noalias() = ConstMatrixMap(z, N, n) * (linearPrecision(scm, b) - linearPrecision(scm, a));
    return;
  }
  std::vector<int> differing;
  for (int i = 0; i < scm.n; ++i)
    if (a.mechanismScale[i] != b.mechanismScale[i] || a.noiseVariance[i] != b.noiseVariance[i]) differing.push_back(i);
  Vector f;
  ColMatrix grad, s;
  forBlocks(z, N, n, [&](Index start, Index rows, const ColMatrix& zc) {
    s.setZero(rows, n);
    for (int i : differing) {
      mechanism(scm, i, gatherParents(zc, scm.parents[static_cast<size_t>(i)]), f, &grad);
      addNodeTerms(scm, i, zc, f, &grad, a.mechanismScale[i], a.noiseVariance[i], b.mechanismScale[i],
                   b.noiseVariance[i], s);
    }
    MatrixMap(out + start * n, rows, n) = s;
  });
}

void latentLogDensity(const LatentScm& scm, const Environment& env, const double* z, Index N, double* out) {
  checkEnvironment(scm, env, "latentLogDensity");
  const Index n = scm.n;
  const double constant = -0.5 * (n * kLog2Pi + env.noiseVariance.array().log().sum());
  Vector f;
  forBlocks(z, N, n, [&](Index start, Index rows, const ColMatrix& zc) {
    Eigen::ArrayXd total = Eigen::ArrayXd::Constant(rows, constant);
    for (int i = 0; i < scm.n; ++i) {
      const auto& pa = scm.parents[static_cast<size_t>(i)];
      if (scm.model == LatentModel::Linear) {
        f = pa.empty() ? Vector::Zero(rows) : Vector(gatherParents(zc, pa) * scm.weights[static_cast<size_t>(i)]);
      } else {
        mechanism(scm, i, gatherParents(zc, pa), f, nullptr);
      }
      const Eigen::ArrayXd resid = zc.col(i).array() - env.mechanismScale[i] * f.array();
      total -= 0.5 * resid.square() / env.noiseVariance[i];
    }
    Eigen::Map<Vector>(out + start, rows) = total.matrix();
  });
}

}  // namespace scorecrl
