// tapir/models/vae/vae.hpp — the Kingma–Welling variational auto-encoder (AEVB, arXiv:1312.6114).
//
// Generative model p_θ(x, z) = p(z) p_θ(x|z) with p(z) = N(0, I); recognition model
// q_φ(z|x) = N(μ_φ(x), diag σ²_φ(x)). Both are MLPs (App. C). Training maximises the SGVB estimate of
// the lower bound. A Vae owns its parameters (encoder.*, decoder.*); the distributions it returns hold
// Vars of the current tape step and live until Tape::clear().
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nn/dist/dist.hpp"
#include "nn/layers.hpp"

namespace tapir::models {

/// How p_θ(x|z) models a pixel.
enum class Likelihood {
  bernoulli,            // App. C.1: binary (or grey levels as a cross-entropy) — MNIST
  gaussian,             // App. C.2: N(sigmoid(mean head), exp(log-variance head)) — Frey Face
  continuous_bernoulli  // Loaiza-Ganem & Cunningham (2019): a normalised density on [0, 1]
};

/// Which SGVB estimator of the bound (AEVB §2.3).
enum class Estimator {
  analytic_kl,  // estimator B, eq. 7: −KL(q‖p) in closed form + (1/L) Σ log p(x|z_l)
  monte_carlo   // estimator A, eq. 6: (1/L) Σ [log p(x, z_l) − log q(z_l|x)]
};

struct VaeConfig {
  std::size_t x_dim = 784;
  std::size_t z_dim = 20;
  std::vector<std::size_t> hidden = {500};  // encoder and decoder hidden layers (mirrored)
  nn::Activation activation = nn::Activation::tanh;
  Likelihood likelihood = Likelihood::bernoulli;
  Estimator estimator = Estimator::analytic_kl;
  std::size_t samples = 1;  // L, samples of z per data point
  double init_std = 0.01;   // every parameter ~ N(0, init_std²) as in the paper; 0: PyTorch's default
  nlohmann::json to_json() const;
  /// Reads what to_json wrote; throws naming an unknown or ill-typed key.
  static VaeConfig from_json(const nlohmann::json& j);
};

Likelihood likelihood_from_string(const std::string& s);
const char* to_string(Likelihood l);

template <class T>
class Vae : public nn::Module<T> {
 public:
  Vae(const VaeConfig& config, Rng& rng);

  /// q_φ(z|x) = N(μ, diag σ²):  h = act(W h_prev + b) per hidden layer, μ = W₄h + b₄, log σ² = W₅h + b₅
  /// (App. C.2), as Independent(Normal, 1): one density per data point. x: (batch, x_dim).
  dist::Independent<T> encode(const Var<T>& x) const;
  /// p_θ(x|z), one density per row of z: (n, z_dim) → Independent over x_dim (App. C.1 / C.2).
  dist::Independent<T> decode(const Var<T>& z) const;
  /// p(z) = N(0, I) with batch shape (n,) and event shape (z_dim,).
  dist::Independent<T> prior(Tape<T>& tape, std::size_t n) const;

  /// The SGVB lower bound per data point, shape (batch,):
  ///   B (eq. 7):  L(x) = −KL(q_φ(z|x) ‖ p(z)) + (1/L) Σ_l log p_θ(x|z_l)
  ///   A (eq. 6):  L(x) = (1/L) Σ_l [log p_θ(x, z_l) − log q_φ(z_l|x)]
  /// with z_l = μ + σ ⊙ ε_l, ε_l ~ N(0, I) (§2.4). `beta` weights the KL term (β-VAE / KL warm-up;
  /// 1 is the bound itself) and applies to estimator B only.
  Var<T> elbo(const Var<T>& x, Rng& rng, double beta = 1.0) const;
  /// The importance-weighted bound with K samples (Burda et al. 2015), shape (batch,):
  ///   log (1/K) Σ_k p_θ(x, z_k) / q_φ(z_k|x),  z_k ~ q_φ(z|x);  K = 1 gives estimator A.
  /// As K grows it tightens towards log p_θ(x): with large K it is the log-likelihood estimate.
  Var<T> iwae(const Var<T>& x, Rng& rng, std::size_t k) const;
  /// The importance log-weights log p_θ(x, z_k) − log q_φ(z_k|x), z_k ~ q_φ(z|x), shape (K, batch):
  /// what iwae() reduces with logsumexp. Evaluation calls it in chunks of K to bound memory.
  Var<T> log_importance_weights(const Var<T>& x, Rng& rng, std::size_t k) const;

  /// log p_θ(x, z) = log p_θ(x|z) + log p(z) per row, for z of shape (batch, z_dim): the target of
  /// posterior sampling (Monte Carlo EM, AIS). Shape (batch,).
  Var<T> log_joint(const Var<T>& x, const Var<T>& z) const;

  /// Wake-sleep (Hinton, Dayan, Frey & Neal 1995) with this recognition model, the AEVB paper's baseline.
  /// `loss` is a surrogate whose gradient is both phases' update, averaged over the batch:
  ///   wake:  −∇_θ log p_θ(x, z),   z ~ q_φ(z|x)            (a sample: no gradient reaches φ)
  ///   sleep: −∇_φ log q_φ(z̃|x̃),  (z̃, x̃) ~ p(z) p_θ(x|z)  (a fantasy: no gradient reaches θ)
  /// `bound` is the wake sample's estimate log p(x, z) − log q(z|x) of the ELBO, per data point.
  struct WakeSleep {
    Var<T> loss;
    Var<T> bound;
  };
  WakeSleep wake_sleep(const Var<T>& x, Rng& rng) const;

  const VaeConfig& config() const { return config_; }

 private:
  /// Decoder output for (n, z_dim) latents: logits, or the Gaussian's mean and log-variance.
  dist::Independent<T> decode_rows(const Var<T>& z) const;
  /// log p_θ(x|z_k) for z of shape (K, batch, z_dim) → (K, batch).
  Var<T> log_likelihood(const Var<T>& x, const Var<T>& z) const;

  VaeConfig config_;
  nn::Mlp<T> encoder_hidden_;
  nn::Linear<T> mu_, log_var_;
  nn::Mlp<T> decoder_hidden_;
  nn::Linear<T> out_;                           // logits, or the Gaussian's mean head
  std::unique_ptr<nn::Linear<T>> out_log_var_;  // Gaussian decoder only
};

}  // namespace tapir::models
