#include "scorecrl/estimators/estimators_learned.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#include "scorecrl/linalg/gemm.hpp"
#include "scorecrl/linalg/kernels.hpp"
#include "scorecrl/linalg/moments.hpp"
#include "scorecrl/runtime/error.hpp"
#include "scorecrl/runtime/limits.hpp"
#include "scorecrl/runtime/ops.hpp"
#include "scorecrl/runtime/parallel.hpp"
#include "scorecrl/simulation/rng.hpp"

namespace scorecrl {

namespace {

constexpr const char* kFit = "estimateScoreDifferences";
constexpr const char* kEvaluate = "evaluateScoreDifferences";
// Rows per chunk when evaluating a fitted model.
constexpr Index kEvalRows = 2048;
// Rows per block of the logistic Hessian's rank updates.
constexpr Index kBlockRows = 256;
// Minibatches at least this large are split into two fixed chunks (computed
// in parallel when the threads are free).
constexpr Index kSplitRows = 128;

using ColMatrix = Eigen::MatrixXd;

// SplitMix64 finaliser: independent seeds per network from one user seed.
uint64_t streamSeed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// --- whitened coordinates --------------------------------------------------

struct Whitening {
  Vector mean;
  Matrix W;  // d x n
};

Whitening fitWhitening(const ConstMatrixMap& x0, Index n, const Context* context) {
  const Index d = x0.cols();
  Whitening out;
  out.mean = columnMean(x0);
  const SymmetricEigen eig = symmetricEigen(covariance(x0, context));
  const double top = eig.values(d - 1);
  if (!(top > 0.0)) throw Error(kFit, "the observational samples (x[0]) have zero variance");
  out.W.resize(d, n);
  for (Index j = 0; j < n; ++j) {
    const double value = eig.values(d - 1 - j);
    if (!(value > 1e-10 * top))
      throw Error(kFit, "the observational covariance has rank " + std::to_string(j) + " < dimension " +
                            std::to_string(n) + ": lower 'dimension' to the rank of the data, or give more samples");
    Vector column = eig.vectors.col(d - 1 - j);
    Index at = 0;
    column.cwiseAbs().maxCoeff(&at);
    if (column(at) < 0) column = -column;  // a fixed sign for each eigenvector
    out.W.col(j) = column / std::sqrt(value);
  }
  return out;
}

// Y = (X - mean) W for an N x d block.
Matrix project(const ConstMatrixMap& x, const Whitening& white) {
  const Index n = white.W.cols();
  Matrix y(x.rows(), n);
  gemm(false, false, x.rows(), n, x.cols(), 1.0, x.data(), x.cols(), white.W.data(), n, 0.0, y.data(), n);
  const Eigen::RowVectorXd shift = white.mean.transpose() * white.W;
  y.rowwise() -= shift;
  return y;
}

// --- quadratic logistic regression ------------------------------------------

void quadraticFeatures(const Eigen::Ref<const Matrix>& y, Matrix& phi) {
  const Index n = y.cols();
  phi.resize(y.rows(), quadraticFeatureCount(n));
  phi.col(0).setOnes();
  phi.middleCols(1, n) = y;
  Index k = 1 + n;
  for (Index i = 0; i < n; ++i)
    for (Index j = i; j < n; ++j) phi.col(k++) = y.col(i).cwiseProduct(y.col(j));
}

// Symmetric A and vector b with beta^T phi(y) = c + b^T y + y^T A y.
void quadraticParts(const Vector& beta, Index n, Vector& b, Matrix& A) {
  b = beta.segment(1, n);
  A.setZero(n, n);
  Index k = 1 + n;
  for (Index i = 0; i < n; ++i)
    for (Index j = i; j < n; ++j) {
      if (i == j) {
        A(i, i) = beta(k);
      } else {
        A(i, j) = 0.5 * beta(k);
        A(j, i) = 0.5 * beta(k);
      }
      ++k;
    }
}

Eigen::ArrayXd softplus(const Eigen::ArrayXd& f) { return f.max(0.0) + (-f.abs()).exp().log1p(); }
Eigen::ArrayXd sigmoid(const Eigen::ArrayXd& f) {
  // 1 / (1 + exp(-f)) without overflow for large |f|.
  const Eigen::ArrayXd e = (-f.abs()).exp();
  return (f >= 0.0).select(1.0 / (1.0 + e), e / (1.0 + e));
}

// Mean log-loss of labelled feature groups (rows of phi with one label each)
// plus l2/2 |beta[1:]|^2. The logits of an evaluation are kept so that the
// derivatives at an accepted point cost no second pass for them.
struct LabelledFeatures {
  const Matrix* phi;
  double label;  // 1 or 0
};

struct LogisticPoint {
  Vector beta;
  std::vector<Eigen::ArrayXd> logits;  // per group
  double objective = 0.0;
};

LogisticPoint logisticAt(const std::vector<LabelledFeatures>& groups, const Vector& beta, double l2) {
  LogisticPoint point;
  point.beta = beta;
  const Index p = beta.size();
  Index total = 0;
  double loss = 0.0;
  for (const auto& g : groups) {
    total += g.phi->rows();
    Eigen::ArrayXd f(g.phi->rows());
    gemm(false, false, g.phi->rows(), 1, p, 1.0, g.phi->data(), p, beta.data(), 1, 0.0, f.data(), 1);
    // label 1: log(1 + e^-f); label 0: log(1 + e^f).
    loss += g.label > 0.5 ? softplus(-f).sum() : softplus(f).sum();
    point.logits.push_back(std::move(f));
  }
  point.objective = loss / static_cast<double>(total) + 0.5 * l2 * beta.tail(p - 1).squaredNorm();
  return point;
}

void logisticDerivatives(const std::vector<LabelledFeatures>& groups, const LogisticPoint& point, double l2,
                         Vector* grad, ColMatrix* hess) {
  const Index p = point.beta.size();
  Index total = 0;
  for (const auto& g : groups) total += g.phi->rows();
  const double inv = 1.0 / static_cast<double>(total);
  if (grad) grad->setZero(p);
  if (hess) hess->setZero(p, p);
  Matrix block;
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const Matrix& phi = *groups[gi].phi;
    const Eigen::ArrayXd prob = sigmoid(point.logits[gi]);
    if (grad) {
      const Vector residual = (prob - groups[gi].label).matrix();
      gemm(true, false, p, 1, phi.rows(), 1.0, phi.data(), p, residual.data(), 1, 1.0, grad->data(), 1);
    }
    if (hess) {
      const Eigen::ArrayXd rootWeight = (prob * (1.0 - prob)).sqrt();
      for (Index start = 0; start < phi.rows(); start += kBlockRows) {
        const Index rows = std::min(kBlockRows, phi.rows() - start);
        block = phi.middleRows(start, rows).array().colwise() * rootWeight.segment(start, rows);
        gramAccumulate(block.data(), rows, p, hess->data());
      }
    }
  }
  if (grad) {
    *grad *= inv;
    grad->tail(p - 1) += l2 * point.beta.tail(p - 1);
  }
  if (hess) {
    *hess = hess->selfadjointView<Eigen::Lower>();
    *hess *= inv;
    hess->diagonal().tail(p - 1).array() += l2;
  }
}

// Gaussian plug-in log-density ratio log N(y; m0, S0) - log N(y; m1, S1) +
// log(N0/N1) as quadratic coefficients; false if a covariance is singular.
bool gaussianStart(const Matrix& y0, const Matrix& y1, Vector& beta) {
  const Index n = y0.cols();
  auto moments = [](const Matrix& y, Vector& mean, Matrix& precision, double& logDet) {
    mean = y.colwise().mean().transpose();
    const Matrix centred = y.rowwise() - mean.transpose();
    Matrix cov(y.cols(), y.cols());
    gemm(true, false, y.cols(), y.cols(), y.rows(), 1.0 / static_cast<double>(y.rows()), centred.data(), y.cols(),
         centred.data(), y.cols(), 0.0, cov.data(), y.cols());
    Eigen::LLT<Matrix> llt(cov);
    if (llt.info() != Eigen::Success) return false;
    precision = llt.solve(Matrix::Identity(y.cols(), y.cols()));
    logDet = 2.0 * llt.matrixL().toDenseMatrix().diagonal().array().log().sum();
    return std::isfinite(logDet);
  };
  Vector m0, m1;
  Matrix p0, p1;
  double ld0 = 0, ld1 = 0;
  if (!moments(y0, m0, p0, ld0) || !moments(y1, m1, p1, ld1)) return false;
  const Matrix A = 0.5 * (p1 - p0);
  const Vector b = p0 * m0 - p1 * m1;
  const double c = -0.5 * m0.dot(p0 * m0) + 0.5 * m1.dot(p1 * m1) - 0.5 * ld0 + 0.5 * ld1 +
                   std::log(static_cast<double>(y0.rows()) / static_cast<double>(y1.rows()));
  beta.resize(quadraticFeatureCount(n));
  beta(0) = c;
  beta.segment(1, n) = b;
  Index k = 1 + n;
  for (Index i = 0; i < n; ++i)
    for (Index j = i; j < n; ++j) beta(k++) = i == j ? A(i, i) : 2.0 * A(i, j);
  return beta.allFinite();
}

struct LogisticFit {
  Vector beta;
  int iterations = 0;
  double objective = 0.0;
};

LogisticFit fitLogistic(const Matrix& phi0, const Matrix& phi1, const Vector& start, const LearnedOptions& options,
                        const Context* context) {
  const std::vector<LabelledFeatures> groups = {{&phi0, 1.0}, {&phi1, 0.0}};
  const Index p = phi0.cols();
  LogisticPoint point;
  if (start.size() == p) point = logisticAt(groups, start, options.l2);
  if (!std::isfinite(point.objective) || start.size() != p) point = logisticAt(groups, Vector::Zero(p), options.l2);
  LogisticFit fit;
  Vector grad;
  ColMatrix hess;
  for (int it = 0; it < options.maxIterations; ++it) {
    if (context) context->checkCancelled(kFit);
    logisticDerivatives(groups, point, options.l2, &grad, &hess);
    Eigen::LDLT<ColMatrix> ldlt(hess);
    Vector step = ldlt.solve(-grad);
    if (ldlt.info() != Eigen::Success || !step.allFinite()) step = -grad;  // ill-conditioned: gradient step
    const double slope = grad.dot(step);                                   // -(Newton decrement)^2
    fit.iterations = it + 1;
    if (-0.5 * slope < options.tolerance) break;
    // Backtracking (Armijo) line search; a full step is almost always taken.
    double t = 1.0;
    LogisticPoint trial;
    for (int halvings = 0; halvings < 60; ++halvings, t *= 0.5) {
      trial = logisticAt(groups, point.beta + t * step, options.l2);
      if (std::isfinite(trial.objective) && trial.objective <= point.objective + 0.25 * t * slope) break;
    }
    if (!(trial.objective < point.objective)) break;  // no further decrease in floating point
    point = std::move(trial);
    // Quadratic convergence: after a full step from a decrement^2/2 below
    // sqrt(tolerance) the next one is below tolerance.
    if (t == 1.0 && -0.5 * slope < std::sqrt(options.tolerance)) break;
  }
  fit.beta = point.beta;
  fit.objective = point.objective;
  return fit;
}

// --- network training -------------------------------------------------------

// Networks are trained in float (twice the SIMD width of double; the
// estimates need nowhere near double precision) and evaluated in double.
using Train = float;
using TMatrix = nn::MatrixT<Train>;
using TVector = Eigen::Matrix<Train, Eigen::Dynamic, 1>;

template <typename Scalar>
using ArrayX = Eigen::Array<Scalar, Eigen::Dynamic, 1>;

template <typename Scalar>
ArrayX<Scalar> softplusT(const ArrayX<Scalar>& f) {
  return f.max(Scalar(0)) + (Scalar(1) + (-f.abs()).exp()).log();
}
template <typename Scalar>
ArrayX<Scalar> sigmoidT(const ArrayX<Scalar>& f) {
  const ArrayX<Scalar> e = (-f.abs()).exp();
  return (f >= Scalar(0)).select(Scalar(1) / (Scalar(1) + e), e / (Scalar(1) + e));
}

// Sum over the rows of X of the per-sample loss, times scale; adds scale times
// its gradient to grad (if not null). Classifier: binary cross-entropy of the
// logit against labels: aux column 0 the 0/1 label, optional column 1 a fixed
// offset added to the network's output (the quadratic head's logit). Ssm:
// 0.5 |s|^2 + mean over the P directions of v^T J v, directions V ((P*B) x n).
template <typename Scalar>
double classifierChunk(const nn::Mlp& net, const Scalar* params, const nn::MatrixT<Scalar>& X,
                       const nn::MatrixT<Scalar>& labels, nn::Workspace<Scalar>& ws, Scalar* grad, Scalar scale) {
  nn::forward<Scalar>(net, params, X, ws);
  ArrayX<Scalar> f = ws.h.back().col(0).array();
  if (labels.cols() > 1) f += labels.col(1).array();
  const ArrayX<Scalar> l = labels.col(0).array();
  const double loss = static_cast<double>((softplusT<Scalar>(f) - l * f).sum()) * static_cast<double>(scale);
  if (grad) {
    const nn::MatrixT<Scalar> gOut = ((sigmoidT<Scalar>(f) - l) * scale).matrix();
    nn::backward<Scalar>(net, params, ws, gOut, nullptr, grad, nullptr);
  }
  return loss;
}

template <typename Scalar>
double ssmChunk(const nn::Mlp& net, const Scalar* params, const nn::MatrixT<Scalar>& X, const nn::MatrixT<Scalar>& V,
                nn::Workspace<Scalar>& ws, Scalar* grad, Scalar scale) {
  const Eigen::Ref<const nn::MatrixT<Scalar>> directions(V);
  nn::forward<Scalar>(net, params, X, ws, &directions);
  const nn::MatrixT<Scalar>& s = ws.h.back();
  const nn::MatrixT<Scalar>& jv = ws.t.back();
  const Scalar P = static_cast<Scalar>(V.rows() / X.rows());
  const double loss = (0.5 * static_cast<double>(s.squaredNorm()) +
                       static_cast<double>((V.array() * jv.array()).sum()) / static_cast<double>(P)) *
                      static_cast<double>(scale);
  if (grad) {
    const nn::MatrixT<Scalar> gOut = s * scale;
    const nn::MatrixT<Scalar> gT = V * (scale / P);
    const Eigen::Ref<const nn::MatrixT<Scalar>> gTangent(gT);
    nn::backward<Scalar>(net, params, ws, gOut, &gTangent, grad, nullptr);
  }
  return loss;
}

// Shared progress of all networks of one fit. Only the calling thread of the
// fit reports (the progress callback may not be thread-safe).
struct Progress {
  const Context* context = nullptr;
  std::atomic<int64_t> done{0};
  int64_t total = 1;
  std::string message;
  void advance(bool report) {
    const int64_t now = ++done;
    if (report && context) context->progress(0.95 * static_cast<double>(now) / static_cast<double>(total), message);
  }
};

struct Batch {
  TMatrix X, aux;
};

struct TrainResult {
  int epochs = 0;
  int bestEpoch = 0;
  double bestLoss = std::numeric_limits<double>::quiet_NaN();
};

enum class Objective { Classifier, Ssm };

// Trains one network with Adam on minibatches of xTrain; keeps the parameters
// of the epoch with the lowest validation loss (the last epoch without a
// validation set). Classifier: labelsTrain holds one 0/1 label per row of
// xTrain. Ssm: directions are drawn from rng per chunk. Validation batches
// carry their own labels / fixed directions.
TrainResult trainNetwork(Objective objective, const nn::Mlp& net, TVector& params, const TMatrix& xTrain,
                         const TMatrix& labelsTrain, const std::vector<Batch>& validation,
                         const LearnedOptions& options, Generator& rng, bool innerParallel, Progress& progress,
                         bool report) {
  const Index nTrain = xTrain.rows();
  const Index n = xTrain.cols();
  const Index P = options.projections;
  nn::Adam<Train> adam(params.size(), options.learningRate);
  nn::Workspace<Train> ws[2];
  Batch chunk[2];
  TVector grads[2];
  TVector grad(params.size());
  TVector best = params;
  std::vector<double> normals;
  TrainResult result;
  double bestLoss = std::numeric_limits<double>::infinity();
  const Index batch = std::min<Index>(options.batchSize, nTrain);
  const Index batchesPerEpoch = (nTrain + batch - 1) / batch;
  const Train decay = static_cast<Train>(2.0 * options.weightDecay);
  const bool cosine = options.cosineSchedule;

  auto chunkLoss = [&](const Batch& b, nn::Workspace<Train>& w, Train* g, Train scale) {
    return objective == Objective::Classifier ? classifierChunk<Train>(net, params.data(), b.X, b.aux, w, g, scale)
                                              : ssmChunk<Train>(net, params.data(), b.X, b.aux, w, g, scale);
  };

  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    const std::vector<int64_t> order = rng.permutation(nTrain);
    for (Index batchIndex = 0; batchIndex < batchesPerEpoch; ++batchIndex) {
      if (progress.context && (batchIndex % 8) == 0) progress.context->checkCancelled(kFit);
      const Index start = batchIndex * batch;
      const Index count = std::min(batch, nTrain - start);
      const int parts = count >= kSplitRows ? 2 : 1;
      for (int c = 0; c < parts; ++c) {
        const Index c0 = start + count * c / parts, c1 = start + count * (c + 1) / parts;
        Batch& ch = chunk[c];
        ch.X.resize(c1 - c0, n);
        for (Index r = c0; r < c1; ++r) ch.X.row(r - c0) = xTrain.row(order[static_cast<size_t>(r)]);
        if (objective == Objective::Classifier) {
          ch.aux.resize(c1 - c0, labelsTrain.cols());
          for (Index r = c0; r < c1; ++r) ch.aux.row(r - c0) = labelsTrain.row(order[static_cast<size_t>(r)]);
        } else {
          ch.aux.resize(P * (c1 - c0), n);
          normals.resize(static_cast<size_t>(ch.aux.size()));
          rng.fillStandardNormal(normals.data(), normals.size());
          for (Index i = 0; i < ch.aux.size(); ++i)
            ch.aux.data()[i] = static_cast<Train>(normals[static_cast<size_t>(i)]);
        }
        grads[c].setZero(params.size());
      }
      const Train scale = Train(1) / static_cast<Train>(count);
      auto run = [&](int c) { chunkLoss(chunk[c], ws[c], grads[c].data(), scale); };
      if (parts == 2 && innerParallel) {
        parallelRanges(2, 2, [&](int, int64_t begin, int64_t end) {
          for (int64_t c = begin; c < end; ++c) run(static_cast<int>(c));
        });
      } else {
        for (int c = 0; c < parts; ++c) run(c);
      }
      grad = grads[0];
      if (parts == 2) grad += grads[1];
      if (decay > 0) grad += decay * params;
      if (cosine) {
        const double progressed = static_cast<double>(epoch * batchesPerEpoch + batchIndex) /
                                  static_cast<double>(options.epochs * batchesPerEpoch);
        adam.setLearningRate(options.learningRate * 0.5 * (1.0 + std::cos(3.14159265358979323846 * progressed)));
      }
      adam.step(params.data(), grad.data());
    }
    result.epochs = epoch + 1;
    if (!params.allFinite())
      throw Error(kFit, std::string(objective == Objective::Classifier ? "classifier-mlp" : "ssm") +
                            " training diverged (non-finite parameters): lower 'learningRate'");
    if (!validation.empty()) {
      double loss = 0.0;
      Index rows = 0;
      for (const Batch& b : validation) rows += b.X.rows();
      for (const Batch& b : validation) loss += chunkLoss(b, ws[0], nullptr, Train(1) / static_cast<Train>(rows));
      if (loss < bestLoss) {
        bestLoss = loss;
        best = params;
        result.bestEpoch = epoch + 1;
      }
    } else {
      result.bestEpoch = epoch + 1;
    }
    progress.advance(report);
    if (!validation.empty() && epoch + 1 - result.bestEpoch >= options.patience) break;
  }
  if (!validation.empty()) params = best;
  result.bestLoss = validation.empty() ? std::numeric_limits<double>::quiet_NaN() : bestLoss;
  return result;
}

