// UMNI-CRL (see umni.hpp for the algorithm and why the search is fast).
#include "scorecrl/algorithms/umni.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <numeric>
#include <string>

#include "scorecrl/algorithms/trial.hpp"
#include "scorecrl/evaluation/metrics.hpp"
#include "scorecrl/linalg/moments.hpp"
#include "scorecrl/runtime/error.hpp"
#include "scorecrl/runtime/limits.hpp"
#include "scorecrl/runtime/ops.hpp"
#include "scorecrl/runtime/parallel.hpp"
#include "scorecrl/simulation/rng.hpp"

namespace scorecrl {
namespace {

constexpr const char* kFn = "umni";
// Leaves per block of the parallel search: blocks fix the leading coordinates.
constexpr int64_t kBlockLeaves = 4096;
// At most about this many blocks are listed: past it blocks are made larger
// (fewer fixed coordinates), which keeps their list small however large the
// search (the search order does not depend on the block size).
constexpr double kMaxBlocks = 1 << 20;
// Leaves searched on the calling thread before other threads join in.
constexpr double kSequentialLeaves = 32768;
// Relative slack of the screening test (it must never reject what the
// reference test accepts, whatever the rounding).
constexpr double kScreenSlack = 1e-10;

std::string str(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

// The data in the reduced space.
struct Moments {
  int n = 0;
  Matrix basis;                     // d x n
  std::vector<Matrix> blocks;       // n*n blocks R_ij (n x n), index i*n + j
  Matrix traces;                    // n x n, tr R_ij
  std::vector<Matrix> covariances;  // K+1 covariances of the reduced x (n x n)

  const Matrix& block(int i, int j) const { return blocks[static_cast<size_t>(i * n + j)]; }

  // R_w = sum_ij w_i w_j R_ij.
  Matrix combine(const std::vector<int>& w) const {
    Matrix r = Matrix::Zero(n, n);
    for (int i = 0; i < n; ++i) {
      if (w[i] == 0) continue;
      for (int j = 0; j < n; ++j)
        if (w[j] != 0) r.noalias() += static_cast<double>(w[i] * w[j]) * block(i, j);
    }
    return r;
  }
};

// An orthonormal frame of the reduced space whose first m columns span the
// complement of `rows` (k x n, independent) and whose last k span the rows:
// in these coordinates the projection off the rows keeps the first m.
Matrix frameOff(const Matrix& rows, int n) {
  const Index k = rows.rows();
  if (k == 0) return Matrix::Identity(n, n);
  Eigen::HouseholderQR<Matrix> qr(rows.transpose());
  const Matrix q = qr.householderQ();
  Matrix frame(n, n);
  frame.leftCols(n - k) = q.rightCols(n - k);
  frame.rightCols(k) = q.leftCols(k);
  return frame;
}

// Screening 1, on the compressed matrix C = N^T R_w N (the first m x m
// block: diagonal `diag`, other entries from `entry`). True only if C proves
// that the reference test rejects the candidate:
//  - lambda_2(C) > tau = tol + tol^2 tr(R_w), shown by two positive pivots of
//    a diagonally pivoted Cholesky of C - tau I (a positive definite 2 x 2
//    principal submatrix; interlacing). An accepted candidate has
//    sigma_2(P V) <= tol, so lambda_2(C) <= tol^2 lambda_max(R_w) + tol. The
//    second pivot tried first is the second largest diagonal entry, which
//    settles most candidates with one off-diagonal entry.
//  - lambda_1(C) <= tr(C) < tol^3 when R_w has an eigenvalue above tol or
//    m >= 2: an accepted candidate has sigma_1(P V) > tol, lambda(V) > tol.
template <typename Entry>
bool screenedOut(int m, int n, double traceRw, double tol, const double* diag, const Entry& entry) {
  double traceC = 0.0;
  int pivot = 0, second = -1;
  for (int i = 0; i < m; ++i) {
    traceC += diag[i];
    if (diag[i] > diag[pivot]) {
      second = pivot;
      pivot = i;
    } else if (i != pivot && (second < 0 || diag[i] > diag[second])) {
      second = i;
    }
  }
  const double scale = std::abs(traceRw) + tol;
  if (traceC < tol * tol * tol - kScreenSlack * scale && (m >= 2 || traceRw > n * tol * (1.0 + 1e-9))) return true;
  if (m < 2) return false;
  const double tau = tol + tol * tol * traceRw;
  const double p1 = diag[pivot] - tau;
  if (p1 <= 1e-9 * scale) return false;
  auto positive = [&](int j) {
    const double off = entry(pivot, j);
    const double correction = off * off / p1;
    return diag[j] - tau - correction > kScreenSlack * (std::abs(diag[j]) + tau + correction);
  };
  if (positive(second)) return true;
  for (int j = 0; j < m; ++j)
    if (j != pivot && j != second && positive(j)) return true;
  return false;
}

// Decides candidates of one problem (m complement coordinates in an n-dim
// frame): two cheap screens, then the reference test. Buffers are allocated
// once per problem and thread.
class CandidateTest {
 public:
  CandidateTest(int n, int m, const UmniOptions& options)
      : n_(n), m_(m), options_(options), rw_(n, n), work_(n, n), active_(static_cast<size_t>(n)), eig_(n) {}

  // diag: the first m diagonal entries of R_w in the frame; entry(r, q) =
  // R_w(r, q); fill(double*) writes R_w (n x n, column-major) at least in its
  // lower triangle, the only part read.
  template <typename Entry, typename Fill>
  bool accept(double traceRw, const double* diag, const Entry& entry, const Fill& fill, Vector* direction) {
    const double tol = options_.tolEigv;
    if (options_.prefilter && screenedOut(m_, n_, traceRw, tol, diag, entry)) return false;
    fill(rw_.data());
    if (options_.prefilter && manyLargeEigenvalues(n_ - m_ + 2, traceRw)) return false;
    ++fullTests;
    return rankOneTest(direction);
  }

  int64_t fullTests = 0;

 private:
  // Screening 2: true if R_w has at least `limit` eigenvalues above tol,
  // shown by `limit` positive pivots of a diagonally pivoted LDL^T of
  // R_w - tol I (its leading principal submatrix of that size is positive
  // definite). With k = n - m rows found, an accepted candidate has at most
  // k + 1 such eigenvalues: P V has at least r - k unit singular values.
  bool manyLargeEigenvalues(int limit, double traceRw) {
    if (limit > n_) return false;
    const double tol = options_.tolEigv;
    const size_t n = static_cast<size_t>(n_);
    // Lower triangle only (column-major: entry (i, j), i >= j, at j n + i).
    double* w = work_.data();
    const double* src = rw_.data();
    for (size_t j = 0; j < n; ++j)
      for (size_t i = j; i < n; ++i) w[j * n + i] = src[j * n + i];
    for (size_t i = 0; i < n; ++i) w[i * n + i] -= tol;
    auto at = [&](size_t i, size_t j) -> double& { return i >= j ? w[j * n + i] : w[i * n + j]; };
    const double slack = 1e-9 * (std::abs(traceRw) + tol);
    // Indices not yet pivoted, in active_[0 .. left).
    size_t left = n;
    for (size_t i = 0; i < n; ++i) active_[i] = static_cast<int>(i);
    for (int step = 0; step < limit; ++step) {
      size_t best = 0;
      for (size_t a = 1; a < left; ++a)
        if (w[active_[a] * (n + 1)] > w[active_[best] * (n + 1)]) best = a;
      const size_t pivot = static_cast<size_t>(active_[best]);
      const double p = w[pivot * (n + 1)];
      if (!(p > slack)) return false;
      active_[best] = active_[--left];
      for (size_t a = 0; a < left; ++a) {
        const size_t j = static_cast<size_t>(active_[a]);
        const double l = at(pivot, j) / p;
        for (size_t b = 0; b < left; ++b) {
          const size_t i = static_cast<size_t>(active_[b]);
          if (i >= j) w[j * n + i] -= l * at(pivot, i);
        }
      }
    }
    return true;
  }

  // The reference's acceptance rule (umni.hpp, step 2), in the frame: the
  // singular values of P V are those of the first m rows of V, i.e. the
  // square roots of the eigenvalues of G = V_m^T V_m. On acceptance the row
  // is V y, y the top eigenvector of G (the top left singular vector of
  // V V^T P).
  bool rankOneTest(Vector* direction) {
    const double tol = options_.tolEigv;
    eig_.compute(rw_);
    const Vector& values = eig_.eigenvalues();
    int r = 0;
    for (int i = 0; i < n_; ++i) r += values(i) > tol ? 1 : 0;
    const int cols = r == 0 ? n_ : r;
    const auto v = eig_.eigenvectors().rightCols(cols);
    small_.compute(v.topRows(m_).transpose() * v.topRows(m_));
    int count = 0;
    for (int i = 0; i < cols; ++i) count += small_.eigenvalues()(i) > tol * tol ? 1 : 0;
    if (count != 1) return false;
    *direction = v * small_.eigenvectors().col(cols - 1);
    return true;
  }

  int n_, m_;
  const UmniOptions& options_;
  Eigen::MatrixXd rw_, work_;
  std::vector<int> active_;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig_, small_;
};

// gcd of |w_i| (0 for the zero vector).
int gcdOf(const std::vector<int>& w) {
  int g = 0;
  for (int v : w) g = std::gcd(g, std::abs(v));
  return g;
}

// --- the weight search ---------------------------------------------------

struct Block {
  int level;                // target |w|_1 (L1 order) or -1 (lexicographic)
  std::vector<int> prefix;  // leading coordinates
};

class Search;

// One thread's depth-first walk with its prefix state (frame coordinates):
//   A[k]    = sum_{i,j<k} w_i w_j R_ij           (n x n)
//   S[k][j] = sum_{i<k} w_i R_ij, j >= k         (n x n)
//   a[k], s[k][j]: the same for the traces.
// The last two coordinates (c' = w_{n-2}, c = w_{n-1}) are enumerated
// together from level n-2: with k = n-2 and l = n-1,
//   R_w = A[k] + c'(S[k][k] + S[k][k]^T) + c'^2 R_kk + c(S[k][l] + S[k][l]^T)
//         + c c'(R_kl + R_kl^T) + c^2 R_ll,
// so a candidate's screening needs the diagonal (three m-vectors per c')
// and a few entries, and no matrix is formed below level n-2.
class Walker {
 public:
  explicit Walker(const Search& search);
  // Walks block `index`; true with w_/direction_ set on the first accepted
  // candidate; false if none (or if a lower block already won).
  bool walk(int64_t index);

  std::vector<int> w_;
  Vector direction_;
  int64_t candidates_ = 0;
  CandidateTest test_;

 private:
  bool walkFrom(int k);
  bool walkLastTwo();
  bool walkOnly();  // n == 1
  void descend(int k, int c);
  bool allowed(int k, int c) const;

  double* A(int k) { return &A_[static_cast<size_t>(k) * nn_]; }
  double* S(int k, int j) { return &S_[(static_cast<size_t>(k) * n_ + j) * nn_]; }

  const Search& search_;
  int n_, kappa_;
  size_t nn_;
  std::vector<double> A_, S_, a_, s_;
  int m_;
  std::vector<double> d0_, d1_, diag_;  // m each
  int level_ = -1;
  int used_ = 0;  // sum |w_i| over the fixed coordinates
  int64_t block_ = 0;
  bool aborted_ = false;
  uint32_t ticks_ = 0;
};

class Search {
 public:
  // frame: n x n, its first m columns span the complement of the found rows.
  Search(const Moments& moments, const Matrix& frame, int m, const UmniOptions& options, const Context* context)
      : moments_(moments), options_(options), context_(context), n_(moments.n), m_(m) {
    // The rotated blocks and, per thread, a walker's prefix state.
    const int64_t n = n_;
    limits::Request(kFn)
        .add("the rotated moments", {n, n, n, n})
        .add("the search state", {threads(), n + 2, n + 1, n, n})
        .check();
    nn_ = static_cast<size_t>(n_) * n_;
    rotated_.resize(nn_ * nn_);
    for (int i = 0; i < n_; ++i)
      for (int j = 0; j < n_; ++j)
        MatrixMap(&rotated_[(static_cast<size_t>(i) * n_ + j) * nn_], n_, n_).noalias() =
            frame.transpose() * moments.block(i, j) * frame;
    buildBlocks();
  }

  // Block R_ij in the frame (n x n, row-major).
  const double* R(int i, int j) const { return &rotated_[(static_cast<size_t>(i) * n_ + j) * nn_]; }

  // First accepted candidate in the order (false if none); direction in the frame.
  // The first blocks run on the calling thread: most steps end there, and
  // threads are started only for long scans (starting one, and waiting for
  // the last block of a thread the system has paused, can cost more than a
  // short scan when the machine is busy).
  bool run(std::vector<int>* w, Vector* direction, UmniStats* stats) {
    const int64_t count = static_cast<int64_t>(blocks_.size());
    best_.store(count);
    std::mutex mutex;
    std::atomic<int64_t> candidates{0}, fullTests{0};
    std::atomic<int64_t> next{0};
    auto work = [&](Walker& walker, int64_t stop) {
      for (;;) {
        const int64_t index = next.fetch_add(1);
        if (index >= stop || index > best_.load()) break;
        if (context_) context_->checkCancelled(kFn);
        if (walker.walk(index)) {
          std::lock_guard<std::mutex> lock(mutex);
          if (index < best_.load()) {
            best_.store(index);
            *w = walker.w_;
            *direction = walker.direction_;
          }
          break;
        }
      }
      candidates += walker.candidates_;
      fullTests += walker.test_.fullTests;
    };
    {
      Walker walker(*this);
      work(walker, std::min<int64_t>(count, sequentialBlocks_));
    }
    if (best_.load() == count && next.load() < count) {
      next.store(std::min<int64_t>(count, sequentialBlocks_));
      // Threads only for a remaining scan at least as long as the sequential one.
      const int parts = count - sequentialBlocks_ >= sequentialBlocks_ ? threads() : 1;
      parallelRanges(parts, parts, [&](int, int64_t, int64_t) {
        Walker walker(*this);
        work(walker, count);
      });
    }
    stats->candidates += candidates.load();
    stats->fullTests += fullTests.load();
    return best_.load() < count;
  }

  int64_t best() const { return best_.load(std::memory_order_relaxed); }

  // Digit c at coordinate k, given sum |w_i| = used over i < k: only vectors
  // whose first nonzero entry is negative (w and -w give the same R_w), never
  // the zero vector, and |w|_1 == level when level >= 0.
  bool digitAllowed(int k, int c, int used, int level) const {
    const bool last = k == n_ - 1;
    if (used == 0 && c > 0) return false;
    if (used == 0 && last && c == 0) return false;
    if (level >= 0) {
      const int rest = level - used - std::abs(c);
      if (rest < 0 || rest > (n_ - 1 - k) * options_.kappa) return false;
    }
    return true;
  }

  const Moments& moments_;
  const UmniOptions& options_;
  const Context* context_;
  int n_, m_;
  size_t nn_ = 0;
  std::vector<double> rotated_;
  std::vector<Block> blocks_;
  int64_t sequentialBlocks_ = 1;

 private:
  // Blocks fix the first p coordinates, p the smallest with at most
  // kBlockLeaves completions (and p <= n - 2: the walk enumerates the last
  // two together), listed in the search order.
  void buildBlocks() {
    const int base = 2 * options_.kappa + 1;
    double leaves = std::pow(static_cast<double>(base), n_);
    int p = 0;
    while (p < n_ - 2 && leaves > kBlockLeaves) {
      leaves /= base;
      ++p;
    }
    // Blocks listed, at most: base^p prefixes, each at up to (n - p) kappa + 1 levels.
    const auto listed = [&](int q) {
      const double prefixes = std::pow(static_cast<double>(base), q);
      return options_.order == UmniOrder::Lexicographic
                 ? prefixes
                 : prefixes * ((n_ - q) * static_cast<double>(options_.kappa) + 1);
    };
    while (p > 0 && listed(p) > kMaxBlocks) {
      leaves *= base;
      --p;
    }
    sequentialBlocks_ = static_cast<int64_t>(std::ceil(kSequentialLeaves / leaves));
    std::vector<int> prefix;
    if (options_.order == UmniOrder::Lexicographic) {
      addPrefixes(-1, 0, p, prefix);
    } else {
      for (int level = 1; level <= n_ * options_.kappa; ++level) addPrefixes(level, 0, p, prefix);
    }
  }

  void addPrefixes(int level, int used, int length, std::vector<int>& prefix) {
    const int k = static_cast<int>(prefix.size());
    if (k == length) {
      blocks_.push_back(Block{level, prefix});
      return;
    }
    for (int c = -options_.kappa; c <= options_.kappa; ++c) {
      if (!digitAllowed(k, c, used, level)) continue;
      prefix.push_back(c);
      addPrefixes(level, used + std::abs(c), length, prefix);
      prefix.pop_back();
    }
  }

  std::atomic<int64_t> best_{0};
};

Walker::Walker(const Search& search)
    : test_(search.n_, search.m_, search.options_),
      search_(search),
      n_(search.n_),
      kappa_(search.options_.kappa),
      nn_(search.nn_),
      m_(search.m_) {
  A_.assign(static_cast<size_t>(n_ + 1) * nn_, 0.0);
  S_.assign(static_cast<size_t>(n_ + 1) * n_ * nn_, 0.0);
  a_.assign(static_cast<size_t>(n_ + 1), 0.0);
  s_.assign(static_cast<size_t>(n_ + 1) * n_, 0.0);
  d0_.assign(static_cast<size_t>(m_), 0.0);
  d1_.assign(static_cast<size_t>(m_), 0.0);
  diag_.assign(static_cast<size_t>(m_), 0.0);
  w_.assign(static_cast<size_t>(n_), 0);
}

bool Walker::allowed(int k, int c) const { return search_.digitAllowed(k, c, used_, level_); }

// Level k + 1 from level k with w_k = c (used for levels up to n - 2).
void Walker::descend(int k, int c) {
  const double cd = c, c2 = cd * cd;
  const size_t n = static_cast<size_t>(n_);
  const double* Ak = A(k);
  double* An = A(k + 1);
  const double* Skk = S(k, k);
  const double* Rkk = search_.R(k, k);
  for (size_t r = 0; r < n; ++r)
    for (size_t q = 0; q < n; ++q)
      An[r * n + q] = Ak[r * n + q] + cd * (Skk[r * n + q] + Skk[q * n + r]) + c2 * Rkk[r * n + q];
  for (int j = k + 1; j < n_; ++j) {
    const double* Skj = S(k, j);
    const double* Rkj = search_.R(k, j);
    double* Snj = S(k + 1, j);
    for (size_t e = 0; e < nn_; ++e) Snj[e] = Skj[e] + cd * Rkj[e];
  }
  const Matrix& T = search_.moments_.traces;
  a_[k + 1] = a_[k] + 2.0 * cd * s_[static_cast<size_t>(k) * n_ + k] + c2 * T(k, k);
  for (int j = k + 1; j < n_; ++j)
    s_[static_cast<size_t>(k + 1) * n_ + j] = s_[static_cast<size_t>(k) * n_ + j] + cd * T(k, j);
}

bool Walker::walkLastTwo() {
  const int k = n_ - 2, l = n_ - 1;
  const size_t n = static_cast<size_t>(n_);
  const double* Ak = A(k);
  const double* Skk = S(k, k);
  const double* Skl = S(k, l);
  const double* Rkk = search_.R(k, k);
  const double* Rkl = search_.R(k, l);
  const double* Rll = search_.R(l, l);
  const Matrix& T = search_.moments_.traces;
  const double t0 = a_[k], t1 = 2.0 * s_[static_cast<size_t>(k) * n_ + k],
               t3 = 2.0 * s_[static_cast<size_t>(k) * n_ + l];
  const double t2 = T(k, k), t4 = 2.0 * T(k, l), t5 = T(l, l);
  for (int cp = -kappa_; cp <= kappa_; ++cp) {
    if (!allowed(k, cp)) continue;
    // A block can hold many candidates when the search is huge (see kMaxBlocks).
    if (search_.context_ && (++ticks_ & 63) == 0) search_.context_->checkCancelled(kFn);
    const double a1 = cp, a2 = a1 * a1;
    for (int i = 0; i < m_; ++i) {
      const size_t ii = static_cast<size_t>(i) * (n + 1);
      d0_[i] = Ak[ii] + 2.0 * a1 * Skk[ii] + a2 * Rkk[ii];
      d1_[i] = 2.0 * (Skl[ii] + a1 * Rkl[ii]);
    }
    w_[k] = cp;
    used_ += std::abs(cp);
    for (int c = -kappa_; c <= kappa_; ++c) {
      if (!allowed(l, c)) continue;
      ++candidates_;
      const double b1 = c, b2 = b1 * b1, ab = a1 * b1;
      const double traceRw = t0 + a1 * t1 + a2 * t2 + b1 * t3 + ab * t4 + b2 * t5;
      for (int i = 0; i < m_; ++i) diag_[i] = d0_[i] + b1 * d1_[i] + b2 * Rll[static_cast<size_t>(i) * (n + 1)];
      auto entry = [&](int r, int q) {
        const size_t e = static_cast<size_t>(r) * n + q, t = static_cast<size_t>(q) * n + r;
        return Ak[e] + a1 * (Skk[e] + Skk[t]) + a2 * Rkk[e] + b1 * (Skl[e] + Skl[t]) + ab * (Rkl[e] + Rkl[t]) +
               b2 * Rll[e];
      };
      auto fill = [&](double* rw) {  // lower triangle: column r, rows q >= r
        for (size_t r = 0; r < n; ++r)
          for (size_t q = r; q < n; ++q) rw[r * n + q] = entry(static_cast<int>(r), static_cast<int>(q));
      };
      w_[l] = c;
      if (test_.accept(traceRw, diag_.data(), entry, fill, &direction_)) return true;
    }
    used_ -= std::abs(cp);
  }
  return false;
}

bool Walker::walkOnly() {
  const double* R = search_.R(0, 0);
  const double t = search_.moments_.traces(0, 0);
  for (int c = -kappa_; c <= kappa_; ++c) {
    if (!allowed(0, c)) continue;
    ++candidates_;
    const double c2 = double(c) * c;
    for (int i = 0; i < m_; ++i) diag_[i] = c2 * R[i];
    auto entry = [&](int, int) { return c2 * R[0]; };
    auto fill = [&](double* rw) { rw[0] = c2 * R[0]; };
    w_[0] = c;
    if (test_.accept(c2 * t, diag_.data(), entry, fill, &direction_)) return true;
  }
  return false;
}

bool Walker::walkFrom(int k) {
  if (n_ == 1) return walkOnly();
  if (k == n_ - 2) {
    if (search_.best() < block_) {
      aborted_ = true;
      return false;
    }
    return walkLastTwo();
  }
  for (int c = -kappa_; c <= kappa_; ++c) {
    if (!allowed(k, c)) continue;
    w_[k] = c;
    descend(k, c);
    used_ += std::abs(c);
    const bool hit = walkFrom(k + 1);
    used_ -= std::abs(c);
    if (hit) return true;
    if (aborted_) return false;
  }
  return false;
}

bool Walker::walk(int64_t index) {
  const Block& block = search_.blocks_[static_cast<size_t>(index)];
  block_ = index;
  level_ = block.level;
  aborted_ = false;
  used_ = 0;
  const int p = static_cast<int>(block.prefix.size());
  for (int k = 0; k < p; ++k) {
    w_[k] = block.prefix[k];
    descend(k, w_[k]);
    used_ += std::abs(w_[k]);
  }
  return walkFrom(p);
}

// --- the algorithm's steps -----------------------------------------------

// Orthonormal basis (d x n) of the span of the environments' covariances:
// the column space of the decoder.
Matrix reducedBasis(const std::vector<Matrix>& covariances, int n, const char* what) {
  const Index d = covariances.front().rows();
  Matrix sum = Matrix::Zero(d, d);
  for (const Matrix& c : covariances) sum += c;
  Eigen::SelfAdjointEigenSolver<Matrix> eig(sum);
  const Vector& values = eig.eigenvalues();
  const double top = values(d - 1);
  if (!(top > 0.0)) throw Error(kFn, std::string(what) + " has zero variance in every environment");
  Index rank = 0;
  for (Index i = 0; i < d; ++i) rank += values(i) > 1e-10 * top ? 1 : 0;
  if (rank < n)
    throw Error(kFn, std::string(what) + " spans only " + std::to_string(rank) + " dimensions but there are " +
                         std::to_string(n) +
                         " latents (one per interventional environment): more environments than latents. "
                         "Pass as many interventional environments as there are latents");
  return eig.eigenvectors().rightCols(n);
}

// Splits the reduced block Gram ((K n) x (K n)) into blocks and traces, and
// rejects linearly dependent environments: no invertible design produces
// them (sum_m w_m dsx_m = 0 iff D w = 0).
void setBlocks(Moments& mom, const Matrix& gram) {
  const int n = mom.n;
  mom.traces.resize(n, n);
  mom.blocks.clear();
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      mom.blocks.push_back(gram.block(i * n, j * n, n, n));
      mom.traces(i, j) = mom.blocks.back().trace();
    }
  Eigen::SelfAdjointEigenSolver<Matrix> envEig(mom.traces, Eigen::EigenvaluesOnly);
  const double largest = envEig.eigenvalues()(n - 1);
  const double smallest = envEig.eigenvalues()(0);
  if (!(largest > 0.0) || smallest <= 1e-9 * largest)
    throw Error(kFn, "the score differences of the " + std::to_string(n) +
                         " environments are linearly dependent (the environment Gram matrix tr E[dsx_i dsx_j^T] has "
                         "relative smallest eigenvalue " +
                         str(largest > 0.0 ? smallest / largest : 0.0) +
                         "): the intervention design is not invertible. Each environment must add a new "
                         "combination of intervened latents");
}

void checkOptions(const UmniOptions& o, Index K, Index N, Index Ns, Index d) {
  if (o.kappa < 1)
    throw Error(kFn, "'kappa' must be >= 1 (weights range over -kappa..kappa), got " + std::to_string(o.kappa));
  if (!(o.tolEigv > 0.0 && o.tolEigv < 1.0)) throw Error(kFn, "'tolEigv' must be in (0, 1), got " + str(o.tolEigv));
  if (!(o.tolCi > 0.0 && o.tolCi < 1.0)) throw Error(kFn, "'tolCi' must be in (0, 1), got " + str(o.tolCi));
  if (!(o.tolUnmix > 0.0) || !std::isfinite(o.tolUnmix))
    throw Error(kFn, "'tolUnmix' must be > 0, got " + str(o.tolUnmix));
  if (o.latents < 0) throw Error(kFn, "'latents' must be >= 1 (or 0 for the number of environments)");
  const Index n = o.latents > 0 ? o.latents : K;
  if (K > n)
    throw Error(kFn, "more interventional environments (" + std::to_string(K) + ") than latents (" + std::to_string(n) +
                         "): UMNI-CRL uses exactly one environment per latent; pass " + std::to_string(n));
  if (K < n)
    throw Error(kFn, "fewer interventional environments (" + std::to_string(K) + ") than latents (" +
                         std::to_string(n) + "): UMNI-CRL needs one environment per latent");
  if (d < n)
    throw Error(kFn, "observed dimension d = " + std::to_string(d) + " is smaller than the number of latents " +
                         std::to_string(n));
  if (!(o.maxCandidates >= 1.0 && o.maxCandidates <= 1e12))
    throw Error(kFn, "'maxCandidates' must be in [1, 1e12], got " + str(o.maxCandidates));
  // Checked before anything else is formed: the search may visit every
  // weight vector once per latent, so its size decides the call's run time.
  const double candidates = std::pow(2.0 * o.kappa + 1.0, static_cast<double>(n));
  if (candidates > o.maxCandidates)
    throw Error(kFn, "the search over weights in {-" + std::to_string(o.kappa) + ".." + std::to_string(o.kappa) + "}^" +
                         std::to_string(n) + " has (2 kappa + 1)^n = " + str(candidates) +
                         " candidates, more than 'maxCandidates' (" + str(o.maxCandidates) +
                         "); lower 'kappa', or raise 'maxCandidates' (up to 1e12) for a longer search");
  if (n > 64) throw Error(kFn, "at most 64 latents are supported, got " + std::to_string(n));
  if (N < 2) throw Error(kFn, "'x' needs at least 2 samples per environment");
  if (Ns < 1) throw Error(kFn, "'dsx' needs at least 1 sample");
  if (o.hard && N <= n + 3)
    throw Error(kFn, "the hard stage's Fisher z-test needs more than n + 3 = " + std::to_string(n + 3) +
                         " samples per environment, got " + std::to_string(N));
}

// Unit rows lifted to d dimensions, largest-|.| entry positive.
Matrix liftRows(const Matrix& rows, const Matrix& basis) {
  Matrix out = rows * basis.transpose();
  for (Index i = 0; i < out.rows(); ++i) {
    const double norm = out.row(i).norm();
    if (norm > 0.0) out.row(i) /= norm;
    Index arg = 0;
    out.row(i).cwiseAbs().maxCoeff(&arg);
    if (out(i, arg) < 0.0) out.row(i) *= -1.0;
  }
  return out;
}

}  // namespace

double fisherZPValue(const Matrix& cov, int i, int j, const std::vector<int>& given, int64_t samples) {
  std::vector<int> idx{i, j};
  idx.insert(idx.end(), given.begin(), given.end());
  const Index k = static_cast<Index>(idx.size());
  Matrix sub(k, k);
  for (Index a = 0; a < k; ++a)
    for (Index b = 0; b < k; ++b) sub(a, b) = cov(idx[a], idx[b]);
  const Vector sd = sub.diagonal().cwiseSqrt();
  const Matrix corr = sd.cwiseInverse().asDiagonal() * sub * sd.cwiseInverse().asDiagonal();
  const Matrix theta = corr.completeOrthogonalDecomposition().pseudoInverse();
  double r = -theta(0, 1) / std::sqrt(theta(0, 0) * theta(1, 1));
  r = std::clamp(r, -1.0, 1.0);
  const double dof = static_cast<double>(samples) - static_cast<double>(given.size()) - 3.0;
  const double statistic = std::sqrt(std::max(dof, 0.0)) * std::abs(std::atanh(r));
  return std::erfc(statistic / std::sqrt(2.0));
}

namespace {

// Steps 2-4 on the reduced statistics.
UmniResult solve(const Moments& mom, int64_t samples, const UmniOptions& options, const Context* context);

}  // namespace

UmniResult umni(const double* x, Index environments, Index N, Index d, const double* dsx, Index K, Index Ns,
                const UmniOptions& options, const Context* context) {
  if (environments != K + 1)
    throw Error(kFn, "'x' has " + std::to_string(environments) + " environments and 'dsx' " + std::to_string(K) +
                         ": 'x' needs the observational environment first, then the K interventional ones");
  checkOptions(options, K, N, Ns, d);
  const int n = static_cast<int>(K);
  if (context) context->progress(0.0, "moments");
  Moments mom;
  mom.n = n;
  std::vector<Matrix> covariances;
  for (Index e = 0; e <= K; ++e) covariances.push_back(covariance(ConstMatrixMap(x + e * N * d, N, d), context));
  mom.basis = reducedBasis(covariances, n, "'x'");
  for (const Matrix& c : covariances) mom.covariances.push_back(mom.basis.transpose() * c * mom.basis);
  // dsx in the reduced basis (K x Ns x n), then its block Gram.
  std::vector<double> reduced(static_cast<size_t>(K * Ns * n));
  for (Index k = 0; k < K; ++k)
    MatrixMap(reduced.data() + k * Ns * n, Ns, n).noalias() = ConstMatrixMap(dsx + k * Ns * d, Ns, d) * mom.basis;
  setBlocks(mom, crossScoreDiffCovariance(reduced.data(), K, Ns, n, context));
  return solve(mom, N, options, context);
}

UmniResult umni(const UmniStatistics& stats, const UmniOptions& options, const Context* context) {
  const Index K = static_cast<Index>(stats.covariances.size()) - 1;
  if (K < 1) throw Error(kFn, "'covariances' needs the observational environment and at least one interventional one");
  const Index d = stats.covariances.front().rows();
  for (const Matrix& c : stats.covariances)
    if (c.rows() != d || c.cols() != d) throw Error(kFn, "every covariance must be d x d with the same d");
  if (stats.scoreGram.rows() != K * d || stats.scoreGram.cols() != K * d)
    throw Error(kFn, "'scoreGram' must be (K d) x (K d) = " + std::to_string(K * d) + " x " + std::to_string(K * d) +
                         ", got " + std::to_string(stats.scoreGram.rows()) + " x " +
                         std::to_string(stats.scoreGram.cols()));
  checkOptions(options, K, stats.samples, 1, d);
  const int n = static_cast<int>(K);
  Moments mom;
  mom.n = n;
  mom.basis = reducedBasis(stats.covariances, n, "'covariances'");
  for (const Matrix& c : stats.covariances) mom.covariances.push_back(mom.basis.transpose() * c * mom.basis);
  Matrix gram(K * n, K * n);
  for (Index i = 0; i < K; ++i)
    for (Index j = 0; j < K; ++j)
      gram.block(i * n, j * n, n, n) = mom.basis.transpose() * stats.scoreGram.block(i * d, j * d, d, d) * mom.basis;
  setBlocks(mom, gram);
  return solve(mom, stats.samples, options, context);
}

namespace {

UmniResult solve(const Moments& mom, int64_t N, const UmniOptions& options, const Context* context) {
  const int n = mom.n;
  UmniResult result;
  result.n = n;
  result.basis = mom.basis;
  const double tol = options.tolEigv;

  // Step 2: one row per latent, in causal order.
  Matrix rows(n, n);
  std::vector<std::vector<int>> weights(static_cast<size_t>(n));
  for (int t = 0; t < n; ++t) {
    if (context) {
      context->checkCancelled(kFn);
      context->progress(static_cast<double>(t) / (n + 1), "search row " + std::to_string(t));
    }
    const Matrix frame = frameOff(rows.topRows(t), n);
    Search search(mom, frame, n - t, options, context);
    std::vector<int> w;
    Vector direction;
    if (!search.run(&w, &direction, &result.stats))
      throw Error(kFn,
                  "no weight vector in {-" + std::to_string(options.kappa) + ".." + std::to_string(options.kappa) +
                      "}^" + std::to_string(n) + " isolates a latent at step " + std::to_string(t + 1) + " of " +
                      std::to_string(n) +
                      ": the intervention design may not be invertible, 'kappa' may be too small, or 'tolEigv' (" +
                      str(tol) + ") may not suit the scale of dsx",
                  ErrorCode::NoSolution);
    direction = frame * direction;
    rows.row(t) = direction.transpose();
    const int g = gcdOf(w);
    weights[t].resize(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) weights[t][i] = -w[i] / g;
  }
  result.weightsOrder.resize(n, n);
  for (int t = 0; t < n; ++t)
    for (int i = 0; i < n; ++i) result.weightsOrder(i, t) = weights[t][i];
  result.encoderOrder = liftRows(rows, mom.basis);

  // Step 3: ancestor refinement with pairwise combinations.
  if (context) context->progress(static_cast<double>(n) / (n + 1), "ancestors");
  Adjacency graph = Adjacency::Constant(n, n, false);
  for (int t = n - 1; t >= 0; --t) {
    for (int j = t + 1; j < n; ++j) {
      if (graph(t, j)) continue;
      if (context) context->checkCancelled(kFn);
      std::vector<int> kept;
      for (int i = 0; i < j; ++i)
        if (i != t && !graph(t, i)) kept.push_back(i);
      Matrix keptRows(static_cast<Index>(kept.size()), n);
      for (size_t r = 0; r < kept.size(); ++r) keptRows.row(static_cast<Index>(r)) = rows.row(kept[r]);
      const Matrix frame = frameOff(keptRows, n);
      const int m = n - static_cast<int>(kept.size());
      const std::vector<int> wt = weights[t], wj = weights[j];
      int normT = 0, normJ = 0;
      for (int i = 0; i < n; ++i) {
        normT += std::abs(wt[i]);
        normJ += std::abs(wj[i]);
      }
      // R(a, b) = a^2 R_tt + a b (X + X^T) + b^2 R_jj, X = sum wt_i wj_k R_ik, in the frame.
      Matrix x = Matrix::Zero(n, n);
      for (int i = 0; i < n; ++i)
        for (int k = 0; k < n; ++k)
          if (wt[i] != 0 && wj[k] != 0) x.noalias() += static_cast<double>(wt[i] * wj[k]) * mom.block(i, k);
      const Matrix rtt = frame.transpose() * mom.combine(wt) * frame;
      const Matrix rjj = frame.transpose() * mom.combine(wj) * frame;
      const Matrix cross = frame.transpose() * (x + x.transpose()) * frame;
      CandidateTest test(n, m, options);
      Vector diag(m);
      bool found = false;
      for (int a = -normJ; a <= normJ && !found; ++a) {
        for (int b = 1; b <= normT && !found; ++b) {
          ++result.stats.candidates;
          const double aa = double(a) * a, ab = double(a) * b, bb = double(b) * b;
          const double traceRw = aa * rtt.trace() + ab * cross.trace() + bb * rjj.trace();
          auto entry = [&](int r, int q) { return aa * rtt(r, q) + ab * cross(r, q) + bb * rjj(r, q); };
          auto fill = [&](double* rw) { MatrixMap(rw, n, n) = aa * rtt + ab * cross + bb * rjj; };
          for (int i = 0; i < m; ++i) diag(i) = entry(i, i);
          Vector direction;
          if (test.accept(traceRw, diag.data(), entry, fill, &direction)) {
            rows.row(j) = (frame * direction).transpose();
            for (int i = 0; i < n; ++i) weights[j][i] = a * wt[i] + b * wj[i];
            found = true;
          }
        }
      }
      result.stats.fullTests += test.fullTests;
      if (!found) {
        graph(t, j) = true;
        for (int k = 0; k < n; ++k) graph(t, k) = graph(t, k) || graph(j, k);
      }
    }
  }
  result.weights.resize(n, n);
  for (int t = 0; t < n; ++t)
    for (int i = 0; i < n; ++i) result.weights(i, t) = weights[t][i];
  result.encoder = liftRows(rows, mom.basis);
  result.graphClosure = graph;

  // Step 4: hard interventions.
  if (options.hard) {
    result.hard = true;
    Matrix hard = rows;
    for (int t = 1; t < n; ++t) {
      std::vector<int> an;
      for (int i = 0; i < n; ++i)
        if (graph(i, t)) an.push_back(i);
      if (an.empty()) continue;
      const Index k = static_cast<Index>(an.size());
      // Coefficients u = -S[an, an]^{-1} S[an, t] in environment e (regression of zhat_t on zhat_an).
      auto coefficients = [&](int e) {
        const Matrix s = hard * mom.covariances[static_cast<size_t>(e)] * hard.transpose();
        Matrix saa(k, k);
        Vector sat(k);
        for (Index a = 0; a < k; ++a) {
          sat(a) = s(an[a], t);
          for (Index b = 0; b < k; ++b) saa(a, b) = s(an[a], an[b]);
        }
        // Least squares with the minimum-norm solution: the residual is
        // defined even when two estimated ancestors coincide.
        return Vector(-saa.completeOrthogonalDecomposition().solve(sat));
      };
      const Vector u0 = coefficients(0);
      for (int m = 0; m < n; ++m) {
        if (result.weightsOrder(m, t) == 0) continue;
        const Vector um = coefficients(m + 1);
        if ((um - u0).norm() > options.tolUnmix) {
          for (Index a = 0; a < k; ++a) hard.row(t) += um(a) * hard.row(an[a]);
          break;
        }
      }
    }
    const Matrix zcov = hard * mom.covariances[0] * hard.transpose();
    result.hardGraph = Adjacency::Constant(n, n, false);
    for (int t = 0; t < n; ++t)
      for (int j = 0; j < n; ++j) {
        if (!graph(t, j)) continue;
        std::vector<int> given;
        for (int i = 0; i < n; ++i)
          if (graph(i, j) && i != t) given.push_back(i);
        result.hardGraph(t, j) = fisherZPValue(zcov, t, j, given, N) <= options.tolCi;
      }
    result.hardEncoder = liftRows(hard, mom.basis);
  }
  if (context) context->progress(1.0, "done");
  return result;
}

}  // namespace

namespace {

// Metrics of one stage in the true labelling. `graph` is the estimate in its
// own labelling; `truth` what it identifies (closure or DAG).
UmniStageMetrics stageMetrics(const Matrix& encoder, const Adjacency& graph, const Adjacency& truth,
                              const Adjacency& allowed, const Matrix& decoder, const Matrix& latentCovariance) {
  const Index n = decoder.cols();
  const Matrix effective = encoder * decoder;  // zhat = effective z
  // |corr(z_i, zhat_j)| from the observational latent covariance.
  const Matrix cross = latentCovariance * effective.transpose();
  const Vector varTrue = latentCovariance.diagonal();
  const Vector varEst = (effective * latentCovariance * effective.transpose()).diagonal();
  Matrix corr(n, n);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) {
      const double denom = std::sqrt(varTrue(i) * varEst(j));
      corr(i, j) = denom > 0.0 ? std::abs(cross(i, j)) / denom : 0.0;
    }
  const std::vector<int> match = linearSumAssignment(-corr);  // true i <-> estimated match[i]
  UmniStageMetrics m;
  double total = 0.0;
  Matrix permuted(n, encoder.cols());
  Adjacency relabelled(n, n);
  for (Index i = 0; i < n; ++i) {
    total += corr(i, match[i]);
    permuted.row(i) = encoder.row(match[i]);
    for (Index j = 0; j < n; ++j) relabelled(i, j) = graph(match[i], match[j]);
  }
  m.mcc = total / static_cast<double>(n);
  const GraphScores scores = compareGraphs(truth, relabelled);
  m.shd = scores.shd;
  m.precision = scores.precision;
  m.recall = scores.recall;
  const MixingError mixing = effectiveMixingError(permuted, decoder, allowed, 0.05);
  m.incorrectMixing = mixing.incorrectCount;
  m.incorrectMixingRatio = mixing.incorrectRatio;
  m.offPatternNorm = mixing.offPatternSpectralNorm;
  return m;
}

}  // namespace

