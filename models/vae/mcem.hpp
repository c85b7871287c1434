// tapir/models/vae/mcem.hpp — Monte Carlo EM for the VAE's generative model (AEVB App. E): no encoder.
//
// Each training point keeps a persistent sample z_n of its posterior. One step on a minibatch:
//   E-step: HMC transitions of z_n targeting p_θ(z|x_n) ∝ p(z) p_θ(x_n|z), with the gradient
//           ∇_z log p(z) + ∇_z log p_θ(x_n|z) from the tape (θ held fixed); 10 leapfrog steps, the step
//           size adapted towards 90% acceptance;
//   M-step: `weight_updates` (5 in the paper) optimizer steps on −(1/M) Σ_n log p_θ(x_n, z_n).
// The encoder's parameters of the Vae are not used.
#pragma once

#include <vector>

#include "models/inference/ais.hpp"
#include "models/inference/hmc.hpp"
#include "models/vae/vae.hpp"
#include "nn/optim/optimizer.hpp"

namespace tapir::models {

struct McemOptions {
  std::size_t leapfrog_steps = 10;
  std::size_t transitions = 1;     // HMC transitions per E-step
  std::size_t weight_updates = 5;  // M-steps per minibatch
  double step_size = 0.05;         // initial leapfrog step size (one, shared; adapted)
  double target_accept = 0.9;
};

template <class T>
class Mcem {
 public:
  /// Persistent chains for n_train points, started from the prior.
  Mcem(Vae<T>& model, std::size_t n_train, const McemOptions& options, Rng& rng);

  /// One E- and M-step on the minibatch x (rows idx of the training set). Returns the batch's average
  /// log p_θ(x, z) at the last M-step.
  double step(const Array<T>& x, const std::vector<std::size_t>& idx, optim::Optimizer<T>& optimizer, Rng& rng);

  const Array<T>& chains() const { return chains_; }
  void set_chains(const Array<T>& chains);
  double step_size() const { return double(step_size_(0)); }
  void set_step_size(double s) { step_size_(0) = static_cast<T>(s); }
  double last_acceptance() const { return last_accept_; }

 private:
  Vae<T>& model_;
  McemOptions options_;
  Array<T> chains_;     // (N, z_dim)
  Array<T> step_size_;  // (1,)
  double last_accept_ = 0;
  Tape<T> tape_;
};

/// The VAE's generative model for AIS on the rows of x (n, D) with `chains` chains each (row r of z
/// explains x_{r mod n}). It holds x; keep it alive while the LatentModel is used.
template <class T>
struct DecoderLatentModel {
  DecoderLatentModel(const Vae<T>& model, const Array<T>& x, std::size_t chains);
  DecoderLatentModel(const DecoderLatentModel&) = delete;  // the densities point at `tiled`
  DecoderLatentModel& operator=(const DecoderLatentModel&) = delete;
  LatentModel<T> latent;
  Array<T> tiled;  // (chains · n, D)
};

/// log p(x) of every row of x by AIS (the decoder's marginal likelihood; no encoder needed).
template <class T>
AisResult vae_ais(const Vae<T>& model, const Array<T>& x, const AisOptions& options, Rng& rng);

/// log p(x) of every row of x by the AEVB paper's App. D estimator (HMC from the prior, a fitted
/// Gaussian, the harmonic-mean style average); meant for N_z < 5.
template <class T>
HarmonicResult vae_harmonic(const Vae<T>& model, const Array<T>& x, const HarmonicOptions& options, Rng& rng,
                            std::size_t chains = 1);

}  // namespace tapir::models
