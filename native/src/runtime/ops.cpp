#include "scorecrl/runtime/ops.hpp"

#include <cmath>
#include <sstream>
#include <thread>

namespace scorecrl {

namespace {

struct Registered {
  OpSpec spec;
  OpFunction function;
};

std::map<std::string, Registered>& registry() {
  static std::map<std::string, Registered> table;
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

namespace {

std::string kindWord(ValueKind kind) {
  switch (kind) {
    case ValueKind::Array: return "an array";
    case ValueKind::String: return "a string";
    default: return "a number";
  }
}

// The map an input of `kind` arrives in.
int slotOf(ValueKind kind) { return kind == ValueKind::Array ? 0 : kind == ValueKind::String ? 2 : 1; }

}  // namespace

void checkOpArgs(const OpSpec& spec, const OpArgs& args) {
  auto fail = [&](const std::string& message) { throw Error(spec.name(), message); };
  auto names = [&]() {
    std::vector<std::string> all;
    for (const InputSpec& in : spec.inputs()) all.push_back(in.name);
    return all.empty() ? std::string("none") : joined(all);
  };
  auto known = [&](const std::string& name, int slot) {
    const InputSpec* in = spec.input(name);
    if (!in) fail("unknown argument '" + name + "' (this operation takes: " + names() + ")");
    if (slotOf(in->kind) != slot)
      fail("'" + name + "' must be " + kindWord(in->kind) + ", got " +
           kindWord(slot == 0   ? ValueKind::Array
                    : slot == 2 ? ValueKind::String
                                : ValueKind::Number));
    return in;
  };
  for (const auto& [name, a] : args.arrays) {
    const InputSpec* in = known(name, 0);
    if (!in->anyRank && a.shape.size() != in->dims.size()) {
      std::string dims;
      for (size_t i = 0; i < in->dims.size(); ++i) dims += (i ? " x " : "") + in->dims[i];
      fail("'" + name + "' must have " + std::to_string(in->dims.size()) + " dimensions (" + dims + "), got shape " +
           shapeText(a.shape));
    }
    for (int64_t s : a.shape)
      if (s < 1) fail("'" + name + "' has an empty dimension (shape " + shapeText(a.shape) + ")");
    if (!in->allowNonFinite) {
      const int64_t n = a.size();
      for (int64_t i = 0; i < n; ++i) {
        if (!std::isfinite(a.data[i])) {
          fail("'" + name + "' contains " + (std::isnan(a.data[i]) ? std::string("NaN") : std::string("Inf")) +
               " at flat index " + std::to_string(i) + "; remove or impute non-finite values first");
        }
      }
    }
  }
  for (const auto& [name, v] : args.numbers) {
    const InputSpec* in = known(name, 1);
    if (!std::isfinite(v)) fail("'" + name + "' must be a finite number");
    if (in->kind == ValueKind::Integer) {
      if (v != std::floor(v)) fail("'" + name + "' must be a whole number, got " + formatNumber(v));
      if (!in->range.contains(v))
        fail("'" + name + "' must be between " + std::to_string(static_cast<long long>(in->range.min)) + " and " +
             std::to_string(static_cast<long long>(in->range.max)) + ", got " +
             std::to_string(static_cast<long long>(v)));
    } else if (in->kind == ValueKind::Number && !in->range.contains(v)) {
      fail("'" + name + "' must be " + in->range.describe() + ", got " + formatNumber(v));
    }
  }
  for (const auto& [name, v] : args.strings) {
    const InputSpec* in = known(name, 2);
    if (in->allowed.empty()) continue;
    bool ok = false;
    for (const auto& a : in->allowed) ok = ok || a == v;
    if (!ok) fail("'" + name + "' must be one of " + joined(in->allowed) + ", got '" + v + "'");
  }
  for (const InputSpec& in : spec.inputs()) {
    if (!in.required) continue;
    const int slot = slotOf(in.kind);
    const bool given = slot == 0   ? args.hasArray(in.name)
                       : slot == 2 ? args.hasString(in.name)
                                   : args.hasNumber(in.name);
    if (!given)
      fail("missing " +
           std::string(slot == 0   ? "array"
                       : slot == 2 ? "string"
                                   : "number") +
           " argument '" + in.name + "'");
  }
}

const InputSpec& OpArgs::declared(const std::string& name, ValueKind kind) const {
  const InputSpec* in = spec ? spec->input(name) : nullptr;
  const bool numeric = kind == ValueKind::Number || kind == ValueKind::Integer || kind == ValueKind::Flag;
  if (!in || (numeric ? slotOf(in->kind) != 1 : in->kind != kind))
    throw Error(op, "reads argument '" + name + "' that its spec does not declare as " + valueKindName(kind),
                ErrorCode::Internal);
  return *in;
}

const ArrayView& OpArgs::array(const std::string& name) const {
  declared(name, ValueKind::Array);
  auto it = arrays.find(name);
  if (it == arrays.end()) fail("missing array argument '" + name + "'");
  return it->second;
}

ConstMatrixMap OpArgs::matrix(const std::string& name) const {
  const ArrayView& a = array(name);
  if (a.shape.size() != 2) fail("'" + name + "' must have 2 dimensions, got shape " + shapeText(a.shape));
  return ConstMatrixMap(a.data, a.shape[0], a.shape[1]);
}

ConstMatrixMap OpArgs::slice(const std::string& name, int64_t index) const {
  const ArrayView& a = array(name);
  if (a.shape.size() != 3) fail("'" + name + "' must have 3 dimensions, got shape " + shapeText(a.shape));
  if (index < 0 || index >= a.shape[0]) fail("slice " + std::to_string(index) + " of '" + name + "' out of range");
  return ConstMatrixMap(a.data + index * a.shape[1] * a.shape[2], a.shape[1], a.shape[2]);
}

double OpArgs::number(const std::string& name) const {
  const InputSpec& in = declared(name, ValueKind::Number);
  auto it = numbers.find(name);
  if (it != numbers.end()) return it->second;
  if (!in.numberDefault) fail("missing number argument '" + name + "'");
  return *in.numberDefault;
}

int64_t OpArgs::integer(const std::string& name) const { return static_cast<int64_t>(number(name)); }

bool OpArgs::flag(const std::string& name) const { return number(name) != 0.0; }

double OpArgs::numberOr(const std::string& name, double fallback) const {
  declared(name, ValueKind::Number);
  return hasNumber(name) ? numbers.at(name) : fallback;
}

int64_t OpArgs::integerOr(const std::string& name, int64_t fallback) const {
  return static_cast<int64_t>(numberOr(name, static_cast<double>(fallback)));
}

std::string OpArgs::string(const std::string& name) const {
  const InputSpec& in = declared(name, ValueKind::String);
  auto it = strings.find(name);
  if (it != strings.end()) return it->second;
  if (!in.stringDefault) fail("missing string argument '" + name + "'");
  return *in.stringDefault;
}

void OpResult::put(const std::string& name, std::vector<double> data, std::vector<int64_t> shape) {
  arrays[name] = Array{std::move(data), std::move(shape)};
}

void OpResult::putVector(const std::string& name, const std::vector<int>& values) {
  put(name, std::vector<double>(values.begin(), values.end()), {static_cast<int64_t>(values.size())});
}

bool registerOp(OpSpec spec, OpFunction function) {
  const std::string name = spec.name();
  registry().emplace(name, Registered{std::move(spec), function});
  return true;
}

namespace {

// A result with a name the spec does not declare, or without one it always
// returns, is a bug in the adapter or its spec.
void checkOpResult(const OpSpec& spec, const OpResult& result) {
  auto check = [&](const std::string& name, ValueKind kind) {
    const OutputSpec* out = spec.output(name);
    if (!out || out->kind != kind)
      throw Error(spec.name(),
                  "returned " + std::string(valueKindName(kind)) + " '" + name + "' that its spec does not declare",
                  ErrorCode::Internal);
  };
  for (const auto& entry : result.arrays) check(entry.first, ValueKind::Array);
  for (const auto& entry : result.numbers) check(entry.first, ValueKind::Number);
  for (const auto& entry : result.strings) check(entry.first, ValueKind::String);
  for (const OutputSpec& out : spec.outputs()) {
    if (out.optional || out.name.find('*') != std::string::npos) continue;
    const bool present = out.kind == ValueKind::Array    ? result.arrays.count(out.name) != 0
                         : out.kind == ValueKind::String ? result.strings.count(out.name) != 0
                                                         : result.numbers.count(out.name) != 0;
    if (!present)
      throw Error(spec.name(), "did not return '" + out.name + "' that its spec declares", ErrorCode::Internal);
  }
}

}  // namespace

OpResult runOp(const std::string& name, const OpArgs& args, const Context& context) {
  auto it = registry().find(name);
  if (it == registry().end()) throw Error(name, "unknown operation (this build has: " + joined(listOps()) + ")");
  const OpSpec& spec = it->second.spec;
  checkOpArgs(spec, args);
  OpArgs checked = args;
  checked.op = name;
  checked.spec = &spec;
  OpResult result = it->second.function(checked, context);
  checkOpResult(spec, result);
  return result;
}

std::vector<std::string> listOps() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

std::vector<const OpSpec*> listOpSpecs() {
  std::vector<const OpSpec*> specs;
  for (const auto& entry : registry()) specs.push_back(&entry.second.spec);
  return specs;
}

std::string opSpecsJson() {
  std::string out = "[";
  bool first = true;
  for (const OpSpec* spec : listOpSpecs()) {
    out += (first ? "" : ",\n") + specJson(*spec);
    first = false;
  }
  return out + "]";
}

}  // namespace scorecrl
