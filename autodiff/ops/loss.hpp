// tapir/autodiff/ops/loss.hpp — losses in numerically stable forms.
#pragma once

#include "autodiff/tape.hpp"

namespace tapir {

/// Elementwise binary cross-entropy from logits l and targets t ∈ [0, 1] (broadcast):
///   y = −[t log σ(l) + (1 − t) log(1 − σ(l))] = max(l, 0) − l t + log1p(e^(−|l|)),
/// finite for any finite l (no log of a sigmoid).  dy/dl = σ(l) − t (accurate, not 0, for l ≫ 0, t = 1),
/// dy/dt = −l. At l = ±∞: 0 where the target agrees (t = 1 at +∞, t = 0 at −∞), else +∞; dy/dl is then
/// σ(l) − t ∈ [−1, 1] and dy/dt = ∓∞. NaN in either input gives NaN.
/// Reduce it yourself (sum over pixels for a Bernoulli log-likelihood, mean for a classifier).
template <class T>
Var<T> binary_cross_entropy_with_logits(const Var<T>& logits, const Var<T>& target);

}  // namespace tapir
