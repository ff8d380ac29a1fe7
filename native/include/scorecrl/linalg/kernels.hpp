// Hot dense kernels with a run-time choice of instruction set: prebuilt
// binaries target baseline x86-64, and AVX2+FMA doubles their speed where the
// CPU has it. WebAssembly builds with simd128 use a hand-written kernel, since
// Eigen has no simd128 packets.
#pragma once
#include "scorecrl/linalg/linalg.hpp"

namespace scorecrl {

// acc (cols×cols, column-major, lower triangle used) += x^T x, where x is a
// contiguous row-major rows×cols block.
void gramAccumulate(const double* x, Index rows, Index cols, double* acc);

// The instruction set gramAccumulate uses on this CPU ("avx2+fma", "sse2", ...).
const char* kernelSimd();

namespace avx2 {
// Defined in kernels_avx2.cpp (compiled for AVX2+FMA); call only if supported.
void gramAccumulate(const double* x, long rows, long cols, double* acc);
bool compiled();
}  // namespace avx2

namespace simd128 {
// Defined in kernels_wasm.cpp only when compiling for WebAssembly SIMD
// (__wasm_simd128__); kernels.cpp calls it only then.
void gramAccumulate(const double* x, long rows, long cols, double* acc);
}  // namespace simd128

}  // namespace scorecrl
