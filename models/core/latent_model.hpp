// tapir/models/core/latent_model.hpp — LatentVariableModel: what inference and evaluation need of a latent-
// variable model p_θ(x, z) = p(z) p_θ(x|z), with an optional proposal q_φ(z|x).
//
// HMC, AIS, importance sampling, the App. D estimator, Monte Carlo EM, `sample`, `manifold` and the
// trainer's evaluation work through this interface, so they work for any model that implements it: the
// VAE with any prior, the two-stochastic-layer VAE, or a user's model. z is one flat vector per data
// point (a model with several latent layers concatenates them: z = [z₁, z₂]).
//
// Shapes: x is (B, x_dim); z is (..., B, z_dim) with any leading sample axes; densities return the
// leading shape (..., B). The model is a Module: its parameters are the ones the densities use.
// Returned Vars live on the tape of their inputs, until Tape::clear().
#pragma once

#include <cmath>
#include <optional>
#include <string>

#include "nn/dist/dist.hpp"
#include "nn/module.hpp"

namespace tapir::models {

/// The bound per data point split into its two terms (AEVB eq. 7), all from one set of draws of z:
///   elbo = reconstruction − β · kl,   reconstruction = E_q[log p(x|z)],   kl = KL(q(z|x) ‖ p(z)).
/// Each is (B,); the expectations are the bound's own Monte Carlo averages over its L draws, so
/// reconstruction − kl equals elbo at β = 1 up to float rounding. A term the model cannot give is
/// absent ("not available"); `mean` is encode_mean(x) when the pass computed it anyway (for active units).
template <class T>
struct ElboTerms {
  Var<T> elbo;
  std::optional<Var<T>> reconstruction, kl;
  std::optional<Var<T>> mean;  // (B, z_dim)
};

template <class T>
class LatentVariableModel : public nn::Module<T> {
 public:
  /// The model's name in messages and run directories ("vae", "vae2", ...).
  virtual std::string name() const = 0;
  virtual std::size_t x_dim() const = 0;
  /// The dimension of z, all latent layers together.
  virtual std::size_t z_dim() const = 0;

  /// log p(z) for z (..., z_dim) → (...).
  virtual Var<T> log_prior(const Var<T>& z) const = 0;
  /// log p_θ(x|z) for x (B, x_dim) and z (..., B, z_dim) → (..., B).
  virtual Var<T> log_likelihood(const Var<T>& x, const Var<T>& z) const = 0;
  /// n draws z ~ p(z), (n, z_dim).
  virtual Array<T> sample_prior(Rng& rng, std::size_t n) const = 0;
  /// p_θ(x|z) for z (..., z_dim): its mean() is the picture `sample` and `manifold` draw.
  virtual dist::Independent<T> decode(const Var<T>& z) const = 0;

  /// Whether the model has a proposal q(z|x) (an encoder); AIS, HMC and MCEM do not need one.
  virtual bool has_proposal() const { return false; }
  /// log p(x, z_k) − log q(z_k|x) for K draws z_k ~ q(z|x), shape (K, B): importance sampling's
  /// log-weights. The default throws naming the model (it has no proposal).
  virtual Var<T> log_importance_weights(const Var<T>& x, Rng& rng, std::size_t k) const;
  /// A latent per data point that represents x: the proposal's mean where it has one, (B, z_dim)
  /// (for `reconstruct` and latent-space pictures). The default throws as above.
  virtual Var<T> encode_mean(const Var<T>& x) const;
  /// The training bound per data point (B,). The default is the one-sample estimator A,
  /// log p(x, z) − log q(z|x) with z ~ q(z|x); models override it with lower-variance forms. `beta`
  /// weights the KL term where the bound has one.
  virtual Var<T> elbo(const Var<T>& x, Rng& rng, double beta = 1.0) const;
  /// elbo(x, rng, beta) — the same value from the same draws of `rng` — with its reconstruction and KL
  /// terms where the model can split it (see ElboTerms), for the curve and `tapir eval`. The VAE gives
  /// the analytic KL where its bound uses it (N(0, I) prior, estimator B) and the Monte Carlo KL
  /// (1/L) Σ_l [log q(z_l|x) − log p(z_l)] over the bound's draws otherwise (mixture and VampPrior priors,
  /// two stochastic layers: KL(q(z₁, z₂|x) ‖ p(z₁, z₂))). The default has the terms absent: a model whose
  /// bound is log_importance_weights alone cannot tell log p(x|z) from log p(z) − log q(z|x). Override
  /// it with your elbo() to have the curve show the split.
  virtual ElboTerms<T> elbo_terms(const Var<T>& x, Rng& rng, double beta = 1.0) const;

  /// log p(x, z) = log p(x|z) + log p(z), shape (..., B): the target of posterior sampling.
  Var<T> log_joint(const Var<T>& x, const Var<T>& z) const { return log_likelihood(x, z) + log_prior(z); }
  /// The importance-weighted bound (Burda et al. 2015), (B,): log (1/K) Σ_k p(x, z_k)/q(z_k|x). As K
  /// grows it tightens towards log p(x); K = 1 is estimator A.
  Var<T> iwae(const Var<T>& x, Rng& rng, std::size_t k) const {
    return logsumexp(log_importance_weights(x, rng, k), 0) - static_cast<T>(std::log(static_cast<double>(k)));
  }
};

}  // namespace tapir::models
