// Tall-skinny products out = a * b for the simulation's hot loops: a has many
// rows (samples) and few columns (k <= ~100), b is small (k x m). Uses an
// AVX2+FMA kernel when the CPU has it (chosen at run time; prebuilt binaries
// stay baseline x86-64), else a plain loop. Results may differ from
// repro::product in the last bit (fused multiply-adds); use repro::product
// where bit-identical results across platforms matter.
#pragma once
#include <vector>

#include "scorecrl/linalg/linalg.hpp"

namespace scorecrl {

class SmallProduct {
 public:
  SmallProduct() = default;
  // b: k x m, row-major.
  explicit SmallProduct(const Matrix& b);
  // out (rows x m, row-major) = a (rows x k, row-major) * b.
  void apply(const double* a, Index rows, double* out) const;
  Index k() const { return k_; }
  Index m() const { return m_; }

 private:
  Index k_ = 0, m_ = 0, padded_ = 0;
  std::vector<double> b_;  // k x padded_ (columns padded with zeros to a multiple of 4)
};

// The instruction set SmallProduct uses on this CPU ("avx2+fma" or "baseline").
const char* smallProductSimd();

}  // namespace scorecrl
