// Latent structural causal models (docs/simulation.md, "Models"): an Erdős–Rényi DAG,
// additive Gaussian noise Z_i = c_i f_i(Z_pa(i)) + N_i, N_i ~ N(0, v_i), and
// the exact score and log-density of every environment.
//
// An environment is described by two numbers per node: the factor c_i on the
// mechanism (1 observational, 0 hard intervention, 0.5 soft intervention) and
// the noise variance v_i it uses. The latent score at z is
//   r_i = -(z_i - c_i f_i(z_pa)) / v_i,
//   s_k = r_k - sum_{i : k in pa(i)} r_i c_i df_i/dz_k.
//
// Draws follow the reference experiments (acarturk-e/score-based-crl,
// scm/*.py) draw for draw on a NumPy-compatible Generator; see drawLatentScm.
// All sample arrays are row-major with one sample per row (N x n).
#pragma once
#include <vector>

#include "scorecrl/evaluation/graph.hpp"
#include "scorecrl/linalg/linalg.hpp"
#include "scorecrl/linalg/small_product.hpp"

namespace scorecrl {

class Generator;

enum class LatentModel {
  Linear,     // f_i = w_i^T z_pa, weights ±U[0.5, 1.5)
  Quadratic,  // f_i = sqrt(z_pa^T A_i z_pa), A_i = L^T L, L ~ U[-1, 1)^{k x k}, sigma_min(L) >= 0.1
  Mlp,        // f_i = w2^T relu(W1 z_pa + b1) + b2, hidden width 32 by default
};

struct ScmOptions {
  LatentModel model = LatentModel::Linear;
  // Probability of each edge i -> j between positions i < j of the order.
  double density = 0.5;
  // Relabel the nodes by a random permutation (the reference's
  // randomize_top_order); otherwise 0, 1, ..., n-1 is a topological order.
  bool randomOrder = false;
  // Mlp: hidden width.
  int mlpHidden = 32;
  // Quadratic: L is redrawn while its smallest singular value is below this.
  double minSingularValue = 0.1;
};

// f(z) = w2^T relu(W1 z + b1) + b2 over the parents (ascending index order).
struct MlpMechanism {
  Matrix w1;  // hidden x k
  Vector b1;  // hidden
  Vector w2;  // hidden
  double b2 = 0.0;
};

struct LatentScm {
  LatentModel model = LatentModel::Linear;
  int n = 0;
  Adjacency adjacency;                    // adjacency(i, j): edge i -> j
  std::vector<std::vector<int>> parents;  // ascending indices
  std::vector<int> order;                 // topological order used for sampling
  Vector variances;                       // observational noise variances v_i
  std::vector<Vector> weights;            // Linear: weights over parents[j]
  std::vector<Matrix> quadratic;          // Quadratic: A_j (k x k, symmetric PSD)
  std::vector<MlpMechanism> mlp;          // Mlp

  // Linear only: W(i, j) = weight of the edge i -> j, zero elsewhere.
  Matrix weightMatrix() const;
};

// Mechanisms of one environment.
struct Environment {
  std::vector<int> targets;  // intervened nodes (ascending)
  Vector mechanismScale;     // c_i
  Vector noiseVariance;      // v_i used in this environment
};

// How an intervention changes the noise variance of its targets.
enum class VarianceChange {
  Scale,  // v_i * factor (the reference's "scale")
  Add,    // v_i + factor (the reference's "increase")
};

struct InterventionSpec {
  bool hard = true;     // hard: c_i = 0; soft: c_i = softScale
  double factor = 5.0;  // > 0
  VarianceChange change = VarianceChange::Scale;
  double softScale = 0.5;
};

// Draws a model in the reference order: [permutation(n) if randomOrder], the
// n x n uniform matrix whose strict upper triangle (u <= density) gives the
// edges between positions of the order, the n variances u + 0.5, then node by
// node in index order its parameters:
//   Linear:    k uniforms (signs, u < 0.5 negative), k uniforms (magnitudes 0.5 + u);
//   Quadratic: a k x k uniform matrix mapped to [-1, 1), redrawn while its
//              smallest singular value is below minSingularValue;
//   Mlp:       W1 (hidden x k), b1, w2 (hidden), b2, uniform on
//              ±1/sqrt(fan-in) (PyTorch's default initialisation; not
//              reference-compatible: the reference draws them with torch).
// Throws scorecrl::Error for n < 1, a density outside [0, 1] or hidden < 1.
LatentScm drawLatentScm(int n, const ScmOptions& options, Generator& rng);

// The observational environment (c = 1, v = variances).
Environment observationalEnvironment(const LatentScm& scm);
// The environment that intervenes on `targets` (any order; duplicates ignored).
Environment intervenedEnvironment(const LatentScm& scm, const std::vector<int>& targets, const InterventionSpec& spec);

// Linear only: the precision matrix Theta of the environment's latent
// distribution, so that s(z) = -Theta z.
Matrix linearPrecision(const LatentScm& scm, const Environment& env);

// Turns standard normals into samples of `env`: on entry `block` holds
// rows x n standard normals (row-major, sample-major as NumPy draws them), on
// return the latents. Construct once per environment, apply to many blocks.
// Reproducible (default): bit-identical on every platform. Otherwise the
// linear model may use fused multiply-adds (faster; last-bit differences).
class LatentSampler {
 public:
  LatentSampler(const LatentScm& scm, const Environment& env, bool reproducible = true);
  void operator()(double* block, Index rows) const;

 private:
  const LatentScm* scm_;
  const Environment* env_;
  Matrix linearMap_;  // Linear: z_row = e_row * linearMap_
  SmallProduct fastMap_;
  bool reproducible_ = true;
  Vector noiseScale_;
};

// N samples of `env`: consumes N*n standard normals from rng, sample-major.
void sampleLatents(const LatentScm& scm, const Environment& env, Generator& rng, Index N, double* z);

// The score s(z) of `env` at the rows of z (N x n) into out (N x n).
void latentScore(const LatentScm& scm, const Environment& env, const double* z, Index N, double* out);

// s_a(z) - s_b(z) (N x n). Only nodes whose mechanism or variance differ
// between a and b contribute, so this is cheaper than two scores.
void latentScoreDifference(const LatentScm& scm, const Environment& a, const Environment& b, const double* z, Index N,
                           double* out);

// log p(z) of `env` at the rows of z into out (N).
void latentLogDensity(const LatentScm& scm, const Environment& env, const double* z, Index N, double* out);

}  // namespace scorecrl
