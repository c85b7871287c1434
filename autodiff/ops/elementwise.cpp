// tapir/autodiff/ops/elementwise.cpp — arithmetic and elementwise math; each backward beside its op.
#include "autodiff/ops/elementwise.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "autodiff/ops/op_helpers.hpp"

namespace tapir {

using detail::binary;
using detail::binary_map;
using detail::unary;
using detail::unary_map;
using detail::unary_simd;

template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b) {
  return binary(
      "add", a, b, [](const auto& a, const auto& b) { return a + b; },
      [](const auto&, const auto&, const auto&, const auto& g) -> const auto& { return g; },
      [](const auto&, const auto&, const auto&, const auto& g) -> const auto& { return g; });
}

template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b) {
  return binary(
      "sub", a, b, [](const auto& a, const auto& b) { return a - b; },
      [](const auto&, const auto&, const auto&, const auto& g) -> const auto& { return g; },
      [](const auto&, const auto&, const auto&, const auto& g) { return -g; });
}

template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b) {
  return binary(
      "mul", a, b, [](const auto& a, const auto& b) { return a * b; },
      [](const auto&, const auto& b, const auto&, const auto& g) { return g * b; },
      [](const auto& a, const auto&, const auto&, const auto& g) { return g * a; });
}

template <class T>
Var<T> div(const Var<T>& a, const Var<T>& b) {
  return binary(
      "div", a, b, [](const auto& a, const auto& b) { return a / b; },
      [](const auto&, const auto& b, const auto&, const auto& g) { return g / b; },
      [](const auto&, const auto& b, const auto& y, const auto& g) { return -g * y / b; });
}

template <class T>
Var<T> add(const Var<T>& x, Scalar<T> s) {
  return unary(
      "add_scalar", x, [s](const auto& x) { return x + s; },
      [](const auto&, const auto&, const auto& g) -> const auto& { return g; });
}

template <class T>
Var<T> mul(const Var<T>& x, Scalar<T> s) {
  return unary(
      "mul_scalar", x, [s](const auto& x) { return x * s; },
      [s](const auto&, const auto&, const auto& g) { return g * s; });
}

template <class T>
Var<T> rsub(Scalar<T> s, const Var<T>& x) {
  return unary(
      "rsub_scalar", x, [s](const auto& x) { return s - x; },
      [](const auto&, const auto&, const auto& g) { return -g; });
}

template <class T>
Var<T> rdiv(Scalar<T> s, const Var<T>& x) {
  return unary(
      "rdiv_scalar", x, [s](const auto& x) { return s / x; },
      [](const auto& x, const auto& y, const auto& g) { return -g * y / x; });
}

template <class T>
Var<T> neg(const Var<T>& x) {
  return unary(
      "neg", x, [](const auto& x) { return -x; }, [](const auto&, const auto&, const auto& g) { return -g; });
}

// Everything below that calls libm goes through unary_map/binary_map (one scalar loop) or, for the
// hot exp and log, unary_simd (xsimd kernels on every element, the tail padded into a full batch):
// either way an element's value and gradient never depend on where it sits in the array.

template <class T>
Var<T> pow(const Var<T>& x, Scalar<T> p) {
  // d/dx x^p = p x^(p−1), but 0 for p = 0 everywhere (0^(−1) would give 0·∞ = NaN at x = 0).
  return unary_map(
      "pow_scalar", x, [p](T x) { return std::pow(x, p); },
      [p](T x, T, T g) { return p == T(0) ? T(0) : g * (p * std::pow(x, p - T(1))); });
}

template <class T>
Var<T> pow(const Var<T>& a, const Var<T>& b) {
  return binary_map(
      "pow", a, b, [](T a, T b) { return std::pow(a, b); },
      // dy/da = b a^(b−1), 0 where b = 0
      [](T a, T b, T, T g) { return b == T(0) ? T(0) : g * (b * std::pow(a, b - T(1))); },
      // dy/db = a^b log a, 0 where a = 0 and b ≥ 0 (PyTorch's choice; the one-sided limit from a > 0)
      [](T a, T b, T y, T g) { return a == T(0) && b >= T(0) ? T(0) : g * (y * std::log(a)); });
}

template <class T>
Var<T> square(const Var<T>& x) {
  return unary(
      "square", x, [](const auto& x) { return x * x; },
      [](const auto& x, const auto&, const auto& g) { return T(2) * x * g; });
}

template <class T>
Var<T> sqrt(const Var<T>& x) {
  // 1/(2|y|): +∞ at −0 as at +0 (√−0 = −0).
  return unary_map(
      "sqrt", x, [](T x) { return std::sqrt(x); }, [](T, T y, T g) { return g / (T(2) * std::abs(y)); });
}

template <class T>
Var<T> rsqrt(const Var<T>& x) {
  // d/dx x^(−1/2) = −x^(−3/2)/2 = −y/(2x)
  return unary_map(
      "rsqrt", x, [](T x) { return T(1) / std::sqrt(x); }, [](T x, T y, T g) { return g * (T(-0.5) * y / x); });
}

