// UMNI-CRL: linear causal representation learning from unknown multi-node
// interventions (docs/umni.md).
//
// Setting: x = G z with a linear decoder G (d x n), one observational and K = n
// interventional environments; environment m intervenes an unknown set of
// latents, and the n x n target matrix D (D(i, m) = environment m intervenes i)
// is invertible. Inputs are samples x ((K+1) x N x d) and score differences
// dsx (K x Ns x d, dsx[m] = s_0 - s_{m+1} at observational samples).
//
// Steps:
//  1. Reduce to the n-dim column space of G (top-n eigenvectors of the sum of
//     the environments' covariances) and form, once, the block Gram
//     R_ij = E[dsx_i dsx_j^T] there (n^2 blocks of n x n).
//  2. Search (causal order): for t = 0..n-1, the first integer vector w in
//     {-kappa..kappa}^n (in the chosen order) whose combined score difference
//     sum_i w_i dsx_i has, off the rows found so far, a one-dimensional
//     column space: with R_w = sum_ij w_i w_j R_ij, V the eigenvectors of R_w
//     with eigenvalue > tolEigv (all eigenvectors when there is none) and P
//     the projector off the found rows, P V has exactly one singular value
//     > tolEigv. Row t of the encoder is then the top left singular vector of
//     V V^T P. The rows come out in a causal order of the latents.
//     Weight column t is -w / gcd(w).
//  3. Ancestor refinement: for t = n-1..0 and j = t+1..n-1, try the pairwise
//     combinations a w_t + b w_j (a in [-|w_j|_1, |w_j|_1] outer, b in
//     [1, |w_t|_1] inner) with the rows {i < j : i != t, i not a descendant
//     of t} projected off; a hit replaces row and weight column j, no hit
//     makes t an ancestor of j (and of j's descendants). Result: the encoder
//     mixes each latent only with its ancestors; the transitive closure of
//     the latent DAG is identified.
//  4. Hard interventions: for t = 1..n-1 with estimated ancestors an(t),
//     regress zhat_t on zhat_an(t) in the observational environment and in
//     each environment m with weight column t nonzero at m (ascending m); the
//     first whose coefficients differ from the observational ones by more
//     than tolUnmix (Euclidean norm) intervenes t, and its regression residual
//     replaces zhat_t. Edges: i -> j of the closure is kept iff the Fisher
//     z-test rejects zhat_i independent of zhat_j given the other estimated
//     ancestors of j (p-value <= tolCi). Result: latents up to scaling, the
//     exact DAG.
//
// The search matches the authors' reference implementation candidate for
// candidate in the lexicographic order (itertools.product over
// range(-kappa, kappa + 1): last coordinate fastest). It is fast because
//  * R_w never touches samples: it is built from the block Gram, prefix by
//    prefix (a depth-first walk over the coordinates updates an m x m matrix
//    and cross terms, so a candidate costs O(m^2) flops, m = n - t);
//  * candidates are screened in the (n - t)-dim space off the found rows,
//    where acceptance implies lambda_2(N^T R_w N) <= tolEigv + tolEigv^2 tr R_w
//    (N an orthonormal basis of that space); two steps of a pivoted Cholesky
//    of N^T R_w N - tau I prove the opposite cheaply for most candidates, and
//    only the survivors get the eigendecomposition of the reference test;
//  * w and -w give the same R_w, so only vectors whose first nonzero entry is
//    negative are visited (the reference's first hit is always one of them);
//  * blocks of candidates (fixed prefixes) are spread over threads, and the
//    first hit in the enumeration order wins whatever the thread count.
// The prefilter only rejects candidates the reference test rejects too (up to
// rounding at 1e-12 relative), so the results do not depend on it.
#pragma once
#include <cstdint>
#include <vector>

#include "scorecrl/evaluation/graph.hpp"
#include "scorecrl/linalg/linalg.hpp"
#include "scorecrl/simulation/simulate.hpp"

