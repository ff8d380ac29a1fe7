// LSCALE-I: linear score-based causal latent estimation via interventions
// (docs/lscale.md). Linear mixing x = G z, n latents, one intervention per
// latent: environment m+1 intervenes latent m (m = 0..n-1).
//
// The algorithm only sees n-dimensional statistics in an orthonormal basis B
// (d x n) of the observations' support (see score_estimators.hpp):
//   R_m  = E_0[v_m v_m^T], v_m = B^T dsx_m  (score-difference second moments),
//   C_k  = centred covariance of B^T x in environment k (hard stage only).
// LscaleInput holds them; it can be built from samples, from the Gaussian
// plug-in estimator, or from d x d moments, without the algorithm ever
// touching N x d data again.
//
// Stages (each returns encoder n x d, decoder d x n, graph, order and the
// latent score-difference covariances Rz_m = decoder^T R_m decoder):
//   soft      encoder row m = principal eigenvector of R_m; decoder = pinv of
//             it with each column scaled to max |entry| 1 (in d dimensions),
//             encoder = pinv(decoder). Edge j -> m when the statistic of
//             Rz_m[j][j] passes the edge rule; made a DAG by closestDag and
//             ordered by topologicalOrder. Latents are identified up to
//             mixing with their ancestors, the graph up to transitive closure.
//   hard      (hard interventions) in the soft order, row m of the encoder
//             minus its linear regression, in the covariance of environment
//             m+1, on the rows of `unmixing` nodes (the intervened latent is
//             independent of its non-descendants there). Latents up to
//             scaling, the DAG itself. The decoder is pinv(encoder) (rows keep
//             the soft stage's scale).
//   fullRank  (sufficiently nonlinear models, soft or hard) graph from ranks
//             of pairwise intersections of the column spaces of R_t and R_k,
//             encoder rows from intersections over each node and its
//             children.
//
// Edge rules:
//   Absolute   Rz_m[j][j] >= tolEdge (the reference's fixed threshold; it
//              depends on the decoder's column scale and on N).
//   Adaptive   scale-free and data-driven (docs/lscale.md). Statistic:
//              q_jm = Rz_m[j][j] / F_jj, F = decoder^T C_0^{-1} decoder (the
//              Fisher information of latent j under a Gaussian with the
//              observational covariance); it does not change when a latent is
//              rescaled. On log10 q over j != m: values <= 1e-12 are exact
//              zeros (non-edges). In the soft stage, exact zeros mean the
//              statistics are noise-free (exact scores) and every other value
//              is an edge. Otherwise the values are split in two groups: among
//              the splits with at least half a decade between the groups and
//              at least n(n-1)/2 values (zeros included) in the lower group (a
//              DAG has no more edges), the one maximising the between-group
//              variance (Otsu). The upper group are edges (threshold raised,
//              if needed, to the largest pair minimum min(q_jm, q_mj), a
//              non-edge in any DAG). Without such a split the values form one
//              group: next to exact zeros they are edges;
//              else the soft stage puts the threshold 1.25 decades above the
//              median pair minimum (the non-edge level) and the hard stage,
//              whose non-edges also carry unmixing error that the pair minima
//              do not see, reports no edges.
//   NullLevel  for learned score differences (docs/lscale.md): the soft stage
//              as Adaptive; the hard stage, unless its statistics hold exact
//              zeros, takes no two-group split and puts the threshold
//              `nullMargin` decades above the median pair minimum (at least
//              the largest pair minimum). With learned scores the hard
//              stage's non-edges carry the unmixing error of latents whose
//              soft rows lean slightly on later latents; their statistics
//              then spread over a decade above the pair minima, and a split
//              of the values falls inside that spread.
//   Regression for learned score differences with samples (docs/lscale.md#the-regression-rule).
//              Causal order (both stages): the order that places the least
//              evidence against itself (interventionalOrder in edge_tests.hpp),
//              the evidence for "j is an ancestor of m" being the larger of the
//              shift of soft latent m in environment j+1 (N KL / ln 10) and 3 x
//              the score margin of j -> m. Soft stage: j -> m for j before m when
//              that shift is significant (edgeLevel over n(n-1) pairs) or the
//              score margin exceeds 0.6 decades. Hard stage: unmixing in that
//              order, then j -> m for j before m by an F-test, on the
//              observational samples of its latents, of the nonlinear part of
//              j's influence on m given all latents before m
//              (regressionEdgeTests): an edge when the p-value is below
//              edgeLevel / (n(n-1)/2), or when all of j's terms explain at least
//              3 % of m's variance (significantly at that level): a linear
//              mechanism, which the nonlinear test cannot see and the
//              unmixing's (linear) leakage does not reach.
// Every adaptive-statistic rule also reports each pair's margin: log10 of its
// statistic minus log10 of the median pair minimum (decades above the
// non-edge level), the evidence a user can judge an edge by.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scorecrl/estimators/score_estimators.hpp"
#include "scorecrl/evaluation/graph.hpp"
#include "scorecrl/linalg/linalg.hpp"

