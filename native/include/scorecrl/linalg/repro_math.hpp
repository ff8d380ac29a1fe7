// Elementary functions and small kernels that give bit-identical results on
// every platform (native x86-64 and WebAssembly): only IEEE-754 +, -, *, /,
// sqrt and exact scaling, in a fixed order. libm's tanh/exp and BLAS or SIMD
// reductions may differ in the last bit between builds; through a badly
// conditioned Jacobian such differences would grow far beyond it, so the
// simulation's nonlinear paths use these instead.
#pragma once
#include <cmath>
#include <cstddef>

namespace scorecrl {
namespace repro {

// exp(x) - 1 for |x| <= 0.35: Taylor series to x^15 (remainder < 1e-20 |x|).
inline double expm1Small(double x) {
  double p = 1.0 / 1307674368000.0;  // 1/15!
  p = p * x + 1.0 / 87178291200.0;
  p = p * x + 1.0 / 6227020800.0;
  p = p * x + 1.0 / 479001600.0;
  p = p * x + 1.0 / 39916800.0;
  p = p * x + 1.0 / 3628800.0;
  p = p * x + 1.0 / 362880.0;
  p = p * x + 1.0 / 40320.0;
  p = p * x + 1.0 / 5040.0;
  p = p * x + 1.0 / 720.0;
  p = p * x + 1.0 / 120.0;
  p = p * x + 1.0 / 24.0;
  p = p * x + 1.0 / 6.0;
  p = p * x + 0.5;
  return x + (x * x) * p;
}

// Splits x = k ln2 + r with |r| <= ln2/2 (Cody-Waite: k * ln2Hi is exact).
inline double reduceLn2(double x, double& k) {
  const double ln2Hi = 6.93147180369123816490e-01;
  const double ln2Lo = 1.90821492927058770002e-10;
  k = std::nearbyint(x * 1.44269504088896338700);
  return (x - k * ln2Hi) - k * ln2Lo;
}

// exp(x), within a few ulp.
inline double exp(double x) {
  if (x < -745.2) return 0.0;
  if (x > 709.7) return HUGE_VAL;
  double k;
  const double r = reduceLn2(x, k);
  return std::ldexp(1.0 + expm1Small(r), static_cast<int>(k));
}

// exp(x) - 1, within a few ulp.
inline double expm1(double x) {
  if (std::fabs(x) <= 0.3465) return expm1Small(x);
  if (x < -40.0) return -1.0;
  return exp(x) - 1.0;
}

inline double tanh(double a) {
  const double t = std::fabs(a);
  if (t > 22.0) return a > 0 ? 1.0 : -1.0;
  const double e = expm1(-2.0 * t);
  const double v = -e / (2.0 + e);
  return a < 0 ? -v : v;
}

// sech^2(a) = 1 - tanh^2(a) = 4 e / (1 + e)^2 with e = exp(-2|a|): accurate
// where tanh(a) rounds to +-1.
inline double sech2(double a) {
  const double e = exp(-2.0 * std::fabs(a));
  const double s = 1.0 + e;
  return 4.0 * e / (s * s);
}

// out (rows x m) = in (rows x k) * b (k x m), all row-major; every output is
// summed over k in ascending order.
inline void product(const double* in, std::ptrdiff_t rows, std::ptrdiff_t k, const double* b, std::ptrdiff_t m,
                    double* out) {
  for (std::ptrdiff_t r = 0; r < rows; ++r) {
    double* o = out + r * m;
    const double* a = in + r * k;
    for (std::ptrdiff_t j = 0; j < m; ++j) o[j] = 0.0;
    for (std::ptrdiff_t t = 0; t < k; ++t) {
      const double av = a[t];
      const double* bt = b + t * m;
      for (std::ptrdiff_t j = 0; j < m; ++j) o[j] += av * bt[j];
    }
  }
}

}  // namespace repro
}  // namespace scorecrl
