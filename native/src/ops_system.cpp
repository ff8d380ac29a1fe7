// Operations about the core itself: setThreads, releaseBuffers.
#include "scorecrl/buffers.hpp"
#include "scorecrl/ops.hpp"
#include "scorecrl/parallel.hpp"

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

}  // namespace
}  // namespace scorecrl
