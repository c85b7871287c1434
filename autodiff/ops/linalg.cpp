// tapir/autodiff/ops/linalg.cpp — matmul on BLAS; the transposes of backward are BLAS flags.
#include "autodiff/ops/linalg.hpp"

#include <cblas.h>

#include "autodiff/ops/op_helpers.hpp"

namespace tapir {

namespace {
inline CBLAS_TRANSPOSE flag(bool t) { return t ? CblasTrans : CblasNoTrans; }
inline blasint bi(std::size_t v) { return static_cast<blasint>(v); }
}  // namespace

void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, const float* b,
          float beta, float* c) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, flag(ta), flag(tb), bi(m), bi(n), bi(k), alpha, a, ta ? bi(m) : bi(k), b,
              tb ? bi(k) : bi(n), beta, c, bi(n));
}

void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a, const double* b,
          double beta, double* c) {
  if (m == 0 || n == 0) return;
  cblas_dgemm(CblasRowMajor, flag(ta), flag(tb), bi(m), bi(n), bi(k), alpha, a, ta ? bi(m) : bi(k), b,
              tb ? bi(k) : bi(n), beta, c, bi(n));
}

template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b) {
  const Shape& sa = a.shape();
  const Shape& sb = b.shape();
  if (sa.size() != 2 || sb.size() != 2)
    throw ShapeError(fmt::format("matmul: needs two 2-D arrays, got shapes {} and {}", shape_str(sa), shape_str(sb)));
  if (sa[1] != sb[0])
    throw ShapeError(fmt::format("matmul: shapes {} and {} are not aligned: {} (dim 1) != {} (dim 0)", shape_str(sa),
                                 shape_str(sb), sa[1], sb[0]));
  const std::size_t m = sa[0], k = sa[1], n = sb[1];
  Var<T> c = detail::make_output("matmul", Shape{m, n}, a, b);
  if (k == 0)
    std::fill(c.out().begin(), c.out().end(), T(0));
  else
    gemm(false, false, m, n, k, T(1), a.value().data(), b.value().data(), T(0), c.out().data());
  c.on_backward([a, b, c, m, n, k] {
    const T* g = c.grad().data();
    // dA (m, k) = G (m, n) · Bᵀ;  dB (k, n) = Aᵀ · G. beta = 1 accumulates into an existing gradient.
    a.accumulate_grad([&](Array<T>& da, bool acc) {
      gemm(false, true, m, k, n, T(1), g, b.value().data(), acc ? T(1) : T(0), da.data());
    });
    b.accumulate_grad([&](Array<T>& db, bool acc) {
      gemm(true, false, k, n, m, T(1), a.value().data(), g, acc ? T(1) : T(0), db.data());
    });
  });
  return c;
}

template Var<float> matmul(const Var<float>&, const Var<float>&);
template Var<double> matmul(const Var<double>&, const Var<double>&);

}  // namespace tapir
