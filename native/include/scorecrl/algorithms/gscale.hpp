// GSCALE-I: causal representation learning under a general (nonlinear,
// invertible) transform x = g(z) from two hard interventions per node
// (docs/gscale.md).
//
// An autoencoder (encoder h: x -> ẑ, decoder h^{-1}: ẑ -> x) is trained so
// that the latent score differences it implies,
//   dsz_i(ẑ_t) = J_dec(ẑ_t)^T dsx_i(x_t),        ẑ_t = enc(x_t),
// between the two hard interventions on node i are non-zero only in latent
// coordinate i. With
//   D(i, j) = (1/N) sum_t |dsz_i(ẑ_t)_j|                      (n x n)
// the loss is
//   L = sum_ij |D(i, j) - c δ_ij|  +  λ (1/N) sum_t ||dec(enc(x_t)) - x_t||^2
// where c (targetScale) fixes the otherwise free scale of each latent and ties
// latent i to the pair of environments that intervene node i. Hard
// interventions change nothing but the mechanism of their target, so the two
// environments of a pair differ only in the factor of p(z_i): the true
// transform reaches L = 0, and any other zero of L equals it up to
// per-coordinate invertible maps (the paper's identifiability result).
//
// Model families:
//   Glm  x = tanh(U ẑ), ẑ = pinv(U) atanh(clamp(x)), U (d x n) learned.
//        J_dec(ẑ) = diag(1 - tanh^2(U ẑ)) U.
//   Mlp  encoder d -> h -> h -> n, decoder n -> h -> h -> d, tanh hidden
//        layers, linear outputs. J_dec^T v is one reverse pass of the decoder.
//
// Gradients are written out by hand (no tape): for Mlp, the loss depends on
// the decoder's reverse pass, so its gradient is a reverse pass through that
// reverse pass and then through the forward decoder and the encoder. All
// samples and pairs are handled as stacked matrices (one product per layer).
// gscaleLoss exposes loss and gradient for finite-difference checks.
//
// Graph: for the observational-vs-first-intervention differences dsxObs_i,
// Dobs(i, j) = (1/N) sum_t |J_dec(ẑ_t)^T dsxObs_i(x_t)|_j is non-zero exactly
// for j in {i} ∪ pa(i). The edge statistic
//   S(i, j) = Dobs(i, j) sd(ẑ_j)        (j != i; S(i, i) = 0)
// is Dobs in standardised latent units, so it does not change when a latent
// is rescaled. With the Direction score term it is instead the per-sample
// share S(i, j) = (1/N) sum_t |v_tj| / ||v_t||, v_t = J_dec(ẑ_t)^T dsxObs_i(x_t),
// and the threshold rule's threshold is at least 1.5 times the pairs' mean
// share off their own coordinate (the trained model's misfit, which
// non-edges carry too). Edge j -> i when S(i, j) passes the edge rule:
//   Threshold  S(i, j) > edgeThreshold (raised to the misfit floor above);
//   Adaptive   LSCALE-I's data-driven rule (decideEdges in lscale.hpp):
//              Otsu split of log10 S, raised to the largest pair minimum
//              min(S(i, j), S(j, i)); also invariant to the scale of dsx.
// then the closest DAG (graph.hpp).
//
// Labels: estimated latent i and graph node i are the node that the pair
// dsxPairs[i] (and dsxObs[i]) intervenes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "scorecrl/evaluation/graph.hpp"
#include "scorecrl/linalg/linalg.hpp"

namespace scorecrl {

class Context;

enum class GscaleFamily { Glm, Mlp };
enum class GscaleOptimizer { Adam, RmsProp };
enum class GscaleEdgeRule { Threshold, Adaptive };
// The score term of the loss (see scoreTerm in gscale.cpp).
enum class GscaleScoreLoss {
  Auto,       // MeanAbs for Glm, Direction for Mlp
  MeanAbs,    // sum_ij |D(i, j) - c δ_ij|: the paper's loss
  Direction,  // per-sample share of pair i's difference outside coordinate i, plus a scale pin
};
enum class GscaleInit {
  Auto,      // Spectral for Glm, Random for Mlp
  Spectral,  // Glm only: closed-form start (see gscaleSpectralInit)
  Random,    // seeded uniform draws (Glm: U ~ U[-0.5, 0.5); Mlp: Glorot uniform)
  Linear,    // any family: from the data's linear structure (see gscaleLinearInit)
};

// Trainable parameters, flattened into one vector (the optimiser's view).
// Glm:  theta = U, d x n row-major.
// Mlp:  theta = E1 (h x d), e1 (h), E2 (h x h), e2 (h), E3 (n x h), e3 (n),
//               D1 (h x n), f1 (h), D2 (h x h), f2 (h), D3 (d x h), f3 (d)
//       encoder ẑ = E3 tanh(E2 tanh(E1 x + e1) + e2) + e3,
//       decoder x̂ = D3 tanh(D2 tanh(D1 ẑ + f1) + f2) + f3.
struct GscaleModel {
  GscaleFamily family = GscaleFamily::Glm;
  int n = 0, d = 0, hidden = 0;  // hidden: Mlp only (0 for Glm)
  double clampEpsilon = 1e-12;   // Glm: x is clamped to [-1 + eps, 1 - eps] before atanh
  Vector theta;

