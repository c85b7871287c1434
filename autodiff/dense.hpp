// tapir/autodiff/dense.hpp — dense linear algebra on plain double arrays, no tape: Cholesky factors,
// triangular and Cholesky solves, log-determinants, symmetric eigendecompositions and scatter matrices.
//
// The one place tapir calls LAPACK (through LAPACKE, its C interface) and BLAS level 3
// for factorisations. Callers: exact EM (models/em), AIS's harmonic-mean proposal
// (models/inference), LowRankMultivariateNormal (nn/dist). Every function takes and returns
// row-major Array<double> by value or fills the caller's array; nothing is kept between calls.
#pragma once

#include <string_view>

#include "autodiff/array.hpp"

namespace tapir::dense {

/// The lower Cholesky factor L of a symmetric positive-definite (D, D) matrix A: A = L Lᵀ, L_ii > 0
/// (LAPACK dpotrf). Only A's lower triangle is read; L's strict upper triangle is zero. D = 0 gives
/// a (0, 0) factor.
/// Throws ShapeError unless A is square; throws Error naming `what` when an entry of the lower
/// triangle is NaN or ±∞, or when A is not positive definite (singular or indefinite).
Array<double> cholesky(const Array<double>& a, std::string_view what = "matrix");

/// log det A = 2 Σ_i log L_ii from A's Cholesky factor L (0 for D = 0).
double log_det_from_cholesky(const Array<double>& l);

/// Rows of Y (N, D) replaced by L⁻¹ y_n, i.e. Y := Y L⁻ᵀ in one BLAS dtrsm, so that
/// ‖L⁻¹ y_n‖² = y_nᵀ A⁻¹ y_n for A = L Lᵀ (a Mahalanobis distance without forming A⁻¹).
/// Throws ShapeError unless L is (D, D) and Y is (N, D).
void solve_lower_rows(const Array<double>& l, Array<double>& y);

/// Rows of Y (N, D) replaced by A⁻¹ y_n for A = L Lᵀ: Y := Y A⁻¹ = (Y L⁻ᵀ) L⁻¹, two dtrsm calls
/// (A is symmetric, so row n of Y A⁻¹ is A⁻¹ y_n). Throws ShapeError unless L is (D, D), Y (N, D).
void cholesky_solve_rows(const Array<double>& l, Array<double>& y);

/// A⁻¹ for a symmetric positive-definite A: A⁻¹ = L⁻ᵀ L⁻¹ = (L⁻ᵀ)(L⁻ᵀ)ᵀ from A = L Lᵀ.
/// Throws as cholesky, naming `what`.
Array<double> spd_inverse(const Array<double>& a, std::string_view what = "matrix");

/// A = V diag(λ) Vᵀ for a symmetric A, with λ ascending and V orthogonal.
struct SymmetricEigen {
  Array<double> values;   // (D,) λ, ascending
  Array<double> vectors;  // (D, D) V: column j is the unit eigenvector of values(j) (its sign is LAPACK's)
};

/// The eigendecomposition of a symmetric (D, D) matrix by divide and conquer (LAPACK dsyevd). Only
/// A's lower triangle is read. Throws ShapeError unless A is square; throws Error when an entry of
/// the lower triangle is NaN or ±∞, or when the algorithm does not converge.
SymmetricEigen symmetric_eigen(const Array<double>& a);

/// C = Aᵀ A / scale for A (N, D): a (D, D) scatter matrix in one BLAS dsyrk, mirrored to be exactly
/// symmetric. Throws ShapeError unless A is 2-D.
Array<double> gram(const Array<double>& a, double scale = 1.0);

}  // namespace tapir::dense
