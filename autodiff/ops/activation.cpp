// tapir/autodiff/ops/activation.cpp — nonlinearities; each backward beside its op.
//
// The ones that call libm run either one scalar loop (detail::unary_map) or, the hot ones (tanh,
// sigmoid, softplus, log_sigmoid), xsimd kernels on every element with the tail padded into a full
// batch (detail::unary_simd): never xtensor's mix of SIMD batches and a scalar tail, whose results
// disagree, so an element's value does not depend on its position in the array.
#include "autodiff/ops/activation.hpp"

#include <cmath>

#include "autodiff/ops/op_helpers.hpp"

namespace tapir {

using detail::sigmoid_scalar;
using detail::sigmoid_slope_scalar;
using detail::unary;
using detail::unary_map;
using detail::unary_simd;

template <class T>
Var<T> tanh(const Var<T>& x) {
  // 1 − y² = 4e/(1 + e)² with e = e^(−2|x|): 1 − y² cancels to 0 once |y| rounds to 1 (|x| > 19).
  return unary_simd(
      "tanh", x, [](auto x) { return xsimd::tanh(x); },
      [](auto x, auto, auto g) {
        using B = decltype(x);
        const B e = xsimd::exp(B(-2) * xsimd::abs(x));
        return g * (B(4) * e / ((B(1) + e) * (B(1) + e)));
      });
}

template <class T>
Var<T> sigmoid(const Var<T>& x) {
  // σ(x) σ(−x) rather than y (1 − y), which cancels for x ≫ 0
  return unary_simd(
      "sigmoid", x, [](auto x) { return detail::sigmoid_batch(x); },
      [](auto x, auto, auto g) { return g * detail::sigmoid_slope_batch(x); });
}

template <class T>
Var<T> relu(const Var<T>& x) {
  return unary(
      "relu", x, [](const auto& x) { return xt::maximum(x, T(0)); },
      [](const auto& x, const auto&, const auto& g) { return xt::where(x > T(0), g, T(0)); });
}

template <class T>
Var<T> leaky_relu(const Var<T>& x, Scalar<T> slope) {
  return unary(
      "leaky_relu", x, [slope](const auto& x) { return xt::where(x > T(0), x, slope * x); },
      [slope](const auto& x, const auto&, const auto& g) { return xt::where(x > T(0), g, slope * g); });
}

template <class T>
Var<T> elu(const Var<T>& x, Scalar<T> alpha) {
  // α eˣ directly: y + α cancels for x ≪ 0 (0 instead of 1.9e−22 at x = −50)
  return unary_map(
      "elu", x, [alpha](T x) { return x > T(0) ? x : alpha * std::expm1(x); },
      [alpha](T x, T, T g) { return x > T(0) ? g : g * (alpha * std::exp(x)); });
}

template <class T>
Var<T> softplus(const Var<T>& x) {
  // max(x, 0) + log1p(e^(−|x|)), with `select` for the max
  return unary_simd(
      "softplus", x,
      [](auto x) {
        using B = decltype(x);
        return xsimd::select(x > B(0), x, B(0)) + xsimd::log1p(xsimd::exp(-xsimd::abs(x)));
      },
      [](auto x, auto, auto g) { return g * detail::sigmoid_batch(x); });
}

template <class T>
Var<T> log_sigmoid(const Var<T>& x) {
  // log σ(x) = −softplus(−x);  d/dx = σ(−x)
  return unary_simd(
      "log_sigmoid", x,
      [](auto x) {
        using B = decltype(x);
        return xsimd::select(x < B(0), x, B(0)) - xsimd::log1p(xsimd::exp(-xsimd::abs(x)));
      },
      [](auto x, auto, auto g) { return g * detail::sigmoid_batch(-x); });
}

template <class T>
Var<T> silu(const Var<T>& x) {
  // y = x σ(x);  dy/dx = σ(x) + x σ(x) σ(−x). The limits at ±∞ are set explicitly (∞ · 0 = NaN).
  return unary_map(
      "silu", x, [](T x) { return std::isinf(x) ? (x > T(0) ? x : -T(0)) : x * sigmoid_scalar(x); },
      [](T x, T, T g) {
        if (std::isinf(x)) return x > T(0) ? g : T(0);
        return g * (sigmoid_scalar(x) + x * sigmoid_slope_scalar(x));
      });
}

template <class T>
Var<T> gelu(const Var<T>& x, GeluApproximation approximate) {
  if (approximate == GeluApproximation::none) {
    // y = x Φ(x), Φ(x) = erfc(−x/√2)/2 (erfc keeps Φ's relative accuracy for x ≪ 0, where 1 + erf cancels);
    // dy/dx = Φ(x) + x φ(x), φ(x) = e^(−x²/2)/√(2π).
    constexpr T inv_sqrt2 = T(0.70710678118654752440), inv_sqrt_2pi = T(0.39894228040143267794);
    return unary_map(
        "gelu", x,
        [](T x) { return std::isinf(x) ? (x > T(0) ? x : -T(0)) : x * (T(0.5) * std::erfc(-x * inv_sqrt2)); },
        [](T x, T, T g) {
          if (std::isinf(x)) return x > T(0) ? g : T(0);
          return g * (T(0.5) * std::erfc(-x * inv_sqrt2) + x * (inv_sqrt_2pi * std::exp(T(-0.5) * x * x)));
        });
  }
  // y = x (1 + tanh u)/2 = x σ(2u), u = √(2/π)(x + 0.044715 x³);
  // dy/dx = σ(2u) + 2x σ'(2u) √(2/π)(1 + 3 · 0.044715 x²).
  constexpr T c = T(0.79788456080286535588), k = T(0.044715);  // √(2/π)
  return unary_map(
      "gelu_tanh", x,
      [](T x) { return std::isinf(x) ? (x > T(0) ? x : -T(0)) : x * sigmoid_scalar(T(2) * c * (x + k * x * x * x)); },
      [](T x, T, T g) {
        if (std::isinf(x)) return x > T(0) ? g : T(0);
        const T u2 = T(2) * c * (x + k * x * x * x);
        const T s = sigmoid_slope_scalar(u2);  // 0 for |x| large, where x² may be ∞: skip that term
        return g * (sigmoid_scalar(u2) + (s == T(0) ? T(0) : T(2) * x * s * c * (T(1) + T(3) * k * x * x)));
      });
}

#define TAPIR_INSTANTIATE(T)                            \
  template Var<T> tanh(const Var<T>&);                  \
  template Var<T> sigmoid(const Var<T>&);               \
  template Var<T> relu(const Var<T>&);                  \
  template Var<T> leaky_relu(const Var<T>&, Scalar<T>); \
  template Var<T> elu(const Var<T>&, Scalar<T>);        \
  template Var<T> softplus(const Var<T>&);              \
  template Var<T> log_sigmoid(const Var<T>&);           \
  template Var<T> silu(const Var<T>&);                  \
  template Var<T> gelu(const Var<T>&, GeluApproximation);

TAPIR_INSTANTIATE(float)
TAPIR_INSTANTIATE(double)

}  // namespace tapir
