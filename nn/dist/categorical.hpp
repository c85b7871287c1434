// tapir/nn/dist/categorical.hpp — Categorical(logits) over K classes; the last axis of logits is the
// category axis, so logits (B..., K) give batch shape (B...) and event shape ().
//
// Values are class indices stored as T (0, 1, ..., K − 1). Holds a Var handle to the logits; lives
// until Tape::clear().
#pragma once

#include "nn/dist/distribution.hpp"

namespace tapir::dist {

template <class T>
class Categorical : public Distribution<T> {
 public:
  /// p_k = softmax(logits)_k over the last axis; logits need rank ≥ 1 and K ≥ 1.
  explicit Categorical(const Var<T>& logits);

  std::string type_name() const override { return "Categorical"; }
  /// log p(k) = l_k − logsumexp(l), picked with a one-hot mask;  d/dl = onehot(k) − softmax(l).
  /// value holds integer indices in [0, K) with shape S + batch_shape; throws Error otherwise.
  Var<T> log_prob(const Var<T>& value) const override;
  /// Class indices k ~ p by inverse CDF, as a constant of shape sample_shape + batch_shape.
  Var<T> sample(Rng& rng, const Shape& sample_shape = {}) const override;
  /// H = −Σ_k p_k log p_k (log p clamped to the lowest finite value, so −∞ logits give 0, not NaN).
  Var<T> entropy() const override;

  const Var<T>& logits() const { return logits_; }
  /// log p = log_softmax(logits) over the last axis, shape batch_shape + (K,).
  Var<T> log_probs() const;
  /// p = softmax(logits), shape batch_shape + (K,).
  Var<T> probs() const;
  /// K, the number of categories.
  std::size_t num_categories() const { return logits_.shape().back(); }

 private:
  Var<T> logits_;
};

}  // namespace tapir::dist
