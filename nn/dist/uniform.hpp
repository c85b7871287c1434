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
  /// log p(x) = −log(high − low) for low ≤ x < high, −∞ outside (where the gradient is 0).
  Var<T> log_prob(const Var<T>& value) const override;
  /// z = low + (high − low) u, u ~ U[0, 1) a constant:  dz/dlow = 1 − u, dz/dhigh = u.
  Var<T> rsample(Rng& rng, const Shape& sample_shape = {}) const override;
  bool has_rsample() const override { return true; }
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