namespace scorecrl {

class Context;

enum class UmniOrder {
  Lexicographic,  // the reference's order over {-kappa..kappa}^n
  L1,             // increasing |w|_1, lexicographic within one |w|_1
};

struct UmniOptions {
  int kappa = 2;          // weights in {-kappa..kappa}, kappa >= 1
  bool hard = false;      // run the hard-intervention stage
  double tolEigv = 0.05;  // eigenvalue / singular-value threshold, in (0, 1)
  double tolCi = 0.05;    // Fisher z-test level, in (0, 1)
  double tolUnmix = 0.1;  // regression change that marks an intervening environment, > 0
  UmniOrder order = UmniOrder::L1;
  int latents = 0;        // n; 0: K, the number of interventional environments
  bool prefilter = true;  // cheap screening before the eigendecomposition
  // Largest (2 kappa + 1)^n searched: a larger search is refused before it
  // starts (it may visit every candidate, once per latent). At most 1e12.
  double maxCandidates = 1e7;
};

struct UmniStats {
  int64_t candidates = 0;  // weight vectors examined (search + refinement; includes speculative parallel work)
  int64_t fullTests = 0;   // of those, how many needed the eigendecomposition
};

struct UmniResult {
  int n = 0;
  Matrix basis;            // d x n, orthonormal basis of the reduced space
  Matrix weightsOrder;     // n x n integers: column t combines the environments into latent t's row (step 2)
  Matrix encoderOrder;     // n x d, rows of step 2
  Matrix weights;          // n x n integers after the refinement (step 3)
  Matrix encoder;          // n x d after the refinement
  Adjacency graphClosure;  // n x n, upper triangular (rows are in causal order)
  bool hard = false;
  Matrix hardEncoder;   // n x d (step 4; empty unless hard)
  Adjacency hardGraph;  // n x n (step 4; empty unless hard)
  UmniStats stats;
};

// x: (K+1) x N x d, dsx: K x Ns x d, both row-major. Throws scorecrl::Error
// ("umni", ...) for bad options, shapes, more environments than latents (x
// spans fewer than K dimensions), linearly dependent environments (a
// non-invertible design), or a step where no candidate is accepted. Encoder
// rows are unit vectors with their largest-|.| entry positive.
UmniResult umni(const double* x, Index environments, Index N, Index d, const double* dsx, Index K, Index Ns,
                const UmniOptions& options, const Context* context = nullptr);

// The same from second moments instead of samples (for callers that hold
// moments, such as fused simulation trials):
//   covariances  K+1 centred covariances of x (d x d), observational first;
//   scoreGram    (K d) x (K d), block (i, j) = E[dsx_i dsx_j^T] over the
//                observational distribution (crossScoreDiffCovariance);
//   samples      observational sample count (the Fisher z-test's N).
struct UmniStatistics {
  std::vector<Matrix> covariances;
  Matrix scoreGram;
  int64_t samples = 0;
};
UmniResult umni(const UmniStatistics& statistics, const UmniOptions& options, const Context* context = nullptr);

// The statistics for Gaussian plug-in scores fitted to each environment:
// from centred covariances C_k (d x d) and means mu_k (d; empty: zero), with
// B (d x n) the top-n eigenvectors of C_0 and P_k = (B^T C_k B)^{-1},
//   s_k(x) = -B P_k (B^T x - B^T mu_k)   (centred), or  -B P_k B^T x,
// and the cross moments of dsx_i = s_0 - s_i over environment 0 follow in
// closed form: with y = B^T x (mean nu_0, covariance C_0r) and
// D_i = P_i - P_0, dsx_i = B [D_i (y - nu_0) + g_i], g_i = D_i nu_0 + P_0 c_0 - P_i c_i
// (c_k = B^T mu_k centred, else 0), so E_0[dsx_i dsx_j^T] = B [D_i C_0r D_j + g_i g_j^T] B^T.
// Throws Error(function, ...) naming an environment whose covariance is singular on the support.
UmniStatistics gaussianPlugInStatistics(const std::vector<Matrix>& covariances, const std::vector<Vector>& means, int n,
                                        int64_t samples, bool centred, const char* function);

// A fused simulated trial: a linear SCM with a linear decoder and the
// multi-node design, drawn from `simulation.seed` exactly as simulate() draws
// it (the latent samples enter only through their per-environment moments);
// score differences exact or by the Gaussian plug-in s_k(x) = -B P_k B^T x
// (B: top-n eigenvectors of the observational covariance, P_k the inverse
// covariance of B^T x in environment k), whose cross moments follow from
// the same moments; UMNI-CRL; metrics in the true labelling, after matching
// estimated to true latents by the MCC assignment.
enum class UmniScores { Exact, GaussianPlugIn };

struct UmniTrialSpec {
  SimulationConfig simulation;  // design, latent model and transform are forced to multi-node / linear / linear
  UmniScores scores = UmniScores::Exact;
  UmniOptions options;
};

struct UmniStageMetrics {
  int shd = 0;             // soft: closure SHD; hard: SHD of the DAG (reversal counts once)
  double precision = 1.0;  // on the edges of that graph
  double recall = 1.0;
  double mcc = 0.0;         // mean |corr| of matched true and estimated latents (observational samples)
  int incorrectMixing = 0;  // |E| >= 0.05 outside the allowed pattern (ancestors + identity soft, identity hard)
  double incorrectMixingRatio = 0.0;
  double offPatternNorm = 0.0;  // spectral norm of the unit-row effective mixing outside the pattern
};

struct UmniTrialResult {
  UmniStageMetrics soft;
  bool hard = false;
  UmniStageMetrics hardStage;  // when the interventions are hard
  UmniStats stats;
};

// Throws Error("umniTrial", ...) for unsupported settings.
UmniTrialResult umniTrial(const UmniTrialSpec& spec, const Context* context = nullptr);

// Two-sided p-value of the Fisher z-test of zero partial correlation between
// variables i and j given `given`, from a covariance (or correlation) matrix
// of `samples` observations.
double fisherZPValue(const Matrix& covariance, int i, int j, const std::vector<int>& given, int64_t samples);

}  // namespace scorecrl
