// tapir/autodiff/ops/loss.cpp — stable losses; each backward beside its op.
#include "autodiff/ops/loss.hpp"

#include <cmath>

#include "autodiff/ops/op_helpers.hpp"

namespace tapir {

template <class T>
Var<T> binary_cross_entropy_with_logits(const Var<T>& logits, const Var<T>& target) {
  // One scalar loop (detail::binary_map), so an element's value never depends on its position.
  return detail::binary_map(
      "binary_cross_entropy_with_logits", logits, target,
      // l > 0: (1 − t) l + log1p(e^(−l));  l ≤ 0: −t l + log1p(e^l).  The same as max(l, 0) − l t +
      // log1p(e^(−|l|)), but (1 − t) l does not cancel when t ≈ 1, and a factor 1 − t or t that is 0
      // drops its term, so l = ±∞ with the matching target gives 0, not ∞ − ∞ = NaN.
      [](T l, T t) {
        const T w = l > T(0) ? T(1) - t : -t;  // the weight of l
        return (w == T(0) ? T(0) : w * l) + std::log1p(std::exp(-std::abs(l)));
      },
      // dy/dl = σ(l) − t, as (1 − t) − σ(−l) for l ≥ 0: σ(l) rounds to 1 for l > 37, and σ(l) − 1
      // would cancel to 0 instead of −e^(−l).
      [](T l, T t, T, T g) {
        return g * (l >= T(0) ? (T(1) - t) - detail::sigmoid_scalar(-l) : detail::sigmoid_scalar(l) - t);
      },
      // dy/dt = −l
      [](T l, T, T, T g) { return -g * l; });
}

template Var<float> binary_cross_entropy_with_logits(const Var<float>&, const Var<float>&);
template Var<double> binary_cross_entropy_with_logits(const Var<double>&, const Var<double>&);

}  // namespace tapir
