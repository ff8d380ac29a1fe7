// The declared contract of one operation: its inputs (kind, shape, whether
// required, default, range or allowed values) and its outputs (kind, shape,
// whether always present), each with a line of documentation.
//
// A spec is written once, beside its adapter in native/src/ops/*.cpp, and
// serves three readers: runOp checks every call against it before the
// adapter runs (so adapters read arguments without repeating ranges or
// defaults), OpArgs reads defaults from it, and the `describeOps` operation
// exports all specs as JSON, from which scripts/generate-op-types.mjs writes
// the TypeScript types of every operation (src/ops/generated/op-types.ts).
#pragma once
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace scorecrl {

enum class ValueKind { Array, Number, Integer, Flag, String };

// Shortest text that reads back as `v` ("0.05", "1e+07", "-1").
std::string formatNumber(double v);

// "array", "number", "integer", "flag", "string".
const char* valueKindName(ValueKind kind);

// Closed (or open) bounds of a number input.
struct Range {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool minOpen = false, maxOpen = false;

  static Range any() { return {}; }
  static Range atLeast(double v) { return {v, std::numeric_limits<double>::infinity(), false, false}; }
  static Range above(double v) { return {v, std::numeric_limits<double>::infinity(), true, false}; }
  static Range between(double lo, double hi) { return {lo, hi, false, false}; }
  static Range open(double lo, double hi) { return {lo, hi, true, true}; }
  bool bounded() const;
  bool contains(double v) const;
  std::string describe() const;  // ">= 0", "in (0, 1)", ...
};

struct InputSpec {
  std::string name;
  ValueKind kind = ValueKind::Number;
  std::string doc;
  bool required = false;
  // Arrays: symbolic sizes, one per dimension ("K+1", "N", "d"); rank = dims.size() unless anyRank.
  std::vector<std::string> dims;
  bool anyRank = false;
  bool allowNonFinite = false;
  // Numbers, integers, flags: the default when absent (none: required, or decided by the adapter).
  std::optional<double> numberDefault;
  // Strings: the default when absent, and the allowed values (empty: any text).
  std::optional<std::string> stringDefault;
  std::vector<std::string> allowed;
  Range range;
  // How the default is described when the adapter computes it ("n", "K").
  std::string defaultText;
};

struct OutputSpec {
  // May end in or contain one '*' standing for a whole number ("layer*.weight").
  std::string name;
  ValueKind kind = ValueKind::Array;
  std::vector<std::string> dims;
  bool optional = false;
  std::string doc;
};

enum class Presence { Required, Optional };

class OpSpec {
 public:
  OpSpec(std::string name, std::string doc);

  // Inputs. `dims` is a space-separated list of symbolic sizes ("K+1 N d"; "*" for any rank).
  OpSpec& array(const std::string& name, const std::string& dims, const std::string& doc,
                Presence presence = Presence::Required);
  // An array that may hold NaN/Inf (graphs read only != 0; nothing else does).
  OpSpec& arrayAllowingNonFinite(const std::string& name, const std::string& dims, const std::string& doc);
  // A real number with a default (std::nullopt: required), in `range`.
  OpSpec& number(const std::string& name, std::optional<double> fallback, const std::string& doc,
                 Range range = Range::any());
  // A real number the adapter defaults from other inputs (`defaultText` says how).
  OpSpec& numberDefaultedBy(const std::string& name, const std::string& defaultText, const std::string& doc,
                            Range range = Range::any());
  // A whole number in [min, max] with a default (std::nullopt: required).
  OpSpec& integer(const std::string& name, std::optional<double> fallback, double min, double max,
                  const std::string& doc);
  OpSpec& integerDefaultedBy(const std::string& name, const std::string& defaultText, double min, double max,
                             const std::string& doc);
  OpSpec& flag(const std::string& name, bool fallback, const std::string& doc);
  // One of `allowed`, default `fallback` (std::nullopt: required).
  OpSpec& choice(const std::string& name, std::vector<std::string> allowed, std::optional<std::string> fallback,
                 const std::string& doc);
  // Free text (required).
  OpSpec& text(const std::string& name, const std::string& doc);
  // Adds the inputs of another spec (shared groups such as a simulation's configuration).
  OpSpec& inputsOf(const OpSpec& other);

  // Outputs.
  OpSpec& returnsArray(const std::string& name, const std::string& dims, const std::string& doc,
                       Presence presence = Presence::Required);
  OpSpec& returnsNumber(const std::string& name, const std::string& doc, Presence presence = Presence::Required);
  OpSpec& returnsString(const std::string& name, const std::string& doc, Presence presence = Presence::Required);
  OpSpec& outputsOf(const OpSpec& other);

  const std::string& name() const { return name_; }
  const std::string& doc() const { return doc_; }
  const std::vector<InputSpec>& inputs() const { return inputs_; }
  const std::vector<OutputSpec>& outputs() const { return outputs_; }
  const InputSpec* input(const std::string& name) const;
  const OutputSpec* output(const std::string& name) const;

 private:
  InputSpec& add(const std::string& name, ValueKind kind, const std::string& doc);
  OutputSpec& addOutput(const std::string& name, ValueKind kind, const std::string& doc, Presence presence);
  std::string name_, doc_;
  std::vector<InputSpec> inputs_;
  std::vector<OutputSpec> outputs_;
};

// Whether an output name matches a declared pattern ('*' = one or more digits).
bool outputNameMatches(const std::string& pattern, const std::string& name);

// One spec as a JSON object.
std::string specJson(const OpSpec& spec);
// Every registered spec as a JSON array (for describeOps and the TypeScript generator).
std::string opSpecsJson();

}  // namespace scorecrl
