// tapir/nn/dist/continuous.cpp — Distribution<T> (the base) and the continuous families: Normal,
// Laplace, Uniform, ContinuousBernoulli, LowRankMultivariateNormal. Explicit instances for float and
// double at the bottom; the headers only declare.
#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "autodiff/dense.hpp"
#include "autodiff/ops/op_helpers.hpp"
#include "nn/dist/bernoulli.hpp"
#include "nn/dist/continuous_bernoulli.hpp"
#include "nn/dist/distribution.hpp"
#include "nn/dist/laplace.hpp"
#include "nn/dist/low_rank_multivariate_normal.hpp"
#include "nn/dist/normal.hpp"
#include "nn/dist/uniform.hpp"

namespace tapir::dist {

namespace {
constexpr double kLog2Pi = 1.8378770664093454836;  // log 2π
constexpr double kLog2 = 0.69314718055994530942;   // log 2
// |l| below which ContinuousBernoulli's rsample uses its cubic series in l (error ~1e-2 l⁴ < 1e-14).
constexpr double kCbRsampleCut = 1e-3;

std::vector<long> to_long(const Shape& s) { return std::vector<long>(s.begin(), s.end()); }
}  // namespace

// ---- Helpers ------------------------------------------------------------------------------------

Shape concat_shapes(const Shape& a, const Shape& b) {
  Shape r(a.size() + b.size());
  std::copy(a.begin(), a.end(), r.begin());
  std::copy(b.begin(), b.end(), r.begin() + static_cast<std::ptrdiff_t>(a.size()));
  return r;
}

Shape broadcast_params(const std::string& family, const char* a_name, const Shape& a, const char* b_name,
                       const Shape& b) {
  if (a == b) return a;
  try {
    return broadcast_shapes(family.c_str(), a, b);
  } catch (const ShapeError&) {
    throw ShapeError(fmt::format("{}: parameters {} {} and {} {} cannot be broadcast to one batch shape", family,
                                 a_name, shape_str(a), b_name, shape_str(b)));
  }
}

template <class T>
Var<T> expand(const Var<T>& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return x + x.tape().full(shape, T(0));
}

template <class T>
Var<T> sum_rightmost(const Var<T>& x, std::size_t n) {
  if (n > x.dim())
    throw ShapeError(
        fmt::format("sum_rightmost: cannot sum the last {} axes of an array of shape {}", n, shape_str(x.shape())));
  Var<T> y = x;
  for (std::size_t i = 0; i < n; ++i) y = sum(y, -1);
  return y;
}

// ---- Distribution -------------------------------------------------------------------------------

template <class T>
Shape Distribution<T>::extended_shape(const Shape& sample_shape) const {
  return concat_shapes(concat_shapes(sample_shape, batch_shape_), event_shape_);
}

template <class T>
void Distribution<T>::not_implemented(const char* what) const {
  throw Error(fmt::format("{}: {} is not implemented for this family (batch shape {}, event shape {})", type_name(),
                          what, shape_str(batch_shape_), shape_str(event_shape_)));
}

template <class T>
Var<T> Distribution<T>::log_prob_summed(const Var<T>& value, std::size_t n) const {
  return sum_rightmost(log_prob(value), n);
}

template <class T>
Var<T> Distribution<T>::sample(Rng& rng, const Shape& sample_shape) const {
  Array<T> x;
  {
    NoGradGuard<T> no_grad(*tape_);
    x = rsample(rng, sample_shape).value();
  }
  return tape_->constant(x);
}

namespace {
[[noreturn]] void throw_no_rsample(const std::string& family, const char* what) {
  throw Error(
      fmt::format("{}: {} is not available: the family has no reparameterised sampler (has_rsample() is false); use "
                  "sample() (no gradient) and a score-function estimator, or a continuous relaxation",
                  family, what));
}
}  // namespace

template <class T>
Var<T> Distribution<T>::rsample(Rng& rng, const Shape& sample_shape) const {
  if (!has_rsample() || base_noise() == BaseNoise::none) throw_no_rsample(type_name(), "rsample");
  return rsample_with_noise(tape_->constant(draw_noise(rng, sample_shape)));
}

template <class T>
Array<T> Distribution<T>::draw_noise(Rng& rng, const Shape& sample_shape) const {
  switch (base_noise()) {
    case BaseNoise::standard_normal:
      return normal<T>(rng, noise_shape(sample_shape));
    case BaseNoise::standard_uniform:
      return uniform<T>(rng, noise_shape(sample_shape));
    case BaseNoise::none:
      break;
  }
  throw_no_rsample(type_name(), "draw_noise");
}

template <class T>
Var<T> Distribution<T>::rsample_with_noise(const Var<T>&) const {
  throw_no_rsample(type_name(), "rsample_with_noise");
}

template <class T>
Shape Distribution<T>::noise_sample_shape(const Var<T>& noise) const {
  const Shape want = noise_shape({});
  const Shape& got = noise.shape();
  const bool ok = got.size() >= want.size() && std::equal(want.rbegin(), want.rend(), got.rbegin());
  if (!ok)
    throw ShapeError(
        fmt::format("{}.rsample_with_noise: noise of shape {} must be sample_shape + {} (draw it with "
                    "draw_noise(rng, sample_shape) or give it that shape)",
                    type_name(), shape_str(got), shape_str(want)));
  if (&noise.tape() != tape_)
    throw Error(
        fmt::format("{}.rsample_with_noise: the noise and the parameters belong to different tapes", type_name()));
  return Shape(got.begin(), got.end() - static_cast<std::ptrdiff_t>(want.size()));
}

template <class T>
Var<T> Distribution<T>::entropy() const {
  not_implemented("entropy (no closed form)");
}
template <class T>
Var<T> Distribution<T>::mean() const {
  not_implemented("mean");
}
template <class T>
Var<T> Distribution<T>::variance() const {
  not_implemented("variance");
}
template <class T>
Var<T> Distribution<T>::stddev() const {
  return sqrt(variance());
}

// ---- Normal -------------------------------------------------------------------------------------

template <class T>
Normal<T>::Normal(const Var<T>& loc, const Var<T>& scale)
    : Distribution<T>(loc.tape(), broadcast_params("Normal", "loc", loc.shape(), "scale", scale.shape()), {}),
      loc_(expand(loc, this->batch_shape_)),
      scale_(expand(scale, this->batch_shape_)) {}

template <class T>
Normal<T>::Normal(const Var<T>& loc, const Var<T>& scale, const Var<T>& log_scale)
    : Distribution<T>(loc.tape(), broadcast_params("Normal", "loc", loc.shape(), "log_var", scale.shape()), {}),
      loc_(expand(loc, this->batch_shape_)),
      scale_(expand(scale, this->batch_shape_)),
      log_scale_(expand(log_scale, this->batch_shape_)) {}

template <class T>
Normal<T> Normal<T>::from_log_var(const Var<T>& loc, const Var<T>& log_var) {
  Var<T> log_scale = log_var * T(0.5);  // log σ = ½ log σ², exact
  return Normal(loc, exp(log_scale), log_scale);
}

template <class T>
Var<T> Normal<T>::log_scale() const {
  return log_scale_.defined() ? log_scale_ : log(scale_);
}

template <class T>
Var<T> Normal<T>::log_prob(const Var<T>& value) const {
  Var<T> z = (value - loc_) / scale_;
  return square(z) * T(-0.5) - log_scale() - T(0.5 * kLog2Pi);
}

template <class T>
Var<T> Normal<T>::rsample_with_noise(const Var<T>& eps) const {
  this->noise_sample_shape(eps);
  return loc_ + scale_ * eps;  // z = μ + σ ε
}

template <class T>
Var<T> Normal<T>::entropy() const {
  return log_scale() + T(0.5 + 0.5 * kLog2Pi);
}

template <class T>
Var<T> Normal<T>::variance() const {
  return square(scale_);
}

// ---- Laplace ------------------------------------------------------------------------------------

template <class T>
Laplace<T>::Laplace(const Var<T>& loc, const Var<T>& scale)
    : Distribution<T>(loc.tape(), broadcast_params("Laplace", "loc", loc.shape(), "scale", scale.shape()), {}),
      loc_(expand(loc, this->batch_shape_)),
      scale_(expand(scale, this->batch_shape_)) {}

template <class T>
Var<T> Laplace<T>::log_prob(const Var<T>& value) const {
  return -(log(scale_) + T(kLog2)) - abs(value - loc_) / scale_;
}

template <class T>
Var<T> Laplace<T>::rsample_with_noise(const Var<T>& u) const {
  this->noise_sample_shape(u);
  // s = 2u − 1 ∈ (−1, 1), clamped so that log(1 − |s|) stays finite at u = 0 (and at u = 1, which a
  // caller's antithetic 1 − u can produce); e = −sgn(s) log(1 − |s|), written per sign so that neither
  // branch of the where sees an argument of log1p at −1.
  const T below_one = std::nextafter(T(1), T(0));
  Var<T> s = clamp(u * T(2) - T(1), -below_one, below_one);
  xt::xarray<bool> negative = s.value() < T(0);
  Var<T> e = tapir::where(negative, log1p(s), -log1p(-s));
  return loc_ + scale_ * e;
}

template <class T>
Var<T> Laplace<T>::entropy() const {
  return log(scale_) + T(1 + kLog2);
}

template <class T>
Var<T> Laplace<T>::variance() const {
  return square(scale_) * T(2);
}

template <class T>
Var<T> Laplace<T>::stddev() const {
  return scale_ * T(std::sqrt(2.0));
}

// ---- Uniform ------------------------------------------------------------------------------------

template <class T>
Uniform<T>::Uniform(const Var<T>& low, const Var<T>& high)
    : Distribution<T>(low.tape(), broadcast_params("Uniform", "low", low.shape(), "high", high.shape()), {}),
      low_(expand(low, this->batch_shape_)),
      high_(expand(high, this->batch_shape_)) {}

template <class T>
Var<T> Uniform<T>::log_prob(const Var<T>& value) const {
  const Shape shape = broadcast_params("Uniform.log_prob", "value", value.shape(), "batch", this->batch_shape_);
  xt::xarray<bool> inside = xt::broadcast((value.value() >= low_.value()) && (value.value() < high_.value()), shape);
  return tapir::where(inside, -log(high_ - low_), this->tape().scalar(-std::numeric_limits<T>::infinity()));
}

template <class T>
Var<T> Uniform<T>::rsample_with_noise(const Var<T>& u) const {
  this->noise_sample_shape(u);
  return low_ + (high_ - low_) * u;
}

template <class T>
Var<T> Uniform<T>::entropy() const {
  return log(high_ - low_);
}

template <class T>
Var<T> Uniform<T>::mean() const {
  return (low_ + high_) * T(0.5);
}

template <class T>
Var<T> Uniform<T>::variance() const {
  return square(high_ - low_) / T(12);
}

// ---- ContinuousBernoulli ------------------------------------------------------------------------

namespace {

// Every quantity below is a function of the logit l alone with a removable singularity at l = 0, where
// the closed forms cancel: mean − ½ = ½ coth(l/2) − 1/l loses ~log₁₀(12/l²) digits, the variance
// ~log₁₀(12/l²) and its derivative ~log₁₀(60/l⁴). So for |l| < kCbCut each is a Taylor series in l²
// built from a_k = B_2k/(2k)! (B the Bernoulli numbers; l/(eˡ − 1) = Σ B_n lⁿ/n!), and above the cut a
// closed form that has lost at most a factor ~3 there. The series converge for |l| < 2π: at the cut the
// k-th term is ~(3/2π)^2k ≈ 0.23^k of the first, so 32 terms leave < 1e-17 (relative) for every series,
// including the derivative of the variance whose coefficients grow like k². (A cut at 2 with 24 terms
// measured 7e-15 just above the cut, in the variance's derivative.) Everything is evaluated in
// double whatever T is (float then rounds once: ~6e-8 relative), so one cut and one term count serve
// both types; the accuracy is tested against mpmath at 50 digits (tests/nn/dist/cb_reference.py).
constexpr double kCbCut = 3.0;
constexpr int kCbTerms = 32;
constexpr double kBernoulliOverFactorial[kCbTerms] = {  // a_k = B_2k/(2k)!, k = 1..32 (mpmath, 20 digits)
    8.3333333333333333333e-2,  -1.3888888888888888889e-3,  3.3068783068783068783e-5,  -8.2671957671957671958e-7,
    2.0876756987868098979e-8,  -5.2841901386874931848e-10, 1.3382536530684678833e-11, -3.3896802963225828668e-13,
    8.5860620562778445641e-15, -2.174868698558061873e-16,  5.5090028283602295152e-18, -1.3954464685812523341e-19,
    3.5347070396294674717e-21, -8.9535174270375468504e-23, 2.2679524523376830603e-24, -5.7447906688722024453e-26,
    1.4551724756148649019e-27, -3.6859949406653101782e-29, 9.336734257095044672e-31,  -2.3650224157006299346e-32,
    5.9906717624821343047e-34, -1.5174548844682902617e-35, 3.8437581254541882322e-37, -9.7363530726466910353e-39,
    2.4662470442006809571e-40, -6.2470767418207436931e-42, 1.5824030244644914298e-43, -4.0082736859489359685e-45,
    1.0153075855569556312e-46, -2.5718041582418717499e-48, 6.5144560352338149316e-50, -1.6501309906896524555e-51};

/// Σ_{i ≥ first} c(i) a_{i+1} z^(i − first), by Horner's rule.
template <class C>
double cb_series(double z, int first, C c) {
  double s = 0;
  for (int i = kCbTerms - 1; i >= first; --i) s = s * z + c(i) * kBernoulliOverFactorial[i];
  return s;
}

/// E[x] − ½ = 1/(1 − e^(−l)) − 1/l − ½ = ½ coth(l/2) − 1/l = Σ a_k l^(2k−1) (used below the cut only).
double cb_mean_centered(double l) {
  return l * cb_series(l * l, 0, [](int) { return 1.0; });
}

/// E[x] = ½ + Σ a_k l^(2k−1) below the cut; above it 1/(1 − e^(−l)) − 1/l for l > 0 and
/// −1/l − 1/expm1(−l) for l < 0 (two positive terms, so E ≈ 1/|l| keeps its digits at large negative l).
double cb_mean(double l) {
  if (std::abs(l) < kCbCut) return 0.5 + cb_mean_centered(l);
  if (l > 0) return 1 / -std::expm1(-l) - 1 / l;
  return -1 / l - 1 / std::expm1(-l);
}

/// Var[x] = d E[x]/dl = 1/l² − 1/(4 sinh²(l/2)) = Σ (2k − 1) a_k l^(2k−2).
double cb_variance(double l) {
  if (std::abs(l) < kCbCut) return cb_series(l * l, 0, [](int i) { return 2.0 * i + 1; });
  const double sh = std::sinh(0.5 * l);  // inf beyond |l| ≈ 1420: the second term is then 0
  return 1 / (l * l) - 0.25 / (sh * sh);
}

/// d Var[x]/dl = −2/l³ + ¼ coth(l/2)/sinh²(l/2) = Σ_{k≥2} (2k − 1)(2k − 2) a_k l^(2k−3).
double cb_variance_derivative(double l) {
  if (std::abs(l) < kCbCut) return l * cb_series(l * l, 1, [](int i) { return (2.0 * i + 1) * (2.0 * i); });
  const double sh = std::sinh(0.5 * l);
  return -2 / (l * l * l) + 0.25 / (std::tanh(0.5 * l) * sh * sh);
}

/// log C(l) = log(l / tanh(l/2)) = log 2 + log cosh(l/2) − log(sinh(l/2)/(l/2)). Below the cut
/// log cosh(l/2) = log1p(2 sinh²(l/4)) (exact) and log(sinh u/u) = Σ a_k l^2k/(2k) (the series of
/// log Z − l/2, Z = (eˡ − 1)/l); the two terms are ~l²/8 and ~l²/24, so their difference keeps its digits.
/// Above: log|l| + log1p(e^(−|l|)) − log1p(−e^(−|l|)), no cancellation (+∞ at l = ±∞).
double cb_log_normalizer(double l) {
  if (std::abs(l) < kCbCut) {
    const double sh = std::sinh(0.25 * l), z = l * l;
    return kLog2 + std::log1p(2 * sh * sh) - z * cb_series(z, 0, [](int i) { return 1.0 / (2 * i + 2); });
  }
  const double a = std::abs(l), e = std::exp(-a);
  return std::log(a) + std::log1p(e) - std::log1p(-e);
}

/// d log C/dl = 1/l − 1/sinh l = σ(l) − E[x]: below the cut ½ tanh(l/2) − (E[x] − ½) (~l/4 minus ~l/12),
/// above it 1/l − 1/sinh l (1/sinh l ≤ 0.2/|l| there).
double cb_log_normalizer_derivative(double l) {
  if (std::abs(l) < kCbCut) return 0.5 * std::tanh(0.5 * l) - cb_mean_centered(l);
  return 1 / l - 1 / std::sinh(l);
}

/// H = log Z − l E[x] with log Z = log((eˡ − 1)/l): below the cut Σ (1/(2k) − 1) a_k l^2k (H ≈ −l²/24);
/// above 1 − log|l| + log1p(−e^(−|l|)) − |l| e^(−|l|)/(1 − e^(−|l|)) (even in l; −∞ at l = ±∞).
double cb_entropy(double l) {
  const double z = l * l;
  if (std::abs(l) < kCbCut) return z * cb_series(z, 0, [](int i) { return 1.0 / (2 * i + 2) - 1; });
  if (std::isinf(l)) return -std::numeric_limits<double>::infinity();
  const double a = std::abs(l), e = std::exp(-a);
  return 1 - std::log(a) + std::log1p(-e) - a * e / -std::expm1(-a);
}

/// dH/dl = E[x] − E[x] − l dE[x]/dl = −l Var[x] (0 at l = ±∞).
double cb_entropy_derivative(double l) { return std::isinf(l) ? 0.0 : -l * cb_variance(l); }

/// y = f(l) elementwise (evaluated in double);  dl += g ⊙ f'(l).
template <class T>
Var<T> cb_unary(const char* op, const Var<T>& l, double (*f)(double), double (*df)(double)) {
  return detail::unary(
      op, l,
      [f](const Array<T>& x) {
        Array<T> y = Array<T>::from_shape(x.shape());
        for (std::size_t i = 0; i < x.size(); ++i) y.data()[i] = static_cast<T>(f(double(x.data()[i])));
        return y;
      },
      [df](const Array<T>& x, const Array<T>&, const Array<T>& g) {
        Array<T> dx = Array<T>::from_shape(x.shape());
        for (std::size_t i = 0; i < x.size(); ++i)
          dx.data()[i] = static_cast<T>(double(g.data()[i]) * df(double(x.data()[i])));
        return dx;
      });
}

}  // namespace

template <class T>
ContinuousBernoulli<T>::ContinuousBernoulli(const Var<T>& logits)
    : Distribution<T>(logits.tape(), logits.shape(), {}), logits_(logits) {}

template <class T>
Var<T> ContinuousBernoulli<T>::probs() const {
  return sigmoid(logits_);
}

template <class T>
Var<T> ContinuousBernoulli<T>::log_normalizer() const {
  return cb_unary("continuous_bernoulli_log_normalizer", logits_, cb_log_normalizer, cb_log_normalizer_derivative);
}

template <class T>
Var<T> ContinuousBernoulli<T>::log_prob(const Var<T>& value) const {
  return bernoulli_log_prob(logits_, value) + log_normalizer();
}

template <class T>
Var<T> ContinuousBernoulli<T>::rsample_with_noise(const Var<T>& v) const {
  Tape<T>& tape = this->tape();
  const Shape shape = this->extended_shape(this->noise_sample_shape(v));
  Var<T> l = expand(logits_, shape);
  Var<T> u = v.shape() == shape ? v : expand(v, shape);
  const Array<T>& lv = l.value();
  const Array<T>& uv = u.value();
  xt::xarray<bool> pos = lv > T(0);
  xt::xarray<bool> small = xt::abs(lv) < T(kCbRsampleCut);
  // F⁻¹_l(v) = 1 − F⁻¹_{−l}(1 − v) for l > 0, so the closed form only sees a = −|l| ≤ 0 (no overflow):
  // F⁻¹_a(w) = log1p(w expm1(a))/a. Its value is accurate for any a ≠ 0, but its derivative in a cancels
  // (terms ~w/a, result ~w(1 − w)/2), so |l| < kCbRsampleCut uses the series below instead.
  Var<T> w = tapir::where(pos, T(1) - u, u);
  Var<T> a = -abs(tapir::where(small, tape.scalar(T(1)), l));
  Var<T> y = log1p(w * expm1(a)) / a;
  Var<T> closed = tapir::where(pos, T(1) - y, y);
  // F⁻¹_l(v) = v + c₁ l + c₂ l² + c₃ l³ + O(l⁴): c₁ = v(1 − v)/2, c₂ = v(1 − v)(1 − 2v)/6,
  // c₃ = v(1 − v)(1 − 6v + 6v²)/24 (the expansion of log1p(v(eˡ − 1))/l).
  Var<T> ls = tapir::where(small, l, tape.scalar(T(0)));
  Array<T> q = uv * (T(1) - uv);
  Var<T> c1 = tape.constant(Array<T>(q * T(0.5)));
  Var<T> c2 = tape.constant(Array<T>(q * (T(1) - T(2) * uv) / T(6)));
  Var<T> c3 = tape.constant(Array<T>(q * (T(1) - T(6) * uv + T(6) * uv * uv) / T(24)));
  Var<T> near0 = u + ls * (c1 + ls * (c2 + ls * c3));
  return tapir::where(small, near0, closed);
}

template <class T>
Var<T> ContinuousBernoulli<T>::mean() const {
  return cb_unary("continuous_bernoulli_mean", logits_, cb_mean, cb_variance);
}

template <class T>
Var<T> ContinuousBernoulli<T>::variance() const {
  return cb_unary("continuous_bernoulli_variance", logits_, cb_variance, cb_variance_derivative);
}

template <class T>
Var<T> ContinuousBernoulli<T>::entropy() const {
  return cb_unary("continuous_bernoulli_entropy", logits_, cb_entropy, cb_entropy_derivative);
}

// ---- LowRankMultivariateNormal ------------------------------------------------------------------

namespace {

/// What the log_prob node keeps for its backward pass (double, shared by the closure).
struct LowRankSaved {
  std::size_t n = 0, d = 0, r = 0;
  std::vector<double> a;       // (N, D): a_n = Σ⁻¹ (x_n − μ)
  std::vector<double> m;       // (D, R): Σ⁻¹ W = Ψ⁻¹ W C⁻¹
  std::vector<double> diag_p;  // (D,): diag Σ⁻¹
};

}  // namespace

template <class T>
LowRankMultivariateNormal<T>::LowRankMultivariateNormal(const Var<T>& loc, const Var<T>& cov_factor,
                                                        const Var<T>& cov_diag)
    : Distribution<T>(loc.tape(), {}, loc.dim() == 1 ? loc.shape() : Shape{}),
      loc_(loc),
      cov_factor_(cov_factor),
      cov_diag_(cov_diag) {
  const Shape& l = loc.shape();
  const Shape& w = cov_factor.shape();
  const Shape& d = cov_diag.shape();
  if (l.size() != 1 || w.size() != 2 || d.size() != 1 || w[0] != l[0] || d[0] != l[0] || w[1] == 0)
    throw ShapeError(fmt::format(
        "LowRankMultivariateNormal: expected loc (D,), cov_factor (D, R) with R ≥ 1 and cov_diag (D,), got loc {}, "
        "cov_factor {}, cov_diag {} (batched parameters are not supported)",
        shape_str(l), shape_str(w), shape_str(d)));
  if (&cov_factor.tape() != &loc.tape() || &cov_diag.tape() != &loc.tape())
    throw Error("LowRankMultivariateNormal: loc, cov_factor and cov_diag belong to different tapes");
}

template <class T>
Var<T> LowRankMultivariateNormal<T>::log_prob(const Var<T>& value) const {
  const std::size_t D = loc_.shape()[0], R = cov_factor_.shape()[1];
  const Shape& xs = value.shape();
  if (xs.empty() || xs.back() != D)
    throw ShapeError(
        fmt::format("LowRankMultivariateNormal.log_prob: value of shape {} must end with the event "
                    "size {} (shape S + ({},))",
                    shape_str(xs), D, D));
  if (&value.tape() != &loc_.tape())
    throw Error("LowRankMultivariateNormal.log_prob: value and the parameters belong to different tapes");
  const Shape out_shape(xs.begin(), xs.end() - 1);
  const std::size_t N = shape_size(out_shape);

  const T* mu = loc_.value().data();
  const T* W = cov_factor_.value().data();
  const T* dd = cov_diag_.value().data();
  const T* x = value.value().data();

  auto saved = std::make_shared<LowRankSaved>();
  saved->n = N, saved->d = D, saved->r = R;
  // B = Ψ⁻¹ W, C = I + Wᵀ B (the capacitance matrix, R×R), C = L Lᵀ.
  Array<double> B = Array<double>::from_shape({D, R});
  Array<double> C = xt::zeros<double>({R, R});
  double logdet = 0;  // log |Σ| = log |Ψ| + log |C|  (matrix determinant lemma)
  for (std::size_t i = 0; i < D; ++i) {
    if (!(dd[i] > 0))
      throw Error(fmt::format("LowRankMultivariateNormal: cov_diag[{}] = {} must be > 0", i, double(dd[i])));
    logdet += std::log(double(dd[i]));
    for (std::size_t k = 0; k < R; ++k) B(i, k) = double(W[i * R + k]) / dd[i];
  }
  for (std::size_t i = 0; i < D; ++i)
    for (std::size_t j = 0; j < R; ++j)
      for (std::size_t k = 0; k < R; ++k) C(j, k) += double(W[i * R + j]) * B(i, k);
  for (std::size_t j = 0; j < R; ++j) C(j, j) += 1;
  const Array<double> L = dense::cholesky(
      C, "LowRankMultivariateNormal: the capacitance matrix I + Wᵀ diag(cov_diag)⁻¹ W (check cov_factor)");
  logdet += dense::log_det_from_cholesky(L);

  // M = B C⁻¹ (row i: C⁻¹ Bᵢᵀ, C symmetric), diag Σ⁻¹ = 1/d − Σ_k M_ik B_ik.
  Array<double> M = B;
  dense::cholesky_solve_rows(L, M);
  saved->m.assign(M.begin(), M.end());
  saved->diag_p.resize(D);
  for (std::size_t i = 0; i < D; ++i) {
    double s = 1.0 / dd[i];
    for (std::size_t k = 0; k < R; ++k) s -= M(i, k) * B(i, k);
    saved->diag_p[i] = s;
  }

  Var<T> y = loc_.tape().push(
      "low_rank_mvn_log_prob", out_shape,
      value.requires_grad() || loc_.requires_grad() || cov_factor_.requires_grad() || cov_diag_.requires_grad());
  T* out = y.out().data();
  saved->a.resize(N * D);
  // Per point: s = Ψ⁻¹ r, t = Wᵀ s, c = C⁻¹ t, a = s − B c, (r, Σ⁻¹ r) = (r, s) − (t, c)  (Woodbury).
  // The N solves c = C⁻¹ t are one call on the rows of Tm (N, R).
  Array<double> Tm = xt::zeros<double>({N, R});
  std::vector<double> rs(N, 0.0);
  for (std::size_t n = 0; n < N; ++n) {
    double* s = &saved->a[n * D];  // s for now; a = s − B c below
    for (std::size_t i = 0; i < D; ++i) {
      const double r = double(x[n * D + i]) - mu[i];
      s[i] = r / dd[i];
      rs[n] += r * s[i];
      for (std::size_t k = 0; k < R; ++k) Tm(n, k) += W[i * R + k] * s[i];
    }
  }
  Array<double> Cm = Tm;
  dense::cholesky_solve_rows(L, Cm);
  for (std::size_t n = 0; n < N; ++n) {
    double tc = 0;
    for (std::size_t k = 0; k < R; ++k) tc += Tm(n, k) * Cm(n, k);
    double* a = &saved->a[n * D];
    for (std::size_t i = 0; i < D; ++i) {
      double bc = 0;
      for (std::size_t k = 0; k < R; ++k) bc += B(i, k) * Cm(n, k);
      a[i] -= bc;
    }
    out[n] = static_cast<T>(-0.5 * (double(D) * kLog2Pi + logdet + (rs[n] - tc)));
  }

  Var<T> loc = loc_, W_ = cov_factor_, d_ = cov_diag_;
  y.on_backward([y, value, loc, W_, d_, saved] {
    const std::size_t N = saved->n, D = saved->d, R = saved->r;
    const T* g = y.grad().data();
    const std::vector<double>& a = saved->a;
    double G = 0;
    for (std::size_t n = 0; n < N; ++n) G += g[n];
    if (value.requires_grad()) {  // d/dx_n = −g_n a_n
      Array<T> dx = Array<T>::from_shape(value.shape());
      for (std::size_t n = 0; n < N; ++n)
        for (std::size_t i = 0; i < D; ++i) dx.data()[n * D + i] = static_cast<T>(-double(g[n]) * a[n * D + i]);
      value.add_grad(dx);
    }
    if (loc.requires_grad()) {  // d/dμ = Σ_n g_n a_n
      Array<T> dmu = xt::zeros<T>({D});
      for (std::size_t n = 0; n < N; ++n)
        for (std::size_t i = 0; i < D; ++i) dmu(i) += static_cast<T>(g[n] * a[n * D + i]);
      loc.add_grad(dmu);
    }
    if (W_.requires_grad()) {  // d/dW = −G Σ⁻¹W + Σ_n g_n a_n (Wᵀ a_n)ᵀ
      const T* W = W_.value().data();
      std::vector<double> dW(D * R);
      for (std::size_t j = 0; j < D * R; ++j) dW[j] = -G * saved->m[j];
      std::vector<double> q(R);
      for (std::size_t n = 0; n < N; ++n) {
        std::fill(q.begin(), q.end(), 0.0);
        for (std::size_t i = 0; i < D; ++i)
          for (std::size_t k = 0; k < R; ++k) q[k] += W[i * R + k] * a[n * D + i];
        for (std::size_t i = 0; i < D; ++i)
          for (std::size_t k = 0; k < R; ++k) dW[i * R + k] += g[n] * a[n * D + i] * q[k];
      }
      Array<T> dWa = Array<T>::from_shape({D, R});
      std::copy(dW.begin(), dW.end(), dWa.begin());
      W_.add_grad(dWa);
    }
    if (d_.requires_grad()) {  // d/dd_i = −½ G (Σ⁻¹)_ii + ½ Σ_n g_n a_ni²
      Array<T> dd = Array<T>::from_shape({D});
      for (std::size_t i = 0; i < D; ++i) {
        double v = -0.5 * G * saved->diag_p[i];
        for (std::size_t n = 0; n < N; ++n) v += 0.5 * g[n] * a[n * D + i] * a[n * D + i];
        dd(i) = static_cast<T>(v);
      }
      d_.add_grad(dd);
    }
  });
  return y;
}

template <class T>
Shape LowRankMultivariateNormal<T>::noise_shape(const Shape& sample_shape) const {
  return concat_shapes(sample_shape, Shape{cov_factor_.shape()[1] + loc_.shape()[0]});
}

template <class T>
Array<T> LowRankMultivariateNormal<T>::draw_noise(Rng& rng, const Shape& sample_shape) const {
  // All ε₁ first, then all ε₂ (the order rsample has always drawn them in), packed as [ε₁, ε₂] per sample.
  const std::size_t D = loc_.shape()[0], R = cov_factor_.shape()[1];
  const std::size_t N = shape_size(sample_shape);
  const Array<T> eps_w = normal<T>(rng, {N, R});
  const Array<T> eps_d = normal<T>(rng, {N, D});
  Array<T> out = Array<T>::from_shape(noise_shape(sample_shape));
  for (std::size_t n = 0; n < N; ++n) {
    std::copy_n(eps_w.data() + n * R, R, out.data() + n * (R + D));
    std::copy_n(eps_d.data() + n * D, D, out.data() + n * (R + D) + R);
  }
  return out;
}

template <class T>
Var<T> LowRankMultivariateNormal<T>::rsample_with_noise(const Var<T>& noise) const {
  const Shape sample_shape = this->noise_sample_shape(noise);
  const std::size_t D = loc_.shape()[0], R = cov_factor_.shape()[1];
  const long N = static_cast<long>(shape_size(sample_shape));
  // Split [ε₁, ε₂] along the last axis: transpose to (R + D, N) and take row blocks.
  Var<T> cols = transpose(reshape(noise, {N, static_cast<long>(R + D)}));
  Var<T> eps_w = transpose(slice_rows(cols, 0, R));      // (N, R)
  Var<T> eps_d = transpose(slice_rows(cols, R, R + D));  // (N, D)
  const Shape shape = this->extended_shape(sample_shape);
  Var<T> wz = reshape(matmul(eps_w, transpose(cov_factor_)), to_long(shape));  // (W ε₁)ᵀ for each sample
  return loc_ + wz + sqrt(cov_diag_) * reshape(eps_d, to_long(shape));
}

template <class T>
Var<T> LowRankMultivariateNormal<T>::entropy() const {
  // log N(μ; μ, Σ) = −½ (D log 2π + log|Σ|), so H = ½ D (1 + log 2π) + ½ log|Σ| = D/2 − log N(μ; μ, Σ).
  const double D = static_cast<double>(loc_.shape()[0]);
  return T(0.5 * D) - log_prob(loc_);
}

template <class T>
Var<T> LowRankMultivariateNormal<T>::variance() const {
  return sum(square(cov_factor_), 1) + cov_diag_;
}

// ---- Explicit instances -------------------------------------------------------------------------

#define TAPIR_DIST_CONTINUOUS(T)                                  \
  template class Distribution<T>;                                 \
  template class Normal<T>;                                       \
  template class Laplace<T>;                                      \
  template class Uniform<T>;                                      \
  template class ContinuousBernoulli<T>;                          \
  template class LowRankMultivariateNormal<T>;                    \
  template Var<T> expand<T>(const Var<T>& x, const Shape& shape); \
  template Var<T> sum_rightmost<T>(const Var<T>& x, std::size_t n);

TAPIR_DIST_CONTINUOUS(float)
TAPIR_DIST_CONTINUOUS(double)

}  // namespace tapir::dist
