// tapir/nn/dist/normal.hpp — Normal: a diagonal Gaussian N(loc, scale²), elementwise over the batch.
//
// Holds Var handles to loc and scale (broadcast to the batch shape) and, when built from a log-variance,
// to log σ = ½ log σ² so that log_prob, entropy and KL never take log(exp(·)). Lives until Tape::clear().
#pragma once

#include "nn/dist/distribution.hpp"

namespace tapir::dist {

template <class T>
class Normal : public Distribution<T> {
 public:
  /// N(loc, scale²); loc and scale broadcast to the batch shape; scale > 0 (not checked: a Var may
  /// come from softplus or exp of a network output).
  Normal(const Var<T>& loc, const Var<T>& scale);

  /// N(loc, exp(log_var)): σ = exp(½ log σ²) and log σ = ½ log σ² exactly, so a VAE encoder's
  /// log-variance head never goes through log(σ) (which underflows to −∞ for tiny σ in float).
  static Normal from_log_var(const Var<T>& loc, const Var<T>& log_var);

  std::string type_name() const override { return "Normal"; }
  /// log N(x; μ, σ²) = −(x − μ)²/(2σ²) − log σ − ½ log 2π. Support ℝ: x = ±∞ gives −∞; NaN in, NaN out.
  /// σ = 0 or σ = ∞ are not distributions: the result is ±∞ or NaN.
  Var<T> log_prob(const Var<T>& value) const override;
  bool has_rsample() const override { return true; }
  /// Noise ε ~ N(0, 1) of shape S + batch_shape.
  BaseNoise base_noise() const override { return BaseNoise::standard_normal; }
  /// z = μ + σ ε:  dz/dμ = 1, dz/dσ = ε (rsample draws ε into a constant).
  Var<T> rsample_with_noise(const Var<T>& eps) const override;
  /// H = ½ + ½ log 2π + log σ.
  Var<T> entropy() const override;
  /// E[x] = μ.
  Var<T> mean() const override { return loc_; }
  /// √Var[x] = σ.
  Var<T> stddev() const override { return scale_; }
  /// Var[x] = σ².
  Var<T> variance() const override;

  const Var<T>& loc() const { return loc_; }
  const Var<T>& scale() const { return scale_; }
  /// log σ: the stored ½ log σ² for from_log_var, else log(scale) (one new node).
  Var<T> log_scale() const;

 private:
  Normal(const Var<T>& loc, const Var<T>& scale, const Var<T>& log_scale);
  Var<T> loc_, scale_, log_scale_;  // log_scale_ is empty unless built from a log-variance
};

}  // namespace tapir::dist