// Runs jobs 0..count-1 (independent trainings); on several threads when there
// are several jobs, each job then running its minibatches serially. Returns
// whether jobs may split their minibatches over threads themselves.
template <typename Job>
void runJobs(int count, const Job& job) {
  const int parts = std::min(count, threads());
  if (parts <= 1) {
    for (int j = 0; j < count; ++j) job(j, /*innerParallel=*/true, /*report=*/true);
    return;
  }
  std::atomic<int> next{0};
  parallelRanges(parts, parts, [&](int part, int64_t, int64_t) {
    for (int j = next++; j < count; j = next++) job(j, /*innerParallel=*/false, /*report=*/part == 0);
  });
}

std::vector<Batch> makeValidation(Objective objective, const TMatrix& xVal, const TMatrix& labelsVal, Index P,
                                  Generator& rng) {
  std::vector<Batch> out;
  const Index rows = xVal.rows(), n = xVal.cols();
  std::vector<double> normals;
  for (Index start = 0; start < rows; start += kEvalRows) {
    const Index count = std::min(kEvalRows, rows - start);
    Batch b;
    b.X = xVal.middleRows(start, count);
    if (objective == Objective::Classifier) {
      b.aux = labelsVal.middleRows(start, count);
    } else {
      b.aux.resize(P * count, n);
      normals.resize(static_cast<size_t>(b.aux.size()));
      rng.fillStandardNormal(normals.data(), normals.size());
      for (Index i = 0; i < b.aux.size(); ++i) b.aux.data()[i] = static_cast<Train>(normals[static_cast<size_t>(i)]);
    }
    out.push_back(std::move(b));
  }
  return out;
}

