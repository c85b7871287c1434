// tapir/autodiff/ops/reduce.hpp — reductions over all elements or one axis, and (log-)softmax.
//
// Axis arguments may be negative (−1 is the last axis). With keepdims the reduced axis stays with
// size 1; without it the axis is removed (a full reduction gives a 0-d Var).
#pragma once

#include "autodiff/tape.hpp"

namespace tapir {

/// y = Σ x;  dy/dx = 1.
template <class T>
Var<T> sum(const Var<T>& x);
template <class T>
Var<T> sum(const Var<T>& x, int axis, bool keepdims = false);
/// y = (1/n) Σ x;  dy/dx = 1/n.
template <class T>
Var<T> mean(const Var<T>& x);
template <class T>
Var<T> mean(const Var<T>& x, int axis, bool keepdims = false);
/// y = max x;  dy/dx = 1/k on each of the k maximal elements, 0 elsewhere.
template <class T>
Var<T> max(const Var<T>& x);
template <class T>
Var<T> max(const Var<T>& x, int axis, bool keepdims = false);
/// y = m + log Σ exp(x − m), m = max x (0 if m is not finite);  dy/dx = exp(x − y) = softmax(x).
/// A slice that is all −∞ gives y = −∞ and a zero (finite) gradient.
template <class T>
Var<T> logsumexp(const Var<T>& x);
template <class T>
Var<T> logsumexp(const Var<T>& x, int axis, bool keepdims = false);
/// y = exp(x − logsumexp(x));  dx = y ⊙ (g − Σ g ⊙ y).
template <class T>
Var<T> softmax(const Var<T>& x, int axis = -1);
/// y = x − logsumexp(x);  dx = g − softmax(x) Σ g.
template <class T>
Var<T> log_softmax(const Var<T>& x, int axis = -1);

}  // namespace tapir
