// tapir/autodiff/ops/elementwise.hpp — arithmetic and elementwise math with NumPy broadcasting.
//
// Every function records one node on its inputs' tape; binary ops broadcast in forward and sum each
// input's gradient back to its shape in backward. Scalars are plain numbers (no node).
#pragma once

#include "autodiff/tape.hpp"

namespace tapir {

/// The scalar type of Var<T>, in a non-deduced position so `x * 2.0` works for Var<float>.
template <class T>
using Scalar = typename Var<T>::value_type;

/// y = a + b;  dy/da = 1, dy/db = 1 (summed over broadcast axes). IEEE at the edges: ∞ − ∞ = NaN.
template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b);
/// y = a - b;  dy/da = 1, dy/db = -1.
template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b);
/// y = a * b;  dy/da = b, dy/db = a. 0 · ∞ = NaN in value and gradient.
template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b);
/// y = a / b;  dy/da = 1/b, dy/db = -a/b² = -y/b. At b = 0: y = ±∞ (NaN for 0/0), gradients ±∞/NaN.
template <class T>
Var<T> div(const Var<T>& a, const Var<T>& b);
/// y = x + s;  dy/dx = 1.
template <class T>
Var<T> add(const Var<T>& x, Scalar<T> s);
/// y = x * s;  dy/dx = s.
template <class T>
Var<T> mul(const Var<T>& x, Scalar<T> s);
/// y = s - x;  dy/dx = -1.
template <class T>
Var<T> rsub(Scalar<T> s, const Var<T>& x);
/// y = s / x;  dy/dx = -s/x² = -y/x. At x = ±0: y = ±∞, dy/dx = −∞·sign(s)… as IEEE gives.
template <class T>
Var<T> rdiv(Scalar<T> s, const Var<T>& x);
/// y = -x;  dy/dx = -1.
template <class T>
Var<T> neg(const Var<T>& x);

