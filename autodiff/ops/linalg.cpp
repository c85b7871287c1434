// tapir/autodiff/ops/linalg.cpp — matmul on BLAS (autodiff/blas.hpp); the transposes of backward are BLAS flags.
#include "autodiff/ops/linalg.hpp"

#include "autodiff/blas.hpp"
#include "autodiff/ops/op_helpers.hpp"

#include <type_traits>

namespace tapir {

void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, const float* b,
          float beta, float* c) {
  blas_sgemm(ta, tb, m, n, k, alpha, a, b, beta, c);
}

void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a, const double* b,
          double beta, double* c) {
  blas_dgemm(ta, tb, m, n, k, alpha, a, b, beta, c);
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

template <class T>
Var<T> linear(const Var<T>& x, const Var<T>& w, const Var<T>& b) {
  const Shape& sx = x.shape();
  const Shape& sw = w.shape();
  const Shape& sb = b.shape();
  if (sx.size() < 2 || sw.size() != 2 || sb.size() != 1 || sx.back() != sw[0] || sb[0] != sw[1])
    throw ShapeError(fmt::format("linear: x {}, W {} and b {} do not fit y = x W + b (need (..., m, k), (k, n), (n,))",
                                 shape_str(sx), shape_str(sw), shape_str(sb)));
  Tape<T>& tape = detail::common_tape("linear", x, w);
  if (&tape != &b.tape()) throw Error("linear: the operands belong to different tapes");
  // Leading axes are rows: x (..., m, k) is (Π leading · m, k) in memory already, so no reshape.
  const std::size_t k = sx.back(), n = sw[1], m = k > 0 ? x.size() / k : shape_size(Shape(sx.begin(), sx.end() - 1));
  Shape sy = sx;
  sy.back() = n;
  Var<T> y = tape.push("linear", sy, x.requires_grad() || w.requires_grad() || b.requires_grad());
  T* out = y.out().data();
  const T* bias = b.value().data();
  if constexpr (std::is_same_v<T, float>) {  // y = x W + b, the bias added as the product stores its blocks
    blas_sgemm_bias(m, n, k, x.value().data(), w.value().data(), bias, out);
  } else {
    for (std::size_t i = 0; i < m; ++i) std::copy_n(bias, n, out + i * n);                        // y = b (each row)
    if (k > 0) gemm(false, false, m, n, k, T(1), x.value().data(), w.value().data(), T(1), out);  // y += x W
  }
  y.on_backward([x, w, b, y, m, n, k] {
    const T* g = y.grad().data();
    x.accumulate_grad([&](Array<T>& dx, bool acc) {  // dx = G Wᵀ
      gemm(false, true, m, k, n, T(1), g, w.value().data(), acc ? T(1) : T(0), dx.data());
    });
    w.accumulate_grad([&](Array<T>& dw, bool acc) {  // dW = xᵀ G
      gemm(true, false, k, n, m, T(1), x.value().data(), g, acc ? T(1) : T(0), dw.data());
    });
    b.accumulate_grad([&](Array<T>& db, bool acc) {  // db = Σ_i G[i, :]
      T* d = db.data();
      if (!acc) std::fill(d, d + n, T(0));
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) d[j] += g[i * n + j];
    });
  });
  return y;
}

template <class T>
Var<T> bmm(const Var<T>& a, const Var<T>& b) {
  const Shape& sa = a.shape();
  const Shape& sb = b.shape();
  if (sa.size() != 3 || sb.size() != 3 || sa[0] != sb[0] || sa[2] != sb[1])
    throw ShapeError(
        fmt::format("bmm: shapes {} and {} do not fit (b, m, k) × (b, k, n)", shape_str(sa), shape_str(sb)));
  const std::size_t nb = sa[0], m = sa[1], k = sa[2], n = sb[2];
  Var<T> c = detail::make_output("bmm", Shape{nb, m, n}, a, b);
  if (k == 0) std::fill(c.out().begin(), c.out().end(), T(0));
  for (std::size_t i = 0; i < nb && k > 0; ++i)  // one gemm per batch on contiguous (m, k), (k, n) blocks
    gemm(false, false, m, n, k, T(1), a.value().data() + i * m * k, b.value().data() + i * k * n, T(0),
         c.out().data() + i * m * n);
  c.on_backward([a, b, c, nb, m, n, k] {
    const T* g = c.grad().data();
    // per batch: dA_i = G_i B_iᵀ, dB_i = A_iᵀ G_i
    a.accumulate_grad([&](Array<T>& da, bool acc) {
      for (std::size_t i = 0; i < nb; ++i)
        gemm(false, true, m, k, n, T(1), g + i * m * n, b.value().data() + i * k * n, acc ? T(1) : T(0),
             da.data() + i * m * k);
    });
    b.accumulate_grad([&](Array<T>& db, bool acc) {
      for (std::size_t i = 0; i < nb; ++i)
        gemm(true, false, k, n, m, T(1), a.value().data() + i * m * k, g + i * m * n, acc ? T(1) : T(0),
             db.data() + i * k * n);
    });
  });
  return c;
}

template Var<float> bmm(const Var<float>&, const Var<float>&);
template Var<double> bmm(const Var<double>&, const Var<double>&);
template Var<float> linear(const Var<float>&, const Var<float>&, const Var<float>&);
template Var<double> linear(const Var<double>&, const Var<double>&, const Var<double>&);
template Var<float> matmul(const Var<float>&, const Var<float>&);
template Var<double> matmul(const Var<double>&, const Var<double>&);

}  // namespace tapir
