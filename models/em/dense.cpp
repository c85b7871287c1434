// tapir/models/em/dense.cpp — LAPACK's dpotrf/dsyevd and BLAS's dtrsm/dsyrk on row-major arrays.
#include "models/em/dense.hpp"

#include <cblas.h>
#include <fmt/format.h>

#include <cmath>

extern "C" {
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w, double* work,
             const int* lwork, int* iwork, const int* liwork, int* info);
}

namespace tapir::models::em {

namespace {
int check_square(const Array<double>& a, const char* fn) {
  if (a.dimension() != 2 || a.shape()[0] != a.shape()[1])
    throw ShapeError(fmt::format("{}: expected a square matrix, got shape {}", fn, shape_str(a.shape())));
  return static_cast<int>(a.shape()[0]);
}
}  // namespace

Array<double> cholesky(const Array<double>& a, const char* what) {
  const int n = check_square(a, "cholesky");
  // Row-major A is column-major Aᵀ = A; LAPACK's upper factor U (A = UᵀU, column-major) read back
  // row-major is L = Uᵀ in the lower triangle.
  Array<double> l = a;
  int info = 0;
  dpotrf_("U", &n, l.data(), &n, &info);
  if (info > 0)
    throw Error(fmt::format("{} is not positive definite (leading minor {} of {}): add regularisation", what, info, n));
  if (info < 0) throw Error(fmt::format("cholesky: dpotrf argument {} invalid", -info));
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) l(i, j) = 0.0;
  return l;
}

double log_det_from_cholesky(const Array<double>& l) {
  double s = 0;
  for (std::size_t i = 0; i < l.shape()[0]; ++i) s += std::log(l(i, i));
  return 2 * s;
}

void solve_lower_rows(const Array<double>& l, Array<double>& y) {
  const int d = check_square(l, "solve_lower_rows");
  if (y.dimension() != 2 || static_cast<int>(y.shape()[1]) != d)
    throw ShapeError(
        fmt::format("solve_lower_rows: rows of {0} do not match a ({1}, {1}) factor", shape_str(y.shape()), d));
  cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, static_cast<int>(y.shape()[0]), d, 1.0,
              l.data(), d, y.data(), d);
}

Array<double> spd_inverse(const Array<double>& a, const char* what) {
  const Array<double> l = cholesky(a, what);
  const std::size_t n = l.shape()[0];
  Array<double> inv = xt::eye<double>(n);
  solve_lower_rows(l, inv);  // I L⁻ᵀ = L⁻ᵀ;  A⁻¹ = L⁻ᵀ L⁻¹ = (L⁻ᵀ)(L⁻ᵀ)ᵀ
  Array<double> out = Array<double>::from_shape({n, n});
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), static_cast<int>(n), static_cast<int>(n),
              1.0, inv.data(), static_cast<int>(n), inv.data(), static_cast<int>(n), 0.0, out.data(),
              static_cast<int>(n));
  return out;
}

Eigen symmetric_eigen(const Array<double>& a) {
  const int n = check_square(a, "symmetric_eigen");
  Eigen e;
  Array<double> m = a;  // symmetric: row- and column-major agree
  e.values = Array<double>::from_shape({static_cast<std::size_t>(n)});
  int info = 0, lwork = -1, liwork = -1, iwork_query = 0;
  double work_query = 0;
  dsyevd_("V", "U", &n, m.data(), &n, e.values.data(), &work_query, &lwork, &iwork_query, &liwork, &info);
  lwork = static_cast<int>(work_query);
  liwork = iwork_query;
  std::vector<double> work(static_cast<std::size_t>(std::max(1, lwork)));
  std::vector<int> iwork(static_cast<std::size_t>(std::max(1, liwork)));
  dsyevd_("V", "U", &n, m.data(), &n, e.values.data(), work.data(), &lwork, iwork.data(), &liwork, &info);
  if (info != 0) throw Error(fmt::format("symmetric_eigen: dsyevd failed (info {})", info));
  e.vectors = xt::transpose(m);  // LAPACK's eigenvectors are its columns, i.e. rows of our row-major m
  return e;
}

Array<double> gram(const Array<double>& a, double scale) {
  if (a.dimension() != 2) throw ShapeError(fmt::format("gram: expected (N, D), got {}", shape_str(a.shape())));
  const int n = static_cast<int>(a.shape()[0]), d = static_cast<int>(a.shape()[1]);
  Array<double> c = xt::zeros<double>({static_cast<std::size_t>(d), static_cast<std::size_t>(d)});
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, n, 1.0 / scale, a.data(), d, 0.0, c.data(), d);
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < i; ++j) c(i, j) = c(j, i);
  return c;
}

}  // namespace tapir::models::em
