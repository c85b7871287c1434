// tapir/nn/dist/discrete.cpp — Bernoulli, Categorical, and the combinators built on other families:
// Independent and MixtureSameFamily. Explicit instances for float and double at the bottom.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "autodiff/ops/op_helpers.hpp"
#include "nn/dist/bernoulli.hpp"
#include "nn/dist/categorical.hpp"
#include "nn/dist/independent.hpp"
#include "nn/dist/mixture_same_family.hpp"

namespace tapir::dist {

namespace {
/// σ(l) on a plain array, from e^(−|l|) so it never overflows.
template <class T>
Array<T> sigmoid_array(const Array<T>& l) {
  Array<T> e = xt::exp(-xt::abs(l));
  return xt::where(l >= T(0), T(1) / (T(1) + e), e / (T(1) + e));
}

/// softplus(z) = max(z, 0) + log1p(e^(−|z|)): softplus(−∞) = 0, softplus(∞) = ∞.
double softplus_d(double z) { return (z > 0 ? z : 0.0) + std::log1p(std::exp(-std::abs(z))); }
/// σ(z) from e^(−|z|) (no overflow; σ(±∞) = 1, 0).
double sigmoid_d(double z) {
  const double e = std::exp(-std::abs(z));
  return z >= 0 ? 1 / (1 + e) : e / (1 + e);
}
}  // namespace

template <class T>
Var<T> bernoulli_log_prob(const Var<T>& logits, const Var<T>& value) {
  // −BCE(l, x) = −[x softplus(−l) + (1 − x) softplus(l)]: the loss op's xsimd kernel, exact at large
  // logits (a weight 1 − x or x that is 0 drops its term, so l = ±∞ with the matching x gives 0) and as
  // fast as the rest of the decoder. Outside [0, 1] the density is 0: log_prob −∞, gradient 0.
  const Var<T> lp = -binary_cross_entropy_with_logits(logits, value);
  const Array<T>& x = value.value();
  const auto outside = [](T v) { return v < T(0) || v > T(1); };  // NaN is neither: it stays NaN
  if (std::none_of(x.begin(), x.end(), outside)) return lp;
  xt::xarray<bool> out = xt::broadcast(x < T(0) || x > T(1), lp.shape());
  return tapir::where(out, lp.tape().scalar(-std::numeric_limits<T>::infinity()), lp);
}

namespace {
/// Every x in [0, 1] (NaN is not), in SIMD batches: this check runs on every training batch.
template <class T>
bool all_in_unit_interval(const T* x, std::size_t n) {
  using B = xsimd::batch<T>;
  xsimd::batch_bool<T> ok(true);
  std::size_t i = 0;
  for (; i + B::size <= n; i += B::size) {
    const B v = B::load_unaligned(x + i);
    ok = ok & (v >= B(0)) & (v <= B(1));
  }
  bool all = xsimd::all(ok);
  for (; i < n; ++i) all = all && x[i] >= T(0) && x[i] <= T(1);
  return all;
}
}  // namespace

template <class T>
Var<T> bernoulli_log_prob_summed(const Var<T>& logits, const Var<T>& value) {
  const Shape& sl = logits.shape();
  const Shape& sv = value.shape();
  const Array<T>& x = value.value();
  // The fused loop covers the common case: x a trailing tile of the logits (the data under S samples),
  // no gradient for x, every x in [0, 1]. Anything else: the two-op form, which handles all of it.
  const bool tile = sl.size() >= 1 && sv.size() >= 1 && sv.size() <= sl.size() && x.size() > 0 &&
                    std::equal(sv.begin(), sv.end(), sl.end() - static_cast<std::ptrdiff_t>(sv.size()));
  if (!tile || value.requires_grad() || !all_in_unit_interval(x.data(), x.size()))
    return sum_rightmost(bernoulli_log_prob(logits, value), 1);
  const std::size_t d = sl.back(), rows = logits.size() / std::max<std::size_t>(d, 1), tile_rows = x.size() / d;
  Var<T> y = detail::make_output("bernoulli_log_prob_summed", Shape(sl.begin(), sl.end() - 1), logits);
  using B = xsimd::batch<T>;
  // −BCE(l, x) as binary_cross_entropy_with_logits computes it, negated and summed in one pass.
  const auto log_p = [](const B& l, const B& t) {
    const B w = xsimd::select(l > B(0), B(1) - t, -t);  // the weight of l
    return -(xsimd::select(w == B(0), B(0), w * l) + xsimd::log1p(xsimd::exp(-xsimd::abs(l))));
  };
  // With a gradient to come, the same pass keeps each element's slope d log p / dl = x − σ(l) in a
  // scratch node (a tape slot, reused every step), and the backward is one multiply per element.
  const bool keep_slope = y.requires_grad();
  const Var<T> slope = keep_slope ? y.tape().push("bernoulli_log_prob_summed.slope", sl, false) : Var<T>();
  const T* lv = logits.value().data();
  T* out = y.out().data();
  T* sp = keep_slope ? slope.out().data() : nullptr;
  // Rows in blocks of about kSimdGrain elements on tapir's threads; each row's sum is one thread's.
  const std::size_t grain = std::max<std::size_t>(1, detail::kSimdGrain / std::max<std::size_t>(d, 1));
  const auto forward = [&](std::size_t r0, std::size_t r1) {
    // s = e/(1 + e), e = e^(−|l|), is σ(−l) for l ≥ 0 and σ(l) for l < 0, so x − σ(l) is (x − 1) + s or
    // x − s: σ(l) rounds to 1 for l > 17 in float (37 in double), and x − σ(l) would lose e^(−l).
    const auto slope_of = [](const B& l, const B& t) {
      const B e = xsimd::exp(-xsimd::abs(l));
      const B s = e / (B(1) + e);
      return xsimd::select(l >= B(0), (t - B(1)) + s, t - s);
    };
    for (std::size_t r = r0; r < r1; ++r) {
      const T* l = lv + r * d;
      const T* t = x.data() + (r % tile_rows) * d;
      T* slope_row = keep_slope ? sp + r * d : nullptr;
      B acc(T(0));
      std::size_t j = 0;
      for (; j + B::size <= d; j += B::size) {
        const B lb = B::load_unaligned(l + j), tb = B::load_unaligned(t + j);
        acc += log_p(lb, tb);
        if (keep_slope) slope_of(lb, tb).store_unaligned(slope_row + j);
      }
      T s = xsimd::hadd(acc);
      if (j < d) {  // the tail padded into one batch (a padded element adds −log 2 and is masked out)
        std::array<T, B::size> pl{}, pt{}, r2{};
        std::copy(l + j, l + d, pl.begin());
        std::copy(t + j, t + d, pt.begin());
        const B lb = B::load_unaligned(pl.data()), tb = B::load_unaligned(pt.data());
        log_p(lb, tb).store_unaligned(r2.data());
        for (std::size_t i = 0; i < d - j; ++i) s += r2[i];
        if (keep_slope) {
          slope_of(lb, tb).store_unaligned(r2.data());
          std::copy(r2.begin(), r2.begin() + static_cast<std::ptrdiff_t>(d - j), slope_row + j);
        }
      }
      out[r] = s;
    }
  };
  parallel_chunks(rows, grain, forward);
  y.on_backward([logits, y, slope, d, rows, grain] {
    logits.accumulate_grad([&](Array<T>& dl, bool acc) {  // dy/dl = g_r (x − σ(l)), g_r the row's gradient
      const T* sv = slope.value().data();
      const T* g = y.grad().data();
      T* o = dl.data();
      const auto backward = [&](std::size_t r0, std::size_t r1) {
        for (std::size_t r = r0; r < r1; ++r) {
          const B gr(g[r]);
          detail::simd_apply_serial(
              d, o + r * d, acc, [&gr](B s) { return gr * s; }, sv + r * d);
        }
      };
      parallel_chunks(rows, grain, backward);
    });
  });
  return y;
}

// ---- Bernoulli ----------------------------------------------------------------------------------

template <class T>
Bernoulli<T>::Bernoulli(const Var<T>& logits) : Distribution<T>(logits.tape(), logits.shape(), {}), logits_(logits) {}

template <class T>
Var<T> Bernoulli<T>::probs() const {
  return sigmoid(logits_);
}

template <class T>
Var<T> Bernoulli<T>::log_prob(const Var<T>& value) const {
  return bernoulli_log_prob(logits_, value);
}

template <class T>
Var<T> Bernoulli<T>::log_prob_summed(const Var<T>& value, std::size_t n) const {
  return n == 1 ? bernoulli_log_prob_summed(logits_, value) : Distribution<T>::log_prob_summed(value, n);
}

template <class T>
Var<T> Bernoulli<T>::sample(Rng& rng, const Shape& sample_shape) const {
  Array<T> p = xt::broadcast(sigmoid_array(logits_.value()), this->extended_shape(sample_shape));
  return this->tape().constant(bernoulli<T>(rng, p));
}

template <class T>
Var<T> Bernoulli<T>::entropy() const {
  return detail::unary(
      "bernoulli_entropy", logits_,
      // H = σ(l) softplus(−l) + σ(−l) softplus(l), a term with weight 0 left out (l = ±∞ gives 0)
      [](const Array<T>& l) {
        Array<T> h = Array<T>::from_shape(l.shape());
        for (std::size_t i = 0; i < l.size(); ++i) {
          const double z = l.data()[i], p = sigmoid_d(z), q = sigmoid_d(-z);
          h.data()[i] = static_cast<T>((p > 0 ? p * softplus_d(-z) : 0.0) + (q > 0 ? q * softplus_d(z) : 0.0));
        }
        return h;
      },
      // dH/dl = −l σ(l) σ(−l)  (0 at l = ±∞)
      [](const Array<T>& l, const Array<T>&, const Array<T>& g) {
        Array<T> d = Array<T>::from_shape(l.shape());
        for (std::size_t i = 0; i < l.size(); ++i) {
          const double z = l.data()[i];
          d.data()[i] = std::isinf(z) ? T(0) : static_cast<T>(-z * sigmoid_d(z) * sigmoid_d(-z) * g.data()[i]);
        }
        return d;
      });
}

template <class T>
Var<T> Bernoulli<T>::variance() const {
  return sigmoid(logits_) * sigmoid(-logits_);
}

// ---- Categorical --------------------------------------------------------------------------------

namespace {
Shape drop_last(const Shape& s) { return Shape(s.begin(), s.end() - 1); }
}  // namespace

template <class T>
Categorical<T>::Categorical(const Var<T>& logits)
    : Distribution<T>(logits.tape(), logits.dim() >= 1 ? drop_last(logits.shape()) : Shape{}, {}), logits_(logits) {
  if (logits.dim() == 0 || logits.shape().back() == 0)
    throw ShapeError(fmt::format(
        "Categorical: logits of shape {} need rank ≥ 1 and at least one category on the last axis (B..., K)",
        shape_str(logits.shape())));
}

template <class T>
Var<T> Categorical<T>::log_probs() const {
  return log_softmax(logits_, -1);
}

template <class T>
Var<T> Categorical<T>::probs() const {
  return softmax(logits_, -1);
}

template <class T>
Var<T> Categorical<T>::log_prob(const Var<T>& value) const {
  const std::size_t K = num_categories();
  const Shape vshape = broadcast_params("Categorical.log_prob", "value", value.shape(), "batch", this->batch_shape_);
  Array<T> v = xt::broadcast(value.value(), vshape);
  Array<T> onehot = xt::zeros<T>(concat_shapes(vshape, Shape{K}));
  for (std::size_t i = 0; i < v.size(); ++i) {
    const T k = v.data()[i];
    if (!(k >= 0 && k < T(K) && k == std::floor(k)))
      throw Error(
          fmt::format("Categorical.log_prob: value {} (element {} of a value of shape {}) is not a class "
                      "index in [0, {})",
                      double(k), i, shape_str(value.shape()), K));
    onehot.data()[i * K + static_cast<std::size_t>(k)] = T(1);
  }
  // Pick log p_k with where, not onehot · log p: a −∞ logit elsewhere in the row would give 0 · (−∞) = NaN.
  return sum(tapir::where(xt::xarray<bool>(onehot > T(0)), log_probs(), this->tape().scalar(T(0))), -1);
}

template <class T>
Var<T> Categorical<T>::sample(Rng& rng, const Shape& sample_shape) const {
  const std::size_t K = num_categories();
  const Array<T>& l = logits_.value();
  const std::size_t B = l.size() / K;
  // Cumulative probabilities per batch element, in double.
  std::vector<double> cdf(B * K);
  for (std::size_t b = 0; b < B; ++b) {
    const T* lb = l.data() + b * K;
    double m = -std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < K; ++k) m = std::max(m, double(lb[k]));
    double acc = 0;
    for (std::size_t k = 0; k < K; ++k) cdf[b * K + k] = acc += std::exp(double(lb[k]) - m);
    for (std::size_t k = 0; k < K; ++k) cdf[b * K + k] /= acc;
  }
  Array<T> out = Array<T>::from_shape(this->extended_shape(sample_shape));
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double* c = &cdf[(i % B) * K];
    const double u = rng.uniform();
    std::size_t k = 0;
    while (k + 1 < K && u >= c[k]) ++k;
    out.data()[i] = static_cast<T>(k);
  }
  return this->tape().constant(out);
}

