// tapir/models/priors/standard_normal.hpp — p(z) = N(0, I), the AEVB paper's prior (no parameters).
#pragma once

#include "models/priors/prior.hpp"

namespace tapir::models {

template <class T>
class StandardNormalPrior : public Prior<T> {
 public:
  explicit StandardNormalPrior(std::size_t dim);
  std::string name() const override { return "normal"; }
  /// Independent(Normal(0, 1), 1) over (dim,): the pair (Normal, Normal) has an analytic KL.
  std::unique_ptr<dist::Distribution<T>> distribution(Tape<T>& tape) const override;
  /// z = ε ~ N(0, I), (n, dim), drawn as tapir::normal(rng, {n, dim}).
  Array<T> sample(Rng& rng, std::size_t n) const override;
};

}  // namespace tapir::models
