// tapir/models/vae/vae.hpp — the Kingma–Welling variational auto-encoder (AEVB, arXiv:1312.6114).
//
// Generative model p_θ(x, z) = p(z) p_θ(x|z); recognition model q_φ(z|x) = N(μ_φ(x), diag σ²_φ(x)).
// Three parts: the encoder (an nn::NormalMlp), the decoder (nn::BernoulliMlp, or nn::NormalMlp with
// sigmoid means for grey levels: App. C), and the prior (models/priors: N(0, I) as in the paper, a
// learnable mixture, the VampPrior, or a user's own). Training maximises the SGVB estimate of the lower
// bound. A Vae owns its parameters ("encoder.*", "decoder.*", "prior.*"); the distributions it returns
// hold Vars of the current tape step and live until Tape::clear().
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/core/latent_model.hpp"
#include "models/priors/prior.hpp"
#include "nn/dist/dist.hpp"
#include "nn/heads.hpp"
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
  monte_carlo,  // estimator A, eq. 6: (1/L) Σ [log p(x, z_l) − log q(z_l|x)]
  automatic     // B when kl_divergence(q, p) has an analytic pair (N(0, I)), else A (mixtures)
};

struct VaeConfig {
  std::size_t x_dim = 784;
  std::size_t z_dim = 20;
  std::vector<std::size_t> hidden = {500};  // encoder and decoder hidden layers (mirrored)
  nn::Activation activation = nn::Activation::tanh;
  Likelihood likelihood = Likelihood::bernoulli;
  Estimator estimator = Estimator::automatic;  // B with N(0, I) (the paper), A with priors that have no KL pair
  std::size_t samples = 1;                     // L, samples of z per data point
  double init_std = 0.01;        // every network parameter ~ N(0, init_std²) as in the paper; 0: PyTorch's default
  std::string prior = "normal";  // normal | mog:K | vamp:K (models/priors/make_prior.hpp)
  // A second stochastic layer (IWAE paper §5): z₂_dim > 0 makes the model q(z₁|x) q(z₂|z₁),
  // p(z₂) p(z₁|z₂) p(x|z₁) (models/vae/two_layer_vae.hpp), with `hidden2` the layers between z₁ and z₂.
  std::size_t z2_dim = 0;
  std::vector<std::size_t> hidden2 = {100, 100};
  nlohmann::json to_json() const;
  /// Reads what to_json wrote; throws naming an unknown or ill-typed key.
  static VaeConfig from_json(const nlohmann::json& j);
};

Likelihood likelihood_from_string(const std::string& s);
const char* to_string(Likelihood l);

/// The decoder p_θ(x|·) of a VaeConfig: a layer from `in` latents to x_dim pixels with `hidden` layers.
/// Shared by the one- and two-layer VAEs (and AVB, which uses a VAE's decoder).
template <class T>
class PixelDecoder : public nn::Module<T> {
 public:
  PixelDecoder(const VaeConfig& config, std::size_t in, const std::vector<std::size_t>& hidden, Rng& rng);
  /// p_θ(x|z) for z (..., in): Independent over x_dim pixels.
  dist::Independent<T> forward(const Var<T>& z) const;
  dist::Independent<T> operator()(const Var<T>& z) const { return forward(z); }

 private:
  std::unique_ptr<nn::BernoulliMlp<T>> bernoulli_;  // Bernoulli or continuous Bernoulli
  std::unique_ptr<nn::NormalMlp<T>> gaussian_;      // N(σ(mean head), exp(log-variance head))
};

template <class T>
class Vae : public LatentVariableModel<T> {
 public:
  /// The networks of `config` (App. C), with the prior `config.prior` — or `prior` when given (a prior
  /// tapir does not ship; its dim() must be config.z_dim).
  Vae(const VaeConfig& config, Rng& rng, std::unique_ptr<Prior<T>> prior = nullptr);

  std::string name() const override { return "vae"; }
  std::size_t x_dim() const override { return config_.x_dim; }
  std::size_t z_dim() const override { return config_.z_dim; }