UmniStatistics gaussianPlugInStatistics(const std::vector<Matrix>& covariances, const std::vector<Vector>& means, int n,
                                        int64_t samples, bool centred, const char* function) {
  const size_t envs = covariances.size();
  if (envs < 2) throw Error(function, "needs the observational environment and at least one interventional one");
  const Index d = covariances.front().rows();
  if (d < n)
    throw Error(function, "d = " + std::to_string(d) + " is smaller than the number of latents " + std::to_string(n));
  if (!means.empty() && means.size() != envs) throw Error(function, "one mean per environment is needed");
  Eigen::SelfAdjointEigenSolver<Matrix> eig(covariances[0]);
  const Matrix B = eig.eigenvectors().rightCols(n);
  std::vector<Matrix> precision;
  std::vector<Vector> nu;
  for (size_t k = 0; k < envs; ++k) {
    Eigen::LLT<Matrix> llt(B.transpose() * covariances[k] * B);
    if (llt.info() != Eigen::Success)
      throw Error(function, "environment " + std::to_string(k) +
                                "'s covariance is singular on the n-dim support of the observational data: the "
                                "Gaussian plug-in needs more samples or fewer latents");
    precision.push_back(llt.solve(Matrix::Identity(n, n)));
    nu.push_back(means.empty() ? Vector(Vector::Zero(n)) : Vector(B.transpose() * means[k]));
  }
  const Matrix c0 = B.transpose() * covariances[0] * B;
  const int K = static_cast<int>(envs) - 1;
  std::vector<Matrix> D;
  std::vector<Vector> g;
  const Vector base = centred ? Vector(precision[0] * nu[0]) : Vector(Vector::Zero(n));
  for (int i = 1; i <= K; ++i) {
    D.push_back(precision[static_cast<size_t>(i)] - precision[0]);
    Vector gi = D.back() * nu[0] + base;
    if (centred) gi -= precision[static_cast<size_t>(i)] * nu[static_cast<size_t>(i)];
    g.push_back(gi);
  }
  UmniStatistics stats;
  stats.covariances = covariances;
  stats.samples = samples;
  stats.scoreGram.resize(K * d, K * d);
  for (int i = 0; i < K; ++i)
    for (int j = 0; j < K; ++j) {
      const Matrix inner = D[static_cast<size_t>(i)] * c0 * D[static_cast<size_t>(j)] +
                           g[static_cast<size_t>(i)] * g[static_cast<size_t>(j)].transpose();
      stats.scoreGram.block(i * d, j * d, d, d) = B * inner * B.transpose();
    }
  return stats;
}

