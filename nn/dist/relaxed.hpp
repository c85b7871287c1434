// tapir/nn/dist/relaxed.hpp — continuous relaxations of discrete latents (Maddison, Mnih & Teh 2017,
// "The Concrete distribution"; Jang, Gu & Poole 2017, "Gumbel-softmax"), reparameterised so that a
// VAE with binary or categorical latents can use the pathwise gradient.
//
// RelaxedBernoulli(τ, l) (the binary Concrete) on (0, 1):
//   x = σ((l + log u − log(1 − u))/τ), u ~ U(0, 1)   (logistic noise; x → Bernoulli(σ(l)) as τ → 0),
//   p(x) = τ eˡ x^(−τ−1) (1 − x)^(−τ−1) / (eˡ x^(−τ) + (1 − x)^(−τ))².
// RelaxedOneHotCategorical(τ, l) (the Concrete / Gumbel-softmax) on the simplex Δ^(K−1):
//   x = softmax((l + g)/τ), g_k = −log(−log u_k)   (Gumbel noise; argmax x ~ Categorical(softmax(l))),
//   p(x) = (K − 1)! τ^(K−1) Π_k eˡᵏ x_k^(−τ−1) / (Σ_k eˡᵏ x_k^(−τ))^K   (Maddison et al. eq. 11, the density
//   of x_1..x_(K−1) with x_K = 1 − Σ the rest; PyTorch's RelaxedOneHotCategorical.log_prob is the same).
// Both log-densities are computed from log x and log(1 − x) / log x_k with the logsumexp and softplus
// in logit space, never from the powers above (which overflow for small τ).
//
// Edges: τ > 0 and finite logits (not checked). log_prob(x) is −∞ for x outside [0, 1] (any x_k outside
// [0, 1] for the categorical) and NaN for NaN x. Points on the boundary (x = 0 or 1, some x_k = 0) are
// clamped into the open support first — x to [tiny, 1 − ε], x_k to ≥ tiny, with tiny the smallest normal
// T and ε its machine epsilon, as PyTorch's clamp_probs — because float rsample rounds σ or softmax to
// exactly 0 or 1 for moderate logits/τ, and a −∞ there would poison a training step. The categorical's
// log_prob does not check Σ x_k = 1 (that tolerance is the caller's rounding); off the simplex it returns
// the formula's value. mean, variance and entropy have no closed form and throw.
// Hold Var handles to τ and the logits; live until Tape::clear().
#pragma once

#include "nn/dist/distribution.hpp"

namespace tapir::dist {

template <class T>
class RelaxedBernoulli : public Distribution<T> {
 public:
  /// Binary Concrete with temperature τ > 0 and logits l (broadcast to one batch shape).
  RelaxedBernoulli(const Var<T>& temperature, const Var<T>& logits);

  std::string type_name() const override { return "RelaxedBernoulli"; }
  /// log p(x) = log τ + d − 2 softplus(d) − log x − log(1 − x),  d = l − τ (log x − log(1 − x))
  /// (the logistic density of y = logit x at d, times |dy/dx|), with d − 2 softplus(d) evaluated as
  /// −|d| − 2 softplus(−|d|).
  Var<T> log_prob(const Var<T>& value) const override;
  bool has_rsample() const override { return true; }
  /// Noise u ~ U[0, 1) of shape S + batch_shape.
  BaseNoise base_noise() const override { return BaseNoise::standard_uniform; }
  /// x = σ((l + log u − log1p(−u))/τ), u clamped to [tiny, 1 − ε] (so u = 0 or 1 stays finite).
  Var<T> rsample_with_noise(const Var<T>& u) const override;

  const Var<T>& temperature() const { return temperature_; }
  const Var<T>& logits() const { return logits_; }
  /// σ(l): the probability of the Bernoulli the relaxation tends to as τ → 0.
  Var<T> probs() const;

 private:
  Var<T> temperature_, logits_;
};

template <class T>
class RelaxedOneHotCategorical : public Distribution<T> {
 public:
  /// Concrete with temperature τ > 0 (shape broadcastable to the batch shape) and logits (B..., K):
  /// batch shape (B...), event shape (K,). Throws ShapeError for rank-0 logits, K = 0, or a τ that
  /// does not broadcast to the batch shape.
  RelaxedOneHotCategorical(const Var<T>& temperature, const Var<T>& logits);

  std::string type_name() const override { return "RelaxedOneHotCategorical"; }
  /// log p(x) = log (K − 1)! + (K − 1) log τ + Σ_k (s_k − log x_k) − K logsumexp_k s_k,
  /// s_k = l_k − τ log x_k, for x of shape S + batch_shape + (K,); returns S + batch_shape.
  Var<T> log_prob(const Var<T>& value) const override;
  bool has_rsample() const override { return true; }
  /// Noise u ~ U[0, 1) of shape S + batch_shape + (K,).
  BaseNoise base_noise() const override { return BaseNoise::standard_uniform; }
  /// x = softmax((l + g)/τ) over the last axis, g = −log(−log u), u clamped to [tiny, 1 − ε].
  Var<T> rsample_with_noise(const Var<T>& u) const override;

  const Var<T>& temperature() const { return temperature_; }
  const Var<T>& logits() const { return logits_; }
  /// softmax(l): the probabilities of the Categorical the relaxation tends to as τ → 0.
  Var<T> probs() const;
  std::size_t num_categories() const { return logits_.shape().back(); }

 private:
  Var<T> temperature_;  // broadcast to batch_shape + (1,), to scale the category axis
  Var<T> logits_;
};

}  // namespace tapir::dist
