#include "scorecrl/algorithms/gscale.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "scorecrl/algorithms/lscale.hpp"
#include "scorecrl/linalg/gemm.hpp"
#include "scorecrl/runtime/error.hpp"
#include "scorecrl/runtime/limits.hpp"
#include "scorecrl/runtime/ops.hpp"
#include "scorecrl/simulation/rng.hpp"

namespace scorecrl {

namespace {

using RowVector = Eigen::RowVectorXd;
using ConstVecMap = Eigen::Map<const Vector>;
using VecMap = Eigen::Map<Vector>;

// Offsets of the Mlp parameter blocks in theta (see GscaleModel).
struct MlpLayout {
  enum Block { E1, e1, E2, e2, E3, e3, D1, f1, D2, f2, D3, f3, Count };
  Index offset[Count + 1];
  Index rows[Count];
  Index cols[Count];

  MlpLayout(int n, int d, int h) {
    const Index shapes[Count][2] = {{h, d}, {h, 1}, {h, h}, {h, 1}, {n, h}, {n, 1},
                                    {h, n}, {h, 1}, {h, h}, {h, 1}, {d, h}, {d, 1}};
    offset[0] = 0;
    for (int b = 0; b < Count; ++b) {
      rows[b] = shapes[b][0];
      cols[b] = shapes[b][1];
      offset[b + 1] = offset[b] + rows[b] * cols[b];
    }
  }
  Index size() const { return offset[Count]; }
  ConstMatrixMap mat(const Vector& theta, Block b) const {
    return ConstMatrixMap(theta.data() + offset[b], rows[b], cols[b]);
  }
  MatrixMap mat(Vector& theta, Block b) const { return MatrixMap(theta.data() + offset[b], rows[b], cols[b]); }
  // Biases as row vectors (added to every sample row).
  Eigen::Map<const RowVector> row(const Vector& theta, Block b) const {
    return Eigen::Map<const RowVector>(theta.data() + offset[b], rows[b]);
  }
  Eigen::Map<RowVector> row(Vector& theta, Block b) const {
    return Eigen::Map<RowVector>(theta.data() + offset[b], rows[b]);
  }
};

// atanh of the observations for the Glm encoder. Entries with
// |x| >= 1 - eps (saturated: atanh is not informative there) are masked:
// set to 0 in `a` and left out of their row's least-squares fit.
struct GlmInput {
  Matrix a;                      // N x d, atanh(x), 0 at masked entries
  std::vector<Index> saturated;  // rows with at least one masked entry
  Matrix mask;                   // saturated.size() x d, 1 = used, 0 = masked
};
GlmInput glmInput(const ConstMatrixMap& x, double eps) {
  GlmInput in;
  const double limit = 1.0 - eps;
  in.a.resize(x.rows(), x.cols());
  std::vector<Index> rows;
  for (Index t = 0; t < x.rows(); ++t) {
    bool any = false;
    for (Index k = 0; k < x.cols(); ++k) {
      const double v = x(t, k);
      if (std::abs(v) >= limit) {
        in.a(t, k) = 0.0;
        any = true;
      } else {
        in.a(t, k) = std::atanh(v);
      }
    }
    if (any) rows.push_back(t);
  }
  in.saturated = rows;
  in.mask.resize(static_cast<Index>(rows.size()), x.cols());
  for (size_t r = 0; r < rows.size(); ++r)
    for (Index k = 0; k < x.cols(); ++k)
      in.mask(static_cast<Index>(r), k) = std::abs(x(rows[r], k)) >= limit ? 0.0 : 1.0;
  return in;
}

// (U^T U)^{-1} and pinv(U) = (U^T U)^{-1} U^T for a full-column-rank U.
struct GlmPinv {
  Matrix inverseGram;  // n x n
  Matrix pinv;         // n x d
};
GlmPinv glmPinv(const ConstMatrixMap& u, const std::string& function) {
  const Index n = u.cols();
  Matrix gram = u.transpose() * u;
  Eigen::LLT<Matrix> llt(gram);
  const double scale = gram.diagonal().maxCoeff();
  bool ok = llt.info() == Eigen::Success && scale > 0;
  if (ok) {
    const double minPivot = llt.matrixL().toDenseMatrix().diagonal().minCoeff();
    ok = minPivot * minPivot > 1e-13 * scale;
  }
  if (!ok)
    throw Error(function, "the Glm decoder U (d x n) is rank-deficient; use a smaller learningRate or another seed",
                ErrorCode::NoSolution);
  GlmPinv out;
  out.inverseGram = llt.solve(Matrix::Identity(n, n));
  out.pinv = out.inverseGram * u.transpose();
  return out;
}

// Per-row fits of the saturated rows: z_t = pinv(M_t U) a_t with M_t the
// row mask (kept for the gradient).
struct MaskedRows {
  std::vector<Matrix> inverseGram;  // (U^T M_t U)^{-1}, n x n; empty when the row fell back to the shared fit
};

// ẑ = pinv(U) a for unsaturated rows, pinv(M_t U) a_t for saturated ones
// (falling back to the shared fit when fewer than n coordinates remain or
// M_t U is rank-deficient).
Matrix glmEncode(const ConstMatrixMap& U, const GlmInput& in, const GlmPinv& pi, MaskedRows* masked) {
  const Index n = U.cols();
  Matrix Z;
  Z.noalias() = in.a * pi.pinv.transpose();
  if (masked) masked->inverseGram.assign(in.saturated.size(), Matrix());
  for (size_t r = 0; r < in.saturated.size(); ++r) {
    const Index t = in.saturated[r];
    const auto m = in.mask.row(static_cast<Index>(r));
    if (m.sum() < static_cast<double>(n)) continue;
    const Matrix Um = m.transpose().asDiagonal() * U;
    const Matrix gram = Um.transpose() * Um;
    Eigen::LLT<Matrix> llt(gram);
    if (llt.info() != Eigen::Success) continue;
    const double minPivot = llt.matrixL().toDenseMatrix().diagonal().minCoeff();
    if (!(minPivot * minPivot > 1e-13 * gram.diagonal().maxCoeff())) continue;
    Matrix inv = llt.solve(Matrix::Identity(n, n));
    Z.row(t) = (inv * (Um.transpose() * in.a.row(t).transpose())).transpose();
    if (masked) masked->inverseGram[r] = std::move(inv);
  }
  return Z;
}

// Tiles an N x c matrix K times over rows into a (K·N) x c one and multiplies
// element-wise with `stacked`.
Matrix tiledProduct(const ConstMatrixMap& stacked, const Matrix& weights, Index K) {
  const Index N = weights.rows();
  Matrix out(stacked.rows(), stacked.cols());
  for (Index k = 0; k < K; ++k) out.middleRows(k * N, N) = stacked.middleRows(k * N, N).cwiseProduct(weights);
  return out;
}

// Sum over the K row blocks of a (K·N) x c matrix.
Matrix blockSum(const Matrix& stacked, Index K) {
  const Index N = stacked.rows() / K;
  Matrix out = stacked.topRows(N);
  for (Index k = 1; k < K; ++k) out += stacked.middleRows(k * N, N);
  return out;
}

// D(k, j) = mean over the rows of block k of |S(., j)|.
Matrix blockMeanAbs(const Matrix& s, Index K) {
  const Index N = s.rows() / K;
  Matrix D(K, s.cols());
  for (Index k = 0; k < K; ++k) D.row(k) = s.middleRows(k * N, N).cwiseAbs().colwise().sum() / static_cast<double>(N);
  return D;
}

double signOf(double v) { return v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0); }

// Weight of the scale pin of the direction term: small, it only keeps the
// latents' scale from drifting (the direction term does not see it).
constexpr double kDirectionScaleWeight = 0.01;

// The score term of the loss and its gradient dL/dS with respect to the
// stacked latent score differences S ((K·N) x n, block k = pair k), with
// D(k, j) = mean over block k of |S(., j)|.
//  MeanAbs:   sum_kj |D(k, j) - c δ_kj|  (the paper's loss).
//  Direction: sum_k mean_t (1 - S_tk^2 / |S_t|^2), the share of each sample's
//             difference outside its own coordinate, plus
//             kDirectionScaleWeight * sum_k log(D(k, k) / c)^2 to pin the
//             scale. Each sample counts the same whatever the size of its
//             score difference (near a saturated transform those sizes
//             span orders of magnitude, and the mean of |.| follows a few).
struct ScoreTerm {
  double value = 0;
  Matrix D;
};
ScoreTerm scoreTerm(const Matrix& s, Index K, double c, GscaleScoreLoss kind, Matrix* gradient) {
  const Index N = s.rows() / K, n = s.cols();
  ScoreTerm out;
  out.D = blockMeanAbs(s, K);
  if (gradient) gradient->resize(s.rows(), n);
  const double invN = 1.0 / static_cast<double>(N);
  for (Index k = 0; k < K; ++k) {
    const auto block = s.middleRows(k * N, N);
    if (kind == GscaleScoreLoss::MeanAbs) {
      RowVector outer(n);
      for (Index j = 0; j < n; ++j) {
        const double gap = out.D(k, j) - (k == j ? c : 0.0);
        out.value += std::abs(gap);
        outer(j) = signOf(gap) * invN;
      }
      if (gradient)
        gradient->middleRows(k * N, N) =
            block.unaryExpr([](double v) { return signOf(v); }).array().rowwise() * outer.array();
      continue;
    }
    // Direction.
    const double diagonal = std::max(out.D(k, k), std::numeric_limits<double>::min());
    const double logScale = std::log(diagonal / c);
    out.value += kDirectionScaleWeight * logScale * logScale;
    const double pin = kDirectionScaleWeight * 2.0 * logScale / diagonal * invN;
    for (Index t = 0; t < N; ++t) {
      const double q = block.row(t).squaredNorm();
      const double own = block(t, k);
      if (!(q > 0)) {
        out.value += invN;  // no signal at this sample: counts as all outside
        if (gradient) gradient->row(k * N + t).setZero();
        continue;
      }
      out.value += (1.0 - own * own / q) * invN;
      if (!gradient) continue;
      const double q2 = q * q;
      auto g = gradient->row(k * N + t);
      g = block.row(t) * (2.0 * own * own / q2 * invN);
      g(k) = -2.0 * own * (q - own * own) / q2 * invN + pin * signOf(own);
    }
  }
  return out;
}

// Products of the mlp family go through scorecrl::gemm (Eigen's own kernels)
// even when the core is built on OpenBLAS: a training step is a few dozen
// small products, and OpenBLAS's threads make those several times slower in
// wall time whenever the cores are shared (5x measured with two jobs on two
// cores; see gemm.hpp). Operands are row-major and contiguous.
template <typename A, typename B, typename C>
void multiplyInto(const A& a, bool ta, const B& b, bool tb, double beta, C&& c) {
  const Index m = ta ? a.cols() : a.rows(), k = ta ? a.rows() : a.cols(), n = tb ? b.rows() : b.cols();
  gemm(ta, tb, m, n, k, 1.0, a.data(), a.cols(), b.data(), b.cols(), beta, c.data(), c.cols());
}
// op(a) op(b) as a new matrix.
template <typename A, typename B>
Matrix multiply(const A& a, bool ta, const B& b, bool tb) {
  Matrix c((ta ? a.cols() : a.rows()), (tb ? b.rows() : b.cols()));
  multiplyInto(a, ta, b, tb, 0.0, c);
  return c;
}
constexpr bool kT = true, kN = false;  // transpose / as stored

// tanh(X W^T + 1 b^T): one dense layer.
template <typename X>
Matrix tanhLayer(const X& x, const ConstMatrixMap& w, const Eigen::Map<const RowVector>& b) {
  Matrix a = multiply(x, kN, w, kT);
  a.rowwise() += b;
  return a.array().tanh().matrix();
}

// Forward pass of the Mlp decoder, keeping what the reverse passes need.
struct DecoderPass {
  Matrix H1, H2;  // N x h hidden activations
  Matrix R1, R2;  // 1 - H^2
  Matrix out;     // N x d
};
DecoderPass mlpDecode(const MlpLayout& L, const Vector& theta, const Matrix& z) {
  using B = MlpLayout;
  DecoderPass p;
  p.H1 = tanhLayer(z, L.mat(theta, B::D1), L.row(theta, B::f1));
  p.H2 = tanhLayer(p.H1, L.mat(theta, B::D2), L.row(theta, B::f2));
  p.out = multiply(p.H2, kN, L.mat(theta, B::D3), kT);
  p.out.rowwise() += L.row(theta, B::f3);
  p.R1 = (1.0 - p.H1.array().square()).matrix();
  p.R2 = (1.0 - p.H2.array().square()).matrix();
  return p;
}

struct EncoderPass {
  Matrix K1, K2;
  Matrix z;
};
EncoderPass mlpEncode(const MlpLayout& L, const Vector& theta, const ConstMatrixMap& x) {
  using B = MlpLayout;
  EncoderPass p;
  p.K1 = tanhLayer(x, L.mat(theta, B::E1), L.row(theta, B::e1));
  p.K2 = tanhLayer(p.K1, L.mat(theta, B::E2), L.row(theta, B::e2));
  p.z = multiply(p.K2, kN, L.mat(theta, B::E3), kT);
  p.z.rowwise() += L.row(theta, B::e3);
  return p;
}

// Reverse pass of the decoder for stacked cotangents G ((K·N) x d).
struct ReversePass {
  Matrix Q2, P2, Q1, P1, S;
};
ReversePass mlpReverse(const MlpLayout& L, const Vector& theta, const DecoderPass& dec, const ConstMatrixMap& G,
                       Index K) {
  using B = MlpLayout;
  ReversePass r;
  r.Q2 = multiply(G, kN, L.mat(theta, B::D3), kN);
  r.P2 = tiledProduct(ConstMatrixMap(r.Q2.data(), r.Q2.rows(), r.Q2.cols()), dec.R2, K);
  r.Q1 = multiply(r.P2, kN, L.mat(theta, B::D2), kN);
  r.P1 = tiledProduct(ConstMatrixMap(r.Q1.data(), r.Q1.rows(), r.Q1.cols()), dec.R1, K);
  r.S = multiply(r.P1, kN, L.mat(theta, B::D1), kN);
  return r;
}

// Buffers reused across Glm evaluations (sizes stay fixed during training).
struct GlmWorkspace {
  Matrix Z, Y, Xh, W, Gw, S, Sg, T, dW, dY;
};

// kappa weighs the score term (0 during the reconstruction-only warm-up).
GscaleLoss glmLoss(const GscaleModel& model, const GlmInput& in, const GscaleData& data, double c, double lambda,
                   GscaleScoreLoss kind, Vector* gradient, GlmWorkspace& ws, double kappa) {
  const Index N = data.x.rows(), d = model.d, n = model.n, K = data.n;
  ConstMatrixMap U(model.theta.data(), d, n);
  const Matrix& A = in.a;
  const GlmPinv pi = glmPinv(U, "gscale");
  MaskedRows masked;
  ws.Z = glmEncode(U, in, pi, &masked);   // N x n
  ws.Y.noalias() = ws.Z * U.transpose();  // N x d
  ws.Xh = ws.Y.array().tanh().matrix();   // N x d
  ws.W = (1.0 - ws.Xh.array().square()).matrix();
  ConstMatrixMap G(data.pairs, K * N, d);
  ws.Gw.resize(K * N, d);
  ws.S.resize(K * N, n);
  for (Index k = 0; k < K; ++k) {
    ws.Gw.middleRows(k * N, N) = G.middleRows(k * N, N).cwiseProduct(ws.W);
    ws.S.middleRows(k * N, N).noalias() = ws.Gw.middleRows(k * N, N) * U;  // J^T dsx for pair k
  }
  GscaleLoss out;
  ScoreTerm term = scoreTerm(ws.S, K, c, kind, gradient ? &ws.Sg : nullptr);
  out.D = std::move(term.D);
  out.scoreTerm = term.value;
  out.reconstruction = (ws.Xh - data.x).squaredNorm() / static_cast<double>(N);
  out.total = (kappa == 1.0 ? out.scoreTerm : kappa * out.scoreTerm) + lambda * out.reconstruction;
  if (!gradient) return out;

  if (kappa != 1.0) ws.Sg *= kappa;  // ws.Sg: dL/dS ((KN) x n), from scoreTerm
  Matrix dU;
  dU.noalias() = ws.Gw.transpose() * ws.Sg;  // d x n (direct)
  ws.dW.setZero(N, d);
  for (Index k = 0; k < K; ++k) {
    ws.T.noalias() = ws.Sg.middleRows(k * N, N) * U.transpose();  // N x d
    ws.dW += ws.T.cwiseProduct(G.middleRows(k * N, N));
  }
  // W = 1 - tanh(Y)^2: dW/dY = -2 Xh W.
  ws.dY =
      ((2.0 * lambda / static_cast<double>(N)) * (ws.Xh - data.x) - 2.0 * ws.dW.cwiseProduct(ws.Xh)).cwiseProduct(ws.W);
  dU.noalias() += ws.dY.transpose() * ws.Z;
  Matrix dZ = ws.dY * U;  // N x n
  // Rows fitted on their own: with Um = M_t U, z_t = Gt^{-1} Um^T a_t and
  // q = Gt^{-1} dz_t, the pinv derivative collapses to two rank-one terms,
  // dU += (a_t - Um z_t) q^T - (Um q) z_t^T (rows of masked entries vanish).
  for (size_t r = 0; r < in.saturated.size(); ++r) {
    if (masked.inverseGram[r].size() == 0) continue;
    const Index t = in.saturated[r];
    const auto m = in.mask.row(static_cast<Index>(r));
    const Vector q = masked.inverseGram[r] * dZ.row(t).transpose();
    const Vector zt = ws.Z.row(t).transpose();
    const Vector Uq = m.transpose().cwiseProduct(U * q);
    const Vector residual = A.row(t).transpose() - m.transpose().cwiseProduct(U * zt);
    dU.noalias() += residual * q.transpose() - Uq * zt.transpose();
    dZ.row(t).setZero();  // not part of the shared fit
  }
  const Matrix dP = dZ.transpose() * A;  // n x d
  // d pinv: dU += -P^T dP P^T + (I - U P) dP^T (U^T U)^{-1}
  const Matrix dPtM = dP.transpose() * pi.inverseGram;  // d x n
  dU.noalias() -= pi.pinv.transpose() * (dP * pi.pinv.transpose());
  dU += dPtM;
  dU.noalias() -= U * (pi.pinv * dPtM);
  gradient->resize(model.theta.size());
  MatrixMap(gradient->data(), d, n) = dU;
  return out;
}

GscaleLoss mlpLoss(const GscaleModel& model, const GscaleData& data, double c, double lambda, GscaleScoreLoss kind,
                   Vector* gradient, double kappa) {
  const Index N = data.x.rows(), K = data.n;
  const MlpLayout L(model.n, model.d, model.hidden);
  const Vector& th = model.theta;
  const EncoderPass enc = mlpEncode(L, th, data.x);
  const DecoderPass dec = mlpDecode(L, th, enc.z);
  ConstMatrixMap G(data.pairs, K * N, model.d);
  const ReversePass rev = mlpReverse(L, th, dec, G, K);
  GscaleLoss out;
  Matrix Sg;
  ScoreTerm term = scoreTerm(rev.S, K, c, kind, gradient ? &Sg : nullptr);
  out.D = std::move(term.D);
  out.scoreTerm = term.value;
  const Matrix residual = dec.out - data.x;
  out.reconstruction = residual.squaredNorm() / static_cast<double>(N);
  out.total = (kappa == 1.0 ? out.scoreTerm : kappa * out.scoreTerm) + lambda * out.reconstruction;
  if (!gradient) return out;

  using B = MlpLayout;
  gradient->setZero(th.size());
  Vector& g = *gradient;
  if (kappa != 1.0) Sg *= kappa;
  // Through the reverse pass S = P1 D1, P1 = Q1 ⊙ R1, Q1 = P2 D2, P2 = Q2 ⊙ R2, Q2 = G D3.
  multiplyInto(rev.P1, kT, Sg, kN, 1.0, L.mat(g, B::D1));
  const Matrix dP1 = multiply(Sg, kN, L.mat(th, B::D1), kT);
  const Matrix dR1 = blockSum(dP1.cwiseProduct(rev.Q1), K);
  const Matrix dQ1 = tiledProduct(ConstMatrixMap(dP1.data(), dP1.rows(), dP1.cols()), dec.R1, K);
  multiplyInto(rev.P2, kT, dQ1, kN, 1.0, L.mat(g, B::D2));
  const Matrix dP2 = multiply(dQ1, kN, L.mat(th, B::D2), kT);
  const Matrix dR2 = blockSum(dP2.cwiseProduct(rev.Q2), K);
  const Matrix dQ2 = tiledProduct(ConstMatrixMap(dP2.data(), dP2.rows(), dP2.cols()), dec.R2, K);
  multiplyInto(G, kT, dQ2, kN, 1.0, L.mat(g, B::D3));
  // R = 1 - H^2: dH = -2 H ⊙ dR; then the forward decoder with the reconstruction term.
  Matrix dH1 = -2.0 * dR1.cwiseProduct(dec.H1);
  Matrix dH2 = -2.0 * dR2.cwiseProduct(dec.H2);
  const Matrix dXh = (2.0 * lambda / static_cast<double>(N)) * residual;
  multiplyInto(dXh, kT, dec.H2, kN, 1.0, L.mat(g, B::D3));
  L.row(g, B::f3) += dXh.colwise().sum();
  multiplyInto(dXh, kN, L.mat(th, B::D3), kN, 1.0, dH2);
  const Matrix dA2 = dH2.cwiseProduct(dec.R2);
  multiplyInto(dA2, kT, dec.H1, kN, 1.0, L.mat(g, B::D2));
  L.row(g, B::f2) += dA2.colwise().sum();
  multiplyInto(dA2, kN, L.mat(th, B::D2), kN, 1.0, dH1);
  const Matrix dA1 = dH1.cwiseProduct(dec.R1);
  multiplyInto(dA1, kT, enc.z, kN, 1.0, L.mat(g, B::D1));
  L.row(g, B::f1) += dA1.colwise().sum();
  const Matrix dZ = multiply(dA1, kN, L.mat(th, B::D1), kN);
  // Encoder.
  multiplyInto(dZ, kT, enc.K2, kN, 1.0, L.mat(g, B::E3));
  L.row(g, B::e3) += dZ.colwise().sum();
  const Matrix dB2 = multiply(dZ, kN, L.mat(th, B::E3), kN).cwiseProduct((1.0 - enc.K2.array().square()).matrix());
  multiplyInto(dB2, kT, enc.K1, kN, 1.0, L.mat(g, B::E2));
  L.row(g, B::e2) += dB2.colwise().sum();
  const Matrix dB1 = multiply(dB2, kN, L.mat(th, B::E2), kN).cwiseProduct((1.0 - enc.K1.array().square()).matrix());
  multiplyInto(dB1, kT, data.x, kN, 1.0, L.mat(g, B::E1));
  L.row(g, B::e1) += dB1.colwise().sum();
  return out;
}

// Loss evaluations with per-data caches (atanh(x) for Glm).
class Objective {
 public:
  Objective(const GscaleData& data, const GscaleModel& shape, GscaleScoreLoss kind) : data_(data), kind_(kind) {
    if (shape.family == GscaleFamily::Glm) glmIn_ = glmInput(data.x, shape.clampEpsilon);
  }
  GscaleLoss operator()(const GscaleModel& model, double c, double lambda, Vector* gradient, double kappa = 1.0) const {
    return model.family == GscaleFamily::Glm ? glmLoss(model, glmIn_, data_, c, lambda, kind_, gradient, glm_, kappa)
                                             : mlpLoss(model, data_, c, lambda, kind_, gradient, kappa);
  }

