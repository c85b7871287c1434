// tapir/autodiff/ops/activation.hpp — nonlinearities, in numerically stable forms.
#pragma once

#include "autodiff/ops/elementwise.hpp"

namespace tapir {

/// y = tanh x;  dy/dx = 1 − y².
template <class T>
Var<T> tanh(const Var<T>& x);
/// y = 1/(1 + e⁻ˣ), computed from e^(−|x|) so it never overflows;  dy/dx = y(1 − y).
template <class T>
Var<T> sigmoid(const Var<T>& x);
/// y = max(x, 0);  dy/dx = [x > 0].
template <class T>
Var<T> relu(const Var<T>& x);
/// y = x if x > 0 else slope·x;  dy/dx = 1 or slope.
template <class T>
Var<T> leaky_relu(const Var<T>& x, Scalar<T> slope = Scalar<T>(0.01));
/// y = x if x > 0 else α(eˣ − 1);  dy/dx = 1 or y + α.
template <class T>
Var<T> elu(const Var<T>& x, Scalar<T> alpha = Scalar<T>(1));
/// y = log(1 + eˣ) = max(x, 0) + log1p(e^(−|x|));  dy/dx = sigmoid(x).
template <class T>
Var<T> softplus(const Var<T>& x);
/// y = log sigmoid(x) = min(x, 0) − log1p(e^(−|x|));  dy/dx = sigmoid(−x) = 1 − sigmoid(x).
template <class T>
Var<T> log_sigmoid(const Var<T>& x);

}  // namespace tapir
