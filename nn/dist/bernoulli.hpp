// tapir/nn/dist/bernoulli.hpp — Bernoulli(logits) on {0, 1}, elementwise.
//
// Keeps logits, never probabilities, and writes every quantity with softplus terms that are added,
// never subtracted: log_prob = −[x softplus(−l) + (1 − x) softplus(l)] is exact (to rounding) for any
// l, where the textbook x l − softplus(l) cancels for x = 1 at large l (l = 50 gives 0 instead of
// −softplus(−50) ≈ −1.93e-22) and x log p + (1 − x) log(1 − p) is −∞·0 = NaN once σ(l) rounds to 0 or 1.
//
// Edges: l = ±∞ is allowed (the point masses at 1 and 0): log_prob is 0 at the mass and −∞ elsewhere,
// the entropy and variance are 0, and gradients stay finite. log_prob(x) for x ∈ [0, 1] is the
// cross-entropy −BCE(l, x) (for 0 < x < 1 not a normalised density: see ContinuousBernoulli); for x
// outside [0, 1] it is −∞ with gradient 0; NaN x gives NaN.
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
  /// log p(x) = bernoulli_log_prob(l, x) (below);  d/dl = x − σ(l).
  Var<T> log_prob(const Var<T>& value) const override;
  /// Σ over the last axis of log_prob (n = 1) in one pass: bernoulli_log_prob_summed (below).
  Var<T> log_prob_summed(const Var<T>& value, std::size_t n) const override;
  /// 0/1 draws with P(1) = σ(l), a constant.
  Var<T> sample(Rng& rng, const Shape& sample_shape = {}) const override;
  /// H = σ(l) softplus(−l) + σ(−l) softplus(l)  (= −p log p − (1 − p) log(1 − p); both terms ≥ 0, so
  /// H ≈ (1 + |l|) e^(−|l|) keeps its digits at large |l|);  dH/dl = −l σ(l) σ(−l).
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

/// The Bernoulli log-likelihood of x ∈ [0, 1] under logits l (broadcast), one tape node:
///   y = −[x softplus(−l) + (1 − x) softplus(l)]   (= x log σ(l) + (1 − x) log σ(−l)),
/// a term whose weight x or 1 − x is 0 is left out (so l = ±∞ gives 0 or −∞, never NaN);
///   dy/dl = x − σ(l) (computed as x σ(−l) − (1 − x) σ(l)),  dy/dx = softplus(l) − softplus(−l) = l.
/// y = −∞ (gradients 0) for x outside [0, 1]; NaN for NaN x or l.
template <class T>
Var<T> bernoulli_log_prob(const Var<T>& logits, const Var<T>& value);

/// Σ over the last axis of bernoulli_log_prob(l, x), one tape node and one pass over the logits, for x
/// (no gradient) a trailing tile of l — x (B, D) under l (S…, B, D), the data under S decoded samples
/// — with every x in [0, 1]; the gradient to l is g_r (x − σ(l)). Any other x (broadcast otherwise,
/// needing a gradient, outside [0, 1]) goes through the two ops sum_rightmost(bernoulli_log_prob, 1).
/// Independent(Bernoulli, 1).log_prob (a pixel decoder's log p(x|z)) uses it: no (S…, B, D) temporaries.
template <class T>
Var<T> bernoulli_log_prob_summed(const Var<T>& logits, const Var<T>& value);

}  // namespace tapir::dist
