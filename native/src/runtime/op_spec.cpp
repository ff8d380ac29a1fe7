#include "scorecrl/runtime/op_spec.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "scorecrl/runtime/error.hpp"

namespace scorecrl {

namespace {

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream s(text);
  std::string w;
  while (s >> w) out.push_back(w);
  return out;
}

}  // namespace

std::string formatNumber(double v) {
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buffer[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*g", precision, v);
    if (std::strtod(buffer, nullptr) == v) break;
  }
  return buffer;
}

namespace {

std::string jsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string jsonStrings(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + jsonString(values[i]);
  return out + "]";
}

}  // namespace

const char* valueKindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::Array: return "array";
    case ValueKind::Number: return "number";
    case ValueKind::Integer: return "integer";
    case ValueKind::Flag: return "flag";
    case ValueKind::String: return "string";
  }
  return "number";
}

bool Range::bounded() const { return std::isfinite(min) || std::isfinite(max); }

bool Range::contains(double v) const {
  if (minOpen ? !(v > min) : !(v >= min)) return false;
  if (maxOpen ? !(v < max) : !(v <= max)) return false;
  return true;
}

std::string Range::describe() const {
  const bool lo = std::isfinite(min), hi = std::isfinite(max);
  if (lo && hi)
    return std::string("in ") + (minOpen ? "(" : "[") + formatNumber(min) + ", " + formatNumber(max) +
           (maxOpen ? ")" : "]");
  if (lo) return std::string(minOpen ? "> " : ">= ") + formatNumber(min);
  if (hi) return std::string(maxOpen ? "< " : "<= ") + formatNumber(max);
  return "any finite number";
}

OpSpec::OpSpec(std::string name, std::string doc) : name_(std::move(name)), doc_(std::move(doc)) {}

InputSpec& OpSpec::add(const std::string& name, ValueKind kind, const std::string& doc) {
  // A duplicate is a bug in a spec, caught the first time the table is built.
  if (input(name)) throw Error(name_, "spec declares input '" + name + "' twice", ErrorCode::Internal);
  InputSpec in;
  in.name = name;
  in.kind = kind;
  in.doc = doc;
  inputs_.push_back(std::move(in));
  return inputs_.back();
}

OpSpec& OpSpec::array(const std::string& name, const std::string& dims, const std::string& doc, Presence presence) {
  InputSpec& in = add(name, ValueKind::Array, doc);
  in.required = presence == Presence::Required;
  in.dims = words(dims);
  if (in.dims.size() == 1 && in.dims[0] == "*") {
    in.dims.clear();
    in.anyRank = true;
  }
  return *this;
}

OpSpec& OpSpec::arrayAllowingNonFinite(const std::string& name, const std::string& dims, const std::string& doc) {
  array(name, dims, doc);
  inputs_.back().allowNonFinite = true;
  return *this;
}

OpSpec& OpSpec::number(const std::string& name, std::optional<double> fallback, const std::string& doc, Range range) {
  InputSpec& in = add(name, ValueKind::Number, doc);
  in.numberDefault = fallback;
  in.required = !fallback;
  in.range = range;
  return *this;
}

OpSpec& OpSpec::numberDefaultedBy(const std::string& name, const std::string& defaultText, const std::string& doc,
                                  Range range) {
  InputSpec& in = add(name, ValueKind::Number, doc);
  in.defaultText = defaultText;
  in.range = range;
  return *this;
}

OpSpec& OpSpec::integer(const std::string& name, std::optional<double> fallback, double min, double max,
                        const std::string& doc) {
  InputSpec& in = add(name, ValueKind::Integer, doc);
  in.numberDefault = fallback;
  in.required = !fallback;
  in.range = Range::between(min, max);
  return *this;
}

OpSpec& OpSpec::integerDefaultedBy(const std::string& name, const std::string& defaultText, double min, double max,
                                   const std::string& doc) {
  InputSpec& in = add(name, ValueKind::Integer, doc);
  in.defaultText = defaultText;
  in.range = Range::between(min, max);
  return *this;
}

OpSpec& OpSpec::flag(const std::string& name, bool fallback, const std::string& doc) {
  InputSpec& in = add(name, ValueKind::Flag, doc);
  in.numberDefault = fallback ? 1.0 : 0.0;
  return *this;
}

OpSpec& OpSpec::choice(const std::string& name, std::vector<std::string> allowed, std::optional<std::string> fallback,
                       const std::string& doc) {
  InputSpec& in = add(name, ValueKind::String, doc);
  in.allowed = std::move(allowed);
  in.stringDefault = std::move(fallback);
  in.required = !in.stringDefault;
  return *this;
}

OpSpec& OpSpec::text(const std::string& name, const std::string& doc) {
  add(name, ValueKind::String, doc).required = true;
  return *this;
}

