// tapir/models/mcem/mcem.hpp — Monte Carlo EM for a latent-variable model's generative part (AEVB
// App. E): no encoder. Works through LatentVariableModel (log p(x, z) and prior draws), so any model does.
//
// Each training point keeps a persistent sample z_n of its posterior. One step on a minibatch:
//   E-step: HMC transitions of z_n targeting p_θ(z|x_n) ∝ p(z) p_θ(x_n|z), with the gradient
//           ∇_z log p(z) + ∇_z log p_θ(x_n|z) from the tape (θ held fixed); 10 leapfrog steps, the step
//           size adapted towards 90% acceptance;
//   M-step: `weight_updates` (5 in the paper) optimizer steps on −(1/M) Σ_n log p_θ(x_n, z_n).
// The encoder's parameters of a VAE are not used.
#pragma once

#include <vector>

#include "models/core/latent_model.hpp"
#include "models/inference/hmc.hpp"
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
  Mcem(LatentVariableModel<T>& model, std::size_t n_train, const McemOptions& options, Rng& rng);

  /// One E- and M-step on the minibatch x (rows idx of the training set). Returns the batch's average
  /// log p_θ(x, z) at the last M-step.
  double step(const Array<T>& x, const std::vector<std::size_t>& idx, optim::Optimizer<T>& optimizer, Rng& rng);

  const Array<T>& chains() const { return chains_; }
  void set_chains(const Array<T>& chains);
  double step_size() const { return double(step_size_(0)); }
  void set_step_size(double s) { step_size_(0) = static_cast<T>(s); }
  double last_acceptance() const { return last_accept_; }

 private:
  LatentVariableModel<T>& model_;
  McemOptions options_;
  Array<T> chains_;     // (N, z_dim)
  Array<T> step_size_;  // (1,)
  double last_accept_ = 0;
  Tape<T> tape_;
};

}  // namespace tapir::models
