// tapir/autodiff/ops/activation.hpp — nonlinearities, in numerically stable forms.
#pragma once

#include "autodiff/ops/elementwise.hpp"

namespace tapir {

/// y = tanh x;  dy/dx = 1 − y², computed as 4e/(1 + e)², e = e^(−2|x|), so it stays accurate (not 0)
/// for large |x|. ±1 and 0 at ±∞.
template <class T>
Var<T> tanh(const Var<T>& x);
/// y = 1/(1 + e⁻ˣ), computed from e^(−|x|) so it never overflows;  dy/dx = σ(x)σ(−x) (not y(1 − y),
/// which cancels for x ≫ 0). 0/1 at ∓∞ with dy/dx = 0.
template <class T>
Var<T> sigmoid(const Var<T>& x);
/// y = max(x, 0);  dy/dx = [x > 0]: the subgradient 0 at 0 (as PyTorch).
template <class T>
Var<T> relu(const Var<T>& x);
/// y = x if x > 0 else slope·x;  dy/dx = 1 or slope (slope at 0).
template <class T>
Var<T> leaky_relu(const Var<T>& x, Scalar<T> slope = Scalar<T>(0.01));
/// y = x if x > 0 else α(eˣ − 1);  dy/dx = 1 or α eˣ (α at 0, as PyTorch; exact, not y + α, for x ≪ 0).
/// −α and 0 at −∞.
template <class T>
Var<T> elu(const Var<T>& x, Scalar<T> alpha = Scalar<T>(1));
/// y = log(1 + eˣ) = max(x, 0) + log1p(e^(−|x|));  dy/dx = σ(x). 0 and 0 at −∞; +∞ and 1 at +∞.
template <class T>
Var<T> softplus(const Var<T>& x);
/// y = log σ(x) = min(x, 0) − log1p(e^(−|x|));  dy/dx = σ(−x). −∞ and 1 at −∞; 0 and 0 at +∞.
template <class T>
Var<T> log_sigmoid(const Var<T>& x);
/// y = x σ(x) (SiLU, swish);  dy/dx = σ(x)(1 + x σ(−x)). The limits at ±∞: y = −0 / +∞, dy/dx = 0 / 1.
template <class T>
Var<T> silu(const Var<T>& x);

/// GELU's form: the exact erf one, or PyTorch's approximate='tanh'.
enum class GeluApproximation { none, tanh };
/// y = x Φ(x) = x erfc(−x/√2)/2;  dy/dx = Φ(x) + x φ(x). With GeluApproximation::tanh:
/// y = x (1 + tanh(√(2/π)(x + 0.044715 x³)))/2, computed as x σ(2u). Limits at ±∞: y = −0 / +∞,
/// dy/dx = 0 / 1; no cancellation for x ≪ 0 (y is the tiny negative value, not 0).
template <class T>
Var<T> gelu(const Var<T>& x, GeluApproximation approximate = GeluApproximation::none);

}  // namespace tapir