/// y = x^p (scalar p; std::pow, so 0⁰ = 1, x⁰ = 1 even for NaN/∞);  dy/dx = p x^(p−1), and 0 for p = 0.
/// At x = 0: dy/dx = 1 for p = 1, 0 for p > 1, +∞ for 0 < p < 1, ∓∞ for p < 0. x < 0 with non-integer
/// p: NaN; with integer p: the exact signed power and derivative (pow(−2, 3) = −8, slope 12).
template <class T>
Var<T> pow(const Var<T>& x, Scalar<T> p);
/// y = a^b (broadcast), as the scalar form;  dy/da = b a^(b−1) (0 where b = 0),
/// dy/db = a^b log a: 0 where a = 0 and b ≥ 0 (as PyTorch), −∞ where a = 0 and b < 0, NaN where a < 0.
template <class T>
Var<T> pow(const Var<T>& a, const Var<T>& b);
/// y = x²;  dy/dx = 2x.
template <class T>
Var<T> square(const Var<T>& x);
/// y = √x;  dy/dx = 1/(2y): +∞ at ±0, 0 at +∞; x < 0: y and dy/dx NaN (√−0 = −0).
template <class T>
Var<T> sqrt(const Var<T>& x);
/// y = 1/√x;  dy/dx = −y/(2x): y = +∞, dy/dx = −∞ at +0 (−∞ and −∞ at −0); 0 and −0 at +∞; x < 0: NaN.
template <class T>
Var<T> rsqrt(const Var<T>& x);
/// y = eˣ;  dy/dx = y. 0 at −∞, +∞ at +∞ and from x ≈ 709.8 (88.7 in float).
template <class T>
Var<T> exp(const Var<T>& x);
/// y = log x;  dy/dx = 1/x. At ±0: y = −∞, dy/dx = ±∞; at +∞: +∞ and 0; x < 0: NaN.
template <class T>
Var<T> log(const Var<T>& x);
/// y = log(1 + x), accurate near 0;  dy/dx = 1/(1 + x). At x = −1: −∞ and +∞; x < −1: NaN.
template <class T>
Var<T> log1p(const Var<T>& x);
/// y = eˣ − 1, accurate near 0;  dy/dx = eˣ (computed directly, not as y + 1, which cancels for x ≪ 0).
/// −1 and 0 at −∞.
template <class T>
Var<T> expm1(const Var<T>& x);
/// y = |x|;  dy/dx = sign(x): the subgradient 0 at ±0 (as PyTorch); NaN at NaN.
template <class T>
Var<T> abs(const Var<T>& x);
/// y = sin x;  dy/dx = cos x. NaN at ±∞.
template <class T>
Var<T> sin(const Var<T>& x);
/// y = cos x;  dy/dx = −sin x. NaN at ±∞.
template <class T>
Var<T> cos(const Var<T>& x);
/// y = tan x;  dy/dx = 1 + y². Finite at every float (π/2 is not representable); NaN at ±∞.
template <class T>
Var<T> tan(const Var<T>& x);
/// y = atan x;  dy/dx = 1/(1 + x²). ±π/2 and 0 at ±∞.
template <class T>
Var<T> atan(const Var<T>& x);
/// y = sinh x;  dy/dx = cosh x. Overflows to ±∞ (and +∞) beyond |x| ≈ 710.5 (89.4 in float).
template <class T>
Var<T> sinh(const Var<T>& x);
/// y = cosh x;  dy/dx = sinh x. +∞ (and ±∞) beyond |x| ≈ 710.5; dy/dx = ±0 at ±0.
template <class T>
Var<T> cosh(const Var<T>& x);
/// y = erf x;  dy/dx = 2/√π · exp(−x²). ±1 and 0 at ±∞.
template <class T>
Var<T> erf(const Var<T>& x);
/// y = log Γ(x) (std::lgamma: log |Γ(x)|);  dy/dx = ψ(x) (digamma).
/// At 0 and the negative integers: y = +∞, dy/dx = NaN (the poles); +∞ at ±∞ with dy/dx +∞ / NaN.
template <class T>
Var<T> lgamma(const Var<T>& x);
/// y = ψ(x) = d/dx log Γ(x);  dy/dx = ψ₁(x) (trigamma). NaN at 0, the negative integers and −∞.
template <class T>
Var<T> digamma(const Var<T>& x);
/// y = log(z/(1 − z)), z = x, or z = clamp(x, eps, 1 − eps) when eps ≥ 0 (torch.logit);
/// dy/dx = 1/(z(1 − z)), 0 outside [eps, 1 − eps] when clamped. Unclamped: ∓∞ and +∞ at 0 and 1;
/// value and gradient NaN outside [0, 1].
template <class T>
Var<T> logit(const Var<T>& x, Scalar<T> eps = Scalar<T>(-1));
/// y = x log y', with y = 0 wherever x = 0 (even y' = 0 or ∞; NaN y' stays NaN), as torch.xlogy;
/// dy/dx = log y' (0 where x = 0 and y' ≤ 0), dy/dy' = x/y' (0 where x = 0).
template <class T>
Var<T> xlogy(const Var<T>& x, const Var<T>& y);
/// y = min(max(x, lo), hi);  dy/dx = 1 where lo ≤ x ≤ hi (also at the bounds), else 0. NaN passes.
template <class T>
Var<T> clamp(const Var<T>& x, Scalar<T> lo, Scalar<T> hi);
/// y = cond ? a : b (all three broadcast);  dy/da = cond, dy/db = !cond. cond is not differentiated.
/// Call it as tapir::where: argument-dependent lookup also finds xt::where through the bool array.
template <class T>
Var<T> where(const xt::xarray<bool>& cond, const Var<T>& a, const Var<T>& b);

/// Scalar digamma ψ(x) and trigamma ψ₁(x) (recurrence + asymptotic series; reflection for x < 0).
double digamma_scalar(double x);
double trigamma_scalar(double x);

// ---- Operators ----------------------------------------------------------------------------------
template <class T>
Var<T> operator+(const Var<T>& a, const Var<T>& b) {
  return add(a, b);
}
template <class T>
Var<T> operator-(const Var<T>& a, const Var<T>& b) {
  return sub(a, b);
}
template <class T>
Var<T> operator*(const Var<T>& a, const Var<T>& b) {
  return mul(a, b);
}
template <class T>
Var<T> operator/(const Var<T>& a, const Var<T>& b) {
  return div(a, b);
}
template <class T>
Var<T> operator-(const Var<T>& x) {
  return neg(x);
}
template <class T>
Var<T> operator+(const Var<T>& x, Scalar<T> s) {
  return add(x, s);
}
template <class T>
Var<T> operator+(Scalar<T> s, const Var<T>& x) {
  return add(x, s);
}
template <class T>
Var<T> operator-(const Var<T>& x, Scalar<T> s) {
  return add(x, -s);
}
template <class T>
Var<T> operator-(Scalar<T> s, const Var<T>& x) {
  return rsub(s, x);
}
template <class T>
Var<T> operator*(const Var<T>& x, Scalar<T> s) {
  return mul(x, s);
}
template <class T>
Var<T> operator*(Scalar<T> s, const Var<T>& x) {
  return mul(x, s);
}
template <class T>
Var<T> operator/(const Var<T>& x, Scalar<T> s) {
  return mul(x, Scalar<T>(1) / s);
}
template <class T>
Var<T> operator/(Scalar<T> s, const Var<T>& x) {
  return rdiv(s, x);
}

}  // namespace tapir
