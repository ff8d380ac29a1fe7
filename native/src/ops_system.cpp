// Operations about the core itself: setThreads.
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

}  // namespace
}  // namespace scorecrl
