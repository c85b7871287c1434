// tapir/models/vae/two_layer_vae.hpp — a VAE with two stochastic layers (Burda, Grosse & Salakhutdinov
// 2015, "Importance Weighted Autoencoders", §5 and App. C):
//   generative  p(z₂) p_θ(z₁|z₂) p_θ(x|z₁)         recognition  q_φ(z₁|x) q_φ(z₂|z₁)
// with every conditional a diagonal Gaussian (nn::NormalMlp) except p(x|z₁) (the VAE's pixel decoder).
// As a LatentVariableModel its latent is z = [z₁, z₂] (z1_dim + z2_dim values per point), so AIS, HMC and
// importance sampling see one flat vector; log p(z) = log p(z₂) + log p(z₁|z₂).
// The bound is the Monte Carlo form (estimator A; with L samples, their mean):
//   log p(x|z₁) + log p(z₁|z₂) + log p(z₂) − log q(z₁|x) − log q(z₂|z₁),  z₁ ~ q(z₁|x), z₂ ~ q(z₂|z₁).
// Parameters: "q_z1.*", "q_z2.*", "p_z1.*", "decoder.*", "prior.*".
#pragma once

#include "models/vae/vae.hpp"

namespace tapir::models {

template <class T>
class TwoLayerVae : public LatentVariableModel<T> {
 public:
  /// z₁ = config.z_dim with config.hidden between x and z₁; z₂ = config.z2_dim with config.hidden2
  /// between z₁ and z₂ (the IWAE paper: 784-200-200-100 and 100-100-100-50). config.prior is p(z₂)
  /// ("normal" or "mog:K"; the VampPrior needs an encoder from x and is refused).
  TwoLayerVae(const VaeConfig& config, Rng& rng, std::unique_ptr<Prior<T>> prior = nullptr);

  std::string name() const override { return "vae2"; }
  std::size_t x_dim() const override { return config_.x_dim; }
  std::size_t z_dim() const override { return config_.z_dim + config_.z2_dim; }

  /// log p(z₂) + log p_θ(z₁|z₂) for z = [z₁, z₂] (..., z1 + z2).
  Var<T> log_prior(const Var<T>& z) const override;
  /// log p_θ(x|z₁).
  Var<T> log_likelihood(const Var<T>& x, const Var<T>& z) const override;
  /// z₂ ~ p(z₂), z₁ ~ p_θ(z₁|z₂): [z₁, z₂] (n, z1 + z2).
  Array<T> sample_prior(Rng& rng, std::size_t n) const override;
  /// p_θ(x|z₁) for z = [z₁, z₂].
  dist::Independent<T> decode(const Var<T>& z) const override;

  bool has_proposal() const override { return true; }
  /// log p(x, z₁, z₂) − log q(z₁, z₂|x) for K draws from q(z₁|x) q(z₂|z₁), (K, batch).
  Var<T> log_importance_weights(const Var<T>& x, Rng& rng, std::size_t k) const override;
  /// [μ₁(x), μ₂(μ₁(x))].
  Var<T> encode_mean(const Var<T>& x) const override;
  /// The mean over L = config.samples of the log-weights (estimator A); `beta` is not used.
  Var<T> elbo(const Var<T>& x, Rng& rng, double beta = 1.0) const override;
  /// elbo() with its terms from the same draws: reconstruction (1/L) Σ_l log p_θ(x|z₁ₗ), and the Monte
  /// Carlo KL(q(z₁, z₂|x) ‖ p(z₁, z₂)) = (1/L) Σ_l [log q(z₁ₗ|x) + log q(z₂ₗ|z₁ₗ) − log p(z₁ₗ|z₂ₗ) − log p(z₂ₗ)].
  ElboTerms<T> elbo_terms(const Var<T>& x, Rng& rng, double beta = 1.0) const override;

  const VaeConfig& config() const { return config_; }

 private:
  /// The log-densities of K draws z₁ ~ q(z₁|x), z₂ ~ q(z₂|z₁), each (K, batch), and μ₁(x).
  struct Draws {
    Var<T> log_px, log_pz1, log_pz2, log_qz1, log_qz2, mu1;
    /// log p(x, z₁, z₂) − log q(z₁, z₂|x).
    Var<T> log_w() const { return log_px + log_pz1 + log_pz2 - log_qz1 - log_qz2; }
  };
  Draws draw(const Var<T>& x, Rng& rng, std::size_t k) const;
  /// z[..., begin:end] along the last axis.
  Var<T> part(const Var<T>& z, std::size_t begin, std::size_t end) const;

  VaeConfig config_;
  nn::NormalMlp<T> q_z1_, q_z2_, p_z1_;
  PixelDecoder<T> decoder_;
  std::unique_ptr<Prior<T>> prior_;
};

}  // namespace tapir::models
