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

/// y = a + b;  dy/da = 1, dy/db = 1 (summed over broadcast axes).
template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b);
/// y = a - b;  dy/da = 1, dy/db = -1.
template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b);
/// y = a * b;  dy/da = b, dy/db = a.
template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b);
/// y = a / b;  dy/da = 1/b, dy/db = -a/b² = -y/b.
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
/// y = s / x;  dy/dx = -s/x² = -y/x.
template <class T>
Var<T> rdiv(Scalar<T> s, const Var<T>& x);
/// y = -x;  dy/dx = -1.
template <class T>
Var<T> neg(const Var<T>& x);

/// y = x^p (scalar p);  dy/dx = p x^(p-1).
template <class T>
Var<T> pow(const Var<T>& x, Scalar<T> p);
/// y = a^b (broadcast);  dy/da = b a^(b-1), dy/db = a^b log a (0 where a = 0 and b ≥ 0, as PyTorch).
template <class T>
Var<T> pow(const Var<T>& a, const Var<T>& b);
/// y = x²;  dy/dx = 2x.
template <class T>
Var<T> square(const Var<T>& x);
/// y = √x;  dy/dx = 1/(2y).
template <class T>
Var<T> sqrt(const Var<T>& x);
/// y = eˣ;  dy/dx = y.
template <class T>
Var<T> exp(const Var<T>& x);
/// y = log x;  dy/dx = 1/x.
template <class T>
Var<T> log(const Var<T>& x);
/// y = log(1 + x), accurate near 0;  dy/dx = 1/(1 + x).
template <class T>
Var<T> log1p(const Var<T>& x);
/// y = eˣ − 1, accurate near 0;  dy/dx = y + 1.
template <class T>
Var<T> expm1(const Var<T>& x);
/// y = |x|;  dy/dx = sign(x) (0 at 0).
template <class T>
Var<T> abs(const Var<T>& x);
/// y = sin x;  dy/dx = cos x.
template <class T>
Var<T> sin(const Var<T>& x);
/// y = cos x;  dy/dx = −sin x.
template <class T>
Var<T> cos(const Var<T>& x);
/// y = erf x;  dy/dx = 2/√π · exp(−x²).
template <class T>
Var<T> erf(const Var<T>& x);
/// y = log Γ(x);  dy/dx = ψ(x) (digamma).
template <class T>
Var<T> lgamma(const Var<T>& x);
/// y = ψ(x) = d/dx log Γ(x);  dy/dx = ψ₁(x) (trigamma).
template <class T>
Var<T> digamma(const Var<T>& x);
/// y = min(max(x, lo), hi);  dy/dx = 1 where lo ≤ x ≤ hi, else 0.
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
