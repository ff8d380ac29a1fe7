#include "scorecrl/runtime/limits.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <limits>

#if !defined(__EMSCRIPTEN__) && (defined(__unix__) || defined(__APPLE__))
#include <unistd.h>
#endif

namespace scorecrl::limits {
namespace {

constexpr uint64_t kGiB = uint64_t(1) << 30;

// Parses "123", "1.5G", "512M" (powers of 1024); 0 when unreadable.
uint64_t parseBytes(const char* text) {
  if (!text || !*text) return 0;
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  if (end == text || !(value > 0)) return 0;
  double scale = 1;
  switch (std::toupper(static_cast<unsigned char>(*end))) {
    case 'K':
      scale = 1024.0;
      ++end;
      break;
    case 'M':
      scale = 1024.0 * 1024;
      ++end;
      break;
    case 'G':
      scale = 1024.0 * 1024 * 1024;
      ++end;
      break;
    case 'T':
      scale = 1024.0 * 1024 * 1024 * 1024;
      ++end;
      break;
    default: break;
  }
  if (*end == 'B' || *end == 'b') ++end;
  if (*end != '\0') return 0;
  const double bytes = value * scale;
  return bytes >= 1.8e19 ? std::numeric_limits<uint64_t>::max() : static_cast<uint64_t>(bytes);
}

uint64_t physicalMemory() {
#if !defined(__EMSCRIPTEN__) && defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
#endif
  return 0;
}

std::atomic<uint64_t>& setting() {
  static std::atomic<uint64_t> limit{defaultMaxCallBytes()};
  return limit;
}

// What size_t can index, in bytes (4 GiB on wasm32).
double addressable() { return static_cast<double>(std::numeric_limits<size_t>::max()); }

}  // namespace

uint64_t defaultMaxCallBytes() {
#if defined(__EMSCRIPTEN__)
  return 2 * kGiB;
#else
  const uint64_t given = parseBytes(std::getenv("SCORECRL_MAX_CALL_BYTES"));
  if (given > 0) return given;
  const uint64_t physical = physicalMemory();
  return physical > 0 ? physical / 4 * 3 : 16 * kGiB;
#endif
}

uint64_t maxCallBytes() { return setting().load(); }

uint64_t setMaxCallBytes(uint64_t bytes) {
  setting().store(bytes == 0 ? defaultMaxCallBytes() : bytes);
  return setting().load();
}

std::string bytesText(double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 6) {
    bytes /= 1024;
    ++unit;
  }
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, unit == 0 ? "%.0f %s" : "%.3g %s", bytes, units[unit]);
  return buffer;
}

Request& Request::add(const std::string& what, std::initializer_list<int64_t> dims, uint64_t elementBytes) {
  // Exact in 64 bits while it fits, flagged past it; the double is for the message.
  uint64_t bytes = elementBytes;
  double approx = static_cast<double>(elementBytes);
  bool over = false;
  for (int64_t dim : dims) {
    const uint64_t d = dim > 0 ? static_cast<uint64_t>(dim) : 0;
    approx *= static_cast<double>(d);
    if (d != 0 && bytes > std::numeric_limits<uint64_t>::max() / d)
      over = true;
    else
      bytes *= d;
  }
  if (approx == 0) {
    over = false;
    bytes = 0;
  }
  parts_.emplace_back(what, approx);
  if (over || total_ > std::numeric_limits<uint64_t>::max() - bytes)
    overflow_ = true;
  else
    total_ += bytes;
  return *this;
}

namespace {

// The message of a refused request. Built one piece per statement, so that no
// expression holds several temporaries at once: clang 14 lowered the nested
// cleanups of the former operator+ chains for WebAssembly differently from
// one compile to the next, and the committed module must rebuild byte for byte.
std::string refusal(const std::vector<std::pair<std::string, double>>& parts, uint64_t limit, double cap) {
  double total = 0;
  for (const auto& part : parts) total += part.second;
  // The (up to) three largest parts, in the order given.
  std::vector<double> sizes;
  for (const auto& part : parts) sizes.push_back(part.second);
  std::stable_sort(sizes.begin(), sizes.end(), [](double a, double b) { return a > b; });
  const size_t shown = std::min<size_t>(3, sizes.size());
  std::string message = "this call needs ";
  message += bytesText(total);
  message += " (";
  size_t listed = 0, nonzero = 0;
  for (const auto& part : parts) {
    if (part.second > 0) ++nonzero;
    if (shown == 0 || part.second == 0 || part.second < sizes[shown - 1] || listed == shown) continue;
    if (listed > 0) message += ", ";
    message += part.first;
    message += " ";
    message += bytesText(part.second);
    ++listed;
  }
  if (nonzero > listed) {
    message += " and ";
    message += std::to_string(nonzero - listed);
    message += " more";
  }
  message += "), more than ";
  if (static_cast<double>(limit) <= addressable()) {
    message += "the limit of ";
    message += bytesText(static_cast<double>(limit));
    message += " per call";
#if defined(__EMSCRIPTEN__)
    message += " (the WebAssembly heap); use smaller sizes or the native backend";
#else
    message += "; use smaller sizes, or raise the limit with SCORECRL_MAX_CALL_BYTES";
#endif
  } else {
    message += "this ";
    message += std::to_string(sizeof(size_t) * 8);
    message += "-bit build can address (";
    message += bytesText(cap);
    message += ")";
  }
  return message;
}

}  // namespace

void Request::check() const {
  const uint64_t limit = maxCallBytes();
  if (!overflow_ && total_ <= limit && static_cast<double>(total_) <= addressable()) return;
  const double cap = std::min(static_cast<double>(limit), addressable());
  throw OutOfMemory(op_, refusal(parts_, limit, cap));
}

size_t checkedCount(const std::string& op, const std::string& what, std::initializer_list<int64_t> dims,
                    uint64_t elementBytes) {
  Request request(op);
  request.add(what, dims, elementBytes);
  request.check();
  return static_cast<size_t>(request.bytes() / elementBytes);
}

}  // namespace scorecrl::limits
