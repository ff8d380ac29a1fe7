#include "scorecrl/runtime/buffers.hpp"

#include <algorithm>
#include <mutex>
#include <new>

#include "scorecrl/runtime/limits.hpp"

namespace scorecrl::buffers {
namespace {

std::mutex poolMutex;
std::vector<std::vector<double>>& pool() {
  static std::vector<std::vector<double>> vectors;
  return vectors;
}
size_t poolBytes = 0;

size_t bytesOf(const std::vector<double>& v) { return v.capacity() * sizeof(double); }

}  // namespace

std::vector<double> take(size_t count, const std::function<void()>& checkpoint) {
  // Callers check their sizes against the limit with a limits::Request and
  // a message; this is the backstop for any that did not.
  if (count > limits::maxCallBytes() / sizeof(double)) throw std::bad_alloc();
  std::vector<double> out;
  if (count * sizeof(double) >= kMinPooledBytes) {
    std::lock_guard<std::mutex> lock(poolMutex);
    auto& vectors = pool();
    size_t best = vectors.size();
    for (size_t i = 0; i < vectors.size(); ++i) {
      if (vectors[i].capacity() >= count &&
          (best == vectors.size() || vectors[i].capacity() < vectors[best].capacity()))
        best = i;
    }
    // Only reuse storage that is not much larger than needed: a small result
    // must not hold on to a huge block.
    if (best < vectors.size() && vectors[best].capacity() <= 2 * count) {
      out.swap(vectors[best]);
      poolBytes -= bytesOf(out);
      vectors.erase(vectors.begin() + static_cast<std::ptrdiff_t>(best));
    }
  }
  // Shrinking writes nothing; only values beyond a pooled vector's old size
  // (or all of fresh storage) are zeroed, a slice at a time.
  constexpr size_t kSlice = size_t(1) << 20;  // values (8 MiB)
  if (!checkpoint || count <= out.size() || count - out.size() <= kSlice) {
    out.resize(count);
    return out;
  }
  out.reserve(count);
  while (out.size() < count) {
    checkpoint();
    out.resize(std::min(count, out.size() + kSlice));
  }
  return out;
}

void give(std::vector<double>&& storage) {
  std::vector<double> v;
  v.swap(storage);
  const size_t bytes = bytesOf(v);
  if (bytes < kMinPooledBytes) return;
  std::lock_guard<std::mutex> lock(poolMutex);
  auto& vectors = pool();
  // Make room by dropping the oldest storage first.
  while (!vectors.empty() && poolBytes + bytes > kMaxPooledBytes) {
    poolBytes -= bytesOf(vectors.front());
    vectors.erase(vectors.begin());
  }
  if (poolBytes + bytes > kMaxPooledBytes) return;
  // The values stay: a later take() of this size or less writes nothing.
  poolBytes += bytes;
  vectors.push_back(std::move(v));
}

size_t release() {
  std::lock_guard<std::mutex> lock(poolMutex);
  const size_t bytes = poolBytes;
  pool().clear();
  pool().shrink_to_fit();
  poolBytes = 0;
  return bytes;
}

size_t pooledBytes() {
  std::lock_guard<std::mutex> lock(poolMutex);
  return poolBytes;
}

}  // namespace scorecrl::buffers
