// What one operation call may allocate.
//
// Sizes in the core come from caller-given numbers (samples, counts, kappa),
// and on a 32-bit target (WebAssembly) their products overflow size_t long
// before memory runs out; on 64-bit systems with overcommit an absurd request
// is not refused but grows until the system kills the process. So every
// operation whose sizes are not bounded by its inputs states its large
// allocations up front as a Request: the products are computed in checked
// 64-bit arithmetic, and the total is compared with a per-call limit before
// anything is allocated. Beyond it the call fails with OutOfMemory, whose
// message starts "<op>: out of memory" and says what was asked for.
//
// The limit (maxCallBytes): on native builds the environment variable
// SCORECRL_MAX_CALL_BYTES (bytes; suffixes K, M, G, T for powers of 1024) when
// set, else 3/4 of physical memory; on WebAssembly 2 GiB, the module's heap.
// The operation `setMemoryLimit` changes it at run time.
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "scorecrl/runtime/error.hpp"

namespace scorecrl {

// A request beyond the per-call limit (or beyond what the target can
// address). Message: "<op>: out of memory: ...".
class OutOfMemory : public Error {
 public:
  OutOfMemory(const std::string& function, const std::string& detail)
      : Error(function, "out of memory: " + detail, ErrorCode::OutOfMemory) {}
};

namespace limits {

// Bytes one call may allocate for its results and large working arrays.
uint64_t maxCallBytes();
// Sets it; 0 restores the default. Returns the limit now in force.
uint64_t setMaxCallBytes(uint64_t bytes);
// The default (environment variable, physical memory or the WASM heap).
uint64_t defaultMaxCallBytes();
// "1.5 GiB"
std::string bytesText(double bytes);

// The large allocations of one call, checked together.
class Request {
 public:
  explicit Request(std::string op) : op_(std::move(op)) {}
  // An array of prod(dims) elements of `elementBytes` each. Negative
  // dimensions count as 0.
  Request& add(const std::string& what, std::initializer_list<int64_t> dims, uint64_t elementBytes = sizeof(double));
  // Throws OutOfMemory when a product overflowed or the total exceeds the
  // limit (or what size_t can address).
  void check() const;
  uint64_t bytes() const { return total_; }

 private:
  std::string op_;
  std::vector<std::pair<std::string, double>> parts_;  // what, bytes (as double: may be past 2^64)
  uint64_t total_ = 0;
  bool overflow_ = false;
};

// prod(dims) as size_t, after checking prod(dims) * elementBytes against the
// limit (throws OutOfMemory naming `what`).
size_t checkedCount(const std::string& op, const std::string& what, std::initializer_list<int64_t> dims,
                    uint64_t elementBytes = sizeof(double));

}  // namespace limits
}  // namespace scorecrl
