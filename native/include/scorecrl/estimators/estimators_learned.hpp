// Score differences learned from samples (docs/estimators.md): for samples
// x of environments 0..K, estimate dsx_m(x) = s_0(x) - s_m(x), m = 1..K.
//
// Every method first maps x to n whitened coordinates y = W^T (x - mu) with
// W = B diag(lambda)^(-1/2), where mu is the observational mean and
// (lambda, B) are the top-n eigenpairs of the observational covariance
// (n = d keeps every direction). Scores are learned in y and mapped back by
// the chain rule, grad_x = W grad_y; for data on an n-dimensional subspace
// this is the score along that subspace.
//
// - LogisticQuadratic: for each m, logistic regression of "environment 0"
//   against "environment m" on the features [1, y_i, y_i y_j (i <= j)],
//   fitted by Newton's method (IRLS) with an L2 penalty on all but the
//   intercept and a backtracking line search, started from the Gaussian
//   plug-in log-density ratio. Its logit estimates log p_0/p_m + log prior
//   ratio (a constant), so dsx_m = W grad_y logit. Exact when both
//   environments are Gaussian.
// - ClassifierMlp: the same classification with an MLP logit (tanh hidden
//   layers), trained with Adam on the binary cross-entropy, with early
//   stopping on a held-out split; dsx_m = W grad_y logit. With the quadratic
//   head (default) the logit is the LogisticQuadratic fit on the training rows
//   (kept fixed) plus the network, whose output layer starts at zero: the
//   network learns what a quadratic log-ratio misses.
// - Ssm: for each environment k, a tanh MLP s_k: R^n -> R^n trained by
//   variance-reduced sliced score matching, loss
//   E[0.5 |s(y)|^2 + v^T grad_y(v^T s(y))], v ~ N(0, I) (P directions per
//   sample), with Adam and early stopping; dsx_m = W (s_0 - s_m).
// Both network methods shuffle minibatches each epoch, use Adam with a
// half-cosine step-size decay, and keep the parameters of the epoch with the
// lowest validation loss.
//
// Training is deterministic for a seed: the minibatch gradient is always
// summed over the same fixed chunks in the same order, whether they run on one
// thread or two, and each network draws from its own Generator derived from
// the seed and the network's index.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "scorecrl/estimators/nn.hpp"
#include "scorecrl/linalg/linalg.hpp"

namespace scorecrl {

class Context;

enum class LearnedMethod { LogisticQuadratic = 1, ClassifierMlp = 2, Ssm = 3 };

// "logistic-quadratic", "classifier-mlp", "ssm".
const char* learnedMethodName(LearnedMethod method);
// Throws Error(function, ...) naming the accepted names.
LearnedMethod parseLearnedMethod(const std::string& name, const std::string& function);

struct LearnedOptions {
  LearnedMethod method = LearnedMethod::Ssm;
  Index dimension = 0;  // n; 0: d
  uint64_t seed = 0;
  // Network methods.
  int epochs = 20;
  int width = 64;  // hidden units per layer
  int hiddenLayers = 2;
  double learningRate = 0;          // Adam's step size (peak of the schedule); 0: classifier-mlp 1e-2, ssm 3e-3
  bool cosineSchedule = true;       // decay the step size to 0 along a half cosine over the epochs
  double validationFraction = 0.1;  // held out for early stopping, in [0, 0.9]
  int batchSize = 512;
  int patience = 10;          // epochs without validation improvement before stopping
  double weightDecay = 1e-5;  // adds weightDecay * |theta|^2 to the loss
  int projections = 2;        // ssm: directions v per sample
  bool quadraticHead = true;  // classifier-mlp: logit = quadratic logistic fit + network
  // logistic-quadratic.
  double l2 = 1e-6;  // adds l2/2 * |beta|^2 (intercept excluded) to the mean log-loss
  int maxIterations = 50;
  double tolerance = 1e-8;  // stop when the Newton decrement^2 / 2 falls below this
};

// Checks the options and fills in method defaults; throws Error naming the field.
LearnedOptions resolveLearnedOptions(const LearnedOptions& options, const std::string& function);

// Number of quadratic features 1 + n + n(n+1)/2.
Index quadraticFeatureCount(Index n);

struct LearnedModel {
  LearnedMethod method = LearnedMethod::Ssm;
  Index d = 0, n = 0, K = 0;
  Vector mean;       // d
  Matrix whitening;  // d x n (W)
  nn::Mlp net;       // network shape (network methods)
  // logistic-quadratic: K coefficient vectors over [1, y_i, y_i y_j (i <= j)];
  // classifier-mlp: K networks followed by their quadratic head's
  // coefficients (zero without the head): params[m-1] = [theta, beta];
  // ssm: K + 1 networks (environment k's score is params[k]).
  std::vector<Vector> params;
};

struct LearnedReport {
  // Per trained network / regression: epochs (or Newton iterations) run, the
  // best epoch (network methods), and the final validation loss (or, for
  // logistic-quadratic, the training objective).
  std::vector<int> iterations;
  std::vector<int> bestEpoch;
  std::vector<double> loss;
};

struct LearnedFit {
  LearnedModel model;
  LearnedReport report;
  std::vector<double> dsx;  // K x N x d at the observational samples (K x M x d at `at`)
};

// x: (K+1) x N x d, environment 0 observational. Progress and cancellation
// through context. With `at` (M x d, row-major), dsx is evaluated at its rows
// (K x M x d) instead of the observational samples.
LearnedFit fitLearnedScoreDifferences(const double* x, Index environments, Index N, Index d,
                                      const LearnedOptions& options, const Context* context = nullptr,
                                      const double* at = nullptr, Index M = 0);

// dsx (K x M x d) of a fitted model at the rows of x (M x d).
void evaluateLearnedScoreDifferences(const LearnedModel& model, const ConstMatrixMap& x, double* out,
                                     const Context* context = nullptr);

// The model as one float64 vector and back (layout in docs/estimators.md):
// [1, method, d, n, K, L, sizes[0..L], mean (d), W (d x n, row-major),
//  params of each regression or network in order].
std::vector<double> serialiseLearnedModel(const LearnedModel& model);
LearnedModel deserialiseLearnedModel(const double* data, Index size, const std::string& function);

// Loss and gradient of one training objective on given data, for gradient
// checks: the network methods' minibatch loss (without weight decay) and the
// logistic objective. y: B x n inputs; aux: classifier labels (B x 1, 0/1),
// ssm directions ((P*B) x n); logistic-quadratic: labels (B x 1) with the
// penalty l2, and optionally its Hessian.
double learnedObjective(LearnedMethod method, const nn::Mlp& net, const Vector& params, const Matrix& y,
                        const Matrix& aux, double l2, Vector* gradient, Matrix* hessian = nullptr);

}  // namespace scorecrl