// Train / validation rows of one environment (the first nVal of a
// permutation drawn from rng are held out), in the training precision.
void splitRows(const Matrix& y, Index nVal, Generator& rng, TMatrix& train, TMatrix& val) {
  const std::vector<int64_t> order = rng.permutation(y.rows());
  train.resize(y.rows() - nVal, y.cols());
  val.resize(nVal, y.cols());
  for (Index r = 0; r < y.rows(); ++r) {
    const auto src = order[static_cast<size_t>(r)];
    if (r < nVal)
      val.row(r) = y.row(src).cast<Train>();
    else
      train.row(r - nVal) = y.row(src).cast<Train>();
  }
}

Index validationRows(Index N, double fraction) {
  return static_cast<Index>(std::floor(fraction * static_cast<double>(N)));
}

// dsx (K x M x d) of a fitted model at M points whose whitened coordinates
// rowsOf(r0, rows, y) provides, block by block.
template <typename Rows>
void evaluateRows(const LearnedModel& model, Index M, double* out, const Context* context, const Rows& rowsOf) {
  const Index d = model.d, n = model.n, K = model.K;
  const Index chunks = (M + kEvalRows - 1) / kEvalRows;
  // Per-environment gradient parts of the logistic model: grad_y = b + 2 A y.
  // (classifier-mlp: of its quadratic head, the last 1 + n + n(n+1)/2 parameters.)
  std::vector<Vector> lin;
  std::vector<Matrix> quad;
  if (model.method != LearnedMethod::Ssm) {
    lin.resize(static_cast<size_t>(K));
    quad.resize(static_cast<size_t>(K));
    const Index p = quadraticFeatureCount(n);
    for (size_t m = 0; m < static_cast<size_t>(K); ++m) quadraticParts(model.params[m].tail(p), n, lin[m], quad[m]);
  }
  const int parts = M * std::max<Index>(d, 16) * K < 200000 ? 1 : threads();
  parallelRanges(chunks, parts, [&](int part, int64_t begin, int64_t end) {
    nn::Workspace<double> ws;
    Matrix yc, gy, s0;
    for (int64_t c = begin; c < end; ++c) {
      if (context) context->checkCancelled(kEvaluate);
      const Index r0 = c * kEvalRows, rows = std::min(kEvalRows, M - r0);
      rowsOf(r0, rows, yc);
      if (model.method == LearnedMethod::Ssm) {
        nn::forward<double>(model.net, model.params[0].data(), yc, ws);
        s0 = ws.h.back();
      }
      for (Index m = 0; m < K; ++m) {
        const size_t mi = static_cast<size_t>(m);
        switch (model.method) {
          case LearnedMethod::LogisticQuadratic:
            gy.resize(rows, n);
            gemm(false, false, rows, n, n, 2.0, yc.data(), n, quad[mi].data(), n, 0.0, gy.data(), n);
            gy.rowwise() += lin[mi].transpose();
            break;
          case LearnedMethod::ClassifierMlp:
            gy = nn::inputGradient<double>(model.net, model.params[mi].data(), yc, ws);
            gemm(false, false, rows, n, n, 2.0, yc.data(), n, quad[mi].data(), n, 1.0, gy.data(), n);
            gy.rowwise() += lin[mi].transpose();
            break;
          case LearnedMethod::Ssm:
            nn::forward<double>(model.net, model.params[mi + 1].data(), yc, ws);
            gy = s0 - ws.h.back();
            break;
        }
        gemm(false, true, rows, d, n, 1.0, gy.data(), n, model.whitening.data(), n, 0.0, out + (m * M + r0) * d, d);
      }
      if (context && part == 0)
        context->progress(static_cast<double>(c + 1 - begin) / static_cast<double>(end - begin));
    }
  });
}

}  // namespace