template <class T>
Var<T> exp(const Var<T>& x) {
  return unary_simd(
      "exp", x, [](auto x) { return xsimd::exp(x); }, [](auto, auto y, auto g) { return g * y; });
}

template <class T>
Var<T> log(const Var<T>& x) {
  return unary_simd(
      "log", x, [](auto x) { return xsimd::log(x); }, [](auto x, auto, auto g) { return g / x; });
}

template <class T>
Var<T> log1p(const Var<T>& x) {
  return unary_map(
      "log1p", x, [](T x) { return std::log1p(x); }, [](T x, T, T g) { return g / (T(1) + x); });
}

template <class T>
Var<T> expm1(const Var<T>& x) {
  // eˣ directly: y + 1 cancels to 0 for x ≪ 0 (−50 gives 0 instead of 1.9e−22).
  return unary_map(
      "expm1", x, [](T x) { return std::expm1(x); }, [](T x, T, T g) { return g * std::exp(x); });
}

template <class T>
Var<T> abs(const Var<T>& x) {
  return unary(
      "abs", x, [](const auto& x) { return xt::abs(x); },
      [](const auto& x, const auto&, const auto& g) { return g * xt::sign(x); });
}

template <class T>
Var<T> sin(const Var<T>& x) {
  return unary_map(
      "sin", x, [](T x) { return std::sin(x); }, [](T x, T, T g) { return g * std::cos(x); });
}

template <class T>
Var<T> cos(const Var<T>& x) {
  return unary_map(
      "cos", x, [](T x) { return std::cos(x); }, [](T x, T, T g) { return -g * std::sin(x); });
}

template <class T>
Var<T> tan(const Var<T>& x) {
  return unary_map(
      "tan", x, [](T x) { return std::tan(x); }, [](T, T y, T g) { return g * (T(1) + y * y); });
}

template <class T>
Var<T> atan(const Var<T>& x) {
  return unary_map(
      "atan", x, [](T x) { return std::atan(x); }, [](T x, T, T g) { return g / (T(1) + x * x); });
}

template <class T>
Var<T> sinh(const Var<T>& x) {
  return unary_map(
      "sinh", x, [](T x) { return std::sinh(x); }, [](T x, T, T g) { return g * std::cosh(x); });
}

template <class T>
Var<T> cosh(const Var<T>& x) {
  return unary_map(
      "cosh", x, [](T x) { return std::cosh(x); }, [](T x, T, T g) { return g * std::sinh(x); });
}

template <class T>
Var<T> erf(const Var<T>& x) {
  return unary_map(
      "erf", x, [](T x) { return std::erf(x); },
      [](T x, T, T g) { return g * (T(1.1283791670955126) * std::exp(-x * x)); });  // 2/√π
}

template <class T>
Var<T> lgamma(const Var<T>& x) {
  return unary_map(
      "lgamma", x, [](T x) { return std::lgamma(x); },
      [](T x, T, T g) { return g * static_cast<T>(digamma_scalar(static_cast<double>(x))); });
}

template <class T>
Var<T> digamma(const Var<T>& x) {
  return unary_map(
      "digamma", x, [](T x) { return static_cast<T>(digamma_scalar(static_cast<double>(x))); },
      [](T x, T, T g) { return g * static_cast<T>(trigamma_scalar(static_cast<double>(x))); });
}

template <class T>
Var<T> logit(const Var<T>& x, Scalar<T> eps) {
  const bool clamped = eps >= T(0);
  const T lo = clamped ? eps : T(0), hi = clamped ? T(1) - eps : T(1);
  return unary_map(
      "logit", x,
      [clamped, lo, hi](T x) {
        const T z = clamped ? std::min(std::max(x, lo), hi) : x;
        // log(z/(1−z)) loses the digits of a result near 0 (z near ½); there log1p((2z − 1)/(1 − z)),
        // whose 2z − 1 and 1 − z are exact for z ≥ ½ (and nearly so down to ¼).
        return z < T(0.25) ? std::log(z / (T(1) - z)) : std::log1p((T(2) * z - T(1)) / (T(1) - z));
      },
      [clamped, lo, hi](T x, T, T g) {
        if (x < lo || x > hi) return clamped ? T(0) : std::numeric_limits<T>::quiet_NaN();
        return g / (x * (T(1) - x));
      });
}

template <class T>
Var<T> xlogy(const Var<T>& x, const Var<T>& y) {
  return binary_map(
      "xlogy", x, y, [](T x, T y) { return x == T(0) && !std::isnan(y) ? T(0) : x * std::log(y); },
      // d/dx = log y, 0 where x = 0 and y ≤ 0 (PyTorch)
      [](T x, T y, T, T g) { return x == T(0) && y <= T(0) ? T(0) : g * std::log(y); },
      // d/dy = x/y, 0 where x = 0 (also at y = 0)
      [](T x, T y, T, T g) { return x == T(0) ? T(0) : g * x / y; });
}

