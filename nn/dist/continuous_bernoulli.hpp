// tapir/nn/dist/continuous_bernoulli.hpp — ContinuousBernoulli(logits) on [0, 1] (Loaiza-Ganem &
// Cunningham 2019): the properly normalised density for grey-level pixels that a Bernoulli
// "likelihood" on x ∈ [0, 1] silently is not.
//
// p(x | λ) = C(λ) λˣ (1 − λ)¹⁻ˣ with λ = σ(l). In terms of the logit l (u = l/2):
//   C = 2 atanh(1 − 2λ)/(1 − 2λ) = l / tanh(l/2),   log C = log 2 + log(u coth u),
// which is 0/0 at l = 0. Near 0 (|l| < 0.02) log C uses its Taylor series
//   log C = log 2 + u²/3 − 7u⁴/90 + O(u⁶)
// (PyTorch's expansion log 2 + (4/3 + 104/45 y) y in y = (λ − ½)², rewritten in u), and elsewhere the
// stable form log C = log|l| − log(−expm1(−|l|)) + softplus(−|l|). Each branch is evaluated at a safe
// substitute where it is not selected, so neither branch leaks a NaN gradient through tapir::where.
// Holds a Var handle to the logits; lives until Tape::clear().
#pragma once

#include "nn/dist/distribution.hpp"

namespace tapir::dist {

template <class T>
class ContinuousBernoulli : public Distribution<T> {
 public:
  /// CB(λ = σ(logits)); batch shape = logits' shape.
  explicit ContinuousBernoulli(const Var<T>& logits);

  std::string type_name() const override { return "ContinuousBernoulli"; }
  /// log p(x) = x l − softplus(l) + log C(l), x ∈ [0, 1].
  Var<T> log_prob(const Var<T>& value) const override;
  /// Inverse CDF: for l < 0, x = log1p(v expm1(l)) / l with v ~ U[0, 1) a constant; for l > 0 by the
  /// symmetry x ~ CB(l) ⇔ 1 − x ~ CB(−l); x = v at l = 0. Differentiable in l.
  Var<T> rsample(Rng& rng, const Shape& sample_shape = {}) const override;
  bool has_rsample() const override { return true; }
  /// H = softplus(l) − l E[x] − log C(l).
  Var<T> entropy() const override;
  /// E[x] = ½ + ½ (coth u − 1/u), u = l/2;  series ½ + u/6 − u³/90 + u⁵/945 near 0.
  Var<T> mean() const override;
  /// Var[x] = ¼ (1 + 1/u² − coth² u);  series 1/12 − u²/60 + u⁴/378 near 0.
  Var<T> variance() const override;

  const Var<T>& logits() const { return logits_; }
  /// λ = σ(l), the parameter of the un-normalised Bernoulli form (not the mean).
  Var<T> probs() const;
  /// log C(l), the log normaliser, stable near l = 0 (see the header comment).
  Var<T> log_normalizer() const;

 private:
  Var<T> logits_;
};

}  // namespace tapir::dist
