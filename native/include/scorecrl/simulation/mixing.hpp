// Mixing transforms x = g(z) from n latent to d >= n observed dimensions, and
// how scores move through them.
//
//   Linear   x = G z,           G = Q R (d x n)
//   Tanh     x = tanh(T z),     T drawn like G
//   TanhMlp  h_0 = z, h_l = tanh(W_l h_{l-1} + b_l) (l = 1..L), x = h_L;
//            W_1 (d x n) drawn like G, W_l (l >= 2) Haar orthogonal d x d,
//            b_l ~ U[-0.5, 0.5)^d. Injective: every layer is (W_1 has full
//            column rank, tanh is strictly monotone).
//
// Scores on the data manifold. For d > n the observations live on the
// n-dimensional manifold g(R^n), and p_x is the density with respect to its
// surface measure: log p_x(g(z)) = log p_z(z) - V(z), V = 1/2 log det(J^T J),
// J = J_g(z) (d x n). Its score is the tangent vector
//   s_x = pinv(J)^T (s_z - grad V),
// i.e. d/dt log p_x(g(z + t u)) = s_x . J u for every direction u. For the
// linear transform V is constant and s_x = pinv(G)^T s_z. Score differences
// between environments do not depend on V: dsx = pinv(J)^T dsz.
#pragma once
#include <vector>

#include "scorecrl/linalg/linalg.hpp"

namespace scorecrl {

class Generator;

enum class MixingKind { Linear, Tanh, TanhMlp };

struct MixingOptions {
  MixingKind kind = MixingKind::Linear;
  // The n x n mixing block R is redrawn while sigma_min/sigma_max < floor.
  double conditionFloor = 0.1;
  // Scale the columns of G (and of T, W_1) to max |entry| 1.
  bool scaleColumns = true;
  // TanhMlp: number of tanh layers L (>= 1).
  int layers = 2;
};

struct Mixing {
  MixingKind kind = MixingKind::Linear;
  int n = 0, d = 0;
  std::vector<Matrix> weights;         // weights[0]: d x n; further layers d x d
  std::vector<Vector> biases;          // one per layer (zeros for Tanh); empty for Linear
  std::vector<Matrix> pseudoInverses;  // pinv of each weight matrix
  // pinv(weights[0]) (n x d): the encoder of the linear transform.
  const Matrix& encoder() const { return pseudoInverses.front(); }
  // G, T or W_1.
  const Matrix& decoder() const { return weights.front(); }
  bool linear() const { return kind == MixingKind::Linear; }

  // x = g(z) for the rows of z (N x n) into x (N x d).
  void forward(const double* z, Index N, double* x) const;
  // z = g^{-1}(x) for points on the manifold (layer by layer: atanh, then
  // pinv(W_l)); off the manifold this is a least-squares projection.
  void inverse(const double* x, Index N, double* z) const;
  // J_g(z) at one point (z: n values) as a d x n matrix.
  Matrix jacobian(const double* z) const;
  // V(z) = 1/2 log det(J^T J) for the rows of z into out (N).
  void logVolume(const double* z, Index N, double* out) const;
  // Maps latent covectors to the observed space at the rows of z:
  // out[c] (rows x d) = rows of pinv(J(z_t))^T (v[c]_t - (volume ? grad V(z_t) : 0)),
  // for c = 0..count-1, with v[c] (rows x n). The Jacobian is built and
  // factored once per point for all `count` sets.
  void mapCovectors(const double* z, Index rows, int count, const double* const* v, double* const* out,
                    bool volume) const;
};

// Haar-random d x d orthogonal matrix: QR of a d x d standard normal matrix
// (drawn row by row), columns signed so that diag(R) > 0 (scipy's ortho_group).
Matrix drawHaarOrthogonal(int d, Generator& rng);

// The reference's linear decoder: Q = first n columns of drawHaarOrthogonal(d),
// R = U[0,1)^{n x n} - 0.5 redrawn while sigma_min/sigma_max < conditionFloor,
// G = Q R, then (if scaleColumns) each column divided by its max |entry|.
Matrix drawLinearMixing(int n, int d, double conditionFloor, bool scaleColumns, Generator& rng);

// Throws scorecrl::Error for n < 1, d < n, layers < 1 or a floor outside [0, 1].
Mixing drawMixing(int n, int d, const MixingOptions& options, Generator& rng);

}  // namespace scorecrl
