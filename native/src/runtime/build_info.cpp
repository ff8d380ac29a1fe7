#include "scorecrl/linalg/kernels.hpp"
#include "scorecrl/runtime/ops.hpp"
#include "scorecrl/runtime/parallel.hpp"

#ifndef SCORECRL_VERSION
#define SCORECRL_VERSION "0.0.0-dev"
#endif

namespace scorecrl {

BuildInfo buildInfo() {
  BuildInfo info;
  info.version = SCORECRL_VERSION;
  info.simd = kernelSimd();
#if defined(EIGEN_USE_BLAS)
  info.blas = true;
#else
  info.blas = false;
#endif
  info.threads = threads();
  info.eigen = std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
               std::to_string(EIGEN_MINOR_VERSION);
  return info;
}

}  // namespace scorecrl
