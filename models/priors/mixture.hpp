// tapir/models/priors/mixture.hpp — a learnable mixture of K diagonal Gaussians as the prior:
//   p_λ(z) = Σ_k π_k N(z; m_k, diag exp(v_k)),  π = softmax(a),  λ = (a, m, v),
// learned with the model by ascending the bound (there is no analytic KL(q ‖ p_λ): the VAE uses the
// Monte Carlo form log p_λ(z) − log q(z|x)). Parameters: "logits" (K,), "means" (K, dim),
// "log_var" (K, dim). Initialisation: a = 0, m_k ~ N(0, I) (spread over the standard normal's mass, so
// the components start apart), v = 0.
#pragma once

#include "models/priors/prior.hpp"

namespace tapir::models {

template <class T>
class MixturePrior : public Prior<T> {
 public:
  MixturePrior(std::size_t dim, std::size_t components, Rng& rng);
  std::string name() const override;
  /// MixtureSameFamily(Categorical(a), Independent(Normal(m, exp(½ v)), 1)).
  std::unique_ptr<dist::Distribution<T>> distribution(Tape<T>& tape) const override;
  std::size_t components() const { return k_; }

 private:
  std::size_t k_;
  Parameter<T>*logits_, *means_, *log_var_;
};

}  // namespace tapir::models
