// tapir/nn/dist/laplace.hpp — Laplace(loc, scale): density e^(−|x − μ|/b) / 2b, elementwise.
//
// Holds Var handles to loc and scale (broadcast to the batch shape); lives until Tape::clear().
#pragma once

#include "nn/dist/distribution.hpp"

namespace tapir::dist {

template <class T>
class Laplace : public Distribution<T> {
 public:
  /// Laplace(μ, b); loc and scale broadcast to the batch shape; b > 0.
  Laplace(const Var<T>& loc, const Var<T>& scale);

  std::string type_name() const override { return "Laplace"; }
  /// log p(x) = −log 2b − |x − μ|/b. Support ℝ: x = ±∞ gives −∞; at x = μ the gradient in x and μ is
  /// 0 (the subgradient abs uses).
  Var<T> log_prob(const Var<T>& value) const override;
  bool has_rsample() const override { return true; }
  /// Noise u ~ U[0, 1) of shape S + batch_shape.
  BaseNoise base_noise() const override { return BaseNoise::standard_uniform; }
  /// z = μ + b e, e = −sgn(s) log(1 − |s|), s = 2u − 1 clamped into (−1, 1) (so u = 0 or 1 gives a
  /// large finite draw, not ±∞); e is a standard Laplace draw, the inverse CDF at u:
  /// dz/dμ = 1, dz/db = e.
  Var<T> rsample_with_noise(const Var<T>& u) const override;
  /// H = 1 + log 2b.
  Var<T> entropy() const override;
  /// E[x] = μ.
  Var<T> mean() const override { return loc_; }
  /// Var[x] = 2b².
  Var<T> variance() const override;
  /// √Var[x] = √2 b.
  Var<T> stddev() const override;

  const Var<T>& loc() const { return loc_; }
  const Var<T>& scale() const { return scale_; }

 private:
  Var<T> loc_, scale_;
};

}  // namespace tapir::dist
