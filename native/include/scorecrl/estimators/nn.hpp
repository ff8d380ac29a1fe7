// Small dense networks for the learned score estimators: a multilayer
// perceptron with tanh hidden layers and a linear output layer, evaluated on
// minibatches with Eigen matrix products, its hand-derived gradients, and Adam.
//
// Besides the usual forward/backward pass, the network propagates tangents:
// given directions V, forward() also computes the Jacobian-vector products
// J(x) v of the output with respect to the input, and backward() accepts a
// gradient with respect to those products. This is what sliced score matching
// needs, whose loss contains v^T J(x) v.
//
// Parameters live in one flat vector (for Adam and for serialisation): layer
// by layer, the weight matrix W_l (out x in, row-major) followed by the bias
// b_l (out). A batch is a row-major B x in matrix, one sample per row;
// tangents for P directions per sample are stacked as (P*B) x in, direction p
// of sample b in row p*B + b.
#pragma once
#include <cstdint>
#include <vector>

#include "scorecrl/linalg/linalg.hpp"

namespace scorecrl {

class Generator;

namespace nn {

// Layer sizes: sizes[0] inputs, sizes[1..L-1] hidden (tanh), sizes[L] outputs
// (linear).
struct Mlp {
  std::vector<Index> sizes;

  Mlp() = default;
  explicit Mlp(std::vector<Index> layerSizes);
  int layers() const { return static_cast<int>(sizes.size()) - 1; }
  Index inputs() const { return sizes.front(); }
  Index outputs() const { return sizes.back(); }
  Index parameterCount() const;
  // Offsets of W_l and b_l (l = 1..layers()) in the flat parameter vector.
  Index weightOffset(int layer) const;
  Index biasOffset(int layer) const;
};

// Uniform(-1/sqrt(in), 1/sqrt(in)) weights and biases, drawn layer by layer
// (weights row by row, then biases) from rng.
void initialise(const Mlp& net, double* params, Generator& rng);

// Networks run in double (gradient checks, evaluation) or float (training:
// twice the SIMD width).
template <typename Scalar>
using MatrixT = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Intermediate values of one forward pass, reused between calls.
template <typename Scalar>
struct Workspace {
  using M = MatrixT<Scalar>;
  std::vector<M> h;  // h[0] = input, h[l] = tanh(a_l) for hidden l, h[L] = output
  std::vector<M> u;  // u[l] = t[l-1] W_l^T (tangent pre-activations), l >= 1
  std::vector<M> t;  // t[0] = V, t[l] = tanh'(a_l) .* u[l] (stacked per direction), t[L] = u[L]
  M ga, gu, gh, gt;  // scratch of backward()
  int directions = 0;
};

// Forward pass on the rows of x. With v ((P*B) x in, P >= 1) also the
// Jacobian-vector products, available as ws.t.back() ((P*B) x out).
// Output: ws.h.back() (B x out).
template <typename Scalar>
void forward(const Mlp& net, const Scalar* params, const Eigen::Ref<const MatrixT<Scalar>>& x, Workspace<Scalar>& ws,
             const Eigen::Ref<const MatrixT<Scalar>>* v = nullptr);

// Reverse pass after forward(): gOut (B x out) is dLoss/dOutput, gTangent
// ((P*B) x out, or null) dLoss/d(J v) when forward() had directions.
// Accumulates dLoss/dParams into gParams (if not null); writes dLoss/dInput
// (B x in) into gInput (if not null), not including the dependence through V.
template <typename Scalar>
void backward(const Mlp& net, const Scalar* params, Workspace<Scalar>& ws,
              const Eigen::Ref<const MatrixT<Scalar>>& gOut, const Eigen::Ref<const MatrixT<Scalar>>* gTangent,
              Scalar* gParams, MatrixT<Scalar>* gInput);

// Gradient of a one-output network with respect to its input, row by row:
// returns B x in. Runs forward() and backward() on ws.
template <typename Scalar>
MatrixT<Scalar> inputGradient(const Mlp& net, const Scalar* params, const Eigen::Ref<const MatrixT<Scalar>>& x,
                              Workspace<Scalar>& ws);

// Adam (Kingma & Ba) with bias correction, on a flat parameter vector.
// Moments and updates in Scalar.
template <typename Scalar>
class Adam {
 public:
  Adam(Index size, double learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8);
  void step(Scalar* params, const Scalar* grad);
  int64_t steps() const { return t_; }
  void setLearningRate(double learningRate) { lr_ = learningRate; }

 private:
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> m_, v_;
  double lr_, beta1_, beta2_, eps_;
  double pow1_ = 1.0, pow2_ = 1.0;
  int64_t t_ = 0;
};

}  // namespace nn
}  // namespace scorecrl