UmniTrialResult umniTrial(const UmniTrialSpec& spec, const Context* context) {
  SimulationConfig config = spec.simulation;
  if (config.latent != LatentModel::Linear || config.transform != MixingKind::Linear)
    throw Error("umniTrial", "only a linear SCM with a linear decoder is supported (UMNI-CRL assumes x = G z)",
                ErrorCode::Unsupported);
  config.design = InterventionDesign::MultiNode;
  config.outputs.z = config.outputs.x = config.outputs.dsx = false;
  // Refuse a search too large (or options out of range) before drawing anything.
  checkOptions(spec.options, config.n, config.samples, 1, config.d > 0 ? config.d : config.n);
  Generator rng(config.seed);
  const SimulationModel model = drawSimulationModel(config, rng);
  const Index N = config.samples;
  const std::vector<LatentMoments> latent = drawLatentMoments(model, rng, N, context);
  const int K = model.K();
  const Matrix& G = model.transform.decoder();
  const Index d = G.rows();

  const ObservedMoments observed = observedMoments(G, latent);
  const std::vector<Matrix>& covariances = observed.covariances;
  const std::vector<Vector>& means = observed.means;
  UmniStatistics stats;
  if (spec.scores == UmniScores::GaussianPlugIn) {
    stats = gaussianPlugInStatistics(covariances, means, static_cast<int>(G.cols()), N, false, "umniTrial");
  } else {
    // dsx_m = A_m z with A_m = pinv(G)^T (Theta_m - Theta_0): E_0[dsx_i dsx_j^T] = A_i E_0[z z^T] A_j^T.
    stats.covariances = covariances;
    stats.samples = N;
    const Matrix theta0 = linearPrecision(model.scm, model.environments[0]);
    std::vector<Matrix> maps;
    for (int m = 1; m <= K; ++m)
      maps.push_back(model.transform.encoder().transpose() *
                     (linearPrecision(model.scm, model.environments[static_cast<size_t>(m)]) - theta0));
    stats.scoreGram.resize(K * d, K * d);
    for (int i = 0; i < K; ++i)
      for (int j = 0; j < K; ++j)
        stats.scoreGram.block(i * d, j * d, d, d) =
            maps[static_cast<size_t>(i)] * latent[0].second * maps[static_cast<size_t>(j)].transpose();
  }
  const UmniResult r = umni(stats, spec.options, context);
  const Adjacency& dag = model.scm.adjacency;
  const Adjacency closure = transitiveClosure(dag);
  const Matrix cz = latent[0].covariance();
  UmniTrialResult out;
  out.stats = r.stats;
  out.soft = stageMetrics(r.encoder, r.graphClosure, closure, allowedPattern(dag, true), G, cz);
  if (r.hard) {
    out.hard = true;
    const Adjacency none = Adjacency::Constant(dag.rows(), dag.cols(), false);
    out.hardStage = stageMetrics(r.hardEncoder, r.hardGraph, dag, allowedPattern(none, false), G, cz);
  }
  return out;
}

}  // namespace scorecrl
