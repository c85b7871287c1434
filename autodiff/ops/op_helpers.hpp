// tapir/autodiff/ops/op_helpers.hpp — shared plumbing for op implementations (not a public API).
//
// unary() and binary() capture the pattern every elementwise op follows: size the output, evaluate
// the forward expression into the tape's buffer, and register a backward closure that turns the
// output gradient into each input's gradient. Only evaluated arrays and Var handles are captured.
//
// Which of the three forms an op uses:
// - unary()/binary(): xtensor expressions, for IEEE arithmetic (+, ×, /, where, clip), whose SIMD and
//   scalar code agree bit for bit;
// - unary_map()/binary_map(): one scalar loop over std:: functions, for anything that calls libm;
// - unary_simd()/binary_simd(): xsimd kernels on every element, the tail padded into one batch, for
//   the hot activations where a scalar libm call per element costs 4–14× (exp, log, tanh, σ, ...).
// Never put a libm function (xt::exp, xt::pow, ...) in a unary()/binary() expression: xtensor runs
// xsimd over whole batches and scalar code over the tail, and the two disagree, so the element's value
// would depend on its position in the array (tests/autodiff/test_edges.cpp checks every op for this).
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include <optional>

#include <xsimd/xsimd.hpp>

#include <xtensor/xbroadcast.hpp>

#include "autodiff/parallel.hpp"
#include "autodiff/tape.hpp"

