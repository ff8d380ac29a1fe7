// The operation table: the one door through which both bindings (N-API and
// Emscripten) reach the core. An operation takes named float64 arrays with
// shapes, named numbers and named strings, and returns the same kinds of
// things. Bindings only marshal these three maps, so adding a kernel means
// writing one adapter in the core (native/src/ops/*.cpp) and one TypeScript
// wrapper; neither binding changes.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "scorecrl/linalg/linalg.hpp"
#include "scorecrl/runtime/error.hpp"

namespace scorecrl {

// A read-only view of a caller's row-major float64 array (never copied).
struct ArrayView {
  const double* data = nullptr;
  std::vector<int64_t> shape;
  int64_t size() const;
};

// An array owned by a result (moved to the caller without copying where the
// binding allows it).
struct Array {
  std::vector<double> data;
  std::vector<int64_t> shape;
};

// Progress reporting and cooperative cancellation for long operations.
class Context {
 public:
  std::function<void(double fraction, const std::string& message)> onProgress;
  std::function<bool()> isCancelled;

  void progress(double fraction, const std::string& message = "") const {
    if (onProgress) onProgress(fraction, message);
  }
  // Throws Cancelled when the caller asked to stop.
  void checkCancelled(const std::string& function) const {
    if (isCancelled && isCancelled()) throw Cancelled(function);
  }
};

class OpArgs {
 public:
  std::string op;
  std::map<std::string, ArrayView> arrays;
  std::map<std::string, double> numbers;
  std::map<std::string, std::string> strings;

  bool hasArray(const std::string& name) const { return arrays.count(name) != 0; }
  bool hasNumber(const std::string& name) const { return numbers.count(name) != 0; }
  bool hasString(const std::string& name) const { return strings.count(name) != 0; }

  // The named array, checked to have `rank` dimensions (-1: any), each size
  // >= 1, and only finite values (unless allowNonFinite).
  const ArrayView& array(const std::string& name, int rank = -1, bool allowNonFinite = false) const;
  // 2-d array as a row-major matrix map (no copy).
  ConstMatrixMap matrix(const std::string& name, bool allowNonFinite = false) const;
  // Slice `index` of a 3-d array as a matrix map (no copy).
  ConstMatrixMap slice(const std::string& name, int64_t index) const;

  double number(const std::string& name) const;
  double number(const std::string& name, double fallback) const;
  // Whole number in [min, max].
  int64_t integer(const std::string& name, int64_t min, int64_t max) const;
  int64_t integer(const std::string& name, int64_t fallback, int64_t min, int64_t max) const;
  bool flag(const std::string& name, bool fallback) const;
  std::string string(const std::string& name, const std::vector<std::string>& allowed) const;
  std::string string(const std::string& name, const std::string& fallback,
                     const std::vector<std::string>& allowed) const;

  [[noreturn]] void fail(const std::string& message) const { throw Error(op, message); }
};

class OpResult {
 public:
  std::map<std::string, Array> arrays;
  std::map<std::string, double> numbers;
  std::map<std::string, std::string> strings;

  template <typename Derived>
  void put(const std::string& name, const Eigen::DenseBase<Derived>& m) {
    // Stored row-major whatever the expression's layout.
    Array a;
    a.shape = {static_cast<int64_t>(m.rows()), static_cast<int64_t>(m.cols())};
    a.data.resize(static_cast<size_t>(m.rows() * m.cols()));
    MatrixMap(a.data.data(), m.rows(), m.cols()) = m.derived().template cast<double>();
    arrays[name] = std::move(a);
  }
  void put(const std::string& name, std::vector<double> data, std::vector<int64_t> shape);
  void putVector(const std::string& name, const std::vector<int>& values);
};

using OpFunction = OpResult (*)(const OpArgs&, const Context&);

// Registers an operation (called from static initialisers in native/src/ops/*.cpp).
bool registerOp(const char* name, OpFunction function);
// Runs an operation; throws Error for an unknown name.
OpResult runOp(const std::string& name, const OpArgs& args, const Context& context);
std::vector<std::string> listOps();

// The arguments every fused trial operation takes (ops/trial.cpp): 'seed' (a
// whole number below 2^53), 'n' (1..maxLatents), 'd' (>= n; default n) and
// 'samples' (>= 2), into `config`.
struct SimulationConfig;
void readTrialShape(const OpArgs& args, SimulationConfig& config, int maxLatents);

// Facts about this build, for backendInfo().
struct BuildInfo {
  std::string version;
  std::string simd;
  bool blas;
  int threads;
  std::string eigen;
};
BuildInfo buildInfo();

}  // namespace scorecrl

#define SCORECRL_CONCAT_INNER(a, b) a##b
#define SCORECRL_CONCAT(a, b) SCORECRL_CONCAT_INNER(a, b)
// SCORECRL_OP("name", function) registers `function` under "name".
#define SCORECRL_OP(name, function) \
  static const bool SCORECRL_CONCAT(scorecrl_registered_, __LINE__) = ::scorecrl::registerOp(name, function)