template <class T>
Var<T> Categorical<T>::entropy() const {
  Var<T> lp = clamp(log_probs(), std::numeric_limits<T>::lowest(), std::numeric_limits<T>::max());
  return -sum(probs() * lp, -1);
}

// ---- value shapes ---------------------------------------------------------------------------------

namespace {
/// Checks that `value` is S + batch + event up to broadcasting (each of its last |batch| + |event| dims
/// equals the distribution's or one of the two is 1), so a wrong shape is reported in the user's terms
/// rather than by a broadcast deep inside the base family.
template <class T>
void check_value_shape(const Distribution<T>& d, const Var<T>& value) {
  const Shape want = concat_shapes(d.batch_shape(), d.event_shape());
  const Shape& got = value.shape();
  bool ok = got.size() >= d.event_shape().size();
  for (std::size_t i = 1; ok && i <= std::min(got.size(), want.size()); ++i) {
    const std::size_t a = got[got.size() - i], b = want[want.size() - i];
    ok = a == b || a == 1 || b == 1;
  }
  if (!ok)
    throw ShapeError(fmt::format(
        "{}.log_prob: value of shape {} does not fit batch_shape {} + event_shape {} (expected sample dims, then {} "
        "up to broadcasting)",
        d.type_name(), shape_str(got), shape_str(d.batch_shape()), shape_str(d.event_shape()), shape_str(want)));
}
}  // namespace

