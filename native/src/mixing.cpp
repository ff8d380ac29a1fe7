#include "scorecrl/mixing.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "scorecrl/error.hpp"
#include "scorecrl/rng.hpp"

namespace scorecrl {

namespace {

constexpr Index kRows = 256;
constexpr int kMaxRedraws = 1000000;

// sech^2(a) = 1 - tanh^2(a), accurate also where tanh(a) rounds to +-1.
inline double sech2(double a) {
  const double c = std::cosh(a);
  return std::isfinite(c) ? 1.0 / (c * c) : 0.0;
}

Matrix pseudoInverse(const Matrix& w) { return w.completeOrthogonalDecomposition().pseudoInverse(); }

// Per-point state of the tanh layers: h_l, s_l = sech^2(a_l) and
// B_l = W_l J_{l-1} = da_l/dz, with J_l = diag(s_l) B_l.
struct PointState {
  std::vector<Vector> h, s;
  std::vector<Matrix> b;
  Matrix j;  // J_g(z), d x n
  Vector a;
};

void evaluatePoint(const Mixing& t, const double* z, PointState& st) {
  const size_t layers = t.weights.size();
  st.h.resize(layers);
  st.s.resize(layers);
  st.b.resize(layers);
  ConstVectorMap zv(z, t.n);
  for (size_t l = 0; l < layers; ++l) {
    const Matrix& w = t.weights[l];
    if (l == 0) {
      st.a.noalias() = w * zv;
      st.b[0] = w;
    } else {
      st.a.noalias() = w * st.h[l - 1];
      st.b[l].noalias() = w * st.j;
    }
    st.a += t.biases[l];
    st.h[l] = st.a.array().tanh().matrix();
    st.s[l] = st.a.unaryExpr([](double v) { return sech2(v); });
    st.j = st.s[l].asDiagonal() * st.b[l];
  }
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
  Matrix a, h;
  for (Index start = 0; start < N; start += kRows) {
    const Index r = std::min(kRows, N - start);
    for (size_t l = 0; l < weights.size(); ++l) {
      if (l == 0) a.noalias() = zm.middleRows(start, r) * weights[0].transpose();
      else a.noalias() = h * weights[l].transpose();
      a.rowwise() += biases[l].transpose();
      h = a.array().tanh().matrix();
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
  return st.j;
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
    const Eigen::LLT<Matrix> llt(st.j.transpose() * st.j);
    out[t] = llt.info() == Eigen::Success ? llt.matrixLLT().diagonal().array().log().sum()
                                          : -std::numeric_limits<double>::infinity();
  }
}

void Mixing::mapCovectors(const double* z, Index rows, int count, const double* const* v, double* const* out,
                             bool volume) const {
  if (linear()) {
    for (int c = 0; c < count; ++c)
      MatrixMap(out[c], rows, d).noalias() = ConstMatrixMap(v[c], rows, n) * encoder();
    return;
  }
  PointState st;
  Matrix m, minv, q, qs;
  Vector grad(n), w(n), y(n);
  const Matrix identity = Matrix::Identity(n, n);
  for (Index t = 0; t < rows; ++t) {
    evaluatePoint(*this, z + t * n, st);
    m.noalias() = st.j.transpose() * st.j;
    Eigen::LLT<Matrix> llt(m);
    const bool ok = llt.info() == Eigen::Success;
    Matrix pinvT;  // only when J is numerically rank deficient
    if (!ok) pinvT = pseudoInverse(st.j).transpose();
    grad.setZero();
    if (volume && ok) {
      // grad V = sum_l B_l^T g_l, g_l[k] = -2 s_l[k] h_l[k] (B_l M^{-1} Q_l^T)[k][k],
      // Q_L = J, Q_{l-1} = W_l^T diag(s_l) Q_l (Q_l = (dx/dh_l)^T J).
      minv = llt.solve(identity);
      q = st.j;
      for (size_t l = weights.size(); l-- > 0;) {
        const Vector diag = ((st.b[l] * minv).array() * q.array()).rowwise().sum();
        const Vector g = (-2.0 * st.s[l].array() * st.h[l].array() * diag.array()).matrix();
        grad.noalias() += st.b[l].transpose() * g;
        if (l > 0) {
          qs = st.s[l].asDiagonal() * q;
          q.noalias() = weights[l].transpose() * qs;
        }
      }
    }
    for (int c = 0; c < count; ++c) {
      w = ConstVectorMap(v[c] + t * n, n) - grad;
      Eigen::Map<Vector> o(out[c] + t * d, d);
      if (ok) {
        y = llt.solve(w);
        o.noalias() = st.j * y;
      } else {
        o.noalias() = pinvT * w;
      }
    }
  }
}

Matrix drawHaarOrthogonal(int d, Generator& rng) {
  Matrix g(d, d);
  rng.fillStandardNormal(g.data(), static_cast<size_t>(d) * static_cast<size_t>(d));
  Eigen::HouseholderQR<Matrix> qr(g);
  Matrix q = qr.householderQ();
  for (int j = 0; j < d; ++j)
    if (qr.matrixQR()(j, j) < 0) q.col(j) = -q.col(j);
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
                          std::to_string(kMaxRedraws) + " draws; lower 'conditionFloor' (random " +
                          std::to_string(n) + "x" + std::to_string(n) + " blocks are rarely better conditioned)");
    draw();
  }
  Matrix g = q * r;
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
