// tapir/autodiff/ops/loss.cpp — stable losses; each backward beside its op.
#include "autodiff/ops/loss.hpp"

#include <cmath>

#include "autodiff/ops/op_helpers.hpp"

namespace tapir {

template <class T>
Var<T> binary_cross_entropy_with_logits(const Var<T>& logits, const Var<T>& target) {
  // xsimd kernels on every element, the tail padded (detail::binary_simd): position-independent and fast.
  return detail::binary_simd(
      "binary_cross_entropy_with_logits", logits, target,
      // l > 0: (1 − t) l + log1p(e^(−l));  l ≤ 0: −t l + log1p(e^l).  The same as max(l, 0) − l t +
      // log1p(e^(−|l|)), but (1 − t) l does not cancel when t ≈ 1, and a factor 1 − t or t that is 0
      // drops its term, so l = ±∞ with the matching target gives 0, not ∞ − ∞ = NaN.
      [](auto l, auto t) {
        using B = decltype(l);
        const B w = xsimd::select(l > B(0), B(1) - t, -t);  // the weight of l
        return xsimd::select(w == B(0), B(0), w * l) + xsimd::log1p(xsimd::exp(-xsimd::abs(l)));
      },
      // dy/dl = σ(l) − t, as (1 − t) − σ(−l) for l ≥ 0: σ(l) rounds to 1 for l > 37, and σ(l) − 1
      // would cancel to 0 instead of −e^(−l). s = e/(1 + e), e = e^(−|l|), is σ(−l) for l ≥ 0 and σ(l)
      // for l < 0.
      [](auto l, auto t, auto, auto g) {
        using B = decltype(l);
        const B e = xsimd::exp(-xsimd::abs(l));
        const B s = e / (B(1) + e);
        return g * xsimd::select(l >= B(0), (B(1) - t) - s, s - t);
      },
      // dy/dt = −l
      [](auto l, auto, auto, auto g) { return -g * l; });
}

template Var<float> binary_cross_entropy_with_logits(const Var<float>&, const Var<float>&);
template Var<double> binary_cross_entropy_with_logits(const Var<double>&, const Var<double>&);

}  // namespace tapir