// ---- Independent --------------------------------------------------------------------------------

namespace {
template <class T>
Shape independent_batch(const Distribution<T>& base, std::size_t n) {
  const Shape& b = base.batch_shape();
  if (n > b.size())
    throw ShapeError(
        fmt::format("Independent: cannot reinterpret {} batch dims of {} with batch shape {} (it has {}): give the "
                    "base parameters of the full shape, or for N(0, I) use "
                    "tapir::dist::standard_normal(tape, batch_shape, event_shape)",
                    n, base.type_name(), shape_str(b), b.size()));
  return Shape(b.begin(), b.end() - static_cast<std::ptrdiff_t>(n));
}
template <class T>
Shape independent_event(const Distribution<T>& base, std::size_t n) {
  const Shape& b = base.batch_shape();
  return concat_shapes(Shape(b.end() - static_cast<std::ptrdiff_t>(std::min(n, b.size())), b.end()),
                       base.event_shape());
}
}  // namespace

template <class T>
Independent<T>::Independent(std::shared_ptr<const Distribution<T>> base, std::size_t reinterpreted_batch_ndims)
    : Distribution<T>(base->tape(), independent_batch(*base, reinterpreted_batch_ndims),
                      independent_event(*base, reinterpreted_batch_ndims)),
      base_(std::move(base)),
      n_(reinterpreted_batch_ndims) {}

