// tapir/nn/dist/relaxed.cpp — RelaxedBernoulli and RelaxedOneHotCategorical (see relaxed.hpp).
// Explicit instances for float and double at the bottom.
#include "nn/dist/relaxed.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <vector>

namespace tapir::dist {

namespace {
/// u clamped into [tiny, 1 − ε]: log u and log(1 − u) stay finite (PyTorch's clamp_probs).
template <class T>
Var<T> clamp_open_unit(const Var<T>& u) {
  return clamp(u, std::numeric_limits<T>::min(), T(1) - std::numeric_limits<T>::epsilon());
}
/// x ∉ [0, 1] elementwise (false for NaN, which then propagates through the formula).
template <class T>
xt::xarray<bool> outside_unit(const Array<T>& x) {
  return (x < T(0)) || (x > T(1));
}
}  // namespace

// ---- RelaxedBernoulli ---------------------------------------------------------------------------

template <class T>
RelaxedBernoulli<T>::RelaxedBernoulli(const Var<T>& temperature, const Var<T>& logits)
    : Distribution<T>(
          logits.tape(),
          broadcast_params("RelaxedBernoulli", "temperature", temperature.shape(), "logits", logits.shape()), {}),
      temperature_(expand(temperature, this->batch_shape_)),
      logits_(expand(logits, this->batch_shape_)) {}

template <class T>
Var<T> RelaxedBernoulli<T>::probs() const {
  return sigmoid(logits_);
}

template <class T>
Var<T> RelaxedBernoulli<T>::log_prob(const Var<T>& value) const {
  Tape<T>& tape = this->tape();
  Var<T> x = clamp_open_unit(value);
  Var<T> log_x = log(x), log_1mx = log1p(-x);
  Var<T> d = logits_ - temperature_ * (log_x - log_1mx);  // d = l − τ logit(x)
  Var<T> abs_d = abs(d);
  // log τ + d − 2 softplus(d) − log x − log(1 − x), with d − 2 softplus(d) = −|d| − 2 softplus(−|d|)
  Var<T> lp = log(temperature_) - abs_d - softplus(-abs_d) * T(2) - log_x - log_1mx;
  const Shape shape =
      broadcast_params("RelaxedBernoulli.log_prob", "value", value.shape(), "batch", this->batch_shape_);
  xt::xarray<bool> out = xt::broadcast(outside_unit(value.value()), shape);
  return tapir::where(out, tape.scalar(-std::numeric_limits<T>::infinity()), lp);
}

template <class T>
Var<T> RelaxedBernoulli<T>::rsample_with_noise(const Var<T>& u) const {
  this->noise_sample_shape(u);
  Var<T> uc = clamp_open_unit(u);
  Var<T> logistic = log(uc) - log1p(-uc);  // L = log u − log(1 − u) ~ Logistic(0, 1)
  return sigmoid((logits_ + logistic) / temperature_);
}

// ---- RelaxedOneHotCategorical -------------------------------------------------------------------

namespace {
Shape relaxed_categorical_batch(const Shape& logits) {
  if (logits.empty() || logits.back() == 0)
    throw ShapeError(
        fmt::format("RelaxedOneHotCategorical: logits of shape {} need rank ≥ 1 and at least one category on the "
                    "last axis (B..., K)",
                    shape_str(logits)));
  return Shape(logits.begin(), logits.end() - 1);
}
}  // namespace

template <class T>
RelaxedOneHotCategorical<T>::RelaxedOneHotCategorical(const Var<T>& temperature, const Var<T>& logits)
    : Distribution<T>(logits.tape(), relaxed_categorical_batch(logits.shape()), {logits.shape().back()}),
      logits_(logits) {
  if (broadcast_params("RelaxedOneHotCategorical", "temperature", temperature.shape(), "batch", this->batch_shape_) !=
      this->batch_shape_)
    throw ShapeError(fmt::format(
        "RelaxedOneHotCategorical: temperature of shape {} must broadcast to the batch shape {} (logits {})",
        shape_str(temperature.shape()), shape_str(this->batch_shape_), shape_str(logits.shape())));
  std::vector<long> s(this->batch_shape_.begin(), this->batch_shape_.end());
  s.push_back(1);
  temperature_ = reshape(expand(temperature, this->batch_shape_), s);
}

template <class T>
Var<T> RelaxedOneHotCategorical<T>::probs() const {
  return softmax(logits_, -1);
}

template <class T>
Var<T> RelaxedOneHotCategorical<T>::log_prob(const Var<T>& value) const {
  Tape<T>& tape = this->tape();
  const std::size_t K = num_categories();
  const Shape& vs = value.shape();
  if (vs.empty() || vs.back() != K)
    throw ShapeError(
        fmt::format("RelaxedOneHotCategorical.log_prob: value of shape {} must end with the {} categories "
                    "(S + batch_shape {} + ({},))",
                    shape_str(vs), K, shape_str(this->batch_shape_), K));
  Var<T> log_x = log(clamp(value, std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
  Var<T> s = logits_ - temperature_ * log_x;  // s_k = l_k − τ log x_k
  // log (K − 1)! + (K − 1) log τ + Σ_k (s_k − log x_k) − K logsumexp_k s_k
  Var<T> log_tau = reshape(log(temperature_), std::vector<long>(this->batch_shape_.begin(), this->batch_shape_.end()));
  Var<T> lp = sum(s - log_x, -1) - logsumexp(s, -1) * T(K) + log_tau * T(K - 1) + T(std::lgamma(double(K)));
  // −∞ where any x_k is outside [0, 1].
  const Array<T> any_out = xt::sum(xt::cast<T>(outside_unit(value.value())), {vs.size() - 1});
  xt::xarray<bool> out = xt::broadcast(any_out > T(0), lp.shape());
  return tapir::where(out, tape.scalar(-std::numeric_limits<T>::infinity()), lp);
}

template <class T>
Var<T> RelaxedOneHotCategorical<T>::rsample_with_noise(const Var<T>& u) const {
  this->noise_sample_shape(u);
  Var<T> gumbel = -log(-log(clamp_open_unit(u)));  // g = −log(−log u) ~ Gumbel(0, 1)
  return softmax((logits_ + gumbel) / temperature_, -1);
}

#define TAPIR_DIST_RELAXED(T)         \
  template class RelaxedBernoulli<T>; \
  template class RelaxedOneHotCategorical<T>;

TAPIR_DIST_RELAXED(float)
TAPIR_DIST_RELAXED(double)

}  // namespace tapir::dist