 private:
  const GscaleData& data_;
  GscaleScoreLoss kind_;
  GlmInput glmIn_;
  mutable GlmWorkspace glm_;
};

std::string familyName(GscaleFamily f) { return f == GscaleFamily::Glm ? "glm" : "mlp"; }

void checkFinite(const std::string& function, const std::string& what, const double* data, Index count) {
  for (Index i = 0; i < count; ++i)
    if (!std::isfinite(data[i]))
      throw Error(function, "'" + what + "' contains a non-finite value at flat index " + std::to_string(i));
}

}  // namespace

Index GscaleModel::parameterCount(GscaleFamily family, int n, int d, int hidden) {
  if (family == GscaleFamily::Glm) return static_cast<Index>(d) * n;
  return MlpLayout(n, d, hidden).size();
}

void GscaleModel::validate(const std::string& function) const {
  if (n < 1) throw Error(function, "'n' must be at least 1, got " + std::to_string(n));
  if (d < n) throw Error(function, "'d' must be at least n = " + std::to_string(n) + ", got " + std::to_string(d));
  if (family == GscaleFamily::Mlp && hidden < 1)
    throw Error(function, "'hidden' must be at least 1 for the mlp family, got " + std::to_string(hidden));
  if (!(clampEpsilon > 0 && clampEpsilon < 0.5))
    throw Error(function, "'clampEpsilon' must be in (0, 0.5), got " + std::to_string(clampEpsilon));
  const Index expected = parameterCount(family, n, d, hidden);
  if (theta.size() != expected)
    throw Error(function, "'parameters' must hold " + std::to_string(expected) + " values for the " +
                              familyName(family) + " family with n = " + std::to_string(n) +
                              ", d = " + std::to_string(d) +
                              (family == GscaleFamily::Mlp ? ", hidden = " + std::to_string(hidden) : std::string()) +
                              ", got " + std::to_string(theta.size()));
  checkFinite(function, "parameters", theta.data(), theta.size());
}