template <class T>
std::string Independent<T>::type_name() const {
  return fmt::format("Independent({}, {})", base_->type_name(), n_);
}

template <class T>
Var<T> Independent<T>::log_prob(const Var<T>& value) const {
  check_value_shape(*this, value);
  return base_->log_prob_summed(value, n_);
}

template <class T>
Var<T> Independent<T>::sample(Rng& rng, const Shape& sample_shape) const {
  return base_->sample(rng, sample_shape);
}

template <class T>
Var<T> Independent<T>::rsample(Rng& rng, const Shape& sample_shape) const {
  return base_->rsample(rng, sample_shape);
}

template <class T>
Var<T> Independent<T>::entropy() const {
  return sum_rightmost(base_->entropy(), n_);
}

// ---- MixtureSameFamily --------------------------------------------------------------------------

template <class T>
MixtureSameFamily<T>::MixtureSameFamily(const Categorical<T>& mixture,
                                        std::shared_ptr<const Distribution<T>> components)
    : Distribution<T>(mixture.tape(), mixture.batch_shape(), components->event_shape()),
      mixture_(mixture),
      components_(std::move(components)) {
  const Shape expected = concat_shapes(mixture.batch_shape(), Shape{mixture.num_categories()});
  if (components_->batch_shape() != expected)
    throw ShapeError(
        fmt::format("MixtureSameFamily: the components ({}) have batch shape {}, but mixing logits of shape {} need {} "
                    "(the mixture's batch shape followed by its {} components)",
                    components_->type_name(), shape_str(components_->batch_shape()),
                    shape_str(mixture.logits().shape()), shape_str(expected), mixture.num_categories()));
}

