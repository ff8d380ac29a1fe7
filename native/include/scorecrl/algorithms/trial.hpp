// A fused simulated trial for sample-complexity sweeps: draw a model and data,
// estimate score-difference covariances, run the algorithm, score the result,
// and return only the metrics.
//
// For a linear SCM with Gaussian noise, a linear decoder and Gaussian plug-in
// (or exact) scores, everything the algorithm sees is a function of the
// per-environment second moments of the latent samples, so the trial never
// forms the N x d observations or score differences:
//   * environment k's N latent samples are z_t = M_k^T e_t with e_t standard
//     normal (drawn in bulk, sample-major, on the same NumPy-compatible stream
//     that simulate() uses, so the data are those of `scorecrl simulate` with
//     the same seed); only sum_t e_t e_t^T and sum_t e_t are accumulated;
//   * x = G z, so the observed moments are G (.) G^T;
//   * Gaussian plug-in: with B (d x n) an orthonormal basis of the top-n
//     eigenvectors of the observational covariance and P_k the inverse of the
//     centred covariance of B^T x in environment k, the estimated score is
//     s_k(x) = -B P_k B^T x, and R_m = E_0[dsx_m dsx_m^T] (over the
//     observational samples, uncentred) = B (P_m - P_0) U_0 (P_m - P_0) B^T
//     with U_0 the uncentred second moment of B^T x in environment 0;
//   * exact scores: dsx_m = pinv(G)^T (Theta_m - Theta_0) z, so
//     R_m = pinv(G)^T D_m Uz_0 D_m pinv(G), D_m = Theta_m - Theta_0.
// Cost per trial: N (K+1) n normal draws plus O((K+1) N n^2) for the moments.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "scorecrl/linalg/linalg.hpp"
#include "scorecrl/simulation/simulate.hpp"

namespace scorecrl {

class Context;
class Generator;

enum class TrialEstimator {
  GaussianPlugIn,  // s(x) = -Sigma^{-1} x on the n-dim support, fitted per environment
  Exact,           // the true scores of the simulation
};

// How a trial obtains each environment's latent moments.
enum class TrialSampling {
  Samples,  // draw the N x n standard normals (the stream simulate() uses) and accumulate
  Wishart,  // draw the sufficient statistics directly: for N standard normal n-vectors the
            // mean is N(0, I/N) and the centred scatter matrix is Wishart(I, N-1),
            // independent (Bartlett decomposition); same distribution, O(n^2) draws
};

enum class TrialAlgorithm {
  FiniteSample,  // causal order + transitive-closure graph + encoder (NeurIPS 2024)
};

struct TrialSpec {
  SimulationConfig simulation;  // seed, n, d, samples, model, design, transform
  TrialEstimator estimator = TrialEstimator::GaussianPlugIn;
  TrialSampling sampling = TrialSampling::Samples;
  TrialAlgorithm algorithm = TrialAlgorithm::FiniteSample;
  double tolEigv = 1e-2;
  double tolOrth = 1e-1;
};

// Metrics in the true labelling; graphs compared as transitive closures.
struct TrialResult {
  int shd = 0;                // entries where the closures differ (FP + FN)
  double precision = 1.0;     // TP / (TP + FP); 1 when nothing was estimated
  double recall = 1.0;        // TP / (TP + FN); 1 when the true closure is empty
  double encoderError = 0.0;  // spectral norm of the unit-row effective mixing outside parents + identity
  int incorrectMixing = 0;    // entries of it with |value| >= 0.05
  int trueEdges = 0;          // edges of the true closure
  int estimatedEdges = 0;     // edges of the estimated closure
  bool correct() const { return shd == 0; }
  // The estimate itself (true labelling), for callers that want it.
  Adjacency graph;         // estimated closure
  Matrix encoder;          // n x d
  std::vector<int> order;  // estimated causal order (true labels)
};

// Second moments of one environment's latent samples.
struct LatentMoments {
  Matrix second;  // (1/N) sum z z^T (n x n, uncentred)
  Vector mean;    // (1/N) sum z
  Index samples = 0;
  // Centred covariance (1/N).
  Matrix covariance() const { return second - mean * mean.transpose(); }
};

// The moments of x = G z from the latents' moments, per environment:
// covariances G C G^T and means G mu.
struct ObservedMoments {
  std::vector<Matrix> covariances;
  std::vector<Vector> means;
};
ObservedMoments observedMoments(const Matrix& decoder, const std::vector<LatentMoments>& latent);

// Draws the K+1 environments' latent samples of a linear-SCM model on `rng`
// (exactly the normals simulate() draws, in the same order) and returns their
// moments (or, with TrialSampling::Wishart, draws the moments' exact
// distribution instead). Throws Error unless the model's SCM is linear.
std::vector<LatentMoments> drawLatentMoments(const SimulationModel& model, Generator& rng, Index N,
                                             const Context* context = nullptr,
                                             TrialSampling sampling = TrialSampling::Samples);

// R_m (d x d), m = 1..K, from the moments: Gaussian plug-in or exact scores
// (linear decoder only).
std::vector<Matrix> scoreDiffCovariancesFromMoments(const SimulationModel& model,
                                                    const std::vector<LatentMoments>& moments,
                                                    TrialEstimator estimator);

// Checks a spec; throws Error("trial", ...) naming the setting and what is supported.
void validateTrialSpec(const TrialSpec& spec);

TrialResult runTrial(const TrialSpec& spec, const Context* context = nullptr);

// Fitting the finite-sample algorithm to data given as per-environment
// moments (environment 0 observational, environment t+1 intervening latent
// t): centred covariances C_k (d x d) and means mu_k (d). The Gaussian plug-in
// estimator works on the n-dim support spanned by the top-n eigenvectors B of
// C_0, with centred scores s_k(x) = -B P_k (B^T x - B^T mu_k),
// P_k = (B^T C_k B)^{-1}; then over the observational distribution
//   R_m = B [ D C0r D + P_m delta delta^T P_m ] B^T,
// D = P_m - P_0, C0r = B^T C_0 B, delta = B^T (mu_0 - mu_m).
struct FitResult {
  std::vector<int> order;       // causal order of the latents, oldest first
  Adjacency graph;              // estimated transitive closure (latent t = environment t+1)
  Matrix encoder;               // n x d, unit rows, largest |entry| of each row positive
  std::vector<Matrix> R;        // K score-difference covariances (d x d)
  Vector supportEigenvalues;    // eigenvalues of C_0, descending (d)
  Matrix scoreDiffEigenvalues;  // K x d: eigenvalues of each R_m, descending
};
FitResult fitFiniteSample(const std::vector<Matrix>& covariances, const std::vector<Vector>& means, int n,
                          double tolEigv, double tolOrth);

}  // namespace scorecrl