Matrix GscaleModel::encode(const ConstMatrixMap& x) const {
  if (x.cols() != d)
    throw Error("gscaleEncode", "'x' must have d = " + std::to_string(d) + " columns, got " + std::to_string(x.cols()));
  if (family == GscaleFamily::Glm) {
    ConstMatrixMap U(theta.data(), d, n);
    return glmEncode(U, glmInput(x, clampEpsilon), glmPinv(U, "gscaleEncode"), nullptr);
  }
  return mlpEncode(MlpLayout(n, d, hidden), theta, x).z;
}

Matrix GscaleModel::decode(const ConstMatrixMap& z) const {
  if (z.cols() != n)
    throw Error("gscaleDecode", "'z' must have n = " + std::to_string(n) + " columns, got " + std::to_string(z.cols()));
  if (family == GscaleFamily::Glm) {
    ConstMatrixMap U(theta.data(), d, n);
    return (z * U.transpose()).array().tanh().matrix();
  }
  return mlpDecode(MlpLayout(n, d, hidden), theta, Matrix(z)).out;
}

Matrix GscaleModel::pullBack(const ConstMatrixMap& z, const double* v, Index K) const {
  const Index N = z.rows();
  ConstMatrixMap V(v, K * N, d);
  if (family == GscaleFamily::Glm) {
    ConstMatrixMap U(theta.data(), d, n);
    const Matrix W = (1.0 - (z * U.transpose()).array().tanh().square()).matrix();
    return tiledProduct(V, W, K) * U;
  }
  const MlpLayout L(n, d, hidden);
  const DecoderPass dec = mlpDecode(L, theta, Matrix(z));
  return mlpReverse(L, theta, dec, V, K).S;
}

