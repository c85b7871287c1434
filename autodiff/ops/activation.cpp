// tapir/autodiff/ops/activation.cpp — nonlinearities; each backward beside its op.
#include "autodiff/ops/activation.hpp"

#include "autodiff/ops/op_helpers.hpp"

namespace tapir {

using detail::unary;

namespace {
/// σ(x) = (x ≥ 0 ? 1 : e) / (1 + e) with e = e^(−|x|) ∈ (0, 1]: never overflows.
/// Takes an Array (not an expression) because the result refers to x lazily.
template <class T>
auto stable_sigmoid(const Array<T>& x) {
  return xt::where(x >= T(0), T(1), xt::exp(-xt::abs(x))) / (T(1) + xt::exp(-xt::abs(x)));
}
/// σ(−x) = (x ≤ 0 ? 1 : e) / (1 + e), the same way.
template <class T>
auto stable_sigmoid_neg(const Array<T>& x) {
  return xt::where(x <= T(0), T(1), xt::exp(-xt::abs(x))) / (T(1) + xt::exp(-xt::abs(x)));
}
// max(x, 0) and min(x, 0) are written with `where` below: xt::maximum/minimum inside an exp/log1p
// expression drops the whole expression to scalar code with xtensor 0.24 / xsimd 8 (7× slower).
}  // namespace

template <class T>
Var<T> tanh(const Var<T>& x) {
  return unary(
      "tanh", x, [](const auto& x) { return xt::tanh(x); },
      [](const auto&, const auto& y, const auto& g) { return g * (T(1) - y * y); });
}

template <class T>
Var<T> sigmoid(const Var<T>& x) {
  return unary(
      "sigmoid", x, [](const auto& x) { return stable_sigmoid(x); },
      [](const auto&, const auto& y, const auto& g) { return g * y * (T(1) - y); });
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
  return unary(
      "elu", x, [alpha](const auto& x) { return xt::where(x > T(0), x, alpha * xt::expm1(x)); },
      [alpha](const auto& x, const auto& y, const auto& g) { return xt::where(x > T(0), g, g * (y + alpha)); });
}

template <class T>
Var<T> softplus(const Var<T>& x) {
  return unary(
      "softplus", x, [](const auto& x) { return xt::where(x > T(0), x, T(0)) + xt::log1p(xt::exp(-xt::abs(x))); },
      [](const auto& x, const auto&, const auto& g) { return g * stable_sigmoid(x); });
}

template <class T>
Var<T> log_sigmoid(const Var<T>& x) {
  return unary(
      "log_sigmoid", x, [](const auto& x) { return xt::where(x < T(0), x, T(0)) - xt::log1p(xt::exp(-xt::abs(x))); },
      [](const auto& x, const auto&, const auto& g) { return g * stable_sigmoid_neg(x); });
}

#define TAPIR_INSTANTIATE(T)                            \
  template Var<T> tanh(const Var<T>&);                  \
  template Var<T> sigmoid(const Var<T>&);               \
  template Var<T> relu(const Var<T>&);                  \
  template Var<T> leaky_relu(const Var<T>&, Scalar<T>); \
  template Var<T> elu(const Var<T>&, Scalar<T>);        \
  template Var<T> softplus(const Var<T>&);              \
  template Var<T> log_sigmoid(const Var<T>&);

TAPIR_INSTANTIATE(float)
TAPIR_INSTANTIATE(double)

}  // namespace tapir
