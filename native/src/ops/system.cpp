// Operations about the core itself: setThreads, releaseBuffers, setMemoryLimit.
#include <cmath>

#include "scorecrl/runtime/buffers.hpp"
#include "scorecrl/runtime/limits.hpp"
#include "scorecrl/runtime/ops.hpp"
#include "scorecrl/runtime/parallel.hpp"

namespace scorecrl {
namespace {

OpResult opSetThreads(const OpArgs& args, const Context&) {
  setThreads(static_cast<int>(args.integer("threads")));
  OpResult result;
  result.numbers["threads"] = threads();
  return result;
}

SCORECRL_OP(OpSpec("setThreads", "Sets the threads one call may use (native; WASM keeps 1).")
                .integer("threads", std::nullopt, 1, 64, "threads per call")
                .returnsNumber("threads", "threads in force"),
            opSetThreads);

// Frees the storage of released large results kept for reuse.
OpResult opReleaseBuffers(const OpArgs&, const Context&) {
  OpResult result;
  result.numbers["bytes"] = static_cast<double>(buffers::release());
  return result;
}

SCORECRL_OP(OpSpec("releaseBuffers", "Frees the storage of released large results kept for reuse.")
                .returnsNumber("bytes", "bytes freed"),
            opReleaseBuffers);

// The bytes one call may allocate (scorecrl/runtime/limits.hpp): 'bytes' sets it (0:
// the default), none leaves it; returns the limit in force and the default.
OpResult opSetMemoryLimit(const OpArgs& args, const Context&) {
  if (args.hasNumber("bytes")) limits::setMaxCallBytes(static_cast<uint64_t>(args.integerOr("bytes", 0)));
  OpResult result;
  result.numbers["bytes"] = static_cast<double>(limits::maxCallBytes());
  result.numbers["defaultBytes"] = static_cast<double>(limits::defaultMaxCallBytes());
  return result;
}

SCORECRL_OP(OpSpec("setMemoryLimit", "Sets the bytes one call may allocate; a call past it fails with 'out-of-memory'.")
                .integerDefaultedBy("bytes", "unchanged", 0, 9007199254740991.0, "bytes per call (0: the default)")
                .returnsNumber("bytes", "the limit in force")
                .returnsNumber("defaultBytes", "the default limit"),
            opSetMemoryLimit);

// The specs of every operation, as JSON (read by scripts/generate-op-types.mjs).
OpResult opDescribeOps(const OpArgs&, const Context&) {
  OpResult result;
  result.strings["json"] = opSpecsJson();
  return result;
}

SCORECRL_OP(OpSpec("describeOps", "The declared inputs and outputs of every operation.")
                .returnsString("json", "a JSON array of specs: name, doc, inputs, outputs"),
            opDescribeOps);

}  // namespace
}  // namespace scorecrl