// The mlp family's default minibatch: an iteration then costs about the same
// at any N (full batches at N = 2000 cost ten times those at N = 200).
constexpr int kMlpBatchSize = 256;

GscaleOptions resolveGscaleOptions(GscaleOptions o) {
  const std::string f = "gscale";
  if (o.family == GscaleFamily::Mlp && (o.hidden < 1 || o.hidden > 4096))
    throw Error(f, "'hidden' must be between 1 and 4096, got " + std::to_string(o.hidden));
  if (!(o.targetScale > 0) || !std::isfinite(o.targetScale))
    throw Error(f, "'targetScale' must be a positive number, got " + std::to_string(o.targetScale));
  if (o.reconstructionWeight < 0 && std::isfinite(o.reconstructionWeight))
    o.reconstructionWeight = o.family == GscaleFamily::Glm ? 1.0 : 100.0;
  if (!(o.reconstructionWeight >= 0) || !std::isfinite(o.reconstructionWeight))
    throw Error(f, "'reconstructionWeight' must be >= 0, got " + std::to_string(o.reconstructionWeight));
  if (o.scoreLoss == GscaleScoreLoss::Auto)
    o.scoreLoss = o.family == GscaleFamily::Glm ? GscaleScoreLoss::MeanAbs : GscaleScoreLoss::Direction;
  if (o.init == GscaleInit::Auto) o.init = o.family == GscaleFamily::Glm ? GscaleInit::Spectral : GscaleInit::Random;
  if (o.init == GscaleInit::Spectral && o.family != GscaleFamily::Glm)
    throw Error(f, "'init' = 'spectral' needs the glm family; use 'random' (or 'auto') for mlp");
  // The warm-up and realignment are the glm family's default away from the
  // spectral start; for the mlp they are options (they did not help it).
  const bool agnostic = o.family == GscaleFamily::Glm && o.init != GscaleInit::Spectral;
  if (o.warmupIterations < 0) o.warmupIterations = agnostic ? 4000 : 0;
  if (o.realign < 0) o.realign = agnostic ? 1 : 0;
  if (o.learningRate < 0) {
    // After a realigned start training only refines (as after the spectral start).
    if (o.family == GscaleFamily::Glm)
      o.learningRate = o.init == GscaleInit::Spectral || o.realign ? 1e-3 : 2e-2;
    else  // the direction term's gradient is scale-free and tolerates a larger step
      o.learningRate = o.scoreLoss == GscaleScoreLoss::Direction ? 1e-2 : 5e-3;
  }
  if (o.warmupLearningRate < 0) o.warmupLearningRate = o.family == GscaleFamily::Glm ? 2e-2 : 5e-3;
  if (!(o.warmupLearningRate > 0) || !std::isfinite(o.warmupLearningRate))
    throw Error(f, "'warmupLearningRate' must be a positive number, got " + std::to_string(o.warmupLearningRate));
  if (!(o.learningRate > 0) || !std::isfinite(o.learningRate))
    throw Error(f, "'learningRate' must be a positive number, got " + std::to_string(o.learningRate));
  if (o.maxIterations < 0) throw Error(f, "'maxIterations' must be >= 0, got " + std::to_string(o.maxIterations));
  if (!(o.tolerance >= 0 && o.tolerance < 1))
    throw Error(f, "'tolerance' must be in [0, 1), got " + std::to_string(o.tolerance));
  if (o.patience < 1) throw Error(f, "'patience' must be at least 1, got " + std::to_string(o.patience));
  if (o.decays < 0) throw Error(f, "'decays' must be >= 0, got " + std::to_string(o.decays));
  if (!(o.lossTolerance >= 0) || !std::isfinite(o.lossTolerance))
    throw Error(f, "'lossTolerance' must be a number >= 0, got " + std::to_string(o.lossTolerance));
  if (!(o.clampEpsilon > 0 && o.clampEpsilon < 0.5))
    throw Error(f, "'clampEpsilon' must be in (0, 0.5), got " + std::to_string(o.clampEpsilon));
  if (!(o.edgeThreshold >= 0) || !std::isfinite(o.edgeThreshold))
    throw Error(f, "'edgeThreshold' must be a number >= 0, got " + std::to_string(o.edgeThreshold));
  if (o.historyEvery < 1) throw Error(f, "'historyEvery' must be at least 1, got " + std::to_string(o.historyEvery));
  if (o.restarts < 0 || o.restarts > 1000)
    throw Error(f, "'restarts' must be between 0 and 1000, got " + std::to_string(o.restarts));
  if (o.restartIterations < 1)
    throw Error(f, "'restartIterations' must be at least 1, got " + std::to_string(o.restartIterations));
  if (o.batchSize < 0) o.batchSize = o.family == GscaleFamily::Mlp ? kMlpBatchSize : 0;
  if (o.retries < 0) o.retries = o.scoreLoss == GscaleScoreLoss::Direction && o.init == GscaleInit::Random ? 2 : 0;
  if (o.retries > 1000) throw Error(f, "'retries' must be between 0 and 1000, got " + std::to_string(o.retries));
  if (!(o.retryScore >= 0) || !std::isfinite(o.retryScore))
    throw Error(f, "'retryScore' must be a number >= 0, got " + std::to_string(o.retryScore));
  if (o.batchSize == 1) throw Error(f, "'batchSize' must be 0 (all rows) or at least 2, got 1");
  return o;
}

