#include "scorecrl/runtime/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <vector>

#include "scorecrl/runtime/error.hpp"

#if !defined(__EMSCRIPTEN__)
#include <thread>
#endif

namespace scorecrl {

namespace {

int defaultThreads() {
#if defined(__EMSCRIPTEN__)
  return 1;
#else
  const unsigned hw = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp(hw == 0 ? 1u : hw, 1u, 8u));
#endif
}

std::atomic<int>& threadSetting() {
  static std::atomic<int> setting{defaultThreads()};
  return setting;
}

}  // namespace

int threads() { return threadSetting().load(); }

void setThreads(int count) {
  if (count < 1 || count > 64) throw Error("setThreads", "'threads' must be between 1 and 64");
#if defined(__EMSCRIPTEN__)
  count = 1;
#endif
  threadSetting().store(count);
}

void parallelRanges(int64_t count, int parts, const std::function<void(int, int64_t, int64_t)>& body) {
  parts = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({static_cast<int64_t>(parts), count, threads()})));
  auto rangeOf = [count, parts](int part) { return std::make_pair(count * part / parts, count * (part + 1) / parts); };
  if (parts == 1) {
    body(0, 0, count);
    return;
  }
#if defined(__EMSCRIPTEN__)
  for (int p = 0; p < parts; ++p) body(p, rangeOf(p).first, rangeOf(p).second);
#else
  std::vector<std::exception_ptr> errors(static_cast<size_t>(parts));
  std::vector<std::thread> workers;
  for (int p = 1; p < parts; ++p) {
    workers.emplace_back([&, p]() {
      try {
        body(p, rangeOf(p).first, rangeOf(p).second);
      } catch (...) {
        errors[static_cast<size_t>(p)] = std::current_exception();
      }
    });
  }
  try {
    body(0, rangeOf(0).first, rangeOf(0).second);
  } catch (...) {
    errors[0] = std::current_exception();
  }
  for (auto& w : workers) w.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
#endif
}

}  // namespace scorecrl
