// Thread-level parallelism for the core. WASM builds (no pthreads) and
// threads() == 1 run everything on the calling thread.
#pragma once
#include <cstdint>
#include <functional>

namespace scorecrl {

// Threads the core may use for one call (default: hardware threads, at most 8).
int threads();
// Sets it (1..64); a sweep running one trial per worker sets 1.
void setThreads(int count);

// Runs body(part, begin, end) over `parts` contiguous ranges covering
// [0, count), one range per thread, and rethrows the first exception on the
// calling thread. parts <= threads().
void parallelRanges(int64_t count, int parts, const std::function<void(int part, int64_t begin, int64_t end)>& body);

}  // namespace scorecrl
