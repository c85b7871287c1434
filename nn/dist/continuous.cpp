// tapir/nn/dist/continuous.cpp — Distribution<T> (the base) and the continuous families: Normal,
// Laplace, Uniform, ContinuousBernoulli, LowRankMultivariateNormal. Explicit instances for float and
// double at the bottom; the headers only declare.
#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "autodiff/dense.hpp"
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
  return x + x.tape().constant(xt::zeros<T>(shape));
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
Var<T> Distribution<T>::sample(Rng& rng, const Shape& sample_shape) const {
  Array<T> x;
  {
    NoGradGuard<T> no_grad(*tape_);
    x = rsample(rng, sample_shape).value();
  }
  return tape_->constant(x);
}

template <class T>
Var<T> Distribution<T>::rsample(Rng&, const Shape&) const {
  throw Error(fmt::format(
      "{}: rsample is not available: the family has no reparameterised sampler (has_rsample() is false); use "
      "sample() (no gradient) and a score-function estimator, or a continuous relaxation",
      type_name()));
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
Var<T> Normal<T>::rsample(Rng& rng, const Shape& sample_shape) const {
  Array<T> eps = normal<T>(rng, this->extended_shape(sample_shape));
  return loc_ + scale_ * this->tape().constant(eps);
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
Var<T> Laplace<T>::rsample(Rng& rng, const Shape& sample_shape) const {
  Array<T> e = Array<T>::from_shape(this->extended_shape(sample_shape));
  for (auto& v : e) {
    double u = 2 * rng.uniform() - 1;                                       // U[−1, 1)
    if (u <= -1) u = std::nextafter(-1.0, 0.0);                             // keep log(1 − |u|) finite
    v = static_cast<T>(-std::copysign(1.0, u) * std::log1p(-std::abs(u)));  // −sgn(u) log(1 − |u|)
  }
  return loc_ + scale_ * this->tape().constant(e);
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
Var<T> Uniform<T>::rsample(Rng& rng, const Shape& sample_shape) const {
  Array<T> u = uniform<T>(rng, this->extended_shape(sample_shape));
  return low_ + (high_ - low_) * this->tape().constant(u);
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
// |l| below which log C uses its Taylor series, and mean/variance theirs (in u = l/2: 0.01 and 0.1,
// where the dropped terms are below 1e-13 and 1e-9 and the closed forms have lost at most ~1e-5 to
// cancellation in float).
constexpr double kCbLogNormCut = 0.02;
constexpr double kCbMomentCut = 0.2;
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
  Tape<T>& tape = this->tape();
  xt::xarray<bool> small = xt::abs(logits_.value()) < T(kCbLogNormCut);
  // Taylor branch, fed 0 where not selected: log 2 + u²/3 − 7u⁴/90.
  Var<T> u2 = square(tapir::where(small, logits_, tape.scalar(T(0))) * T(0.5));
  Var<T> taylor = u2 * T(1.0 / 3) - square(u2) * T(7.0 / 90) + T(kLog2);
  // Closed branch, fed 1 where not selected: log|l| − log(1 − e^(−|l|)) + log(1 + e^(−|l|)).
  Var<T> a = abs(tapir::where(small, tape.scalar(T(1)), logits_));
  Var<T> closed = log(a) - log(-expm1(-a)) + softplus(-a);
  return tapir::where(small, taylor, closed);
}

template <class T>
Var<T> ContinuousBernoulli<T>::log_prob(const Var<T>& value) const {
  return value * logits_ - softplus(logits_) + log_normalizer();
}

template <class T>
Var<T> ContinuousBernoulli<T>::rsample(Rng& rng, const Shape& sample_shape) const {
  Tape<T>& tape = this->tape();
  const Shape shape = this->extended_shape(sample_shape);
  Array<T> v = uniform<T>(rng, shape);
  Var<T> l = expand(logits_, shape);
  const Array<T>& lv = l.value();
  xt::xarray<bool> pos = lv > T(0);
  xt::xarray<bool> small = xt::abs(lv) < T(1e-4);
  // F⁻¹_l(v) = 1 − F⁻¹_{−l}(1 − v) for l > 0, so the formula only sees a = −|l| ≤ 0 (no overflow).
  Array<T> w = xt::where(pos, T(1) - v, v);
  Var<T> a = -abs(tapir::where(small, tape.scalar(T(1)), l));
  Var<T> y = log1p(tape.constant(w) * expm1(a)) / a;  // F⁻¹_a(w) for a < 0
  Var<T> closed = tapir::where(pos, T(1) - y, y);
  // |l| < 1e-4: F⁻¹_l(v) = v + l v(1 − v)/2 + O(l²).
  Var<T> lt = tapir::where(small, l, tape.scalar(T(0)));
  Var<T> near0 = tape.constant(v) + lt * tape.constant(Array<T>(v * (T(1) - v) * T(0.5)));
  return tapir::where(small, near0, closed);
}

template <class T>
Var<T> ContinuousBernoulli<T>::mean() const {
  Tape<T>& tape = this->tape();
  xt::xarray<bool> small = xt::abs(logits_.value()) < T(kCbMomentCut);
  Var<T> u = tapir::where(small, logits_, tape.scalar(T(0))) * T(0.5);
  Var<T> u2 = square(u);
  Var<T> series = u * (T(1.0 / 6) - u2 * (T(1.0 / 90) - u2 * T(1.0 / 945))) + T(0.5);
  Var<T> uc = tapir::where(small, tape.scalar(T(1)), logits_) * T(0.5);
  Var<T> closed = (T(1) / tanh(uc) - T(1) / uc) * T(0.5) + T(0.5);
  return tapir::where(small, series, closed);
}

template <class T>
Var<T> ContinuousBernoulli<T>::variance() const {
  Tape<T>& tape = this->tape();
  xt::xarray<bool> small = xt::abs(logits_.value()) < T(kCbMomentCut);
  Var<T> u2 = square(tapir::where(small, logits_, tape.scalar(T(0))) * T(0.5));
  Var<T> series = T(1.0 / 12) - u2 * (T(1.0 / 60) - u2 * T(1.0 / 378));
  Var<T> uc = tapir::where(small, tape.scalar(T(1)), logits_) * T(0.5);
  Var<T> closed = (T(1) + T(1) / square(uc) - T(1) / square(tanh(uc))) * T(0.25);
  return tapir::where(small, series, closed);
}

template <class T>
Var<T> ContinuousBernoulli<T>::entropy() const {
  return softplus(logits_) - logits_ * mean() - log_normalizer();
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
Var<T> LowRankMultivariateNormal<T>::rsample(Rng& rng, const Shape& sample_shape) const {
  Tape<T>& tape = this->tape();
  const std::size_t D = loc_.shape()[0], R = cov_factor_.shape()[1];
  const std::size_t N = shape_size(sample_shape);
  const Shape shape = this->extended_shape(sample_shape);
  Var<T> eps_w = tape.constant(normal<T>(rng, {N, R}));
  Var<T> eps_d = tape.constant(normal<T>(rng, shape));
  Var<T> wz = reshape(matmul(eps_w, transpose(cov_factor_)), to_long(shape));  // (W ε₁)ᵀ for each sample
  (void)D;
  return loc_ + wz + sqrt(cov_diag_) * eps_d;
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
