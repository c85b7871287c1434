// tapir/models/priors/vamp.hpp — the VampPrior (Tomczak & Welling 2018, "VAE with a VampPrior"):
//   p_λ(z) = (1/K) Σ_k q_φ(z | u_k),
// the aggregate posterior of K learnable pseudo-inputs u_k pushed through the model's own encoder. The
// pseudo-inputs are stored in the data's units as "pseudo_x" (K, x_dim) and enter the encoder clipped to
// [0, 1] (the paper's hardtanh), initialised from the paper's N(0.05, 0.01²); a gradient step moves them
// in data space at the optimizer's own rate. They are not weights: no weight decay (Parameter::decays).
// (Until 2026-11-29 they were "pseudo_inputs", entering as σ(u): from σ(u) = 0.05 Adam moved them 20×
// slower in data space, and the weight decay drew them all to σ(0), one grey image.) The encoder is
// borrowed (owned by the VAE): the prior must not outlive it.
#pragma once

#include "models/priors/prior.hpp"
#include "nn/heads.hpp"

namespace tapir::models {

template <class T>
class VampPrior : public Prior<T> {
 public:
  VampPrior(const nn::NormalMlp<T>& encoder, std::size_t components, Rng& rng);
  std::string name() const override;
  /// MixtureSameFamily(Categorical(uniform), q_φ(z | clamp(u, 0, 1)) with batch (K,)).
  std::unique_ptr<dist::Distribution<T>> distribution(Tape<T>& tape) const override;
  std::size_t components() const { return k_; }

 private:
  const nn::NormalMlp<T>& encoder_;
  std::size_t k_;
  Parameter<T>* pseudo_inputs_;
};

}  // namespace tapir::models
