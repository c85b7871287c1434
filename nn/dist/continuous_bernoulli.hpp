// tapir/nn/dist/continuous_bernoulli.hpp — ContinuousBernoulli(logits) on [0, 1] (Loaiza-Ganem &
// Cunningham 2019): the properly normalised density for grey-level pixels that a Bernoulli
// "likelihood" on x ∈ [0, 1] silently is not.
//
// p(x | λ) = C(λ) λˣ (1 − λ)¹⁻ˣ with λ = σ(l), i.e. p(x) = e^(l x)/Z(l), Z(l) = (eˡ − 1)/l = ∫₀¹ e^(l x) dx.
// In terms of the logit l:  C = l / tanh(l/2),  log C = softplus(l) − log Z,
//   E[x] = 1/(1 − e^(−l)) − 1/l,  Var[x] = 1/l² − 1/(4 sinh²(l/2)),  H = log Z − l E[x],
// all 0/0 at l = 0 (the uniform density: log C = log 2, E = ½, Var = 1/12, H = 0). Each of log C, E, Var
// and H is one tape node evaluated in double: a Taylor series in l² (32 terms, Bernoulli-number
// coefficients) for |l| < 3, a cancellation-free closed form above (see continuous.cpp), with the
// derivative computed the same way (d log C/dl = σ(l) − E, dE/dl = Var, dH/dl = −l Var). Measured against
// mpmath at 50 digits: ≲ 2e-15 relative in double (values and gradients, every l), one float rounding
// in float.
//
// Edges: logits must be finite (at l = ±∞ the law is a point mass at 1 or 0 and log_prob is ±∞ or NaN;
// mean, variance and entropy return the limits 1 or 0, 0, −∞). log_prob(x) is −∞ for x outside [0, 1]
// (gradient 0), NaN for NaN x, and finite at x = 0 and x = 1 for finite l.
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
  /// log p(x) = −[x softplus(−l) + (1 − x) softplus(l)] + log C(l), x ∈ [0, 1] (the Bernoulli term as
  /// bernoulli_log_prob: no cancellation at large |l|); −∞ outside [0, 1].
  Var<T> log_prob(const Var<T>& value) const override;
  bool has_rsample() const override { return true; }
  /// Noise v ~ U[0, 1) of shape S + batch_shape.
  BaseNoise base_noise() const override { return BaseNoise::standard_uniform; }
  /// Inverse CDF at v: for l < 0, x = log1p(v expm1(l)) / l; for l > 0 by the symmetry
  /// x ~ CB(l) ⇔ 1 − x ~ CB(−l); for |l| < 1e-3 its cubic series in l (whose derivative in l does not
  /// cancel). Differentiable in l (and v); v = 1 gives x = 1.
  Var<T> rsample_with_noise(const Var<T>& v) const override;
  /// H = log Z(l) − l E[x]  (≤ 0: the uniform, l = 0, has the largest entropy on [0, 1]).
  Var<T> entropy() const override;
  /// E[x] = 1/(1 − e^(−l)) − 1/l = ½ + ½ (coth(l/2) − 2/l).
  Var<T> mean() const override;
  /// Var[x] = 1/l² − 1/(4 sinh²(l/2)).
  Var<T> variance() const override;

  const Var<T>& logits() const { return logits_; }
  /// λ = σ(l), the parameter of the un-normalised Bernoulli form (not the mean).
  Var<T> probs() const;
  /// log C(l) = log(l / tanh(l/2)), the log normaliser, accurate at every l (see the header comment).
  Var<T> log_normalizer() const;

 private:
  Var<T> logits_;
};

}  // namespace tapir::dist