void validateGscaleData(const std::string& function, const GscaleData& data) {
  const Index N = data.x.rows(), d = data.x.cols();
  if (data.n < 1) throw Error(function, "'dsxPairs' must hold at least one node (n >= 1)");
  if (N < 2) throw Error(function, "'x' needs at least 2 samples (rows), got " + std::to_string(N));
  if (d < data.n)
    throw Error(function, "'x' has d = " + std::to_string(d) + " columns, fewer than the n = " +
                              std::to_string(data.n) + " nodes of 'dsxPairs'; GSCALE-I needs d >= n");
  checkFinite(function, "x", data.x.data(), N * d);
  checkFinite(function, "dsxPairs", data.pairs, data.n * N * d);
  if (data.obs) checkFinite(function, "dsxObs", data.obs, data.n * N * d);
}

GscaleLoss gscaleLoss(const GscaleModel& model, const GscaleData& data, double targetScale, double reconstructionWeight,
                      GscaleScoreLoss scoreLoss, Vector* gradient) {
  if (scoreLoss == GscaleScoreLoss::Auto)
    scoreLoss = model.family == GscaleFamily::Glm ? GscaleScoreLoss::MeanAbs : GscaleScoreLoss::Direction;
  model.validate("gscaleLoss");
  validateGscaleData("gscaleLoss", data);
  if (!(targetScale > 0) || !std::isfinite(targetScale))
    throw Error("gscaleLoss", "'targetScale' must be a positive number, got " + std::to_string(targetScale));
  if (!(reconstructionWeight >= 0) || !std::isfinite(reconstructionWeight))
    throw Error("gscaleLoss", "'reconstructionWeight' must be >= 0, got " + std::to_string(reconstructionWeight));
  if (data.n != model.n || data.x.cols() != model.d)
    throw Error("gscaleLoss", "the data (n = " + std::to_string(data.n) + ", d = " + std::to_string(data.x.cols()) +
                                  ") do not match the model (n = " + std::to_string(model.n) +
                                  ", d = " + std::to_string(model.d) + ")");
  return Objective(data, model, scoreLoss)(model, targetScale, reconstructionWeight, gradient);
}

namespace {

// LSCALE-I's rule for the pairs in n projected coordinates: `projected`
// ((n·N) x n) holds the pair differences in those coordinates, block i for
// pair i. Column j of the returned M is the direction orthogonal (in the
// least-squares sense) to every pair but j: the eigenvector of the smallest
// eigenvalue of sum_{i != j} C_i / tr C_i.
Matrix pairRule(const Matrix& projected, Index N, Index n) {
  std::vector<Matrix> C(static_cast<size_t>(n));
  for (Index i = 0; i < n; ++i) {
    const auto block = projected.middleRows(i * N, N);
    C[i] = block.transpose() * block;
    const double trace = C[i].trace();
    if (trace > 0) C[i] /= trace;
  }
  Matrix M(n, n);
  for (Index j = 0; j < n; ++j) {
    Matrix sum = Matrix::Zero(n, n);
    for (Index i = 0; i < n; ++i)
      if (i != j) sum += C[i];
    if (n == 1) {
      M(0, 0) = 1.0;
      continue;
    }
    Eigen::SelfAdjointEigenSolver<Matrix> eig(sum);
    M.col(j) = eig.eigenvectors().col(0);
  }
  return M;
}

// Rescales each latent so that D(j, j) = c: ẑ_j -> s_j ẑ_j with
// s_j = D(j, j) / c (D scales as 1/s_j), which leaves the autoencoder's
// reconstruction unchanged.
void rescaleLatents(GscaleModel& model, const GscaleData& data, double c) {
  const Index N = data.x.rows(), n = model.n;
  const Matrix z = model.encode(data.x);
  const Matrix D = blockMeanAbs(model.pullBack(ConstMatrixMap(z.data(), N, n), data.pairs, n), n);
  if (model.family == GscaleFamily::Glm) {
    MatrixMap U(model.theta.data(), model.d, n);
    for (Index j = 0; j < n; ++j)
      if (D(j, j) > 0) U.col(j) *= c / D(j, j);
    return;
  }
  const MlpLayout L(model.n, model.d, model.hidden);
  for (Index j = 0; j < n; ++j) {
    if (!(D(j, j) > 0)) continue;
    const double s = D(j, j) / c;
    L.mat(model.theta, MlpLayout::E3).row(j) *= s;
    L.row(model.theta, MlpLayout::e3)(j) *= s;
    L.mat(model.theta, MlpLayout::D1).col(j) /= s;
  }
}

// Re-mixes the latents linearly, ẑ -> M^{-1} ẑ, with M from the pair rule
// applied to the model's own latent score differences J_dec(ẑ)^T dsx_i: after
// it, pair i's differences are (in the least-squares sense) confined to
// latent i. Exact when the model already spans the right latent space up to
// a linear map (the decoder's weights w_t do not change). Then rescales.
void realignLatents(GscaleModel& model, const GscaleData& data, double c) {
  const Index N = data.x.rows(), n = model.n;
  if (n > 1) {
    const Matrix z = model.encode(data.x);
    const Matrix M = pairRule(model.pullBack(ConstMatrixMap(z.data(), N, n), data.pairs, n), N, n);
    const Matrix Minv = M.completeOrthogonalDecomposition().pseudoInverse();
    if (model.family == GscaleFamily::Glm) {
      MatrixMap U(model.theta.data(), model.d, n);
      U = Matrix(U * M);
    } else {
      const MlpLayout L(model.n, model.d, model.hidden);
      L.mat(model.theta, MlpLayout::E3) = Matrix(Minv * L.mat(model.theta, MlpLayout::E3));
      L.row(model.theta, MlpLayout::e3) = RowVector(L.row(model.theta, MlpLayout::e3) * Minv.transpose());
      L.mat(model.theta, MlpLayout::D1) = Matrix(L.mat(model.theta, MlpLayout::D1) * M);
    }
  }
  rescaleLatents(model, data, c);
}

// Least-squares read-out [W b] minimising ||H W^T + 1 b^T - Y||^2 with a tiny
// ridge (H may be rank-deficient); W is written to `weights`, b to `bias`.
void fitReadout(const Matrix& H, const Matrix& Y, MatrixMap weights, Eigen::Map<RowVector> bias) {
  const Index N = H.rows(), h = H.cols();
  Matrix Ha(N, h + 1);
  Ha.leftCols(h) = H;
  Ha.col(h).setOnes();
  Matrix gram = Ha.transpose() * Ha;
  const double ridge = 1e-4 * std::max(gram.trace() / static_cast<double>(h + 1), 1e-300);
  gram.diagonal().array() += ridge;
  const Matrix coef = gram.ldlt().solve(Ha.transpose() * Y);  // (h+1) x k
  weights = coef.topRows(h).transpose();
  bias = coef.row(h);
}

// A random h x n matrix with orthonormal columns (orthonormal rows when h < n).
Matrix orthonormalColumns(Index h, Index n, Generator& rng) {
  Matrix r(std::max(h, n), std::min(h, n));
  rng.fillUniform(r.data(), static_cast<size_t>(r.size()), -1.0, 1.0);
  const Matrix q = Eigen::HouseholderQR<Matrix>(r).householderQ() * Matrix::Identity(r.rows(), r.cols());
  return h >= n ? q : Matrix(q.transpose());
}

}  // namespace

