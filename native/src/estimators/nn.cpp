#include "scorecrl/estimators/nn.hpp"

#include <cmath>

#include "scorecrl/linalg/gemm.hpp"
#include "scorecrl/runtime/error.hpp"
#include "scorecrl/simulation/rng.hpp"

namespace scorecrl {
namespace nn {

namespace {

// tanh through the vectorised exponential (Eigen has no packet tanh for
// double): tanh(a) = sign(a) (1 - e) / (1 + e), e = exp(-2|a|). Exact to a few
// ulp in absolute terms.
template <typename Scalar>
using ArrayT = Eigen::Array<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <typename Scalar>
void tanhInPlace(MatrixT<Scalar>& a) {
  auto arr = a.array();
  const ArrayT<Scalar> e = (Scalar(-2) * arr.abs()).exp();
  arr = arr.sign() * (Scalar(1) - e) / (Scalar(1) + e);
}

// float has a vectorised tanh in Eigen.
template <>
void tanhInPlace<float>(MatrixT<float>& a) {
  a = a.array().tanh();
}

// Products through gemm() (Eigen's kernels even in a BLAS build). All
// matrices here are compact row-major.
// C (rows x out) = X (rows x in) W^T, W out x in.
template <typename Scalar>
void timesWt(const MatrixT<Scalar>& X, const Scalar* W, Index out, MatrixT<Scalar>& C) {
  C.resize(X.rows(), out);
  gemm(false, true, X.rows(), out, X.cols(), Scalar(1), X.data(), X.cols(), W, X.cols(), Scalar(0), C.data(), out);
}
// C (rows x in) = G (rows x out) W, W out x in.
template <typename Scalar>
void timesW(const MatrixT<Scalar>& G, const Scalar* W, Index in, MatrixT<Scalar>& C) {
  C.resize(G.rows(), in);
  gemm(false, false, G.rows(), in, G.cols(), Scalar(1), G.data(), G.cols(), W, in, Scalar(0), C.data(), in);
}
// gW (out x in) += G^T X, G rows x out, X rows x in.
template <typename Scalar>
void addGtX(const MatrixT<Scalar>& G, const MatrixT<Scalar>& X, Scalar* gW) {
  gemm(true, false, G.cols(), X.cols(), G.rows(), Scalar(1), G.data(), G.cols(), X.data(), X.cols(), Scalar(1), gW,
       X.cols());
}

}  // namespace

Mlp::Mlp(std::vector<Index> layerSizes) : sizes(std::move(layerSizes)) {
  if (sizes.size() < 2) throw Error("nn::Mlp", "a network needs at least an input and an output size");
  for (Index s : sizes)
    if (s < 1) throw Error("nn::Mlp", "layer sizes must be positive");
}

Index Mlp::parameterCount() const {
  Index count = 0;
  for (int l = 1; l <= layers(); ++l) count += sizes[l] * sizes[l - 1] + sizes[l];
  return count;
}

Index Mlp::weightOffset(int layer) const {
  Index offset = 0;
  for (int l = 1; l < layer; ++l) offset += sizes[l] * sizes[l - 1] + sizes[l];
  return offset;
}

Index Mlp::biasOffset(int layer) const { return weightOffset(layer) + sizes[layer] * sizes[layer - 1]; }

void initialise(const Mlp& net, double* params, Generator& rng) {
  for (int l = 1; l <= net.layers(); ++l) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(net.sizes[l - 1]));
    const Index count = net.sizes[l] * net.sizes[l - 1] + net.sizes[l];
    rng.fillUniform(params + net.weightOffset(l), static_cast<size_t>(count), -bound, bound);
  }
}

