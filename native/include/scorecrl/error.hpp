// Errors raised by the core. Bindings turn them into JS `Error`s whose message
// names the function and, where one is at fault, the argument.
#pragma once
#include <stdexcept>
#include <string>

namespace scorecrl {

class Error : public std::runtime_error {
 public:
  Error(const std::string& function, const std::string& message)
      : std::runtime_error(function + ": " + message), function_(function) {}
  const std::string& function() const { return function_; }

 private:
  std::string function_;
};

// Raised when a long computation notices that its caller asked it to stop.
class Cancelled : public Error {
 public:
  explicit Cancelled(const std::string& function) : Error(function, "cancelled") {}
};

}  // namespace scorecrl