// --- public -------------------------------------------------------------------

const char* learnedMethodName(LearnedMethod method) {
  switch (method) {
    case LearnedMethod::LogisticQuadratic: return "logistic-quadratic";
    case LearnedMethod::ClassifierMlp: return "classifier-mlp";
    case LearnedMethod::Ssm: return "ssm";
  }
  return "unknown";
}

LearnedMethod parseLearnedMethod(const std::string& name, const std::string& function) {
  if (name == "logistic-quadratic") return LearnedMethod::LogisticQuadratic;
  if (name == "classifier-mlp") return LearnedMethod::ClassifierMlp;
  if (name == "ssm") return LearnedMethod::Ssm;
  throw Error(function, "'method' must be one of 'logistic-quadratic', 'classifier-mlp', 'ssm', got '" + name + "'");
}

Index quadraticFeatureCount(Index n) { return 1 + n + n * (n + 1) / 2; }

LearnedOptions resolveLearnedOptions(const LearnedOptions& options, const std::string& function) {
  LearnedOptions o = options;
  auto require = [&](bool ok, const std::string& message) {
    if (!ok) throw Error(function, message);
  };
  if (o.learningRate == 0) o.learningRate = o.method == LearnedMethod::ClassifierMlp ? 1e-2 : 3e-3;
  require(o.dimension >= 0, "'dimension' must be >= 1 (or 0 for d)");
  require(o.epochs >= 1 && o.epochs <= 100000, "'epochs' must be between 1 and 100000");
  require(o.width >= 1 && o.width <= 4096, "'width' must be between 1 and 4096");
  require(o.hiddenLayers >= 1 && o.hiddenLayers <= 8, "'hiddenLayers' must be between 1 and 8");
  require(std::isfinite(o.learningRate) && o.learningRate > 0 && o.learningRate <= 1,
          "'learningRate' must be in (0, 1]");
  require(std::isfinite(o.validationFraction) && o.validationFraction >= 0 && o.validationFraction <= 0.9,
          "'validationFraction' must be in [0, 0.9]");
  require(o.batchSize >= 1 && o.batchSize <= 1000000, "'batchSize' must be between 1 and 1000000");
  require(o.patience >= 1, "'patience' must be >= 1");
  require(std::isfinite(o.weightDecay) && o.weightDecay >= 0, "'weightDecay' must be >= 0");
  require(o.projections >= 1 && o.projections <= 64, "'projections' must be between 1 and 64");
  require(std::isfinite(o.l2) && o.l2 >= 0, "'l2' must be >= 0");
  require(o.maxIterations >= 1 && o.maxIterations <= 10000, "'maxIterations' must be between 1 and 10000");
  require(std::isfinite(o.tolerance) && o.tolerance > 0, "'tolerance' must be > 0");
  return o;
}

