// tapir/models/em/dense.hpp — the dense linear algebra exact EM needs, in double: Cholesky factors,
// triangular solves, log-determinants and symmetric eigendecompositions (LAPACK through OpenBLAS).
#pragma once

#include "autodiff/array.hpp"

namespace tapir::models::em {

/// The lower Cholesky factor L of a symmetric positive-definite (D, D) matrix: A = L Lᵀ.
/// Throws tapir::Error naming `what` when A is not positive definite.
Array<double> cholesky(const Array<double>& a, const char* what = "matrix");

/// log det A = 2 Σ log L_ii from A's Cholesky factor L.
double log_det_from_cholesky(const Array<double>& l);

/// Rows of Y (N, D) replaced by L⁻¹ y_n: Y := Y L⁻ᵀ, one BLAS call (so ‖row‖² = yᵀ A⁻¹ y).
void solve_lower_rows(const Array<double>& l, Array<double>& y);

/// A⁻¹ for symmetric positive-definite A, through its Cholesky factor.
Array<double> spd_inverse(const Array<double>& a, const char* what = "matrix");

/// Eigenvalues (ascending) and eigenvectors (columns) of a symmetric matrix.
struct Eigen {
  Array<double> values;   // (D,)
  Array<double> vectors;  // (D, D): column j belongs to values(j)
};
Eigen symmetric_eigen(const Array<double>& a);

/// C = Aᵀ A / scale for A (N, D): a scatter matrix in one BLAS call.
Array<double> gram(const Array<double>& a, double scale = 1.0);

}  // namespace tapir::models::em
