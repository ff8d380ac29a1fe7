// Evaluation metrics for latent and mixing estimates (docs/lscale.md, "Graph utilities and metrics").
//
// Labelling: every metric here compares the estimate with the truth in the labelling
// it is given (estimated latent i against true latent i), EXCEPT
// meanCorrelationCoefficient, which first finds the best one-to-one matching. LSCALE-I
// returns latents in the labelling of the environments (env i intervenes latent i),
// so no matching is needed there; permute the estimate yourself (e.g. with
// MccResult::matching) before the other metrics if an algorithm's labels are arbitrary.
//
// All functions throw scorecrl::Error for mismatched shapes or non-finite inputs,
// naming the argument at fault.
#pragma once
#include <vector>

#include "scorecrl/evaluation/graph.hpp"
#include "scorecrl/linalg/linalg.hpp"

namespace scorecrl {

// Exact minimum-cost assignment (shortest augmenting paths with potentials, i.e.
// Hungarian / Jonker-Volgenant, O(rows^2 cols)). `cost` is rows x cols with
// rows <= cols and finite entries; every row gets a distinct column and the total
// cost is minimal. Returns result[row] = column. An empty matrix gives {}.
// (Maximise by passing -cost.)
std::vector<int> linearSumAssignment(const Matrix& cost);

// MCC: with C(i, j) = |Pearson corr(zTrue column i, zEstimate column j)| over the N
// samples (rows), find the one-to-one matching that maximises sum_i C(i, m(i)).
//   matching[i]  = column of zEstimate matched to true latent i
//   perLatent(i) = C(i, matching[i])
//   mcc          = mean of perLatent
// Both inputs are N x n with N >= 2; they are not modified. A column with zero
// variance has correlation 0 with everything.
struct MccResult {
  double mcc;
  std::vector<int> matching;
  Vector perLatent;
};
MccResult meanCorrelationCoefficient(const Matrix& zTrue, const Matrix& zEstimate);

// Effective mixing E = encoder (n x d) * decoder (d x n): row i says how estimated
// latent i mixes the true latents. Each row is sign-fixed so that its DIAGONAL entry
// is positive (if that entry is zero up to rounding, |E(i,i)| <= 1e-10 * |row|, its
// largest-|.| entry, first on ties, is made positive instead) and scaled to unit
// Euclidean norm (an all-zero row stays zero). Neither choice changes the counts or the spectral norm; they only make
// `effective` comparable run to run.
//   allowed(i, j) == true marks entries that may be non-zero (see allowedPattern);
//   incorrectCount = #{(i, j) : !allowed(i, j) and |E(i, j)| >= threshold};
//   incorrectRatio = incorrectCount / #{(i, j) : !allowed(i, j)} (0 if no such entry);
//   offPatternSpectralNorm = largest singular value of E with allowed entries zeroed;
//   effective = the sign-fixed, row-normalised E.
// The comparison is in the given labelling (no matching). threshold must be >= 0.
struct MixingError {
  int incorrectCount;
  double incorrectRatio;
  double offPatternSpectralNorm;
  Matrix effective;
};
MixingError effectiveMixingError(const Matrix& encoder, const Matrix& decoder, const Adjacency& allowed,
                                 double threshold = 0.05);

// Allowed mixing pattern for a latent graph (edge i -> j means graph(i, j)):
// allowed(i, j) = true iff i == j, or j is a parent of i (includeAncestors = false:
// soft interventions, LSCALE-I mixes each latent with its parents), or j is an
// ancestor of i (includeAncestors = true: when only the transitive closure is
// identified). For hard interventions use the identity, allowedPattern(empty graph).
Adjacency allowedPattern(const Adjacency& graph, bool includeAncestors);

// sqrt( sum (estimate - truth)^2 / sum truth^2 ), entrywise, same shapes, in the given
// labelling. Throws if truth is all zeros (the ratio is undefined).
double relativeRmse(const Matrix& estimate, const Matrix& truth);

}  // namespace scorecrl