namespace {

// The working memory that grows with the options or with the square of the
// dimension rather than with the data, checked before anything is formed:
// the projected samples; logistic-quadratic's features (two environments at
// a time per thread) and its p x p Newton system; the networks' parameters
// with their gradient and Adam state, and the activations of one batch per
// layer (twice: forward values and their gradients).
void checkLearnedRequest(const LearnedOptions& o, Index environments, Index N, Index d, Index n) {
  // p in 64 bits: Index is 32-bit on WebAssembly.
  const int64_t K = environments - 1, p = 1 + int64_t(n) + int64_t(n) * (int64_t(n) + 1) / 2;
  const int64_t jobs = std::max<int64_t>(1, std::min<int64_t>(K, threads()));
  limits::Request request(kFit);
  request.add("the whitened samples", {environments, N, n}).add("the whitening", {2, d, n});
  if (o.method == LearnedMethod::LogisticQuadratic) {
    request.add("the quadratic features", {jobs + 1, N, p}).add("the Newton systems", {jobs, 2, p, p});
    request.add("the coefficients", {K, p});
  } else {
    const int64_t w = o.width, parameters = w * (n + 1) + (o.hiddenLayers - 1) * w * (w + 1) + (w + 1) * n;
    const int64_t networks = o.method == LearnedMethod::Ssm ? environments : K;
    request.add("the network parameters, gradients and Adam state", {networks + 4 * jobs, parameters});
    request.add("the activations of a batch",
                {jobs, 2 * (o.hiddenLayers + 2), std::min<int64_t>(o.batchSize, N), w + n});
  }
  request.check();
}

}  // namespace

