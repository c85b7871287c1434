// tapir/models/priors/vamp.hpp — the VampPrior (Tomczak & Welling 2018, "VAE with a VampPrior"):
//   p_λ(z) = (1/K) Σ_k q_φ(z | u_k),
// the aggregate posterior of K learnable pseudo-inputs u_k pushed through the model's own encoder. The
// pseudo-inputs are stored unconstrained as "pseudo_inputs" (K, x_dim) and enter the encoder as
// σ(·), so they stay in the data's range [0, 1] (the paper clips a linear layer with hardtanh instead).
// Initialisation: σ(u) ≈ 0.05 ± small noise, near the paper's N(0.05, 0.01). The encoder is borrowed
// (owned by the VAE): the prior must not outlive it.
#pragma once

#include "models/priors/prior.hpp"
#include "nn/heads.hpp"

namespace tapir::models {

template <class T>
class VampPrior : public Prior<T> {
 public:
  VampPrior(const nn::NormalMlp<T>& encoder, std::size_t components, Rng& rng);
  std::string name() const override;
  /// MixtureSameFamily(Categorical(uniform), q_φ(z | σ(u)) with batch (K,)).
  std::unique_ptr<dist::Distribution<T>> distribution(Tape<T>& tape) const override;
  std::size_t components() const { return k_; }

 private:
  const nn::NormalMlp<T>& encoder_;
  std::size_t k_;
  Parameter<T>* pseudo_inputs_;
};

}  // namespace tapir::models
