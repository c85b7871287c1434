// tapir/autodiff/dense.cpp — LAPACKE's dpotrf/dsyevd and BLAS's dtrsm/dgemm/dsyrk on row-major arrays.
// The LAPACK calls hand a symmetric row-major buffer over as column-major (it is its own transpose).
#include "autodiff/dense.hpp"

#include <cblas.h>
#include <fmt/format.h>
#include <lapacke.h>

#include <cmath>

namespace tapir::dense {

namespace {

/// D for a square (D, D) matrix; throws ShapeError naming `fn` otherwise.
int check_square(const Array<double>& a, const char* fn) {
  if (a.dimension() != 2 || a.shape()[0] != a.shape()[1])
    throw ShapeError(fmt::format("{}: expected a square matrix, got shape {}", fn, shape_str(a.shape())));
  return static_cast<int>(a.shape()[0]);
}

/// Throws naming `what` at the first NaN or ±∞ of A's lower triangle (the part LAPACK reads).
void check_finite_lower(const Array<double>& a, std::string_view what) {
  const std::size_t n = a.shape()[0];
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j <= i; ++j)
      if (!std::isfinite(a(i, j)))
        throw Error(fmt::format("{} has a non-finite entry ({}, {}) = {}: check the values it was built from", what, i,
                                j, a(i, j)));
}

/// Throws for a negative LAPACKE return: a bad argument (a bug here) or LAPACKE's own allocation failure.
void check_lapacke_call(lapack_int info, const char* routine) {
  if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR)
    throw Error(fmt::format("{}: out of memory for LAPACK's workspace", routine));
  if (info < 0) throw Error(fmt::format("{}: argument {} is invalid", routine, -info));
}

void check_rows(const Array<double>& l, const Array<double>& y, const char* fn) {
  const int d = check_square(l, fn);
  if (y.dimension() != 2 || static_cast<int>(y.shape()[1]) != d)
    throw ShapeError(fmt::format("{0}: rows of {1} do not match a ({2}, {2}) factor", fn, shape_str(y.shape()), d));
}

}  // namespace

Array<double> cholesky(const Array<double>& a, std::string_view what) {
  const int n = check_square(a, "cholesky");
  check_finite_lower(a, what);
  Array<double> l = a;
  if (n == 0) return l;
  // A row-major buffer read column-major is Aᵀ = A, so LAPACK's column-major upper factor U (A = Uᵀ U)
  // lies, read row-major, in the lower triangle as L = Uᵀ: no transposed copies (which a row-major
  // LAPACKE call would make), and the same factor, bit for bit, as tapir's earlier direct dpotrf_ call.
  const lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', n, l.data(), n);
  check_lapacke_call(info, "cholesky (LAPACKE_dpotrf)");
  if (info > 0)
    throw Error(fmt::format(
        "{} is not positive definite (its leading minor of order {} of {} is not positive): it is singular or "
        "indefinite; add regularisation (a small multiple of I) or check how it was built",
        what, info, n));
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) l(i, j) = 0.0;  // dpotrf leaves A's upper triangle as it was
  return l;
}

double log_det_from_cholesky(const Array<double>& l) {
  const int n = check_square(l, "log_det_from_cholesky");
  double s = 0;
  for (int i = 0; i < n; ++i) s += std::log(l(i, i));
  return 2 * s;
}

void solve_lower_rows(const Array<double>& l, Array<double>& y) {
  check_rows(l, y, "solve_lower_rows");
  const int n = static_cast<int>(y.shape()[0]), d = static_cast<int>(l.shape()[0]);
  if (n == 0 || d == 0) return;
  // X Lᵀ = Y  ⇒  X = Y L⁻ᵀ.
  cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, n, d, 1.0, l.data(), d, y.data(), d);
}

void cholesky_solve_rows(const Array<double>& l, Array<double>& y) {
  check_rows(l, y, "cholesky_solve_rows");
  const int n = static_cast<int>(y.shape()[0]), d = static_cast<int>(l.shape()[0]);
  if (n == 0 || d == 0) return;
  // Y A⁻¹ = Y (L Lᵀ)⁻¹ = (Y L⁻ᵀ) L⁻¹.
  cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, n, d, 1.0, l.data(), d, y.data(), d);
  cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit, n, d, 1.0, l.data(), d, y.data(), d);
}

Array<double> spd_inverse(const Array<double>& a, std::string_view what) {
  const Array<double> l = cholesky(a, what);
  const std::size_t n = l.shape()[0];
  Array<double> l_inv_t = xt::eye<double>(n);
  solve_lower_rows(l, l_inv_t);  // I L⁻ᵀ = L⁻ᵀ
  Array<double> out = xt::zeros<double>({n, n});
  if (n == 0) return out;
  const int d = static_cast<int>(n);
  // A⁻¹ = L⁻ᵀ L⁻¹ = (L⁻ᵀ)(L⁻ᵀ)ᵀ.
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d, d, d, 1.0, l_inv_t.data(), d, l_inv_t.data(), d, 0.0,
              out.data(), d);
  return out;
}

SymmetricEigen symmetric_eigen(const Array<double>& a) {
  const int n = check_square(a, "symmetric_eigen");
  check_finite_lower(a, "symmetric_eigen: the matrix");
  SymmetricEigen e;
  Array<double> m = a;  // read column-major: Aᵀ = A, its upper triangle is A's lower one
  e.values = Array<double>::from_shape({static_cast<std::size_t>(n)});
  if (n == 0) {
    e.vectors = m;
    return e;
  }
  // Column-major with 'U', as for cholesky: no copies, and the same eigenvectors (signs included) as
  // tapir's earlier direct dsyevd_ call; a row-major 'L' call runs the other reduction and can flip signs.
  const lapack_int info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'U', n, m.data(), n, e.values.data());
  check_lapacke_call(info, "symmetric_eigen (LAPACKE_dsyevd)");
  if (info > 0)
    throw Error(
        fmt::format("symmetric_eigen: LAPACK dsyevd did not converge on a ({0}, {0}) matrix (info {1}); "
                    "check its scale",
                    n, info));
  e.vectors = xt::transpose(m);  // LAPACK's eigenvectors are its columns, i.e. the rows of row-major m
  return e;
}

Array<double> gram(const Array<double>& a, double scale) {
  if (a.dimension() != 2) throw ShapeError(fmt::format("gram: expected (N, D), got {}", shape_str(a.shape())));
  const int n = static_cast<int>(a.shape()[0]), d = static_cast<int>(a.shape()[1]);
  Array<double> c = xt::zeros<double>({static_cast<std::size_t>(d), static_cast<std::size_t>(d)});
  if (d == 0) return c;
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, n, 1.0 / scale, a.data(), d, 0.0, c.data(), d);
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < i; ++j) c(i, j) = c(j, i);
  return c;
}

}  // namespace tapir::dense