LearnedFit fitLearnedScoreDifferences(const double* x, Index environments, Index N, Index d,
                                      const LearnedOptions& requested, const Context* context, const double* at,
                                      Index M) {
  const LearnedOptions options = resolveLearnedOptions(requested, kFit);
  if (environments < 2)
    throw Error(
        kFit,
        "'x' needs the observational environment and at least one interventional one (shape (K+1) x N x d, K >= 1)");
  const Index n = options.dimension == 0 ? d : options.dimension;
  if (n > d) throw Error(kFit, "'dimension' (" + std::to_string(n) + ") cannot exceed d = " + std::to_string(d));
  if (N <= n)
    throw Error(kFit, "too few samples: N = " + std::to_string(N) +
                          " per environment, need more than dimension n = " + std::to_string(n));
  const Index K = environments - 1;
  const Index p = quadraticFeatureCount(n);
  const Index nVal = validationRows(N, options.validationFraction);
  if (options.method == LearnedMethod::LogisticQuadratic) {
    if (N < 2 * p)
      throw Error(kFit, "too few samples for logistic-quadratic: N = " + std::to_string(N) +
                            " per environment, need at least " + std::to_string(2 * p) + " (twice the " +
                            std::to_string(p) + " quadratic features of dimension " + std::to_string(n) + ")");
  } else {
    if (N - nVal < 2 || (options.validationFraction > 0 && nVal < 1))
      throw Error(kFit, "too few samples: N = " + std::to_string(N) + " per environment leaves " +
                            std::to_string(N - nVal) + " for training and " + std::to_string(nVal) +
                            " for validation (validationFraction " + std::to_string(options.validationFraction) +
                            "); need at least 2 and 1");
  }

  checkLearnedRequest(options, environments, N, d, n);
  if (context) context->progress(0.0, std::string(learnedMethodName(options.method)) + ": whitening");
  const Whitening white = fitWhitening(ConstMatrixMap(x, N, d), n, context);
  std::vector<Matrix> y(static_cast<size_t>(environments));
  parallelRanges(environments, threads(), [&](int, int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k)
      y[static_cast<size_t>(k)] = project(ConstMatrixMap(x + k * N * d, N, d), white);
  });

  LearnedFit fit;
  LearnedModel& model = fit.model;
  model.method = options.method;
  model.d = d;
  model.n = n;
  model.K = K;
  model.mean = white.mean;
  model.whitening = white.W;

  Progress progress;
  progress.context = context;
  progress.message = learnedMethodName(options.method);

  if (options.method == LearnedMethod::LogisticQuadratic) {
    model.params.resize(static_cast<size_t>(K));
    fit.report.iterations.assign(static_cast<size_t>(K), 0);
    fit.report.bestEpoch.assign(static_cast<size_t>(K), 0);
    fit.report.loss.assign(static_cast<size_t>(K), 0.0);
    Matrix phi0;
    quadraticFeatures(y[0], phi0);
    progress.total = K;
    runJobs(static_cast<int>(K), [&](int job, bool, bool report) {
      const size_t m = static_cast<size_t>(job) + 1;
      Matrix phi1;
      quadraticFeatures(y[m], phi1);
      Vector start;
      if (!gaussianStart(y[0], y[m], start)) start.resize(0);
      const LogisticFit lf = fitLogistic(phi0, phi1, start, options, context);
      model.params[m - 1] = lf.beta;
      fit.report.iterations[m - 1] = lf.iterations;
      fit.report.loss[m - 1] = lf.objective;
      progress.advance(report);
    });
  } else {
    const Objective objective = options.method == LearnedMethod::Ssm ? Objective::Ssm : Objective::Classifier;
    const Index p = quadraticFeatureCount(n);
    std::vector<Index> sizes{n};
    for (int l = 0; l < options.hiddenLayers; ++l) sizes.push_back(options.width);
    sizes.push_back(objective == Objective::Ssm ? n : 1);
    model.net = nn::Mlp(sizes);
    const Index networks = objective == Objective::Ssm ? environments : K;
    model.params.resize(static_cast<size_t>(networks));
    fit.report.iterations.assign(static_cast<size_t>(networks), 0);
    fit.report.bestEpoch.assign(static_cast<size_t>(networks), 0);
    fit.report.loss.assign(static_cast<size_t>(networks), 0.0);
    progress.total = networks * options.epochs;

    // One train/validation split per environment, from the seed.
    std::vector<TMatrix> train(static_cast<size_t>(environments)), val(static_cast<size_t>(environments));
    for (Index k = 0; k < environments; ++k) {
      Generator split(streamSeed(options.seed, 1000000 + static_cast<uint64_t>(k)));
      splitRows(y[static_cast<size_t>(k)], nVal, split, train[static_cast<size_t>(k)], val[static_cast<size_t>(k)]);
    }
    runJobs(static_cast<int>(networks), [&](int job, bool innerParallel, bool report) {
      Generator rng(streamSeed(options.seed, static_cast<uint64_t>(job)));
      Vector init(model.net.parameterCount());
      nn::initialise(model.net, init.data(), rng);
      TMatrix xTrain, labelsTrain, xVal, labelsVal;
      Vector head = Vector::Zero(p);
      if (objective == Objective::Ssm) {
        xTrain = train[static_cast<size_t>(job)];
        xVal = val[static_cast<size_t>(job)];
      } else {
        const size_t m = static_cast<size_t>(job) + 1;
        auto stack = [](const TMatrix& a, const TMatrix& b, TMatrix& xs, TMatrix& labels) {
          xs.resize(a.rows() + b.rows(), a.cols());
          xs.topRows(a.rows()) = a;
          xs.bottomRows(b.rows()) = b;
          labels.resize(xs.rows(), 1);
          labels.topRows(a.rows()).setOnes();
          labels.bottomRows(b.rows()).setZero();
        };
        stack(train[0], train[m], xTrain, labelsTrain);
        stack(val[0], val[m], xVal, labelsVal);
        if (options.quadraticHead) {
          // The quadratic logistic regression on the training rows, then the network learns
          // what it misses: its output layer starts at zero, so training starts from the
          // quadratic fit, whose logit enters as a fixed offset.
          Matrix phi0, phi1, phiVal;
          quadraticFeatures(train[0].cast<double>(), phi0);
          quadraticFeatures(train[m].cast<double>(), phi1);
          Vector start;
          if (!gaussianStart(train[0].cast<double>(), train[m].cast<double>(), start)) start.resize(0);
          head = fitLogistic(phi0, phi1, start, options, context).beta;
          auto offsets = [&](const Matrix& phi, TMatrix& labels, Index row0) {
            Vector f(phi.rows());
            gemm(false, false, phi.rows(), 1, p, 1.0, phi.data(), p, head.data(), 1, 0.0, f.data(), 1);
            labels.block(row0, 1, phi.rows(), 1) = f.cast<Train>();
          };
          labelsTrain.conservativeResize(Eigen::NoChange, 2);
          labelsVal.conservativeResize(Eigen::NoChange, 2);
          offsets(phi0, labelsTrain, 0);
          offsets(phi1, labelsTrain, phi0.rows());
          quadraticFeatures(xVal.cast<double>(), phiVal);
          offsets(phiVal, labelsVal, 0);
          const int L = model.net.layers();
          init.segment(model.net.weightOffset(L), model.net.parameterCount() - model.net.weightOffset(L)).setZero();
        }
      }
      TVector params = init.cast<Train>();
      Generator valRng(streamSeed(options.seed, 2000000 + static_cast<uint64_t>(job)));
      const std::vector<Batch> validation = makeValidation(objective, xVal, labelsVal, options.projections, valRng);
      const TrainResult tr = trainNetwork(objective, model.net, params, xTrain, labelsTrain, validation, options, rng,
                                          innerParallel, progress, report);
      Vector stored(params.size() + (objective == Objective::Classifier ? p : 0));
      stored.head(params.size()) = params.cast<double>();
      if (objective == Objective::Classifier) stored.tail(p) = head;
      model.params[static_cast<size_t>(job)] = std::move(stored);
      fit.report.iterations[static_cast<size_t>(job)] = tr.epochs;
      fit.report.bestEpoch[static_cast<size_t>(job)] = tr.bestEpoch;
      fit.report.loss[static_cast<size_t>(job)] = tr.bestLoss;
    });
  }

  if (at) {
    fit.dsx.resize(static_cast<size_t>(K * M * d));
    evaluateLearnedScoreDifferences(model, ConstMatrixMap(at, M, d), fit.dsx.data(), context);
  } else {
    fit.dsx.resize(static_cast<size_t>(K * N * d));
    evaluateRows(model, N, fit.dsx.data(), context,
                 [&](Index r0, Index rows, Matrix& yc) { yc = y[0].middleRows(r0, rows); });
  }
  if (context) context->progress(1.0, std::string(learnedMethodName(options.method)) + ": done");
  return fit;
}

