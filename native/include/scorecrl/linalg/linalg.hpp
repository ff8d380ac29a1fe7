// Eigen types used across the core. Arrays crossing the binding are row-major
// float64 with samples as rows, so the core works on row-major maps of them.
#pragma once
#include <Eigen/Dense>

namespace scorecrl {

using Index = Eigen::Index;
using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;
using MatrixMap = Eigen::Map<Matrix>;
using ConstMatrixMap = Eigen::Map<const Matrix>;
using ConstVectorMap = Eigen::Map<const Vector>;

}  // namespace scorecrl