namespace tapir::detail {

template <class T>
Var<T> make_output(const char* op, const Shape& shape, const Var<T>& x) {
  return x.tape().push(op, shape, x.requires_grad());
}

template <class T>
Tape<T>& common_tape(const char* op, const Var<T>& a, const Var<T>& b) {
  Tape<T>& t = a.tape();
  if (&t != &b.tape()) throw Error(fmt::format("{}: the operands belong to different tapes", op));
  return t;
}

template <class T>
Var<T> make_output(const char* op, const Shape& shape, const Var<T>& a, const Var<T>& b) {
  return common_tape(op, a, b).push(op, shape, a.requires_grad() || b.requires_grad());
}

/// y = fwd(x);  x.grad += bwd(x, y, g).
template <class T, class Fwd, class Bwd>
Var<T> unary(const char* op, const Var<T>& x, Fwd fwd, Bwd bwd) {
  Var<T> y = make_output(op, x.shape(), x);
  xt::noalias(y.out()) = fwd(x.value());
  y.on_backward([x, y, bwd] { x.add_grad(bwd(x.value(), y.value(), y.grad())); });
  return y;
}

/// y = fwd(a, b) broadcast;  a.grad += unbroadcast(bwd_a(a, b, y, g)), same for b.
template <class T, class Fwd, class BwdA, class BwdB>
Var<T> binary(const char* op, const Var<T>& a, const Var<T>& b, Fwd fwd, BwdA bwd_a, BwdB bwd_b) {
  const Shape shape = a.shape() == b.shape() ? a.shape() : broadcast_shapes(op, a.shape(), b.shape());
  Var<T> y = make_output(op, shape, a, b);
  xt::noalias(y.out()) = fwd(a.value(), b.value());
  y.on_backward([a, b, y, bwd_a, bwd_b] {
    if (a.requires_grad()) a.add_grad_unbroadcast(bwd_a(a.value(), b.value(), y.value(), y.grad()));
    if (b.requires_grad()) b.add_grad_unbroadcast(bwd_b(a.value(), b.value(), y.value(), y.grad()));
  });
  return y;
}

/// σ(x) = 1/(1 + e⁻ˣ) from e = e^(−|x|) ∈ [0, 1]: (x ≥ 0 ? 1 : e)/(1 + e), so it never overflows.
template <class T>
T sigmoid_scalar(T x) {
  const T e = std::exp(-std::abs(x));
  return (x >= T(0) ? T(1) : e) / (T(1) + e);
}

/// σ'(x) = σ(x) σ(−x) = e/(1 + e)² with e = e^(−|x|): no 1 − σ, which cancels to 0 for x ≫ 0.
template <class T>
T sigmoid_slope_scalar(T x) {
  const T e = std::exp(-std::abs(x));
  return e / ((T(1) + e) * (T(1) + e));
}

/// y = f(x) elementwise by one scalar function;  x.grad += df(x, y, g) element by element.
/// For every op that calls libm (exp, log, pow, erf, ...): xtensor evaluates an expression with xsimd
/// kernels over whole SIMD batches and with scalar code over the tail, and the two disagree (in the
/// last bits for exp and sin; outright for pow(0, 0), lgamma(−0), exp's underflow), so an element's
/// value would depend on its position. One scalar loop gives every element the same code.
template <class T, class F, class D>
Var<T> unary_map(const char* op, const Var<T>& x, F f, D df) {
  Var<T> y = make_output(op, x.shape(), x);
  const T* xv = x.value().data();
  T* yv = y.out().data();
  for (std::size_t i = 0, n = x.size(); i < n; ++i) yv[i] = f(xv[i]);
  y.on_backward([x, y, df] {
    x.accumulate_grad([&](Array<T>& dx, bool acc) {
      const T* xv = x.value().data();
      const T* yv = y.value().data();
      const T* g = y.grad().data();
      T* d = dx.data();
      for (std::size_t i = 0, n = dx.size(); i < n; ++i) {
        const T v = df(xv[i], yv[i], g[i]);
        d[i] = acc ? d[i] + v : v;
      }
    });
  });
  return y;
}

/// out[i] (+)= f(in[i]...) for i < n, where f maps xsimd batches to a batch. Whole batches first, then
/// the tail copied into one zero-padded batch: every element runs the same SIMD kernel, so (unlike an
/// xtensor expression, whose tail runs scalar code) its result does not depend on its position, and
/// the hot activations keep their SIMD speed.
template <class T, class F, class... In>
void simd_apply_serial(std::size_t n, T* out, bool accumulate, F f, const In*... in) {
  using B = xsimd::batch<T>;
  constexpr std::size_t w = B::size;
  std::size_t i = 0;
  for (; i + w <= n; i += w) {
    B r = f(B::load_unaligned(in + i)...);
    if (accumulate) r += B::load_unaligned(out + i);
    r.store_unaligned(out + i);
  }
  if (i == n) return;
  const std::size_t rest = n - i;
  auto pad = [i, rest](const T* p) {
    std::array<T, w> a{};
    std::copy(p + i, p + i + rest, a.begin());
    return B::load_unaligned(a.data());
  };
  std::array<T, w> r{};
  f(pad(in)...).store_unaligned(r.data());
  for (std::size_t j = 0; j < rest; ++j) out[i + j] = accumulate ? out[i + j] + r[j] : r[j];
}

/// Elements per task when simd_apply runs on several threads: a multiple of every batch width, so only
/// the last chunk has a padded tail, as in one pass — the numbers do not depend on the split.
inline constexpr std::size_t kSimdGrain = 8192;

/// out[i] (+)= f(in[i]...) for i < n, as simd_apply_serial, in chunks of kSimdGrain on tapir's threads.
template <class T, class F, class... In>
void simd_apply(std::size_t n, T* out, bool accumulate, F f, const In*... in) {
  if (n <= kSimdGrain) return simd_apply_serial(n, out, accumulate, f, in...);
  const auto chunk = [&](std::size_t lo, std::size_t hi) {
    simd_apply_serial(hi - lo, out + lo, accumulate, f, (in + lo)...);
  };
  parallel_chunks(n, kSimdGrain, chunk);
}

/// unary_map with SIMD kernels: y = f(x) and x.grad += df(x, y, g), f and df taking xsimd batches.
template <class T, class F, class D>
Var<T> unary_simd(const char* op, const Var<T>& x, F f, D df) {
  Var<T> y = make_output(op, x.shape(), x);
  simd_apply(x.size(), y.out().data(), false, f, x.value().data());
  y.on_backward([x, y, df] {
    x.accumulate_grad([&](Array<T>& dx, bool acc) {
      simd_apply(dx.size(), dx.data(), acc, df, x.value().data(), y.value().data(), y.grad().data());
    });
  });
  return y;
}

/// σ(x) and σ'(x) = σ(x)σ(−x) on a batch, from e = e^(−|x|) as sigmoid_scalar.
template <class B>
B sigmoid_batch(const B& x) {
  const B e = xsimd::exp(-xsimd::abs(x));
  return xsimd::select(x >= B(0), B(1), e) / (B(1) + e);
}
template <class B>
B sigmoid_slope_batch(const B& x) {
  const B e = xsimd::exp(-xsimd::abs(x));
  return e / ((B(1) + e) * (B(1) + e));
}

/// v's data broadcast to `shape` (which v broadcasts to): v itself when the broadcast only adds
/// leading or size-1 axes — the same number of elements, so the same row-major layout (a (B, D) batch
/// against (1, B, D) logits) — else a copy in `storage`. (An optional: a default-constructed xarray is
/// 0-d and allocates its one element, twice per op per step.)
template <class T>
const T* broadcast_data(const Array<T>& v, const Shape& shape, std::optional<Array<T>>& storage) {
  if (v.shape() == shape) return v.data();
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  if (n == v.size()) return v.data();
  storage.emplace(xt::broadcast(v, shape));
  return storage->data();
}

/// The scalar-loop form of binary(): y = f(a, b) broadcast;  a.grad += unbroadcast(da(a, b, y, g)).
template <class T, class F, class DA, class DB>
Var<T> binary_map(const char* op, const Var<T>& a, const Var<T>& b, F f, DA da, DB db) {
  const Shape shape = a.shape() == b.shape() ? a.shape() : broadcast_shapes(op, a.shape(), b.shape());
  Var<T> y = make_output(op, shape, a, b);
  std::optional<Array<T>> sa, sb;
  const T* av = broadcast_data(a.value(), shape, sa);
  const T* bv = broadcast_data(b.value(), shape, sb);
  T* yv = y.out().data();
  for (std::size_t i = 0, n = y.size(); i < n; ++i) yv[i] = f(av[i], bv[i]);
  y.on_backward([a, b, y, da, db] {
    const Shape& shape = y.shape();
    std::optional<Array<T>> sa, sb;
    const T* av = broadcast_data(a.value(), shape, sa);
    const T* bv = broadcast_data(b.value(), shape, sb);
    const T* yv = y.value().data();
    const T* g = y.grad().data();
    const std::size_t n = y.size();
    auto grad_of = [&](const Var<T>& v, auto d) {
      if (!v.requires_grad()) return;
      if (v.shape() == shape) {
        v.accumulate_grad([&](Array<T>& dv, bool acc) {
          T* p = dv.data();
          for (std::size_t i = 0; i < n; ++i) {
            const T e = d(av[i], bv[i], yv[i], g[i]);
            p[i] = acc ? p[i] + e : e;
          }
        });
      } else {
        Array<T> full = Array<T>::from_shape(shape);
        for (std::size_t i = 0; i < n; ++i) full.data()[i] = d(av[i], bv[i], yv[i], g[i]);
        v.add_grad_unbroadcast(full);
      }
    };
    grad_of(a, da);
    grad_of(b, db);
  });
  return y;
}

/// binary_map with SIMD kernels (f, da, db take xsimd batches).
template <class T, class F, class DA, class DB>
Var<T> binary_simd(const char* op, const Var<T>& a, const Var<T>& b, F f, DA da, DB db) {
  const Shape shape = a.shape() == b.shape() ? a.shape() : broadcast_shapes(op, a.shape(), b.shape());
  Var<T> y = make_output(op, shape, a, b);
  std::optional<Array<T>> sa, sb;
  simd_apply(y.size(), y.out().data(), false, f, broadcast_data(a.value(), shape, sa),
             broadcast_data(b.value(), shape, sb));
  y.on_backward([a, b, y, da, db] {
    const Shape& shape = y.shape();
    std::optional<Array<T>> sa, sb;
    const T* av = broadcast_data(a.value(), shape, sa);
    const T* bv = broadcast_data(b.value(), shape, sb);
    const T* yv = y.value().data();
    const T* g = y.grad().data();
    auto grad_of = [&](const Var<T>& v, auto d) {
      if (!v.requires_grad()) return;
      if (v.shape() == shape) {
        v.accumulate_grad([&](Array<T>& dv, bool acc) { simd_apply(dv.size(), dv.data(), acc, d, av, bv, yv, g); });
      } else {
        Array<T> full = Array<T>::from_shape(shape);
        simd_apply(full.size(), full.data(), false, d, av, bv, yv, g);
        v.add_grad_unbroadcast(full);
      }
    };
    grad_of(a, da);
    grad_of(b, db);
  });
  return y;
}

/// A shape viewed as (outer, n, inner) around one axis: element (o, k, i) is at (o n + k) inner + i.
struct AxisSplit {
  std::size_t outer = 1, n = 1, inner = 1;
};

inline AxisSplit split_axis(const Shape& s, std::size_t axis) {
  AxisSplit r;
  for (std::size_t i = 0; i < axis; ++i) r.outer *= s[i];
  r.n = s[axis];
  for (std::size_t i = axis + 1; i < s.size(); ++i) r.inner *= s[i];
  return r;
}

}  // namespace tapir::detail
