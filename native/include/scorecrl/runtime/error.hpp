// Errors raised by the core. Each carries a code that says what kind of
// failure it is, the same on every binding (JS: `error.code`), and a message
// that names the function and, where one is at fault, the argument.
#pragma once
#include <stdexcept>
#include <string>

namespace scorecrl {

enum class ErrorCode {
  InvalidArgument,  // the input cannot be used as given: shape, value, option, NaN/Inf
  Cancelled,        // the caller asked the computation to stop
  OutOfMemory,      // past the per-call memory limit, or the system refused an allocation
  Unsupported,      // a configuration the operation does not handle
  NoSolution,       // valid input on which the method found no answer (singular statistics, empty search)
  Internal,         // a failure of the core itself
};

// "invalid-argument", "cancelled", "out-of-memory", "unsupported", "no-solution", "internal".
inline const char* errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument: return "invalid-argument";
    case ErrorCode::Cancelled: return "cancelled";
    case ErrorCode::OutOfMemory: return "out-of-memory";
    case ErrorCode::Unsupported: return "unsupported";
    case ErrorCode::NoSolution: return "no-solution";
    case ErrorCode::Internal: return "internal";
  }
  return "internal";
}

class Error : public std::runtime_error {
 public:
  Error(const std::string& function, const std::string& message, ErrorCode code = ErrorCode::InvalidArgument)
      : std::runtime_error(function + ": " + message), function_(function), code_(code) {}
  const std::string& function() const { return function_; }
  ErrorCode code() const { return code_; }

 private:
  std::string function_;
  ErrorCode code_;
};

// Raised when a long computation notices that its caller asked it to stop.
class Cancelled : public Error {
 public:
  explicit Cancelled(const std::string& function) : Error(function, "cancelled", ErrorCode::Cancelled) {}
};

}  // namespace scorecrl