GscaleModel gscaleLinearInit(const GscaleData& data, GscaleFamily family, int hidden, double targetScale, uint64_t seed,
                             double clampEpsilon) {
  const Index N = data.x.rows(), d = data.x.cols(), n = data.n;
  const RowVector mean = data.x.colwise().mean();
  const Matrix centred = data.x.rowwise() - mean;
  Eigen::BDCSVD<Matrix> svd(centred, Eigen::ComputeThinV);
  const Matrix V = svd.matrixV().leftCols(n);
  ConstMatrixMap G(data.pairs, n * N, d);
  const Matrix M = pairRule(G * V, N, n);
  const Matrix A = V * M;  // linear decoder x ≈ mean + A z

  GscaleModel model;
  model.family = family;
  model.n = static_cast<int>(n);
  model.d = static_cast<int>(d);
  model.hidden = family == GscaleFamily::Mlp ? hidden : 0;
  model.clampEpsilon = clampEpsilon;
  model.theta.setZero(GscaleModel::parameterCount(family, model.n, model.d, model.hidden));
  if (family == GscaleFamily::Glm) {
    MatrixMap(model.theta.data(), d, n) = A;
    rescaleLatents(model, data, targetScale);
    return model;
  }
  // Linear latents z = pinv(A) (x - mean).
  const Matrix encoderMap = A.completeOrthogonalDecomposition().pseudoInverse();  // n x d
  const Matrix Z = centred * encoderMap.transpose();                              // N x n
  const MlpLayout L(model.n, model.d, hidden);
  Vector& th = model.theta;
  Generator rng(seed);
  const Matrix Be = orthonormalColumns(hidden, n, rng), Bd = orthonormalColumns(hidden, n, rng);
  // Hidden pre-activations with RMS 0.5: tanh is close to linear there.
  const double rms = std::sqrt((Z * Be.transpose()).squaredNorm() / static_cast<double>(N * hidden));
  const double s = rms > 0 ? 0.5 / rms : 1.0;
  using B = MlpLayout;
  L.mat(th, B::E1) = s * Be * encoderMap;
  L.row(th, B::e1) = -(L.mat(th, B::E1) * mean.transpose()).transpose();
  L.mat(th, B::E2).setIdentity();
  const EncoderPass enc = mlpEncode(L, th, data.x);
  fitReadout(enc.K2, Z, L.mat(th, B::E3), L.row(th, B::e3));
  L.mat(th, B::D1) = s * Bd;
  L.mat(th, B::D2).setIdentity();
  const Matrix zHat = mlpEncode(L, th, data.x).z;
  const DecoderPass dec = mlpDecode(L, th, zHat);
  fitReadout(dec.H2, Matrix(data.x), L.mat(th, B::D3), L.row(th, B::f3));
  rescaleLatents(model, data, targetScale);
  return model;
}

GscaleModel gscaleSpectralInit(const GscaleData& data, double targetScale, double clampEpsilon) {
  const Index N = data.x.rows(), d = data.x.cols(), n = data.n;
  const GlmInput in = glmInput(data.x, clampEpsilon);
  // Top-n right singular subspace of atanh(x) over the unsaturated rows (all
  // rows when fewer than n are unsaturated).
  Matrix clean = in.a;
  if (N - static_cast<Index>(in.saturated.size()) >= n) {
    clean.resize(N - static_cast<Index>(in.saturated.size()), d);
    Index next = 0;
    size_t r = 0;
    for (Index t = 0; t < N; ++t) {
      if (r < in.saturated.size() && in.saturated[r] == t) {
        ++r;
        continue;
      }
      clean.row(next++) = in.a.row(t);
    }
  }
  Eigen::BDCSVD<Matrix> svd(clean, Eigen::ComputeThinV);
  const Matrix V = svd.matrixV().leftCols(n);
  // Decoder Jacobian weights at the latents V gives (any U = V M gives the same).
  const Matrix latentsV =
      glmEncode(ConstMatrixMap(V.data(), d, n), in, glmPinv(ConstMatrixMap(V.data(), d, n), "gscale"), nullptr);
  const Matrix W = (1.0 - (latentsV * V.transpose()).array().tanh().square()).matrix();
  ConstMatrixMap G(data.pairs, n * N, d);
  const Matrix M = pairRule(tiledProduct(G, W, n) * V, N, n);
  GscaleModel model;
  model.family = GscaleFamily::Glm;
  model.n = static_cast<int>(n);
  model.d = static_cast<int>(d);
  model.clampEpsilon = clampEpsilon;
  model.theta.resize(d * n);
  MatrixMap U(model.theta.data(), d, n);
  U = V * M;
  // Scale each column so that D(j, j) = targetScale.
  const Matrix z = model.encode(data.x);
  const Matrix D = blockMeanAbs(model.pullBack(ConstMatrixMap(z.data(), N, n), data.pairs, n), n);
  for (Index j = 0; j < n; ++j)
    if (D(j, j) > 0) U.col(j) *= targetScale / D(j, j);
  return model;
}

GscaleModel gscaleRandomInit(GscaleFamily family, int n, int d, int hidden, uint64_t seed, double clampEpsilon) {
  Generator rng(seed);
  GscaleModel model;
  model.family = family;
  model.n = n;
  model.d = d;
  model.hidden = family == GscaleFamily::Mlp ? hidden : 0;
  model.clampEpsilon = clampEpsilon;
  model.theta.resize(GscaleModel::parameterCount(family, n, d, model.hidden));
  if (family == GscaleFamily::Glm) {
    rng.fillUniform(model.theta.data(), static_cast<size_t>(model.theta.size()), -0.5, 0.5);
    return model;
  }
  const MlpLayout L(n, d, hidden);
  model.theta.setZero();
  for (int b = 0; b < MlpLayout::Count; ++b) {
    if (L.cols[b] == 1) continue;  // biases start at zero
    const double limit = std::sqrt(6.0 / static_cast<double>(L.rows[b] + L.cols[b]));
    rng.fillUniform(model.theta.data() + L.offset[b], static_cast<size_t>(L.rows[b] * L.cols[b]), -limit, limit);
  }
  return model;
}