void evaluateLearnedScoreDifferences(const LearnedModel& model, const ConstMatrixMap& x, double* out,
                                     const Context* context) {
  if (x.cols() != model.d)
    throw Error(kEvaluate, "'x' has " + std::to_string(x.cols()) +
                               " columns but the model was fitted on d = " + std::to_string(model.d));
  const Whitening white{model.mean, model.whitening};
  evaluateRows(model, x.rows(), out, context, [&](Index r0, Index rows, Matrix& yc) {
    yc = project(ConstMatrixMap(x.data() + r0 * model.d, rows, model.d), white);
  });
}

std::vector<double> serialiseLearnedModel(const LearnedModel& model) {
  std::vector<double> out{1.0, static_cast<double>(static_cast<int>(model.method)), static_cast<double>(model.d),
                          static_cast<double>(model.n), static_cast<double>(model.K)};
  const bool network = model.method != LearnedMethod::LogisticQuadratic;
  out.push_back(network ? model.net.layers() : 0);
  if (network)
    for (Index s : model.net.sizes) out.push_back(static_cast<double>(s));
  out.insert(out.end(), model.mean.data(), model.mean.data() + model.mean.size());
  out.insert(out.end(), model.whitening.data(), model.whitening.data() + model.whitening.size());
  for (const Vector& p : model.params) out.insert(out.end(), p.data(), p.data() + p.size());
  return out;
}

