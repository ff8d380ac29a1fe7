// The check macros of the core's C++ tests: each counts, and a failed one
// prints its place and expression; main() returns `failures == 0 ? 0 : 1`.
#pragma once
#include <cmath>
#include <cstdio>

namespace {

int failures = 0;
int checks = 0;

}  // namespace

#define CHECK(cond)                                                        \
  do {                                                                     \
    ++checks;                                                              \
    if (!(cond)) {                                                         \
      ++failures;                                                          \
      std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                      \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                                               \
  do {                                                                                                      \
    ++checks;                                                                                               \
    const double va_ = (a), vb_ = (b);                                                                      \
    if (!(std::abs(va_ - vb_) <= (tol))) {                                                                  \
      ++failures;                                                                                           \
      std::fprintf(stderr, "FAIL %s:%d: %s = %.17g vs %s = %.17g\n", __FILE__, __LINE__, #a, va_, #b, vb_); \
    }                                                                                                       \
  } while (0)