namespace {

// The graph from a scale-free statistic S (edge j -> i read from S(i, j)).
GscaleGraph graphFromStatistic(Matrix statistic, GscaleEdgeRule rule, double edgeThreshold) {
  const Index n = statistic.rows();
  GscaleGraph out;
  out.statistic = std::move(statistic);
  out.rawGraph = Adjacency::Constant(n, n, false);
  if (rule == GscaleEdgeRule::Adaptive) {
    // decideEdges reads edge j -> m from Rz_m(j, j); with an identity decoder
    // and covariance it applies its rule to that statistic unchanged.
    std::vector<Matrix> diagonal(static_cast<size_t>(n));
    for (Index i = 0; i < n; ++i) diagonal[static_cast<size_t>(i)] = out.statistic.row(i).transpose().asDiagonal();
    const Matrix identity = Matrix::Identity(n, n);
    const EdgeDecision decision =
        decideEdges(diagonal, identity, identity, EdgeRule::Adaptive, 0.0, EdgeFallback::NullLevel);
    out.threshold = decision.threshold;
    out.rawGraph = decision.graph;
  } else {
    out.threshold = edgeThreshold;
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < n; ++j) out.rawGraph(j, i) = j != i && out.statistic(i, j) > edgeThreshold;  // edge j -> i
  }
  ClosestDag closest = closestDag(out.rawGraph);
  out.graph = closest.dag;
  out.order = closest.order;
  return out;
}

// share(k, j) = mean over the rows t of block k of |S(t, j)| / ||S(t, .)||:
// where pair (or environment) k's latent score differences point, each
// sample counted the same (rows that are exactly zero count as nothing).
Matrix blockMeanShare(const Matrix& s, Index K) {
  const Index N = s.rows() / K;
  Matrix share = Matrix::Zero(K, s.cols());
  for (Index k = 0; k < K; ++k)
    for (Index t = 0; t < N; ++t) {
      const double norm = s.row(k * N + t).norm();
      if (norm > 0) share.row(k) += s.row(k * N + t).cwiseAbs() / norm;
    }
  return share / static_cast<double>(N);
}

// With the direction score term the edge statistic is the share of the
// observational differences in each coordinate; a trained model leaves a
// share of the pairs' differences off their own coordinate too (its misfit),
// and non-edges carry about that much. Edges must exceed this multiple of the
// pairs' mean off-diagonal share (chosen on data seeds 100-102, n = 5).
constexpr double kMisfitFactor = 1.5;

}  // namespace

GscaleGraph gscaleGraph(const Matrix& Dobs, const Matrix& latents, GscaleEdgeRule rule, double edgeThreshold) {
  const Index n = Dobs.rows();
  if (Dobs.cols() != n || latents.cols() != n)
    throw Error("gscaleGraph", "'Dobs' must be n x n and 'latents' N x n with the same n");
  Vector sd(n);
  for (Index j = 0; j < n; ++j) {
    const double mean = latents.col(j).mean();
    sd(j) = std::sqrt((latents.col(j).array() - mean).square().mean());
  }
  Matrix statistic = Matrix::Zero(n, n);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j)
      if (j != i) statistic(i, j) = Dobs(i, j) * sd(j);
  return graphFromStatistic(std::move(statistic), rule, edgeThreshold);
}

