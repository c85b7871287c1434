// tapir/models/run/active_units.hpp — active units, the standard diagnostic of posterior collapse
// (Burda, Grosse & Salakhutdinov 2015, "Importance Weighted Autoencoders", §5.2): latent unit j is active
// when its proposal mean varies with the data,
//   A_j = Cov_x(E_{q(z|x)}[z_j]) > 10⁻²,
// over the points x of an evaluation set. A collapsed unit has q(z_j|x) ≈ p(z_j) for every x, so its
// mean hardly moves. LatentActivity accumulates the per-unit variance of the means row by row (Welford,
// in double): the result does not depend on how the rows were batched, and one pass suffices.
#pragma once

#include <cstddef>
#include <vector>

#include "autodiff/array.hpp"

namespace tapir::models {

class LatentActivity {
 public:
  /// Burda et al.'s threshold on the variance of a unit's mean.
  static constexpr double kThreshold = 1e-2;

  /// Adds the proposal means of a batch, mu (B, z_dim), row by row. Throws when z_dim changes.
  void add(const Array<float>& mu);
  /// Data points seen so far.
  std::size_t count() const { return n_; }
  /// Per unit, the variance over the points seen of its mean, (1/N) Σ_x (μ_j(x) − mean_j)²
  /// (0 for every unit before two points).
  std::vector<double> variance() const;
  /// The units whose variance exceeds `threshold`.
  std::size_t active(double threshold = kThreshold) const;

 private:
  std::size_t n_ = 0;
  std::vector<double> mean_, m2_;  // running mean and Σ (μ − mean)², per unit
};

}  // namespace tapir::models
