// tapir/autodiff/ops/loss.cpp — stable losses; each backward beside its op.
#include "autodiff/ops/loss.hpp"

#include "autodiff/ops/op_helpers.hpp"

namespace tapir {

template <class T>
Var<T> binary_cross_entropy_with_logits(const Var<T>& logits, const Var<T>& target) {
  return detail::binary(
      "binary_cross_entropy_with_logits", logits, target,
      // max(l, 0) − l t + log1p(e^(−|l|)). max is written as `where`: with xtensor 0.24 / xsimd 8,
      // xt::maximum inside an exp/log1p expression drops the whole expression to scalar code (7× slower).
      [](const auto& l, const auto& t) {
        return xt::where(l > T(0), l, T(0)) - l * t + xt::log1p(xt::exp(-xt::abs(l)));
      },
      // dy/dl = σ(l) − t, σ(l) = (l ≥ 0 ? 1 : e) / (1 + e) with e = e^(−|l|) ≤ 1: no overflow, one exp
      [](const auto& l, const auto& t, const auto&, const auto& g) {
        return g * (xt::where(l >= T(0), T(1), xt::exp(-xt::abs(l))) / (T(1) + xt::exp(-xt::abs(l))) - t);
      },
      // dy/dt = −l
      [](const auto& l, const auto&, const auto&, const auto& g) { return -g * l; });
}

template Var<float> binary_cross_entropy_with_logits(const Var<float>&, const Var<float>&);
template Var<double> binary_cross_entropy_with_logits(const Var<double>&, const Var<double>&);

}  // namespace tapir