  // Number of parameters for the family and sizes.
  static Index parameterCount(GscaleFamily family, int n, int d, int hidden);
  // Checks sizes and theta's length; throws Error(function, ...).
  void validate(const std::string& function) const;

  // ẑ (N x n) for the rows of x (N x d).
  Matrix encode(const ConstMatrixMap& x) const;
  // x̂ (N x d) for the rows of z (N x n).
  Matrix decode(const ConstMatrixMap& z) const;
  // Latent score differences J_dec(ẑ_t)^T v_t for K stacked blocks: v is
  // K x N x d (block k, row t), z the N x n latents at which the decoder is
  // differentiated; returns (K·N) x n in the same block order.
  Matrix pullBack(const ConstMatrixMap& z, const double* v, Index K) const;
};

struct GscaleOptions {
  GscaleFamily family = GscaleFamily::Glm;
  int hidden = 32;           // Mlp width
  double targetScale = 1.0;  // c: target of the diagonal of D
  GscaleScoreLoss scoreLoss = GscaleScoreLoss::Auto;
  double reconstructionWeight =
      -1.0;  // λ; < 0: family default (Glm 1, Mlp 100: the mlp decoder must learn to reconstruct first)
  GscaleOptimizer optimizer = GscaleOptimizer::Adam;
  double learningRate = -1.0;  // < 0: family default (Glm 1e-3 spectral or realigned / 2e-2 otherwise, Mlp 5e-3)
  int maxIterations = 20000;
  // Plateau schedule: when the best loss has not improved by a relative
  // `tolerance` for `patience` iterations, the learning rate is halved and
  // training restarts from the best parameters; after `decays` halvings, or
  // once loss <= lossTolerance * n * targetScale (the total of D's diagonal
  // target), training has converged. The best parameters seen are returned.
  double tolerance = 1e-4;
  int patience = 200;
  int decays = 6;
  double lossTolerance = 1e-6;
  GscaleInit init = GscaleInit::Auto;
  uint64_t seed = 0;
  double clampEpsilon = 1e-12;
  GscaleEdgeRule edgeRule = GscaleEdgeRule::Threshold;
  double edgeThreshold = 0.02;
  int historyEvery = 50;  // record a history row every this many iterations (and the last)
  // Restarts chosen by the training loss: the start and `restarts` seeded
  // random starts (seeds seed + 1, ...) each train for restartIterations
  // (same schedule); the lowest loss then trains for maxIterations.
  int restarts = 0;
  int restartIterations = 500;
  // Rows per iteration: 0 = all rows (full batch); otherwise each iteration
  // takes the next batchSize rows of a seeded shuffle and the plateau schedule
  // sees the loss on all rows once per pass. < 0: family default (Mlp 256,
  // Glm 0). At most N (more means all rows).
  int batchSize = -1;
  // Retries: after training, while the score term exceeds retryScore per
  // pair (score term > retryScore * n), train again from the next seeded
  // random start (seed + restarts + 1, ...) and keep the lowest loss, at most
  // `retries` times. < 0: family default (2 for the direction term from a
  // random start, else 0). retryScore 0.1: 1.5 times the largest per-pair
  // score term (0.066) of the mlp runs on data seeds 100 and 101 (n = 5).
  int retries = -1;
  double retryScore = 0.1;
  // Transform-agnostic path (the Glm default for the Random and Linear
  // starts): train the reconstruction alone for warmupIterations (same
  // schedule, score term off), then re-mix the latents linearly by the pair
  // rule on the model's own latent score differences (realign), then train
  // the full loss.
  int warmupIterations = -1;       // < 0: Glm 4000 (Random/Linear start), otherwise 0
  int realign = -1;                // < 0: Glm 1 (Random/Linear start), otherwise 0
  double warmupLearningRate = -1;  // < 0: Glm 2e-2, Mlp 5e-3
};

// Sets family-dependent defaults and checks ranges; throws Error("gscale", ...).
GscaleOptions resolveGscaleOptions(GscaleOptions options);

// The training data: x (N x d) observational samples; pairs and obs are
// n x N x d (obs may be null: then no graph is estimated).
struct GscaleData {
  ConstMatrixMap x;
  const double* pairs;
  const double* obs;
  Index n;
};

// Checks shapes/values of the data against the model sizes; throws.
void validateGscaleData(const std::string& function, const GscaleData& data);

// Loss terms at theta.
struct GscaleLoss {
  double total = 0;
  double scoreTerm = 0;       // the score term of the chosen GscaleScoreLoss
  double reconstruction = 0;  // (1/N) sum_t ||x̂_t - x_t||^2 (before λ)
  Matrix D;                   // n x n
};

// Loss and, if gradient != nullptr, its gradient with respect to model.theta
// (same layout). Derived by hand; see the file comment.
GscaleLoss gscaleLoss(const GscaleModel& model, const GscaleData& data, double targetScale, double reconstructionWeight,
                      GscaleScoreLoss scoreLoss, Vector* gradient);

// Closed-form Glm start. U spans the top-n right singular subspace V of
// atanh(clamp(x)); with it the decoder Jacobian weights w_t = 1 - x̂_t^2 are
// fixed, and dsz_i = M^T V^T (w ⊙ dsx_i) for U = V M. Column m_j of M must be
// orthogonal to V^T (w ⊙ dsx_i) for every pair i != j: it is the eigenvector of
// the smallest eigenvalue of sum_{i != j} C_i / tr C_i,
// C_i = E[(V^T (w ⊙ dsx_i)) (.)^T]. Columns are then scaled so D(j, j) = c.
GscaleModel gscaleSpectralInit(const GscaleData& data, double targetScale, double clampEpsilon);

// Transform-agnostic start from the data's linear structure: LSCALE-I's
// pair rule on the linearisation x ≈ mean + A z. V = top-n right singular
// vectors of the centred x; with A = V M, dsz_i = M^T V^T dsx_i, so column m_j
// of M is the eigenvector of the smallest eigenvalue of
// sum_{i != j} C_i / tr C_i, C_i = E[(V^T dsx_i)(.)^T] (nothing about tanh is
// used). Glm: U = V M. Mlp: a network that is this linear autoencoder to
// first order: encoder layers E1 = s B pinv(A) (B h x n with orthonormal
// columns drawn from `seed`), E2 = I, decoder D1 = s B', D2 = I, with s
// keeping the hidden pre-activations in tanh's near-linear range, and the
// read-out layers E3, e3 and D3, f3 fitted by least squares to the linear
// latents and to x. Latents are then rescaled so that D(j, j) = c.
GscaleModel gscaleLinearInit(const GscaleData& data, GscaleFamily family, int hidden, double targetScale, uint64_t seed,
                             double clampEpsilon);

// Seeded random start.
GscaleModel gscaleRandomInit(GscaleFamily family, int n, int d, int hidden, uint64_t seed, double clampEpsilon);

struct GscaleResult {
  GscaleModel model;
  Matrix latents;          // N x n: encode(x)
  Matrix D;                // n x n, pair statistic at the trained model
  Matrix Dobs;             // n x n, observational statistic (empty without obs)
  Matrix statistic;        // n x n scale-free edge statistic S (zero diagonal; empty without obs)
  double threshold = 0;    // the threshold the edge rule applied to S (after any misfit floor)
  Adjacency rawGraph;      // edges passing the rule (may be cyclic)
  Adjacency graph;         // closest DAG of rawGraph
  std::vector<int> order;  // a topological order of graph
  // History rows: iteration, loss, score term, reconstruction, learning rate.
  Matrix history;
  int iterations = 0;
  bool converged = false;
  GscaleLoss finalLoss;
  GscaleInit init = GscaleInit::Auto;  // the start actually used
  double learningRate = 0;             // the initial rate actually used
};

// Trains the autoencoder and reads the graph. Reports progress through
// `context` (fraction of maxIterations) and stops with Cancelled when asked.
GscaleResult gscale(const GscaleData& data, const GscaleOptions& options, const Context* context = nullptr);

// Graph from an observational statistic (n x n) and latents (N x n).
struct GscaleGraph {
  Matrix statistic;
  double threshold = 0;
  Adjacency rawGraph;
  Adjacency graph;
  std::vector<int> order;
};
GscaleGraph gscaleGraph(const Matrix& Dobs, const Matrix& latents, GscaleEdgeRule rule, double edgeThreshold);

}  // namespace scorecrl