template <typename Scalar>
void forward(const Mlp& net, const Scalar* params, const Eigen::Ref<const MatrixT<Scalar>>& x, Workspace<Scalar>& ws,
             const Eigen::Ref<const MatrixT<Scalar>>* v) {
  using M = MatrixT<Scalar>;
  using CVec = Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>;
  const int L = net.layers();
  const Index B = x.rows();
  if (x.cols() != net.inputs()) throw Error("nn::forward", "input width does not match the network");
  ws.h.resize(static_cast<size_t>(L + 1));
  ws.h[0] = x;
  const bool tangents = v != nullptr;
  int P = 0;
  if (tangents) {
    if (B == 0 || v->cols() != net.inputs() || v->rows() % B != 0)
      throw Error("nn::forward", "directions must be (P*B) x inputs");
    P = static_cast<int>(v->rows() / B);
    ws.t.resize(static_cast<size_t>(L + 1));
    ws.u.resize(static_cast<size_t>(L + 1));
    ws.t[0] = *v;
  }
  ws.directions = P;
  for (int l = 1; l <= L; ++l) {
    const Index out = net.sizes[l];
    const Scalar* W = params + net.weightOffset(l);
    CVec b(params + net.biasOffset(l), out);
    M& h = ws.h[static_cast<size_t>(l)];
    timesWt(ws.h[static_cast<size_t>(l - 1)], W, out, h);
    h.rowwise() += b.transpose();
    if (l < L) tanhInPlace(h);
    if (tangents) {
      M& u = ws.u[static_cast<size_t>(l)];
      timesWt(ws.t[static_cast<size_t>(l - 1)], W, out, u);
      M& t = ws.t[static_cast<size_t>(l)];
      if (l < L) {
        t.resize(P * B, out);
        const ArrayT<Scalar> slope = Scalar(1) - h.array().square();
        for (int p = 0; p < P; ++p) t.middleRows(p * B, B).array() = u.middleRows(p * B, B).array() * slope;
      } else {
        t = u;
      }
    }
  }
}

template <typename Scalar>
void backward(const Mlp& net, const Scalar* params, Workspace<Scalar>& ws,
              const Eigen::Ref<const MatrixT<Scalar>>& gOut, const Eigen::Ref<const MatrixT<Scalar>>* gTangent,
              Scalar* gParams, MatrixT<Scalar>* gInput) {
  using M = MatrixT<Scalar>;
  using A = ArrayT<Scalar>;
  const int L = net.layers();
  const Index B = ws.h[0].rows();
  const int P = ws.directions;
  const bool tangents = gTangent != nullptr;
  if (tangents && P == 0) throw Error("nn::backward", "tangent gradients need a forward pass with directions");
  if (gOut.rows() != B || gOut.cols() != net.outputs()) throw Error("nn::backward", "gOut must be B x outputs");
  if (tangents && (gTangent->rows() != P * B || gTangent->cols() != net.outputs()))
    throw Error("nn::backward", "gTangent must be (P*B) x outputs");

  // ga: dLoss/da_l (B x out); gu: dLoss/du_l ((P*B) x out).
  ws.ga = gOut;
  if (tangents) ws.gu = *gTangent;
  for (int l = L; l >= 1; --l) {
    const Index in = net.sizes[l - 1], out = net.sizes[l];
    const M& hPrev = ws.h[static_cast<size_t>(l - 1)];
    if (l < L) {
      // ga currently holds dLoss/dh_l, gt (if tangents) dLoss/dt_l.
      const M& h = ws.h[static_cast<size_t>(l)];
      const A slope = Scalar(1) - h.array().square();
      if (tangents) {
        // t = slope .* u, slope = 1 - h^2, dslope/da = -2 h slope.
        const A curve = Scalar(-2) * h.array() * slope;
        A extra = A::Zero(B, out);
        ws.gu.resize(P * B, out);
        const M& u = ws.u[static_cast<size_t>(l)];
        for (int p = 0; p < P; ++p) {
          extra += u.middleRows(p * B, B).array() * ws.gt.middleRows(p * B, B).array();
          ws.gu.middleRows(p * B, B).array() = ws.gt.middleRows(p * B, B).array() * slope;
        }
        ws.ga.array() = ws.ga.array() * slope + extra * curve;
      } else {
        ws.ga.array() *= slope;
      }
    }
    if (gParams) {
      Eigen::Map<Eigen::Matrix<Scalar, Eigen::Dynamic, 1>> gb(gParams + net.biasOffset(l), out);
      addGtX(ws.ga, hPrev, gParams + net.weightOffset(l));
      if (tangents) addGtX(ws.gu, ws.t[static_cast<size_t>(l - 1)], gParams + net.weightOffset(l));
      gb.noalias() += ws.ga.colwise().sum().transpose();
    }
    if (l > 1 || gInput) {
      const Scalar* W = params + net.weightOffset(l);
      timesW(ws.ga, W, in, ws.gh);
      if (l > 1 && tangents) timesW(ws.gu, W, in, ws.gt);
      if (l == 1) {
        *gInput = ws.gh;
      } else {
        ws.ga.swap(ws.gh);
      }
    }
  }
}

