// Random numbers that reproduce NumPy's `numpy.random.default_rng(seed)`.
//
// `Generator(seed)` is PCG64 (128-bit LCG, XSL-RR output) seeded through
// NumPy's SeedSequence, exactly as `default_rng(seed)` does, so the streams of
// `random`, `integers`, `permutation` and `standard_normal` match NumPy draw
// for draw: bit for bit, except that the rare ziggurat tail draws (|x| > 3.65,
// about 1 in 3700) go through libm's log1p and may differ in the last ulp on
// another libm. Every call consumes the same 64-bit (or buffered 32-bit) words
// NumPy consumes, so interleaved calls stay in step too.
//
// Not thread-safe: use one Generator per thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace scorecrl {

class Generator {
 public:
  // == numpy.random.default_rng(seed)
  explicit Generator(uint64_t seed);

  // Raw 64-bit output (bit_generator.random_raw()).
  uint64_t nextUint64();
  // NumPy's buffered 32-bit draw: the low half of a fresh 64-bit word, then
  // its high half on the next call.
  uint32_t nextUint32();

  // rng.random(): (next_uint64 >> 11) * 2^-53, in [0, 1).
  double random();
  // rng.uniform(low, high) = low + (high - low) * random(). Throws
  // scorecrl::Error if high - low is not finite (NumPy: OverflowError).
  double uniform(double low, double high);
  // rng.standard_normal(): NumPy's 256-layer ziggurat.
  double standardNormal();
  // rng.integers(low, high): uniform on [low, high), default int64 dtype,
  // Lemire's bounded method (32-bit buffered draws when the range fits).
  // Throws scorecrl::Error if high <= low.
  int64_t integers(int64_t low, int64_t high);
  // rng.permutation(n): a shuffled arange(n). Throws if n < 0.
  std::vector<int64_t> permutation(int64_t n);
  // rng.shuffle(x) for a 1-d array / list, in place.
  void shuffle(std::vector<int64_t>& values);

  // Same values as `count` successive calls of the scalar version.
  void fillRandom(double* out, size_t count);
  void fillStandardNormal(double* out, size_t count);
  void fillUniform(double* out, size_t count, double low, double high);

 private:
  // NumPy's random_interval: uniform on [0, max] by masked rejection.
  uint64_t randomInterval(uint64_t max);

  // 128-bit LCG state and increment, split in 64-bit halves.
  uint64_t stateHi_ = 0, stateLo_ = 0;
  uint64_t incHi_ = 0, incLo_ = 0;
  // Buffered high half for nextUint32.
  bool hasUint32_ = false;
  uint32_t uinteger_ = 0;
};

}  // namespace scorecrl