  /// q_φ(z|x) = N(μ, diag σ²):  h = act(W h_prev + b) per hidden layer, μ = W₄h + b₄, log σ² = W₅h + b₅
  /// (App. C.2), as Independent(Normal, 1): one density per data point. x: (batch, x_dim).
  dist::Independent<T> encode(const Var<T>& x) const;
  /// p_θ(x|z), one density per row of z: (..., z_dim) → Independent over x_dim (App. C.1 / C.2).
  dist::Independent<T> decode(const Var<T>& z) const override;
  /// The prior p(z).
  const Prior<T>& prior() const { return *prior_; }

  /// log p(z) per row; log p_θ(x|z_k) for z (..., batch, z_dim) → (..., batch).
  Var<T> log_prior(const Var<T>& z) const override { return prior_->log_prob(z); }
  Var<T> log_likelihood(const Var<T>& x, const Var<T>& z) const override;
  Array<T> sample_prior(Rng& rng, std::size_t n) const override { return prior_->sample(rng, n); }

  bool has_proposal() const override { return true; }
  /// The importance log-weights log p_θ(x, z_k) − log q_φ(z_k|x), z_k ~ q_φ(z|x), shape (K, batch):
  /// what iwae() reduces with logsumexp. Evaluation calls it in chunks of K to bound memory.
  Var<T> log_importance_weights(const Var<T>& x, Rng& rng, std::size_t k) const override;
  /// μ_φ(x), (batch, z_dim).
  Var<T> encode_mean(const Var<T>& x) const override { return encode(x).mean(); }

  /// The SGVB lower bound per data point, shape (batch,):
  ///   B (eq. 7):  L(x) = −KL(q_φ(z|x) ‖ p(z)) + (1/L) Σ_l log p_θ(x|z_l)
  ///   A (eq. 6):  L(x) = (1/L) Σ_l [log p_θ(x, z_l) − log q_φ(z_l|x)]
  /// with z_l = μ + σ ⊙ ε_l, ε_l ~ N(0, I) (§2.4). `beta` weights the KL term (β-VAE / KL warm-up;
  /// 1 is the bound itself): −KL in B, the Monte Carlo KL log p(z_l) − log q(z_l|x) in A. Estimator B
  /// with a prior that has no analytic KL against q throws naming both; `automatic` picks B where it
  /// exists.
  Var<T> elbo(const Var<T>& x, Rng& rng, double beta = 1.0) const override;
  /// elbo() with its terms from the same draws: reconstruction (1/L) Σ_l log p_θ(x|z_l); KL analytic in B,
  /// (1/L) Σ_l [log q_φ(z_l|x) − log p(z_l)] in A; and μ_φ(x).
  ElboTerms<T> elbo_terms(const Var<T>& x, Rng& rng, double beta = 1.0) const override;
  /// Whether elbo() uses the analytic KL (estimator B) with this prior.
  bool analytic_kl() const { return analytic_kl_; }

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
  /// The encoder's and the decoder's parameters (the prior's excluded).
  std::vector<Parameter<T>*> encoder_parameters() const { return encoder_.parameters(); }
  std::vector<Parameter<T>*> decoder_parameters() const { return decoder_.parameters(); }

 private:
  /// The bound, and with `terms` its reconstruction, KL and μ_φ(x): elbo() and elbo_terms() in one place.
  ElboTerms<T> bound(const Var<T>& x, Rng& rng, double beta, bool terms) const;

  VaeConfig config_;
  nn::NormalMlp<T> encoder_;
  PixelDecoder<T> decoder_;
  std::unique_ptr<Prior<T>> prior_;
  bool analytic_kl_ = true;
};

/// A checkpoint written before the parts refactor named the VAE's parameters "encoder.<i>", "mu",
/// "log_var", "decoder.<i>", "out", "out_log_var"; this maps such a name to today's, for loading old
/// run directories ("encoder.0.weight" → "encoder.trunk.0.weight", "out.bias" → "decoder.logits.bias").
std::string legacy_vae_parameter_name(const std::string& name, Likelihood likelihood);

}  // namespace tapir::models
