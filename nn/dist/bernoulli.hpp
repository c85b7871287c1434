// tapir/nn/dist/bernoulli.hpp — Bernoulli(logits) on {0, 1}, elementwise.
//
// Keeps logits, never probabilities: log_prob = x l − softplus(l) is finite for any finite l, while
// x log p + (1 − x) log(1 − p) is −∞·0 = NaN once σ(l) rounds to 0 or 1 (|l| ≳ 17 in float).
// Holds a Var handle to the logits; lives until Tape::clear().
#pragma once

#include "nn/dist/distribution.hpp"

namespace tapir::dist {

template <class T>
class Bernoulli : public Distribution<T> {
 public:
  /// Bernoulli(p = σ(logits)); batch shape = logits' shape.
  explicit Bernoulli(const Var<T>& logits);

  std::string type_name() const override { return "Bernoulli"; }
  /// log p(x) = x l − softplus(l);  d/dl = x − σ(l). Also right for x ∈ [0, 1] as a cross-entropy
  /// (then it is not a normalised density: see ContinuousBernoulli).
  Var<T> log_prob(const Var<T>& value) const override;
  /// 0/1 draws with P(1) = σ(l), a constant.
  Var<T> sample(Rng& rng, const Shape& sample_shape = {}) const override;
  /// H = softplus(l) − l σ(l)  (= −p log p − (1 − p) log(1 − p)).
  Var<T> entropy() const override;
  /// E[x] = σ(l).
  Var<T> mean() const override { return probs(); }
  /// Var[x] = σ(l) σ(−l).
  Var<T> variance() const override;

  const Var<T>& logits() const { return logits_; }
  /// p = σ(l).
  Var<T> probs() const;

 private:
  Var<T> logits_;
};

}  // namespace tapir::dist
