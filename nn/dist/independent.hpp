// tapir/nn/dist/independent.hpp — Independent(base, n): reinterprets the rightmost n batch dims of
// `base` as event dims, so log_prob sums over them. A VAE's q(z|x) = Independent(Normal(μ, σ), 1) gives
// one log-density per data point instead of one per latent coordinate.
//
// Shares ownership of the base distribution (a small value holding Var handles), so it is valid until
// the base's tape is cleared.
#pragma once

#include <memory>
#include <type_traits>

#include "nn/dist/distribution.hpp"

namespace tapir::dist {

template <class T>
class Independent : public Distribution<T> {
 public:
  /// batch_shape = base.batch_shape[:−n], event_shape = base.batch_shape[−n:] + base.event_shape.
  /// Throws ShapeError when base has fewer than n batch dims.
  Independent(std::shared_ptr<const Distribution<T>> base, std::size_t reinterpreted_batch_ndims);
  /// Copies a concrete distribution: Independent(Normal<T>(mu, sigma), 1).
  template <class D, class = std::enable_if_t<std::is_base_of_v<Distribution<T>, D>>>
  Independent(const D& base, std::size_t reinterpreted_batch_ndims)
      : Independent(std::shared_ptr<const Distribution<T>>(std::make_shared<D>(base)), reinterpreted_batch_ndims) {}

  /// "Independent(<base>, n)".
  std::string type_name() const override;
  /// log p(x) = Σ over the n reinterpreted dims of base.log_prob(x) (so −∞ when any part is outside
  /// the base's support).
  Var<T> log_prob(const Var<T>& value) const override;
  /// base.sample (the shapes already agree).
  Var<T> sample(Rng& rng, const Shape& sample_shape = {}) const override;
  /// base.rsample; throws when the base has none.
  Var<T> rsample(Rng& rng, const Shape& sample_shape = {}) const override;
  bool has_rsample() const override { return base_->has_rsample(); }
  /// The base's noise: base_noise, noise_shape, draw_noise and rsample_with_noise forward to it.
  BaseNoise base_noise() const override { return base_->base_noise(); }
  Shape noise_shape(const Shape& sample_shape = {}) const override { return base_->noise_shape(sample_shape); }
  Array<T> draw_noise(Rng& rng, const Shape& sample_shape = {}) const override {
    return base_->draw_noise(rng, sample_shape);
  }
  Var<T> rsample_with_noise(const Var<T>& noise) const override {
    this->noise_sample_shape(noise);  // a shape error names Independent(...), not the base
    return base_->rsample_with_noise(noise);
  }
  /// H = Σ over the n reinterpreted dims of base.entropy() (entropies of independent parts add).
  Var<T> entropy() const override;
  /// base.mean(), base.variance(), base.stddev(): elementwise, unchanged by the reinterpretation.
  Var<T> mean() const override { return base_->mean(); }
  Var<T> variance() const override { return base_->variance(); }
  Var<T> stddev() const override { return base_->stddev(); }

  const Distribution<T>& base() const { return *base_; }
  std::size_t reinterpreted_batch_ndims() const { return n_; }

 private:
  std::shared_ptr<const Distribution<T>> base_;
  std::size_t n_;
};

}  // namespace tapir::dist
