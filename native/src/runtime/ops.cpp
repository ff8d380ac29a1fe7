#include "scorecrl/runtime/ops.hpp"

#include <cmath>
#include <sstream>
#include <thread>

namespace scorecrl {

namespace {

std::map<std::string, OpFunction>& registry() {
  static std::map<std::string, OpFunction> table;
  return table;
}

std::string shapeText(const std::vector<int64_t>& shape) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << "]";
  return s.str();
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + ("'" + names[i] + "'");
  return out;
}

}  // namespace

int64_t ArrayView::size() const {
  int64_t total = 1;
  for (int64_t s : shape) total *= s;
  return total;
}

const ArrayView& OpArgs::array(const std::string& name, int rank, bool allowNonFinite) const {
  auto it = arrays.find(name);
  if (it == arrays.end()) fail("missing array argument '" + name + "'");
  const ArrayView& a = it->second;
  if (rank >= 0 && static_cast<int>(a.shape.size()) != rank)
    fail("'" + name + "' must have " + std::to_string(rank) + " dimensions, got shape " + shapeText(a.shape));
  for (int64_t s : a.shape)
    if (s < 1) fail("'" + name + "' has an empty dimension (shape " + shapeText(a.shape) + ")");
  if (!allowNonFinite) {
    const int64_t n = a.size();
    for (int64_t i = 0; i < n; ++i) {
      if (!std::isfinite(a.data[i])) {
        fail("'" + name + "' contains " + (std::isnan(a.data[i]) ? std::string("NaN") : std::string("Inf")) +
             " at flat index " + std::to_string(i) + "; remove or impute non-finite values first");
      }
    }
  }
  return a;
}

ConstMatrixMap OpArgs::matrix(const std::string& name, bool allowNonFinite) const {
  const ArrayView& a = array(name, 2, allowNonFinite);
  return ConstMatrixMap(a.data, a.shape[0], a.shape[1]);
}

ConstMatrixMap OpArgs::slice(const std::string& name, int64_t index) const {
  const ArrayView& a = array(name, 3);
  if (index < 0 || index >= a.shape[0]) fail("slice " + std::to_string(index) + " of '" + name + "' out of range");
  return ConstMatrixMap(a.data + index * a.shape[1] * a.shape[2], a.shape[1], a.shape[2]);
}

double OpArgs::number(const std::string& name) const {
  auto it = numbers.find(name);
  if (it == numbers.end()) fail("missing number argument '" + name + "'");
  if (!std::isfinite(it->second)) fail("'" + name + "' must be a finite number");
  return it->second;
}

double OpArgs::number(const std::string& name, double fallback) const {
  return hasNumber(name) ? number(name) : fallback;
}

int64_t OpArgs::integer(const std::string& name, int64_t min, int64_t max) const {
  const double v = number(name);
  if (v != std::floor(v)) fail("'" + name + "' must be a whole number, got " + std::to_string(v));
  if (v < static_cast<double>(min) || v > static_cast<double>(max))
    fail("'" + name + "' must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
         std::to_string(static_cast<long long>(v)));
  return static_cast<int64_t>(v);
}

int64_t OpArgs::integer(const std::string& name, int64_t fallback, int64_t min, int64_t max) const {
  return hasNumber(name) ? integer(name, min, max) : fallback;
}

bool OpArgs::flag(const std::string& name, bool fallback) const {
  return hasNumber(name) ? number(name) != 0.0 : fallback;
}

std::string OpArgs::string(const std::string& name, const std::vector<std::string>& allowed) const {
  auto it = strings.find(name);
  if (it == strings.end()) fail("missing string argument '" + name + "'");
  if (!allowed.empty()) {
    bool ok = false;
    for (const auto& a : allowed) ok = ok || a == it->second;
    if (!ok) fail("'" + name + "' must be one of " + joined(allowed) + ", got '" + it->second + "'");
  }
  return it->second;
}

std::string OpArgs::string(const std::string& name, const std::string& fallback,
                           const std::vector<std::string>& allowed) const {
  return hasString(name) ? string(name, allowed) : fallback;
}

void OpResult::put(const std::string& name, std::vector<double> data, std::vector<int64_t> shape) {
  arrays[name] = Array{std::move(data), std::move(shape)};
}

void OpResult::putVector(const std::string& name, const std::vector<int>& values) {
  put(name, std::vector<double>(values.begin(), values.end()), {static_cast<int64_t>(values.size())});
}

bool registerOp(const char* name, OpFunction function) {
  registry()[name] = function;
  return true;
}

OpResult runOp(const std::string& name, const OpArgs& args, const Context& context) {
  auto it = registry().find(name);
  if (it == registry().end()) throw Error(name, "unknown operation (this build has: " + joined(listOps()) + ")");
  return it->second(args, context);
}

std::vector<std::string> listOps() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

}  // namespace scorecrl
