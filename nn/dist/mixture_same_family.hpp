// tapir/nn/dist/mixture_same_family.hpp — MixtureSameFamily(mixture, components): a finite mixture
//   p(x) = Σ_k π_k p_k(x),  π = softmax(mixture logits),
// whose K components are one distribution with batch shape batch_shape + (K,) (e.g. a Gaussian mixture
// is Independent(Normal(μ (B, K, D), σ), 1) mixed by Categorical(logits (B, K))).
//
// Shares ownership of the component distribution and copies the Categorical (both small values
// holding Var handles): valid until their tape is cleared.
#pragma once

#include <memory>
#include <type_traits>

#include "nn/dist/categorical.hpp"

namespace tapir::dist {

template <class T>
class MixtureSameFamily : public Distribution<T> {
 public:
  /// Requires components.batch_shape == mixture.batch_shape + (K,), K = mixture.num_categories();
  /// throws ShapeError naming both shapes otherwise.
  MixtureSameFamily(const Categorical<T>& mixture, std::shared_ptr<const Distribution<T>> components);
  template <class D, class = std::enable_if_t<std::is_base_of_v<Distribution<T>, D>>>
  MixtureSameFamily(const Categorical<T>& mixture, const D& components)
      : MixtureSameFamily(mixture, std::shared_ptr<const Distribution<T>>(std::make_shared<D>(components))) {}

  /// "MixtureSameFamily(<component>)".
  std::string type_name() const override;
  /// log p(x) = logsumexp_k [log π_k + log p_k(x)]: x (S + B + E) gets a K axis of size 1 inserted before
  /// the event dims, so every component scores every x.
  Var<T> log_prob(const Var<T>& value) const override;
  /// k ~ Categorical(π), then x ~ p_k: draws from every component and keeps component k's draw.
  Var<T> sample(Rng& rng, const Shape& sample_shape = {}) const override;
  /// E[x] = Σ_k π_k μ_k.
  Var<T> mean() const override;
  /// Var[x] = Σ_k π_k (σ_k² + μ_k²) − (E x)²  (law of total variance).
  Var<T> variance() const override;

  const Categorical<T>& mixture_distribution() const { return mixture_; }
  const Distribution<T>& component_distribution() const { return *components_; }

 private:
  /// π reshaped to batch_shape + (K,) + (1,)*|event|, to weight component means and variances.
  Var<T> weights_for_event() const;
  Categorical<T> mixture_;
  std::shared_ptr<const Distribution<T>> components_;
};

}  // namespace tapir::dist