namespace scorecrl {

class Context;

enum class EdgeRule { Adaptive, Absolute, NullLevel, Regression };
// Latents regressed out of latent m in the hard stage: every latent before m
// in the soft order, or m's parents in the soft graph (the reference).
enum class Unmixing { Predecessors, SoftParents };
// The hard graph keeps only edges also in: nothing (None), the soft graph
// (SoftGraph, the reference), or its transitive closure (SoftClosure); Auto
// (adaptive rule): when the soft stage's statistics are exact (numerical
// zeros, as with exact scores, so that the soft closure is the true DAG's
// closure), only soft-closure pairs can be hard edges, those of its
// transitive reduction always are, and the threshold is chosen among the
// closure's statistics; else nothing.
enum class HardGraphFilter { None, SoftGraph, SoftClosure, Auto };

struct LscaleOptions {
  bool hard = false;      // run the hard stage
  bool fullRank = false;  // run the full-rank stage
  EdgeRule edgeRule = EdgeRule::Adaptive;
  double tolEdge = 1e-3;          // Absolute rule threshold
  double nullMargin = 1.25;       // NullLevel rule: hard-stage threshold in decades above the median pair minimum
  double edgeLevel = 0.01;        // Regression rule: family-wise level of the hard stage's edge tests
  double tolEigv = 1e-2;          // full-rank: eigenvalues of R above it span its column space (graph step)
  double tolIntersection = 1e-6;  // full-rank: the same for the encoder step
  Unmixing unmixing = Unmixing::Predecessors;
  HardGraphFilter hardGraphFilter = HardGraphFilter::Auto;
};

// The n-dim statistics the algorithm needs.
struct LscaleInput {
  Matrix basis;                    // d x n, orthonormal columns
  std::vector<Matrix> R;           // n score-difference second moments (n x n) in the basis
  std::vector<Matrix> covariance;  // n+1 centred covariances (n x n) of B^T x; [0] observational
  Index samples = 0;               // N (informational)
  std::vector<Vector> mean;        // n+1 means of B^T x (zeros when built from covariances alone)
  Matrix observational;            // N x n: the observational samples B^T x (empty from moments)
  Vector observationalWeights;     // N row weights of `observational` (bootstrap counts), or empty
};

// From samples x ((n+1) x N x d) and score differences dsx (n x Ns x d).
LscaleInput lscaleInputFromSamples(const double* x, Index environments, Index N, Index d, const double* dsx, Index Ns,
                                   const Context* context = nullptr);
// From samples x with the Gaussian plug-in estimator (dsx never formed).
LscaleInput lscaleInputGaussian(const double* x, Index environments, Index N, Index d, bool centred,
                                const Context* context = nullptr);
// From d x d moments: n+1 environment covariances (centred), optional means
// (for the Gaussian plug-in), and either the n score-difference second
// moments R_m (d x d) or, with `gaussian`, nothing (they follow from the
// covariances and means).
LscaleInput lscaleInputFromMoments(const std::vector<Matrix>& covariance, const std::vector<Vector>& mean,
                                   const std::vector<Matrix>& scoreDiffCovariance, bool gaussian, bool centred,
                                   Index samples);
// From reduced moments already in a basis (e.g. computed by a caller).
LscaleInput lscaleInputGaussian(const ReducedMoments& moments, bool centred, const std::string& function);

struct LscaleStage {
  Matrix encoder;                          // n x d
  Matrix decoder;                          // d x n
  Adjacency graph;                         // n x n, graph(i, j): edge i -> j
  std::vector<int> order;                  // causal order, oldest first
  std::vector<Matrix> latentScoreDiffCov;  // n matrices n x n: Rz_m
  Matrix edgeStatistic;          // n x n, [j][m]: the value the edge rule compared for j -> m (diagonal: m's own)
  double edgeThreshold = 0.0;    // edges are edgeStatistic >= (Absolute) / > (Adaptive) this
  Adjacency rawGraph;            // thresholded statistics before closestDag (and before the hard filter)
  bool exactStatistics = false;  // adaptive rule: some statistics were numerical zeros (noise-free scores)
  // Adaptive statistic: [j][m] = log10(edgeStatistic) - log10(nullLevel), decades above the
  // non-edge level (NaN on the diagonal, for exact zeros, and for the Absolute rule).
  Matrix edgeMargin;
  double nullLevel = 0.0;  // median pair minimum of the statistic (NaN when undefined)
  // Regression rule, hard stage: [j][m] the edge test's p-value (NaN where not tested); else empty.
  Matrix edgePValue;
};

struct LscaleResult {
  LscaleStage soft;
  std::optional<LscaleStage> hard;
  std::optional<LscaleStage> fullRank;
  // Full-rank stage: dimension of the subspace intersection each encoder row
  // was taken from (1: the row is determined up to scale; k > 1: any vector
  // of a k-dim subspace is consistent with the data; 0: soft row kept).
  std::vector<int> intersectionDims;
};

LscaleResult lscale(const LscaleInput& input, const LscaleOptions& options, const Context* context = nullptr);

// Resampling evidence for the edges (learned score differences, whose statistics carry
// estimation error the rules cannot see): `replicates` bootstrap resamples of the rows of
// every environment (the observational rows and the score differences at them drawn
// together when dsx has as many rows as each environment), each refitted by lscale() with
// `options` in the fitted `basis` (the support is not re-estimated). Each stage reports,
// for every pair, the share of the completed refits whose graph holds j -> m. Samples are
// projected onto the basis once (O(N d n)); a refit costs O(N n^2) per environment.
struct LscaleResampling {
  int replicates = 0;    // requested
  int completed = 0;     // refits that succeeded (a resample can make a covariance singular)
  Matrix softFrequency;  // n x n, [j][m]: share of completed refits with j -> m in the soft graph
  Matrix hardFrequency;  // the same for the hard graph (empty without the hard stage)
};
LscaleResampling lscaleResampling(const double* x, Index environments, Index N, Index d, const double* dsx, Index Ns,
                                  const Matrix& basis, const LscaleOptions& options, int replicates, uint64_t seed,
                                  const Context* context = nullptr);

// The edge rule alone: adjacency (j -> m at (j, m), no self loops), the
// statistic it compared and the threshold. decoderReduced: n x n decoder in
// the basis; observationalCovariance: C_0 (n x n) in the basis.
struct EdgeDecision {
  Adjacency graph;
  Matrix statistic;
  double threshold = 0.0;
  bool exactZeros = false;  // adaptive rule: some off-diagonal statistics were numerical zeros
  Matrix margin;            // see LscaleStage::edgeMargin
  double nullLevel = 0.0;   // see LscaleStage::nullLevel
};
// The Adaptive rule's stage-dependent choices (see above): NullLevel for the
// soft stage, NoEdges for the hard stage (the NullLevel rule replaces the
// hard stage's split by the null level `nullMargin` decades up). With `candidates` (adaptive rule)
// only those pairs can be edges, the `certain` ones among them are, and the
// threshold is the best separated split of the candidates' statistics that
// keeps the certain ones above it (all candidates when none is separated).
enum class EdgeFallback { NullLevel, NoEdges };
EdgeDecision decideEdges(const std::vector<Matrix>& latentScoreDiffCov, const Matrix& decoderReduced,
                         const Matrix& observationalCovariance, EdgeRule rule, double tolEdge, EdgeFallback fallback,
                         const Adjacency* candidates = nullptr, const Adjacency* certain = nullptr,
                         double nullMargin = 1.25);

// Orthonormal basis of the intersection of the column spaces of orthonormal
// bases q[0], q[1], ...: directions whose principal angle with the next space
// has sine <= tol (computed pairwise, left to right).
Matrix subspaceIntersection(const std::vector<Matrix>& q, double tol);

}  // namespace scorecrl