LearnedModel deserialiseLearnedModel(const double* data, Index size, const std::string& function) {
  auto fail = [&](const std::string& why) -> void {
    throw Error(function, "'model' is not a fitted score-difference model (" + why + ")");
  };
  Index at = 0;
  auto next = [&]() {
    if (at >= size) fail("too short");
    return data[at++];
  };
  auto whole = [&](double v, double lo, double hi) {
    if (!(v >= lo && v <= hi) || v != std::floor(v)) fail("bad header");
    return static_cast<Index>(v);
  };
  if (next() != 1.0) fail("unknown format version");
  LearnedModel model;
  const Index method = whole(next(), 1, 3);
  model.method = static_cast<LearnedMethod>(method);
  model.d = whole(next(), 1, 1e7);
  model.n = whole(next(), 1, static_cast<double>(model.d));
  model.K = whole(next(), 1, 1e5);
  const Index L = whole(next(), 0, 16);
  const bool network = model.method != LearnedMethod::LogisticQuadratic;
  if (network != (L > 0)) fail("bad header");
  if (network) {
    std::vector<Index> sizes;
    for (Index l = 0; l <= L; ++l) sizes.push_back(whole(next(), 1, 1e6));
    model.net = nn::Mlp(sizes);
    const Index outputs = model.method == LearnedMethod::Ssm ? model.n : 1;
    if (model.net.inputs() != model.n || model.net.outputs() != outputs) fail("network shape does not match n");
  }
  const Index p = quadraticFeatureCount(model.n);
  const Index per = model.method == LearnedMethod::Ssm             ? model.net.parameterCount()
                    : model.method == LearnedMethod::ClassifierMlp ? model.net.parameterCount() + p
                                                                   : p;
  const Index count = model.method == LearnedMethod::Ssm ? model.K + 1 : model.K;
  if (size - at != model.d + model.d * model.n + count * per)
    fail("length " + std::to_string(size) + " does not match its header");
  model.mean = ConstVectorMap(data + at, model.d);
  at += model.d;
  model.whitening = ConstMatrixMap(data + at, model.d, model.n);
  at += model.d * model.n;
  for (Index k = 0; k < count; ++k, at += per) model.params.emplace_back(ConstVectorMap(data + at, per));
  return model;
}

double learnedObjective(LearnedMethod method, const nn::Mlp& net, const Vector& params, const Matrix& y,
                        const Matrix& aux, double l2, Vector* gradient, Matrix* hessian) {
  if (method == LearnedMethod::LogisticQuadratic) {
    Matrix phi;
    quadraticFeatures(y, phi);
    if (aux.rows() != y.rows() || aux.cols() != 1) throw Error("learnedObjective", "'aux' must be B x 1 labels");
    std::vector<Index> ones, zeros;
    for (Index r = 0; r < y.rows(); ++r) (aux(r, 0) > 0.5 ? ones : zeros).push_back(r);
    Matrix phi1 = phi(ones, Eigen::all), phi0 = phi(zeros, Eigen::all);
    if (params.size() != phi.cols()) throw Error("learnedObjective", "'params' must have 1 + n + n(n+1)/2 entries");
    const std::vector<LabelledFeatures> groups = {{&phi1, 1.0}, {&phi0, 0.0}};
    const LogisticPoint point = logisticAt(groups, params, l2);
    ColMatrix hess;
    if (gradient || hessian) logisticDerivatives(groups, point, l2, gradient, hessian ? &hess : nullptr);
    if (hessian) *hessian = hess;
    return point.objective;
  }
  if (params.size() != net.parameterCount()) throw Error("learnedObjective", "'params' does not match the network");
  nn::Workspace<double> ws;
  if (gradient) gradient->setZero(params.size());
  const double scale = 1.0 / static_cast<double>(y.rows());
  if (method == LearnedMethod::ClassifierMlp) {
    if (aux.rows() != y.rows() || aux.cols() > 2)
      throw Error("learnedObjective", "'aux' must be B x 1 labels (or B x 2: labels, logit offsets)");
    return classifierChunk<double>(net, params.data(), y, aux, ws, gradient ? gradient->data() : nullptr, scale);
  }
  if (aux.cols() != y.cols() || aux.rows() % y.rows() != 0 || aux.rows() == 0)
    throw Error("learnedObjective", "'aux' must be (P*B) x n directions");
  return ssmChunk<double>(net, params.data(), y, aux, ws, gradient ? gradient->data() : nullptr, scale);
}

}  // namespace scorecrl
