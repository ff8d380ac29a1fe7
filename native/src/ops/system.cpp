// Operations about the core itself: setThreads, releaseBuffers, setMemoryLimit.
#include <cmath>

#include "scorecrl/runtime/buffers.hpp"
#include "scorecrl/runtime/limits.hpp"
#include "scorecrl/runtime/ops.hpp"
#include "scorecrl/runtime/parallel.hpp"

namespace scorecrl {
namespace {

OpResult opSetThreads(const OpArgs& args, const Context&) {
  setThreads(static_cast<int>(args.integer("threads", 1, 64)));
  OpResult result;
  result.numbers["threads"] = threads();
  return result;
}

SCORECRL_OP("setThreads", opSetThreads);

// Frees the storage of released large results kept for reuse.
OpResult opReleaseBuffers(const OpArgs&, const Context&) {
  OpResult result;
  result.numbers["bytes"] = static_cast<double>(buffers::release());
  return result;
}

SCORECRL_OP("releaseBuffers", opReleaseBuffers);

// The bytes one call may allocate (scorecrl/runtime/limits.hpp): 'bytes' sets it (0:
// the default), none leaves it; returns the limit in force and the default.
OpResult opSetMemoryLimit(const OpArgs& args, const Context&) {
  if (args.hasNumber("bytes")) {
    const double bytes = args.number("bytes");
    if (!(bytes >= 0 && bytes < 1.8e19) || bytes != std::floor(bytes))
      args.fail("'bytes' must be a whole number of bytes >= 0 (0: the default), got " + std::to_string(bytes));
    limits::setMaxCallBytes(static_cast<uint64_t>(bytes));
  }
  OpResult result;
  result.numbers["bytes"] = static_cast<double>(limits::maxCallBytes());
  result.numbers["defaultBytes"] = static_cast<double>(limits::defaultMaxCallBytes());
  return result;
}

SCORECRL_OP("setMemoryLimit", opSetMemoryLimit);

}  // namespace
}  // namespace scorecrl
