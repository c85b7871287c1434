// tapir/nn/dist/uniform.hpp — Uniform(low, high) on [low, high), elementwise.
//
// Holds Var handles to low and high (broadcast to the batch shape); lives until Tape::clear().
#pragma once

#include "nn/dist/distribution.hpp"

namespace tapir::dist {

template <class T>
class Uniform : public Distribution<T> {
 public:
  /// U[low, high); low and high broadcast to the batch shape; low < high.
  Uniform(const Var<T>& low, const Var<T>& high);

  std::string type_name() const override { return "Uniform"; }
  /// log p(x) = −log(high − low) for low ≤ x < high, −∞ outside and for NaN x (the gradient is 0
  /// there). The gradient in low and high is that of −log(high − low): the support's edges move
  /// without a gradient, as in PyTorch.
  Var<T> log_prob(const Var<T>& value) const override;
  bool has_rsample() const override { return true; }
  /// Noise u ~ U[0, 1) of shape S + batch_shape.
  BaseNoise base_noise() const override { return BaseNoise::standard_uniform; }
  /// z = low + (high − low) u:  dz/dlow = 1 − u, dz/dhigh = u.
  Var<T> rsample_with_noise(const Var<T>& u) const override;
  /// H = log(high − low).
  Var<T> entropy() const override;
  /// E[x] = (low + high)/2.
  Var<T> mean() const override;
  /// Var[x] = (high − low)²/12.
  Var<T> variance() const override;

  const Var<T>& low() const { return low_; }
  const Var<T>& high() const { return high_; }

 private:
  Var<T> low_, high_;
};

}  // namespace tapir::dist
