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
#include "scorecrl/runtime/op_spec.hpp"

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

// The arguments of one call. runOp checks them against the operation's spec
// (op_spec.hpp) before the adapter runs: every name declared with its kind,
// required ones present, arrays of the declared rank with no empty dimension
// and (unless declared otherwise) only finite values, numbers finite and in
// range, integers whole, strings among the allowed values. Accessors then read
// values and defaults from the spec; reading an undeclared name is a bug in
// the adapter (an 'internal' error).
class OpArgs {
 public:
  std::string op;
  std::map<std::string, ArrayView> arrays;
  std::map<std::string, double> numbers;
  std::map<std::string, std::string> strings;
  const OpSpec* spec = nullptr;  // set by runOp

  bool hasArray(const std::string& name) const { return arrays.count(name) != 0; }
  bool hasNumber(const std::string& name) const { return numbers.count(name) != 0; }
  bool hasString(const std::string& name) const { return strings.count(name) != 0; }

  // The named array (checked by runOp; fails if an optional one is absent).
  const ArrayView& array(const std::string& name) const;
  // 2-d array as a row-major matrix map (no copy).
  ConstMatrixMap matrix(const std::string& name) const;
  // Slice `index` of a 3-d array as a matrix map (no copy).
  ConstMatrixMap slice(const std::string& name, int64_t index) const;

  // A number, integer or flag: the value given, else the spec's default.
  double number(const std::string& name) const;
  int64_t integer(const std::string& name) const;
  bool flag(const std::string& name) const;
  // For inputs whose default depends on other inputs (declared ...DefaultedBy).
  double numberOr(const std::string& name, double fallback) const;
  int64_t integerOr(const std::string& name, int64_t fallback) const;
  // A string: the value given, else the spec's default.
  std::string string(const std::string& name) const;

  [[noreturn]] void fail(const std::string& message) const { throw Error(op, message); }

 private:
  const InputSpec& declared(const std::string& name, ValueKind kind) const;
};

// Checks `args` against `spec` (see OpArgs); throws Error naming the argument.
void checkOpArgs(const OpSpec& spec, const OpArgs& args);

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

// Registers an operation with its spec (called from static initialisers in native/src/ops/*.cpp).
bool registerOp(OpSpec spec, OpFunction function);
// Checks `args` against the operation's spec, runs it, and checks that its
// outputs are the declared ones; throws Error for an unknown name.
OpResult runOp(const std::string& name, const OpArgs& args, const Context& context);
std::vector<std::string> listOps();
// The specs of every registered operation, by name.
std::vector<const OpSpec*> listOpSpecs();

// The arguments every fused trial operation takes (ops/trial.cpp): 'seed' (a
// whole number below 2^53), 'n' (1..maxLatents), 'd' (>= n; default n) and
// 'samples' (>= 2): trialShapeSpec declares them, readTrialShape reads them
// into `config`.
struct SimulationConfig;
OpSpec trialShapeSpec(int maxLatents);
void readTrialShape(const OpArgs& args, SimulationConfig& config);

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
// SCORECRL_OP(spec, function) registers `function` under spec.name().
#define SCORECRL_OP(spec, function) \
  static const bool SCORECRL_CONCAT(scorecrl_registered_, __LINE__) = ::scorecrl::registerOp(spec, function)
