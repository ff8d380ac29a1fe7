#include "scorecrl/simulation/mixing.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "scorecrl/linalg/repro_math.hpp"
#include "scorecrl/runtime/error.hpp"
#include "scorecrl/simulation/rng.hpp"

namespace scorecrl {

namespace {

constexpr Index kRows = 256;
constexpr int kMaxRedraws = 1000000;

Matrix pseudoInverse(const Matrix& w) { return w.completeOrthogonalDecomposition().pseudoInverse(); }

// Per-point state of the tanh layers (row-major buffers, reused across
// points): h_l, s_l = sech^2(a_l), B_l = W_l J_{l-1} = da_l/dz (d x n), and
// J = J_L with J_l = diag(s_l) B_l. Every sum runs in a fixed order (see
// repro_math.hpp), so results are identical on every platform.
struct PointState {
  std::vector<std::vector<double>> h, s, b;
  std::vector<double> j, jPrev, m, chol, y, w, minv, q, qNext, g, grad;
};

void evaluatePoint(const Mixing& t, const double* z, PointState& st) {
  const size_t layers = t.weights.size();
  const Index n = t.n, d = t.d;
  st.h.resize(layers);
  st.s.resize(layers);
  st.b.resize(layers);
  st.j.resize(static_cast<size_t>(d * n));
  for (size_t l = 0; l < layers; ++l) {
    const Matrix& w = t.weights[l];
    const Index cols = w.cols();
    const double* input = l == 0 ? z : st.h[l - 1].data();
    auto& h = st.h[l];
    auto& s = st.s[l];
    auto& b = st.b[l];
    h.resize(static_cast<size_t>(d));
    s.resize(static_cast<size_t>(d));
    b.resize(static_cast<size_t>(d * n));
    for (Index i = 0; i < d; ++i) {
      double a = 0.0;
      for (Index k = 0; k < cols; ++k) a += w(i, k) * input[k];
      a += t.biases[l][i];
      h[static_cast<size_t>(i)] = repro::tanh(a);
      s[static_cast<size_t>(i)] = repro::sech2(a);
    }
    if (l == 0) {
      std::copy(w.data(), w.data() + d * n, b.begin());
    } else {
      st.jPrev = st.j;
      repro::product(w.data(), d, d, st.jPrev.data(), n, b.data());
    }
    for (Index i = 0; i < d; ++i)
      for (Index c = 0; c < n; ++c)
        st.j[static_cast<size_t>(i * n + c)] = s[static_cast<size_t>(i)] * b[static_cast<size_t>(i * n + c)];
  }
}

// Cholesky factor (lower, row-major) of m (n x n); false if not positive definite.
bool cholesky(const std::vector<double>& m, Index n, std::vector<double>& l) {
  l.assign(static_cast<size_t>(n * n), 0.0);
  for (Index i = 0; i < n; ++i) {
    for (Index c = 0; c <= i; ++c) {
      double sum = m[static_cast<size_t>(i * n + c)];
      for (Index k = 0; k < c; ++k) sum -= l[static_cast<size_t>(i * n + k)] * l[static_cast<size_t>(c * n + k)];
      if (c == i) {
        if (!(sum > 0.0)) return false;
        l[static_cast<size_t>(i * n + i)] = std::sqrt(sum);
      } else {
        l[static_cast<size_t>(i * n + c)] = sum / l[static_cast<size_t>(c * n + c)];
      }
    }
  }
  return true;
}

// Solves L L^T y = w in place.
void cholSolve(const std::vector<double>& l, Index n, double* y) {
  for (Index i = 0; i < n; ++i) {
    double sum = y[i];
    for (Index k = 0; k < i; ++k) sum -= l[static_cast<size_t>(i * n + k)] * y[k];
    y[i] = sum / l[static_cast<size_t>(i * n + i)];
  }
  for (Index i = n - 1; i >= 0; --i) {
    double sum = y[i];
    for (Index k = i + 1; k < n; ++k) sum -= l[static_cast<size_t>(k * n + i)] * y[k];
    y[i] = sum / l[static_cast<size_t>(i * n + i)];
  }
}

// M = J^T J (n x n).
void gram(const std::vector<double>& j, Index d, Index n, std::vector<double>& m) {
  m.assign(static_cast<size_t>(n * n), 0.0);
  for (Index p = 0; p < n; ++p)
    for (Index q = 0; q <= p; ++q) {
      double sum = 0.0;
      for (Index i = 0; i < d; ++i) sum += j[static_cast<size_t>(i * n + p)] * j[static_cast<size_t>(i * n + q)];
      m[static_cast<size_t>(p * n + q)] = sum;
      m[static_cast<size_t>(q * n + p)] = sum;
    }
}

// grad V, V = 1/2 log det(J^T J): sum_l B_l^T g_l with
// g_l[k] = -2 s_l[k] h_l[k] (B_l M^{-1} Q_l^T)[k][k], Q_L = J,
// Q_{l-1} = W_l^T diag(s_l) Q_l (Q_l = (dx/dh_l)^T J).
void volumeGradient(const Mixing& t, PointState& st) {
  const Index n = t.n, d = t.d;
  st.minv.assign(static_cast<size_t>(n * n), 0.0);
  for (Index c = 0; c < n; ++c) {
    st.y.assign(static_cast<size_t>(n), 0.0);
    st.y[static_cast<size_t>(c)] = 1.0;
    cholSolve(st.chol, n, st.y.data());
    for (Index r = 0; r < n; ++r) st.minv[static_cast<size_t>(r * n + c)] = st.y[static_cast<size_t>(r)];
  }
  st.grad.assign(static_cast<size_t>(n), 0.0);
  st.q = st.j;
  std::vector<double> bm(static_cast<size_t>(d * n));
  for (size_t l = t.weights.size(); l-- > 0;) {
    const auto& b = st.b[l];
    repro::product(b.data(), d, n, st.minv.data(), n, bm.data());
    for (Index k = 0; k < d; ++k) {
      double diag = 0.0;
      for (Index c = 0; c < n; ++c) diag += bm[static_cast<size_t>(k * n + c)] * st.q[static_cast<size_t>(k * n + c)];
      const double g = -2.0 * st.s[l][static_cast<size_t>(k)] * st.h[l][static_cast<size_t>(k)] * diag;
      for (Index c = 0; c < n; ++c) st.grad[static_cast<size_t>(c)] += b[static_cast<size_t>(k * n + c)] * g;
    }
    if (l > 0) {
      // Q_{l-1}[k][c] = sum_i W_l[i][k] s_l[i] Q_l[i][c]
      const Matrix& w = t.weights[l];
      st.qNext.assign(static_cast<size_t>(d * n), 0.0);
      for (Index i = 0; i < d; ++i) {
        const double si = st.s[l][static_cast<size_t>(i)];
        for (Index k = 0; k < d; ++k) {
          const double wik = w(i, k) * si;
          for (Index c = 0; c < n; ++c)
            st.qNext[static_cast<size_t>(k * n + c)] += wik * st.q[static_cast<size_t>(i * n + c)];
        }
      }
      st.q.swap(st.qNext);
    }
  }
}

// Householder QR of a square row-major matrix (LAPACK's dgeqr2/dorg2r
// conventions): returns Q and the diagonal of R. Plain loops in a fixed order.
Matrix householderQ(Matrix a, Vector& rDiag) {
  const Index d = a.rows();
  std::vector<double> tau(static_cast<size_t>(d), 0.0);
  rDiag.resize(d);
  for (Index j = 0; j < d; ++j) {
    const double alpha = a(j, j);
    double xnorm2 = 0.0;
    for (Index i = j + 1; i < d; ++i) xnorm2 += a(i, j) * a(i, j);
    if (xnorm2 == 0.0) {
      rDiag[j] = alpha;
      continue;
    }
    const double norm = std::sqrt(alpha * alpha + xnorm2);
    const double beta = alpha >= 0 ? -norm : norm;
    tau[static_cast<size_t>(j)] = (beta - alpha) / beta;
    const double scale = 1.0 / (alpha - beta);
    for (Index i = j + 1; i < d; ++i) a(i, j) *= scale;
    rDiag[j] = beta;
    // Apply H = I - tau v v^T (v = [1, a(j+1.., j)]) to the columns right of j.
    for (Index c = j + 1; c < d; ++c) {
      double w = a(j, c);
      for (Index i = j + 1; i < d; ++i) w += a(i, j) * a(i, c);
      w *= tau[static_cast<size_t>(j)];
      a(j, c) -= w;
      for (Index i = j + 1; i < d; ++i) a(i, c) -= w * a(i, j);
    }
  }
  // Q = H_0 H_1 ... H_{d-1}, accumulated backwards on the identity.
  Matrix q = Matrix::Identity(d, d);
  for (Index j = d - 1; j >= 0; --j) {
    const double t = tau[static_cast<size_t>(j)];
    if (t == 0.0) continue;
    for (Index c = j; c < d; ++c) {
      double w = q(j, c);
      for (Index i = j + 1; i < d; ++i) w += a(i, j) * q(i, c);
      w *= t;
      q(j, c) -= w;
      for (Index i = j + 1; i < d; ++i) q(i, c) -= w * a(i, j);
    }
  }
  return q;
}

}  // namespace

void Mixing::forward(const double* z, Index N, double* x) const {
  ConstMatrixMap zm(z, N, n);
  MatrixMap xm(x, N, d);
  if (linear()) {
    for (Index start = 0; start < N; start += kRows) {
      const Index r = std::min(kRows, N - start);
      xm.middleRows(start, r).noalias() = zm.middleRows(start, r) * weights[0].transpose();
    }
    return;
  }
  std::vector<Matrix> transposed;
  for (const Matrix& w : weights) transposed.push_back(w.transpose());
  Matrix a, h;
  for (Index start = 0; start < N; start += kRows) {
    const Index r = std::min(kRows, N - start);
    for (size_t l = 0; l < weights.size(); ++l) {
      a.resize(r, d);
      if (l == 0)
        repro::product(z + start * n, r, n, transposed[0].data(), d, a.data());
      else
        repro::product(h.data(), r, d, transposed[l].data(), d, a.data());
      h.resize(r, d);
      for (Index i = 0; i < r; ++i)
        for (Index k = 0; k < d; ++k) h(i, k) = repro::tanh(a(i, k) + biases[l][k]);
    }
    xm.middleRows(start, r) = h;
  }
}

void Mixing::inverse(const double* x, Index N, double* z) const {
  ConstMatrixMap xm(x, N, d);
  MatrixMap zm(z, N, n);
  if (linear()) {
    for (Index start = 0; start < N; start += kRows) {
      const Index r = std::min(kRows, N - start);
      zm.middleRows(start, r).noalias() = xm.middleRows(start, r) * encoder().transpose();
    }
    return;
  }
  Matrix h, a;
  for (Index start = 0; start < N; start += kRows) {
    const Index r = std::min(kRows, N - start);
    h = xm.middleRows(start, r);
    for (size_t l = weights.size(); l-- > 0;) {
      a = h.array().atanh().matrix();
      a.rowwise() -= biases[l].transpose();
      h.noalias() = a * pseudoInverses[l].transpose();
    }
    zm.middleRows(start, r) = h;
  }
}

Matrix Mixing::jacobian(const double* z) const {
  if (linear()) return weights[0];
  PointState st;
  evaluatePoint(*this, z, st);
  return Eigen::Map<const Matrix>(st.j.data(), d, n);
}

void Mixing::logVolume(const double* z, Index N, double* out) const {
  if (linear()) {
    const Eigen::LLT<Matrix> llt(weights[0].transpose() * weights[0]);
    const double v = llt.matrixLLT().diagonal().array().log().sum();
    std::fill(out, out + N, v);
    return;
  }
  PointState st;
  for (Index t = 0; t < N; ++t) {
    evaluatePoint(*this, z + t * n, st);
    gram(st.j, d, n, st.m);
    if (!cholesky(st.m, n, st.chol)) {
      out[t] = -std::numeric_limits<double>::infinity();
      continue;
    }
    double v = 0.0;
    for (Index i = 0; i < n; ++i) v += std::log(st.chol[static_cast<size_t>(i * n + i)]);
    out[t] = v;
  }
}

void Mixing::mapCovectors(const double* z, Index rows, int count, const double* const* v, double* const* out,
                          bool volume) const {
  if (linear()) {
    for (int c = 0; c < count; ++c) MatrixMap(out[c], rows, d).noalias() = ConstMatrixMap(v[c], rows, n) * encoder();
    return;
  }
  PointState st;
  for (Index t = 0; t < rows; ++t) {
    evaluatePoint(*this, z + t * n, st);
    gram(st.j, d, n, st.m);
    const bool ok = cholesky(st.m, n, st.chol);
    Matrix pinvT;  // only where J is numerically rank deficient
    if (!ok) pinvT = pseudoInverse(Eigen::Map<const Matrix>(st.j.data(), d, n)).transpose();
    st.grad.assign(static_cast<size_t>(n), 0.0);
    if (volume && ok) volumeGradient(*this, st);
    for (int c = 0; c < count; ++c) {
      st.w.resize(static_cast<size_t>(n));
      for (Index i = 0; i < n; ++i) st.w[static_cast<size_t>(i)] = v[c][t * n + i] - st.grad[static_cast<size_t>(i)];
      double* o = out[c] + t * d;
      if (ok) {
        cholSolve(st.chol, n, st.w.data());
        repro::product(st.j.data(), d, n, st.w.data(), 1, o);
      } else {
        Eigen::Map<Vector>(o, d) = pinvT * Eigen::Map<const Vector>(st.w.data(), n);
      }
    }
  }
}

Matrix drawHaarOrthogonal(int d, Generator& rng) {
  Matrix g(d, d);
  rng.fillStandardNormal(g.data(), static_cast<size_t>(d) * static_cast<size_t>(d));
  Vector rDiag;
  Matrix q = householderQ(g, rDiag);
  for (int j = 0; j < d; ++j)
    if (rDiag[j] < 0) q.col(j) = -q.col(j);
  return q;
}

Matrix drawLinearMixing(int n, int d, double conditionFloor, bool scaleColumns, Generator& rng) {
  const char* fn = "drawLinearMixing";
  if (n < 1) throw Error(fn, "'n' must be at least 1, got " + std::to_string(n));
  if (d < n) throw Error(fn, "'d' must be at least n = " + std::to_string(n) + ", got " + std::to_string(d));
  if (!(conditionFloor >= 0.0 && conditionFloor <= 1.0))
    throw Error(fn, "'conditionFloor' must be in [0, 1], got " + std::to_string(conditionFloor));
  const Matrix q = drawHaarOrthogonal(d, rng).leftCols(n);
  Matrix r(n, n);
  const auto draw = [&]() {
    rng.fillRandom(r.data(), static_cast<size_t>(n) * static_cast<size_t>(n));
    r.array() -= 0.5;
  };
  const auto conditioned = [&]() {
    const Vector sv = Eigen::JacobiSVD<Matrix>(r).singularValues();
    return sv.maxCoeff() > 0 && sv.minCoeff() / sv.maxCoeff() >= conditionFloor;
  };
  draw();
  for (int tries = 1; !conditioned(); ++tries) {
    if (tries >= kMaxRedraws)
      throw Error(fn, "no " + std::to_string(n) + "x" + std::to_string(n) +
                          " mixing block with sigma_min/sigma_max >= " + std::to_string(conditionFloor) + " in " +
                          std::to_string(kMaxRedraws) + " draws; lower 'conditionFloor' (random " + std::to_string(n) +
                          "x" + std::to_string(n) + " blocks are rarely better conditioned)");
    draw();
  }
  Matrix g(d, n);
  repro::product(q.data(), d, n, r.data(), n, g.data());
  if (scaleColumns) {
    for (int j = 0; j < n; ++j) {
      const double m = g.col(j).cwiseAbs().maxCoeff();
      if (m > 0) g.col(j) /= m;
    }
  }
  return g;
}

Mixing drawMixing(int n, int d, const MixingOptions& options, Generator& rng) {
  const char* fn = "drawMixing";
  if (options.kind == MixingKind::TanhMlp && options.layers < 1)
    throw Error(fn, "'layers' must be at least 1, got " + std::to_string(options.layers));
  Mixing t;
  t.kind = options.kind;
  t.n = n;
  t.d = d;
  t.weights.push_back(drawLinearMixing(n, d, options.conditionFloor, options.scaleColumns, rng));
  if (options.kind == MixingKind::Tanh) {
    t.biases.push_back(Vector::Zero(d));
  } else if (options.kind == MixingKind::TanhMlp) {
    for (int l = 0; l < options.layers; ++l) {
      if (l > 0) t.weights.push_back(drawHaarOrthogonal(d, rng));
      Vector b(d);
      rng.fillUniform(b.data(), static_cast<size_t>(d), -0.5, 0.5);
      t.biases.push_back(std::move(b));
    }
  }
  for (const Matrix& w : t.weights) t.pseudoInverses.push_back(pseudoInverse(w));
  return t;
}

}  // namespace scorecrl