template <typename Scalar>
MatrixT<Scalar> inputGradient(const Mlp& net, const Scalar* params, const Eigen::Ref<const MatrixT<Scalar>>& x,
                              Workspace<Scalar>& ws) {
  if (net.outputs() != 1) throw Error("nn::inputGradient", "the network must have one output");
  forward<Scalar>(net, params, x, ws);
  const MatrixT<Scalar> ones = MatrixT<Scalar>::Ones(x.rows(), 1);
  MatrixT<Scalar> grad;
  backward<Scalar>(net, params, ws, ones, nullptr, nullptr, &grad);
  return grad;
}

template <typename Scalar>
Adam<Scalar>::Adam(Index size, double learningRate, double beta1, double beta2, double epsilon)
    : m_(decltype(m_)::Zero(size)),
      v_(decltype(v_)::Zero(size)),
      lr_(learningRate),
      beta1_(beta1),
      beta2_(beta2),
      eps_(epsilon) {}

template <typename Scalar>
void Adam<Scalar>::step(Scalar* params, const Scalar* grad) {
  ++t_;
  pow1_ *= beta1_;
  pow2_ *= beta2_;
  using V = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  Eigen::Map<const V> g(grad, m_.size());
  Eigen::Map<V> p(params, m_.size());
  const Scalar b1 = static_cast<Scalar>(beta1_), b2 = static_cast<Scalar>(beta2_);
  m_ = b1 * m_ + (Scalar(1) - b1) * g;
  v_ = b2 * v_ + (Scalar(1) - b2) * g.cwiseAbs2();
  const Scalar stepSize = static_cast<Scalar>(lr_ / (1.0 - pow1_));
  const Scalar correction2 = static_cast<Scalar>(1.0 / (1.0 - pow2_));
  p.array() -= stepSize * m_.array() / ((v_.array() * correction2).sqrt() + static_cast<Scalar>(eps_));
}

#define SCORECRL_NN_INSTANTIATE(Scalar)                                                                               \
  template void forward<Scalar>(const Mlp&, const Scalar*, const Eigen::Ref<const MatrixT<Scalar>>&,                  \
                                Workspace<Scalar>&, const Eigen::Ref<const MatrixT<Scalar>>*);                        \
  template void backward<Scalar>(const Mlp&, const Scalar*, Workspace<Scalar>&,                                       \
                                 const Eigen::Ref<const MatrixT<Scalar>>&, const Eigen::Ref<const MatrixT<Scalar>>*,  \
                                 Scalar*, MatrixT<Scalar>*);                                                          \
  template MatrixT<Scalar> inputGradient<Scalar>(const Mlp&, const Scalar*, const Eigen::Ref<const MatrixT<Scalar>>&, \
                                                 Workspace<Scalar>&);                                                 \
  template class Adam<Scalar>;

SCORECRL_NN_INSTANTIATE(double)
SCORECRL_NN_INSTANTIATE(float)

}  // namespace nn
}  // namespace scorecrl