template <class T>
std::string MixtureSameFamily<T>::type_name() const {
  return fmt::format("MixtureSameFamily({})", components_->type_name());
}

template <class T>
Var<T> MixtureSameFamily<T>::log_prob(const Var<T>& value) const {
  const std::size_t ne = this->event_shape_.size();
  const Shape& xs = value.shape();
  check_value_shape(*this, value);
  std::vector<long> padded(xs.begin(), xs.end());
  padded.insert(padded.end() - static_cast<std::ptrdiff_t>(ne), 1L);     // S + B + (1,) + E
  Var<T> lp_components = components_->log_prob(reshape(value, padded));  // S + B + (K,)
  return logsumexp(lp_components + mixture_.log_probs(), -1);
}

template <class T>
Var<T> MixtureSameFamily<T>::sample(Rng& rng, const Shape& sample_shape) const {
  const std::size_t K = mixture_.num_categories();
  const Array<T> k = mixture_.sample(rng, sample_shape).value();       // S + B
  const Array<T> xs = components_->sample(rng, sample_shape).value();  // S + B + (K,) + E
  const std::size_t E = shape_size(this->event_shape_);
  Array<T> out = Array<T>::from_shape(this->extended_shape(sample_shape));
  for (std::size_t i = 0; i < k.size(); ++i) {
    const std::size_t ki = static_cast<std::size_t>(k.data()[i]);
    std::copy_n(xs.data() + (i * K + ki) * E, E, out.data() + i * E);
  }
  return this->tape().constant(out);
}

template <class T>
Var<T> MixtureSameFamily<T>::weights_for_event() const {
  std::vector<long> s(mixture_.logits().shape().begin(), mixture_.logits().shape().end());
  s.insert(s.end(), this->event_shape_.size(), 1L);
  return reshape(mixture_.probs(), s);
}

template <class T>
Var<T> MixtureSameFamily<T>::mean() const {
  const int axis = -1 - static_cast<int>(this->event_shape_.size());
  return sum(weights_for_event() * components_->mean(), axis);
}

template <class T>
Var<T> MixtureSameFamily<T>::variance() const {
  const int axis = -1 - static_cast<int>(this->event_shape_.size());
  Var<T> second_moment = sum(weights_for_event() * (components_->variance() + square(components_->mean())), axis);
  return second_moment - square(mean());
}

#define TAPIR_DIST_DISCRETE(T)                                                             \
  template Var<T> bernoulli_log_prob<T>(const Var<T>& logits, const Var<T>& value);        \
  template Var<T> bernoulli_log_prob_summed<T>(const Var<T>& logits, const Var<T>& value); \
  template class Bernoulli<T>;                                                             \
  template class Categorical<T>;                                                           \
  template class Independent<T>;                                                           \
  template class MixtureSameFamily<T>;

TAPIR_DIST_DISCRETE(float)
TAPIR_DIST_DISCRETE(double)

}  // namespace tapir::dist