template <class T>
Var<T> clamp(const Var<T>& x, Scalar<T> lo, Scalar<T> hi) {
  if (!(lo <= hi)) throw Error(fmt::format("clamp: lo = {} is greater than hi = {}", lo, hi));
  return unary(
      "clamp", x, [lo, hi](const auto& x) { return xt::clip(x, lo, hi); },
      [lo, hi](const auto& x, const auto&, const auto& g) { return xt::where((x >= lo) && (x <= hi), g, T(0)); });
}

template <class T>
Var<T> where(const xt::xarray<bool>& cond, const Var<T>& a, const Var<T>& b) {
  const Shape ab = a.shape() == b.shape() ? a.shape() : broadcast_shapes("where", a.shape(), b.shape());
  const Shape c(cond.shape().begin(), cond.shape().end());
  const Shape shape = c == ab ? ab : broadcast_shapes("where", c, ab);
  Var<T> y = detail::make_output("where", shape, a, b);
  xt::noalias(y.out()) = xt::where(cond, a.value(), b.value());
  auto mask = std::make_shared<const xt::xarray<bool>>(cond);  // shared so the closure stays cheap to copy
  y.on_backward([a, b, y, mask] {
    a.add_grad_unbroadcast(xt::where(*mask, y.grad(), T(0)));
    b.add_grad_unbroadcast(xt::where(*mask, T(0), y.grad()));
  });
  return y;
}

double digamma_scalar(double x) {
  constexpr double pi = 3.14159265358979323846;
  if (std::isnan(x) || x == -std::numeric_limits<double>::infinity()) return std::numeric_limits<double>::quiet_NaN();
  if (x <= 0 && std::floor(x) == x) return std::numeric_limits<double>::quiet_NaN();  // poles
  if (x < 0) return digamma_scalar(1 - x) - pi / std::tan(pi * x);                    // reflection
  double r = 0;
  while (x < 10) {  // ψ(x) = ψ(x + 1) − 1/x; then the asymptotic series is accurate to ~1e-14
    r -= 1 / x;
    x += 1;
  }
  const double f = 1 / (x * x);
  return r + std::log(x) - 0.5 / x -
         f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132)))));
}

double trigamma_scalar(double x) {
  constexpr double pi = 3.14159265358979323846;
  if (std::isnan(x)) return x;
  if (x <= 0 && std::floor(x) == x) return std::numeric_limits<double>::quiet_NaN();
  if (x < 0) {  // ψ₁(1 − x) + ψ₁(x) = π² / sin²(πx)
    const double s = std::sin(pi * x);
    return -trigamma_scalar(1 - x) + pi * pi / (s * s);
  }
  double r = 0;
  while (x < 10) {  // ψ₁(x) = ψ₁(x + 1) + 1/x²
    r += 1 / (x * x);
    x += 1;
  }
  const double f = 1 / (x * x);
  return r + 1 / x + f / 2 + f / x * (1.0 / 6 - f * (1.0 / 30 - f * (1.0 / 42 - f * (1.0 / 30 - f * (5.0 / 66)))));
}

#define TAPIR_INSTANTIATE(T)                                  \
  template Var<T> add(const Var<T>&, const Var<T>&);          \
  template Var<T> sub(const Var<T>&, const Var<T>&);          \
  template Var<T> mul(const Var<T>&, const Var<T>&);          \
  template Var<T> div(const Var<T>&, const Var<T>&);          \
  template Var<T> add(const Var<T>&, Scalar<T>);              \
  template Var<T> mul(const Var<T>&, Scalar<T>);              \
  template Var<T> rsub(Scalar<T>, const Var<T>&);             \
  template Var<T> rdiv(Scalar<T>, const Var<T>&);             \
  template Var<T> neg(const Var<T>&);                         \
  template Var<T> pow(const Var<T>&, Scalar<T>);              \
  template Var<T> pow(const Var<T>&, const Var<T>&);          \
  template Var<T> square(const Var<T>&);                      \
  template Var<T> sqrt(const Var<T>&);                        \
  template Var<T> rsqrt(const Var<T>&);                       \
  template Var<T> exp(const Var<T>&);                         \
  template Var<T> log(const Var<T>&);                         \
  template Var<T> log1p(const Var<T>&);                       \
  template Var<T> expm1(const Var<T>&);                       \
  template Var<T> abs(const Var<T>&);                         \
  template Var<T> sin(const Var<T>&);                         \
  template Var<T> cos(const Var<T>&);                         \
  template Var<T> tan(const Var<T>&);                         \
  template Var<T> atan(const Var<T>&);                        \
  template Var<T> sinh(const Var<T>&);                        \
  template Var<T> cosh(const Var<T>&);                        \
  template Var<T> logit(const Var<T>&, Scalar<T>);            \
  template Var<T> xlogy(const Var<T>&, const Var<T>&);        \
  template Var<T> erf(const Var<T>&);                         \
  template Var<T> lgamma(const Var<T>&);                      \
  template Var<T> digamma(const Var<T>&);                     \
  template Var<T> clamp(const Var<T>&, Scalar<T>, Scalar<T>); \
  template Var<T> where(const xt::xarray<bool>&, const Var<T>&, const Var<T>&);

TAPIR_INSTANTIATE(float)
TAPIR_INSTANTIATE(double)

}  // namespace tapir
