// tapir/autodiff/ops/loss.cpp — stable losses; each backward beside its op.
#include "autodiff/ops/loss.hpp"

#include "autodiff/ops/op_helpers.hpp"

namespace tapir {

template <class T>
Var<T> binary_cross_entropy_with_logits(const Var<T>& logits, const Var<T>& target) {
  return detail::binary(
      "binary_cross_entropy_with_logits", logits, target,
      // max(l, 0) − l t + log1p(e^(−|l|))
      [](const auto& l, const auto& t) { return xt::maximum(l, T(0)) - l * t + xt::log1p(xt::exp(-xt::abs(l))); },
      // dy/dl = σ(l) − t, with σ in the branch that never overflows
      [](const auto& l, const auto& t, const auto&, const auto& g) {
        return g * (xt::where(l >= T(0), T(1) / (T(1) + xt::exp(-l)), xt::exp(l) / (T(1) + xt::exp(l))) - t);
      },
      // dy/dt = −l
      [](const auto& l, const auto&, const auto&, const auto& g) { return -g * l; });
}

template Var<float> binary_cross_entropy_with_logits(const Var<float>&, const Var<float>&);
template Var<double> binary_cross_entropy_with_logits(const Var<double>&, const Var<double>&);

}  // namespace tapir
