// tapir/autodiff/ops/reduce.hpp — reductions over all elements or one axis, and (log-)softmax.
//
// Axis arguments may be negative (−1 is the last axis). With keepdims the reduced axis stays with
// size 1; without it the axis is removed (a full reduction gives a 0-d Var).
#pragma once

#include "autodiff/tape.hpp"

namespace tapir {

/// y = Σ x (the full reduction and slices along contiguous rows accumulate in double);  dy/dx = 1.
/// ∞ − ∞ inside gives NaN.
template <class T>
Var<T> sum(const Var<T>& x);
template <class T>
Var<T> sum(const Var<T>& x, int axis, bool keepdims = false);
/// y = (1/n) Σ x;  dy/dx = 1/n. An empty array gives 0/0 = NaN.
template <class T>
Var<T> mean(const Var<T>& x);
template <class T>
Var<T> mean(const Var<T>& x, int axis, bool keepdims = false);
/// y = max x;  dy/dx = 1/k on each of the k maximal elements, 0 elsewhere. NaN if any element is NaN
/// (then the gradient is 0: no element equals NaN). Throws on an empty array.
template <class T>
Var<T> max(const Var<T>& x);
template <class T>
Var<T> max(const Var<T>& x, int axis, bool keepdims = false);
/// y = min x;  dy/dx = 1/k on each of the k minimal elements, 0 elsewhere; NaN as max.
template <class T>
Var<T> min(const Var<T>& x);
template <class T>
Var<T> min(const Var<T>& x, int axis, bool keepdims = false);
/// y = Π x (1 for an empty slice);  dy/dx_k = Π_{j≠k} x_j, from prefix and suffix products (no division):
/// exact with zeros — one zero gets the product of the others, every other element 0; two or more: all 0.
template <class T>
Var<T> prod(const Var<T>& x);
template <class T>
Var<T> prod(const Var<T>& x, int axis, bool keepdims = false);
/// y = Σ (x − x̄)² / (n − correction) along axis (two passes; correction = 1 is Bessel's, as torch.var);
/// dy/dx = 2 (x − x̄)/(n − correction). n ≤ correction divides by 0: NaN (or ∞), as PyTorch.
template <class T>
Var<T> var(const Var<T>& x, int axis, int correction = 1, bool keepdims = false);
/// y = √var(x) (torch.std);  dy/dx = (x − x̄)/((n − correction) y), and the subgradient 0 where y = 0
/// (all elements equal), as PyTorch.
template <class T>
Var<T> stddev(const Var<T>& x, int axis, int correction = 1, bool keepdims = false);
/// y = ‖x‖₂ = √Σ x², scaled by max |x| so that no square overflows or underflows (‖(1e200, 1e200)‖ is
/// finite);  dy/dx = x/y, and the subgradient 0 at the zero vector (as PyTorch). +∞ if any |x| = ∞
/// (then dy/dx is NaN there: ∞/∞); NaN if any is NaN.
template <class T>
Var<T> norm(const Var<T>& x);
template <class T>
Var<T> norm(const Var<T>& x, int axis, bool keepdims = false);
/// y_k = Σ_{j ≤ k} x_j along axis (any axis);  dx_k = Σ_{j ≥ k} g_j.
template <class T>
Var<T> cumsum(const Var<T>& x, int axis);
/// y = m + log Σ exp(x − m), m = max x (0 if m is not finite);  dy/dx = exp(x − y) = softmax(x).
/// A slice that is all −∞ gives y = −∞ and a zero (finite) gradient; one with +∞ gives +∞ (gradient
/// NaN there, as PyTorch: exp(∞ − ∞)); NaN propagates.
template <class T>
Var<T> logsumexp(const Var<T>& x);
template <class T>
Var<T> logsumexp(const Var<T>& x, int axis, bool keepdims = false);
/// y = exp(x − logsumexp(x));  dx = y ⊙ (g − Σ g ⊙ y). A slice that is all −∞ or holds +∞ gives NaN
/// (as PyTorch); −∞ entries among finite ones give exactly 0.
template <class T>
Var<T> softmax(const Var<T>& x, int axis = -1);
/// y = x − logsumexp(x);  dx = g − softmax(x) Σ g. −∞ entries give −∞; edge slices as softmax.
template <class T>
Var<T> log_softmax(const Var<T>& x, int axis = -1);

}  // namespace tapir