GscaleResult gscale(const GscaleData& data, const GscaleOptions& rawOptions, const Context* context) {
  const GscaleOptions o = resolveGscaleOptions(rawOptions);
  validateGscaleData("gscale", data);
  const Index N = data.x.rows(), n = data.n;
  const int d = static_cast<int>(data.x.cols());
  if (n > kClosestDagMaxNodes && data.obs)
    throw Error("gscale", "n = " + std::to_string(n) + " exceeds the " + std::to_string(kClosestDagMaxNodes) +
                              " nodes the graph step supports");

  // The sizes that grow with the options rather than the data: the
  // parameters and the optimiser's copies of them, the mlp's hidden
  // activations, the loss history.
  const int64_t hidden = o.family == GscaleFamily::Mlp ? o.hidden : 0;
  limits::Request("gscale")
      .add("the parameters, their gradient and the optimiser state",
           {6, hidden > 0 ? hidden * (d + n + 2) : int64_t(d) * n})
      .add("the hidden activations", {4, N, hidden})
      .add("the loss history",
           {(o.maxIterations +
             (int64_t(o.restarts > 0 ? o.restartIterations : 0) + o.warmupIterations) * (o.restarts + 1)) /
                    o.historyEvery +
                1,
            5})
      .check();

  GscaleResult result;
  result.init = o.init;
  result.learningRate = o.learningRate;
  const auto start = [&](GscaleInit init, uint64_t seed) {
    return init == GscaleInit::Spectral ? gscaleSpectralInit(data, o.targetScale, o.clampEpsilon)
           : init == GscaleInit::Linear
               ? gscaleLinearInit(data, o.family, o.hidden, o.targetScale, seed, o.clampEpsilon)
               : gscaleRandomInit(o.family, static_cast<int>(n), d, o.hidden, seed, o.clampEpsilon);
  };
  GscaleModel model = start(o.init, o.seed);
  const Objective objective(data, model, o.scoreLoss);

  // Restarts: the start and `restarts` seeded random starts (seeds seed + 1,
  // ...) each train for restartIterations; the one with the lowest training
  // loss goes on with the full schedule. Only the loss decides.
  const int64_t probe = o.restarts > 0 ? o.restartIterations : 0;
  const int64_t budget = o.maxIterations + (probe + o.warmupIterations) * (o.restarts + 1);
  std::vector<std::array<double, 5>> history;
  int total = 0;  // iterations over all phases (history and progress count these)
  const int progressEvery = std::clamp(static_cast<int>(budget / 200), 1, 100);
  const double stopLoss = o.lossTolerance * static_cast<double>(n) * o.targetScale;
  struct Phase {
    int iterations = 0;
    bool converged = false;
    double lr = 0;
  };
  // Trains `model` for at most `limit` iterations under the plateau
  // schedule and leaves the best parameters seen in it.
  // Minibatches (batchSize < N): each iteration's gradient comes from the
  // next batchSize rows of a seeded shuffle; at the end of each pass over the
  // rows (an epoch) the schedule sees the loss on all rows, counting the
  // epoch's iterations towards its patience.
  const Index batch = o.batchSize > 0 && o.batchSize < N ? o.batchSize : N;
  const Index epoch = (N + batch - 1) / batch;
  Generator batchRng(o.seed ^ 0x6261746368ULL);  // "batch": its own stream, apart from the random start's
  std::vector<int64_t> rowOrder(static_cast<size_t>(N));
  for (Index t = 0; t < N; ++t) rowOrder[static_cast<size_t>(t)] = t;
  Index cursor = N;  // exhausted: the first batch reshuffles
  Matrix batchX(batch < N ? batch : 0, d);
  std::vector<double> batchPairs(batch < N ? static_cast<size_t>(n * batch * d) : 0);
  const GscaleData batchData{ConstMatrixMap(batchX.data(), batchX.rows(), d), batchPairs.data(), nullptr, n};
  const auto nextBatch = [&]() {
    if (cursor + batch > N) {
      batchRng.shuffle(rowOrder);
      cursor = 0;
    }
    for (Index r = 0; r < batch; ++r) {
      const Index t = rowOrder[static_cast<size_t>(cursor + r)];
      batchX.row(r) = data.x.row(t);
      for (Index k = 0; k < n; ++k)
        std::copy_n(data.pairs + (k * N + t) * d, d, batchPairs.data() + (k * batch + r) * d);
    }
    cursor += batch;
  };

  // Trains `model` for at most `limit` iterations under the plateau
  // schedule and leaves the best parameters seen in it.
  const auto train = [&](GscaleModel& m, int limit, double kappa, double rate) {  // kappa: weight of the score term
    const Index P = m.theta.size();
    Vector grad(P), m1 = Vector::Zero(P), m2 = Vector::Zero(P);
    const double beta1 = 0.9, beta2 = 0.999, alpha = 0.99, eps = 1e-8;
    Phase phase;
    double lr = rate;
    double best = std::numeric_limits<double>::infinity();
    Vector bestTheta = m.theta;
    int sinceBest = 0, decaysDone = 0, it = 0;
    GscaleLoss loss;
    for (; it < limit; ++it, ++total) {
      if (context && total % 16 == 0) context->checkCancelled("gscale");
      // The schedule, the history and the progress see the loss on all rows:
      // every iteration, or with minibatches once per pass (at its start).
      bool checkpoint = true;
      int step = 1;  // iterations the checkpoint stands for
      if (batch < N) {
        checkpoint = it % epoch == 0;
        step = static_cast<int>(epoch);
        if (checkpoint) loss = objective(m, o.targetScale, o.reconstructionWeight, nullptr, kappa);
        nextBatch();
        const GscaleLoss part =
            Objective(batchData, m, o.scoreLoss)(m, o.targetScale, o.reconstructionWeight, &grad, kappa);
        if (!std::isfinite(part.total)) loss.total = part.total;
      } else {
        loss = objective(m, o.targetScale, o.reconstructionWeight, &grad, kappa);
      }
      if (!std::isfinite(loss.total) || !grad.allFinite())
        throw Error("gscale",
                    "the loss became non-finite at iteration " + std::to_string(total) +
                        "; use a smaller learningRate or rescale the score differences",
                    ErrorCode::NoSolution);
      if (total % o.historyEvery == 0)
        history.push_back({double(total), loss.total, loss.scoreTerm, loss.reconstruction, lr});
      if (context && total % progressEvery == 0)
        context->progress(std::min(static_cast<double>(total) / static_cast<double>(budget), 0.999),
                          "gscale: iteration " + std::to_string(total) + ", loss " + std::to_string(loss.total));
      if (checkpoint) {
        if (loss.total < best) {
          if (loss.total < best * (1.0 - o.tolerance))
            sinceBest = 0;
          else
            sinceBest += step;
          best = loss.total;
          bestTheta = m.theta;
        } else {
          sinceBest += step;
        }
      }
      if (checkpoint && loss.total <= stopLoss) {
        phase.converged = true;
        break;
      }
      if (checkpoint && sinceBest >= o.patience) {
        sinceBest = 0;
        if (++decaysDone > o.decays) {
          phase.converged = true;
          break;
        }
        lr *= 0.5;
        m.theta = bestTheta;  // restart the halved rate from the best point
        m1.setZero();
        m2.setZero();
      }
      if (o.optimizer == GscaleOptimizer::Adam) {
        m1 = beta1 * m1 + (1 - beta1) * grad;
        m2 = beta2 * m2 + (1 - beta2) * grad.cwiseAbs2();
        const double t = static_cast<double>(it + 1);
        const double c1 = 1 - std::pow(beta1, t), c2 = 1 - std::pow(beta2, t);
        m.theta.array() -= lr * (m1.array() / c1) / ((m2.array() / c2).sqrt() + eps);
      } else {
        m2 = alpha * m2 + (1 - alpha) * grad.cwiseAbs2();
        m.theta.array() -= lr * grad.array() / (m2.array().sqrt() + eps);
      }
    }
    m.theta = bestTheta;
    phase.iterations = it;
    phase.lr = lr;
    return phase;
  };

  // Transform-agnostic path: learn to reconstruct first (score term off),
  // then re-mix the latents by the pair rule, then train the full loss.
  const auto prepare = [&](GscaleModel& m) {
    if (o.warmupIterations > 0) train(m, o.warmupIterations, 0.0, o.warmupLearningRate);
    if (o.realign) realignLatents(m, data, o.targetScale);
  };
  if (o.restarts == 0) {
    prepare(model);
  } else {
    double bestLoss = std::numeric_limits<double>::infinity();
    GscaleModel winner = model;
    for (int k = 0; k <= o.restarts; ++k) {
      GscaleModel candidate = k == 0 ? model : start(GscaleInit::Random, o.seed + static_cast<uint64_t>(k));
      prepare(candidate);
      train(candidate, o.restartIterations, 1.0, o.learningRate);
      const double value = objective(candidate, o.targetScale, o.reconstructionWeight, nullptr).total;
      if (value < bestLoss) {
        bestLoss = value;
        winner = std::move(candidate);
      }
    }
    model = std::move(winner);
  }
  Phase main = train(model, o.maxIterations, 1.0, o.learningRate);
  // Retries: a model whose score term is still above retryScore per pair
  // ended in a poor basin (early losses do not tell those apart, so probing
  // starts briefly does not help); train again from the next seeded random
  // starts and keep the lowest loss.
  for (int r = 1; r <= o.retries; ++r) {
    const GscaleLoss now = objective(model, o.targetScale, o.reconstructionWeight, nullptr);
    if (now.scoreTerm <= o.retryScore * static_cast<double>(n)) break;
    GscaleModel candidate = start(GscaleInit::Random, o.seed + static_cast<uint64_t>(o.restarts + r));
    prepare(candidate);
    const Phase again = train(candidate, o.maxIterations, 1.0, o.learningRate);
    if (objective(candidate, o.targetScale, o.reconstructionWeight, nullptr).total < now.total) {
      model = std::move(candidate);
      main = again;
    }
  }
  result.converged = main.converged;
  const int it = total;
  const double lr = main.lr;
  result.iterations = it;
  result.finalLoss = objective(model, o.targetScale, o.reconstructionWeight, nullptr);
  history.push_back(
      {double(it), result.finalLoss.total, result.finalLoss.scoreTerm, result.finalLoss.reconstruction, lr});
  result.history.resize(static_cast<Index>(history.size()), 5);
  for (size_t r = 0; r < history.size(); ++r)
    for (int c = 0; c < 5; ++c) result.history(static_cast<Index>(r), c) = history[r][c];

  result.latents = model.encode(data.x);
  const ConstMatrixMap z(result.latents.data(), N, n);
  result.D = result.finalLoss.D;
  if (data.obs) {
    const Matrix observational = model.pullBack(z, data.obs, n);
    result.Dobs = blockMeanAbs(observational, n);
    GscaleGraph graph;
    if (o.scoreLoss == GscaleScoreLoss::Direction) {
      Matrix statistic = blockMeanShare(observational, n);
      statistic.diagonal().setZero();
      Matrix misfit = blockMeanShare(model.pullBack(z, data.pairs, n), n);
      misfit.diagonal().setZero();
      const double floor = n > 1 ? kMisfitFactor * misfit.sum() / static_cast<double>(n * (n - 1)) : 0.0;
      graph = graphFromStatistic(std::move(statistic), o.edgeRule, std::max(o.edgeThreshold, floor));
    } else {
      graph = gscaleGraph(result.Dobs, result.latents, o.edgeRule, o.edgeThreshold);
    }
    result.statistic = std::move(graph.statistic);
    result.threshold = graph.threshold;
    result.rawGraph = std::move(graph.rawGraph);
    result.graph = std::move(graph.graph);
    result.order = std::move(graph.order);
  }
  result.model = std::move(model);
  if (context) context->progress(1.0, "gscale: done after " + std::to_string(it) + " iterations");
  return result;
}

}  // namespace scorecrl
