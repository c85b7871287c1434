// tapir/autodiff/ops/elementwise.cpp — arithmetic and elementwise math; each backward beside its op.
#include "autodiff/ops/elementwise.hpp"

#include <cmath>
#include <limits>
#include <memory>

#include "autodiff/ops/op_helpers.hpp"

namespace tapir {

using detail::binary;
using detail::unary;

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

template <class T>
Var<T> pow(const Var<T>& x, Scalar<T> p) {
  return unary(
      "pow_scalar", x, [p](const auto& x) { return xt::pow(x, p); },
      [p](const auto& x, const auto&, const auto& g) { return g * p * xt::pow(x, p - T(1)); });
}

template <class T>
Var<T> pow(const Var<T>& a, const Var<T>& b) {
  return binary(
      "pow", a, b, [](const auto& a, const auto& b) { return xt::pow(a, b); },
      [](const auto& a, const auto& b, const auto&, const auto& g) { return g * b * xt::pow(a, b - T(1)); },
      [](const auto& a, const auto& b, const auto& y, const auto& g) {
        return g * xt::where(xt::equal(a, T(0)) && (b >= T(0)), T(0), y * xt::log(a));
      });
}

template <class T>
Var<T> square(const Var<T>& x) {
  return unary(
      "square", x, [](const auto& x) { return x * x; },
      [](const auto& x, const auto&, const auto& g) { return T(2) * x * g; });
}

template <class T>
Var<T> sqrt(const Var<T>& x) {
  return unary(
      "sqrt", x, [](const auto& x) { return xt::sqrt(x); },
      [](const auto&, const auto& y, const auto& g) { return g / (T(2) * y); });
}

template <class T>
Var<T> exp(const Var<T>& x) {
  return unary(
      "exp", x, [](const auto& x) { return xt::exp(x); },
      [](const auto&, const auto& y, const auto& g) { return g * y; });
}

template <class T>
Var<T> log(const Var<T>& x) {
  return unary(
      "log", x, [](const auto& x) { return xt::log(x); },
      [](const auto& x, const auto&, const auto& g) { return g / x; });
}

template <class T>
Var<T> log1p(const Var<T>& x) {
  return unary(
      "log1p", x, [](const auto& x) { return xt::log1p(x); },
      [](const auto& x, const auto&, const auto& g) { return g / (T(1) + x); });
}

template <class T>
Var<T> expm1(const Var<T>& x) {
  return unary(
      "expm1", x, [](const auto& x) { return xt::expm1(x); },
      [](const auto&, const auto& y, const auto& g) { return g * (y + T(1)); });
}

template <class T>
Var<T> abs(const Var<T>& x) {
  return unary(
      "abs", x, [](const auto& x) { return xt::abs(x); },
      [](const auto& x, const auto&, const auto& g) { return g * xt::sign(x); });
}

template <class T>
Var<T> sin(const Var<T>& x) {
  return unary(
      "sin", x, [](const auto& x) { return xt::sin(x); },
      [](const auto& x, const auto&, const auto& g) { return g * xt::cos(x); });
}

template <class T>
Var<T> cos(const Var<T>& x) {
  return unary(
      "cos", x, [](const auto& x) { return xt::cos(x); },
      [](const auto& x, const auto&, const auto& g) { return -g * xt::sin(x); });
}

template <class T>
Var<T> erf(const Var<T>& x) {
  return unary(
      "erf", x, [](const auto& x) { return xt::erf(x); },
      [](const auto& x, const auto&, const auto& g) { return g * T(1.1283791670955126) * xt::exp(-x * x); });  // 2/√π
}

/// Applies a scalar function elementwise into a new array (for the special functions without SIMD).
template <class T, class F>
static Array<T> map(const Array<T>& x, F f) {
  Array<T> y = Array<T>::from_shape(x.shape());
  for (std::size_t i = 0; i < x.size(); ++i) y.data()[i] = static_cast<T>(f(static_cast<double>(x.data()[i])));
  return y;
}

template <class T>
Var<T> lgamma(const Var<T>& x) {
  return unary(
      "lgamma", x, [](const auto& x) { return xt::lgamma(x); },
      [](const auto& x, const auto&, const auto& g) { return g * map(x, digamma_scalar); });
}

template <class T>
Var<T> digamma(const Var<T>& x) {
  return unary(
      "digamma", x, [](const auto& x) { return map(x, digamma_scalar); },
      [](const auto& x, const auto&, const auto& g) { return g * map(x, trigamma_scalar); });
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
  template Var<T> exp(const Var<T>&);                         \
  template Var<T> log(const Var<T>&);                         \
  template Var<T> log1p(const Var<T>&);                       \
  template Var<T> expm1(const Var<T>&);                       \
  template Var<T> abs(const Var<T>&);                         \
  template Var<T> sin(const Var<T>&);                         \
  template Var<T> cos(const Var<T>&);                         \
  template Var<T> erf(const Var<T>&);                         \
  template Var<T> lgamma(const Var<T>&);                      \
  template Var<T> digamma(const Var<T>&);                     \
  template Var<T> clamp(const Var<T>&, Scalar<T>, Scalar<T>); \
  template Var<T> where(const xt::xarray<bool>&, const Var<T>&, const Var<T>&);

TAPIR_INSTANTIATE(float)
TAPIR_INSTANTIATE(double)

}  // namespace tapir
