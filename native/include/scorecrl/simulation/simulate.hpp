// Simulated interventional data for score-based CRL (docs/simulation.md):
// a latent SCM, a mixing transform, an intervention design, samples of every
// environment and the exact score differences at the observational samples.
//
// Reproducibility: one NumPy-compatible Generator(seed) is consumed in the
// order of the reference experiments (acarturk-e/score-based-crl):
//   1. the transform (drawMixing: Haar Q from a d x d normal matrix, R
//      redrawn until the condition floor holds; tanh-mlp: biases and hidden
//      layers follow);
//   2. the SCM (drawLatentScm: [permutation], adjacency uniforms, variances,
//      per-node parameters);
//   3. the design: single-node / two-hard-per-node draw permutation(n) only
//      with randomInterventionOrder; multi-node always draws permutation(n)
//      (the column order of D), then, for an upper-triangular D, n x n uniforms;
//   4. environment by environment, observational first, N x n standard
//      normals in sample-major order.
// For the linear and quadratic models with a linear transform this equals the
// reference's LSCALE-I and UMNI-CRL data generation draw for draw.
//
// Layouts (row-major, samples as rows): z (K+1) x N x n, x (K+1) x N x d,
// dsx K x N x d with dsx[m-1] = s_0(x) - s_m(x) at the observational samples.
#pragma once
#include <cstdint>
#include <vector>

#include "scorecrl/evaluation/graph.hpp"
#include "scorecrl/simulation/mixing.hpp"
#include "scorecrl/simulation/scm.hpp"

namespace scorecrl {

class Context;
class Generator;

enum class InterventionDesign {
  SingleNode,      // K = n: environment k intervenes node order[k-1]
  TwoHardPerNode,  // K = 2n: environments 1..n and n+1..2n each intervene every node once (hard)
  MultiNode,       // K = n: environment j intervenes the nodes of column j of D
};

enum class TargetMatrix {
  UpperTriangular,  // D = I | triu(U <= targetDensity), columns permuted
  Identity,         // D = I with permuted columns (single-node, order unknown)
};

// Which arrays simulate() materialises. Skipped arrays cost neither memory nor
// time; with x and z both skipped only the observational latents are drawn.
struct SimulationOutputs {
  bool z = true;
  bool x = true;
  bool dsx = true;
};

struct SimulationConfig {
  int n = 0;
  int d = 0;  // 0: d = n
  int64_t samples = 0;
  double density = 0.5;
  uint64_t seed = 0;
  bool randomOrder = false;
  LatentModel latent = LatentModel::Linear;
  int mlpHidden = 32;
  bool hard = true;
  double softScale = 0.5;
  VarianceChange varianceChange = VarianceChange::Scale;
  // Empty: the design's default (single-node 5, multi-node 0.25, two-hard
  // 0.25 then 4). One value: every environment. Two values with
  // TwoHardPerNode: the first and the second intervention on each node.
  // K values: per environment.
  std::vector<double> varianceFactors;
  InterventionDesign design = InterventionDesign::SingleNode;
  bool randomInterventionOrder = false;
  TargetMatrix targetMatrix = TargetMatrix::UpperTriangular;
  double targetDensity = -1.0;  // < 0: density
  MixingKind transform = MixingKind::Linear;
  bool scaleDecoder = true;
  double conditionFloor = 0.1;
  int transformLayers = 2;
  SimulationOutputs outputs;
};

// Number of interventional environments K of a design.
int environmentCount(InterventionDesign design, int n);

// Checks a config; throws Error("simulate", ...) naming the field and the fix.
void validateSimulationConfig(const SimulationConfig& config);

struct SimulationModel {
  SimulationConfig config;  // with defaults filled in
  Mixing transform;
  LatentScm scm;
  std::vector<Environment> environments;  // K + 1; [0] observational
  Adjacency targets;                      // n x K: targets(i, m-1) iff environment m intervenes i
  Vector varianceFactors;                 // K
  int K() const { return static_cast<int>(environments.size()) - 1; }
};

// Draws transform, SCM and design (steps 1-3 above), leaving rng at the first
// sample draw. Validates the config.
SimulationModel drawSimulationModel(const SimulationConfig& config, Generator& rng);
// Same, on Generator(config.seed).
SimulationModel drawSimulationModel(const SimulationConfig& config);

struct Simulation {
  SimulationModel model;
  std::vector<double> z;    // (K+1) x N x n, empty unless outputs.z
  std::vector<double> x;    // (K+1) x N x d, empty unless outputs.x
  std::vector<double> dsx;  // K x N x d, empty unless outputs.dsx
};

// Draws everything. Uses two threads when threads() >= 2 (random draws on one,
// transforms and scores on the other); results do not depend on the threads.
Simulation simulate(const SimulationConfig& config, const Context* context = nullptr);

// dsx (K x N x d) = s_0(g(z)) - s_m(g(z)), m = 1..K, at the rows of z (N x n).
void observedScoreDifferences(const SimulationModel& model, const double* z, Index N, double* dsx,
                              const Context* context = nullptr);

// Scores and log-densities of environment `env` (0..K) at the rows of z
// (N x n), for any points (not only samples):
//   latent:   s_z (N x n), log p_z (N);
//   observed: s_x at x = g(z) (N x d; the manifold score, see mixing.hpp),
//             log p_x(g(z)) = log p_z(z) - 1/2 log det(J^T J) (N).
// Differences s_0 - s_env (latent N x n, observed N x d).
void latentScoreAt(const SimulationModel& model, int env, const double* z, Index N, double* out);
void latentScoreDifferenceAt(const SimulationModel& model, int env, const double* z, Index N, double* out);
void observedScoreAt(const SimulationModel& model, int env, const double* z, Index N, double* out);
void observedScoreDifferenceAt(const SimulationModel& model, int env, const double* z, Index N, double* out);
void latentLogDensityAt(const SimulationModel& model, int env, const double* z, Index N, double* out);
void observedLogDensityAt(const SimulationModel& model, int env, const double* z, Index N, double* out);

}  // namespace scorecrl