OpSpec& OpSpec::inputsOf(const OpSpec& other) {
  for (const InputSpec& in : other.inputs_) add(in.name, in.kind, in.doc) = in;
  return *this;
}

OutputSpec& OpSpec::addOutput(const std::string& name, ValueKind kind, const std::string& doc, Presence presence) {
  if (output(name)) throw Error(name_, "spec declares output '" + name + "' twice", ErrorCode::Internal);
  OutputSpec out;
  out.name = name;
  out.kind = kind;
  out.doc = doc;
  out.optional = presence == Presence::Optional;
  outputs_.push_back(std::move(out));
  return outputs_.back();
}

OpSpec& OpSpec::returnsArray(const std::string& name, const std::string& dims, const std::string& doc,
                             Presence presence) {
  addOutput(name, ValueKind::Array, doc, presence).dims = words(dims);
  return *this;
}

OpSpec& OpSpec::returnsNumber(const std::string& name, const std::string& doc, Presence presence) {
  addOutput(name, ValueKind::Number, doc, presence);
  return *this;
}

OpSpec& OpSpec::returnsString(const std::string& name, const std::string& doc, Presence presence) {
  addOutput(name, ValueKind::String, doc, presence);
  return *this;
}

OpSpec& OpSpec::outputsOf(const OpSpec& other) {
  for (const OutputSpec& out : other.outputs_) addOutput(out.name, out.kind, out.doc, Presence::Required) = out;
  return *this;
}

const InputSpec* OpSpec::input(const std::string& name) const {
  for (const InputSpec& in : inputs_)
    if (in.name == name) return &in;
  return nullptr;
}

const OutputSpec* OpSpec::output(const std::string& name) const {
  for (const OutputSpec& out : outputs_)
    if (outputNameMatches(out.name, name)) return &out;
  return nullptr;
}

bool outputNameMatches(const std::string& pattern, const std::string& name) {
  const size_t star = pattern.find('*');
  if (star == std::string::npos) return pattern == name;
  const std::string head = pattern.substr(0, star), tail = pattern.substr(star + 1);
  if (name.size() <= head.size() + tail.size()) return false;
  if (name.compare(0, head.size(), head) != 0) return false;
  if (name.compare(name.size() - tail.size(), tail.size(), tail) != 0) return false;
  for (size_t i = head.size(); i < name.size() - tail.size(); ++i)
    if (name[i] < '0' || name[i] > '9') return false;
  return true;
}

std::string specJson(const OpSpec& spec) {
  std::string out = "{\"name\":" + jsonString(spec.name()) + ",\"doc\":" + jsonString(spec.doc()) + ",\"inputs\":[";
  for (size_t i = 0; i < spec.inputs().size(); ++i) {
    const InputSpec& in = spec.inputs()[i];
    out += std::string(i ? "," : "") + "{\"name\":" + jsonString(in.name) + ",\"kind\":\"" + valueKindName(in.kind) +
           "\",\"required\":" + (in.required ? "true" : "false") + ",\"doc\":" + jsonString(in.doc);
    if (in.kind == ValueKind::Array) {
      out += in.anyRank ? ",\"dims\":null" : ",\"dims\":" + jsonStrings(in.dims);
      if (in.allowNonFinite) out += ",\"allowNonFinite\":true";
    }
    if (in.numberDefault) out += ",\"default\":" + formatNumber(*in.numberDefault);
    if (in.stringDefault) out += ",\"default\":" + jsonString(*in.stringDefault);
    if (!in.defaultText.empty()) out += ",\"defaultText\":" + jsonString(in.defaultText);
    if (!in.allowed.empty()) out += ",\"allowed\":" + jsonStrings(in.allowed);
    if (in.range.bounded()) {  // JSON has no Infinity: an unbounded end is left out
      out += ",\"range\":{";
      std::string sep;
      if (std::isfinite(in.range.min)) {
        out += "\"min\":" + formatNumber(in.range.min) + (in.range.minOpen ? ",\"minOpen\":true" : "");
        sep = ",";
      }
      if (std::isfinite(in.range.max))
        out += sep + "\"max\":" + formatNumber(in.range.max) + (in.range.maxOpen ? ",\"maxOpen\":true" : "");
      out += "}";
    }
    out += "}";
  }
  out += "],\"outputs\":[";
  for (size_t i = 0; i < spec.outputs().size(); ++i) {
    const OutputSpec& o = spec.outputs()[i];
    out += std::string(i ? "," : "") + "{\"name\":" + jsonString(o.name) + ",\"kind\":\"" + valueKindName(o.kind) +
           "\",\"optional\":" + (o.optional ? "true" : "false") + ",\"doc\":" + jsonString(o.doc);
    if (o.kind == ValueKind::Array) out += ",\"dims\":" + jsonStrings(o.dims);
    out += "}";
  }
  return out + "]}";
}

}  // namespace scorecrl
