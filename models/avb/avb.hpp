// tapir/models/avb/avb.hpp — Adversarial Variational Bayes (Mescheder, Nowozin & Geiger 2017,
// arXiv:1701.04722), with adaptive contrast.
//
// The encoder is implicit: z = f_φ(x, ε), ε ~ N(0, I), an MLP on [x, ε]; q_φ(z|x) has no density, so
// the ELBO's −log q_φ(z|x) + log p(z) comes from a discriminator T_ψ(x, z) trained by logistic
// regression to tell (x, z ~ q_φ(z|x)) from (x, z ~ p(z)). At its optimum T*(x, z) = log q_φ(z|x) −
// log p(z), so
//   ELBO(x) = E_ε[ −T*(x, z) + log p_θ(x|z) ],  z = f_φ(x, ε)                      (AVB, eq. 3.3)
// and the encoder/decoder ascend it with T held fixed (∇_ψ of T* vanishes in expectation, Prop. 2).
//
// Adaptive contrast (AVB §3.3): r_α(z|x) = N(μ(x), σ²(x)) with q's mean and per-dimension std estimated
// from K samples; T learns to tell ẑ = (z − μ)/σ from r₀ = N(0, I) instead, an easier contrast, and
//   ELBO(x) = E[ −T*(x, ẑ) − log r_α(z|x) + log p(z) + log p_θ(x|z) ],
// because log q(z|x) − log r_α(z|x) = log q̂(ẑ|x) − log r₀(ẑ) (the Jacobians 1/Πσ cancel).
// The decoder is a Vae's (its Gaussian encoder goes unused), so AIS, sampling and pictures work as
// for any VAE run.
#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/vae/vae.hpp"
#include "nn/optim/optimizer.hpp"

namespace tapir::models {

struct AvbOptions {
  bool adaptive_contrast = false;
  std::size_t noise_dim = 64;               // ε's dimension (the paper's toy: 64)
  std::vector<std::size_t> encoder_hidden;  // hidden layers of f_φ (empty: the model's `hidden`)
  std::vector<std::size_t> disc_hidden;     // hidden layers of T_ψ (empty: the model's `hidden`)
  std::string disc_activation = "elu";      // T's nonlinearity (f_φ uses the model's)
  std::size_t disc_steps = 1;               // T updates per encoder/decoder update (the toy: 2)
  double disc_lr = 0;                       // T's step size; 0: 5 × the encoder/decoder's (the toy's ratio)
  std::size_t contrast_samples = 10;        // K samples of z per x for μ(x), σ(x)
  double contrast_eps = 1e-4;               // ẑ = (z − μ) / sqrt(σ² + eps), as the authors' code
  nlohmann::json to_json() const;
  static AvbOptions from_json(const nlohmann::json& j);
  void validate() const;
};

template <class T>
class Avb : public nn::Module<T> {
 public:
  /// The encoder f_φ and the discriminator T_ψ for a model with `model.x_dim`, `model.z_dim`.
  Avb(const VaeConfig& model, const AvbOptions& options, Rng& rng);

  /// z = f_φ(x, ε) for fresh ε ~ N(0, I): one sample per row of x, (batch, z_dim).
  Var<T> encode(const Var<T>& x, Rng& rng) const;
  /// T_ψ(x, z) per row, (batch,).
  Var<T> discriminator(const Var<T>& x, const Var<T>& z) const;

  /// A sample z of q_φ(z|x), and with adaptive contrast its standardised ẑ = (z − μ)/σ with μ, σ from
  /// K samples of f_φ(x, ·), z the first of them (differentiable: the encoder learns through them; see
  /// the .cpp for why z is one of the K). Without adaptive contrast ẑ = z.
  struct Sample {
    Var<T> z, z_hat;
    Var<T> log_r;  // log r_α(z|x) per row (adaptive contrast only)
  };
  Sample sample(const Var<T>& x, Rng& rng) const;

  /// The ELBO estimate per data point (batch,) with T in place of log q − log p (see the top).
  /// Gradients reach the encoder and the decoder; T's parameters are the caller's to freeze.
  Var<T> elbo(const Vae<T>& decoder, const Var<T>& x, Rng& rng) const;
  /// elbo() with its terms from the same draws: reconstruction log p_θ(x|z), and T's estimate of
  /// KL(q ‖ p): T(x, z), or T(x, ẑ) + log r_α(z|x) − log p(z) with adaptive contrast. q has no density, so
  /// this KL is the discriminator's, as the bound is. No means (AVB's q has no tractable mean).
  ElboTerms<T> elbo_terms(const Vae<T>& decoder, const Var<T>& x, Rng& rng) const;

  /// T's logistic loss, averaged over the batch: softplus(−T(x, ẑ_q)) + softplus(T(x, z_p)), with
  /// z_q from the encoder held fixed and z_p ~ N(0, I) (the prior, or r₀ with adaptive contrast).
  Var<T> discriminator_loss(const Var<T>& x, Rng& rng) const;

  /// Parameters of f_φ, and of T_ψ.
  std::vector<Parameter<T>*> encoder_parameters() const { return encoder_.parameters(); }
  std::vector<Parameter<T>*> discriminator_parameters() const { return disc_.parameters(); }
  const AvbOptions& options() const { return options_; }
  std::size_t z_dim() const { return z_dim_; }

 private:
  /// The bound, and with `terms` its reconstruction and KL estimate: elbo() and elbo_terms() in one place.
  ElboTerms<T> bound(const Vae<T>& decoder, const Var<T>& x, Rng& rng, bool terms) const;

  AvbOptions options_;
  std::size_t z_dim_;
  nn::Mlp<T> encoder_, disc_;
};

/// The decoder's parameters of a Vae (everything but its Gaussian encoder), for AVB's optimizer.
template <class T>
std::vector<Parameter<T>*> decoder_parameters(const Vae<T>& vae);

/// One AVB iteration on the batch x: `disc_steps` updates of T (encoder fixed), then one update of the
/// encoder and decoder on the ELBO estimate (T fixed). Returns the batch's mean ELBO estimate.
template <class T>
double avb_step(Avb<T>& avb, Vae<T>& vae, const Array<T>& x, optim::Optimizer<T>& generator,
                optim::Optimizer<T>& discriminator, Rng& rng, Tape<T>& tape);

/// The AVB paper's toy problem (Fig. 4 there): four data points, the one-hot vectors of {0,1}⁴, a 2-D
/// latent with prior N(0, I) and a Bernoulli decoder; trained by AEVB with a Gaussian q ("vae") or by
/// AVB ("avb"), both with Adam on batches drawn uniformly from the four points.
struct AvbToyConfig {
  std::string method = "avb";                  // avb | vae
  AvbOptions avb;                              // AVB's encoder, discriminator and contrast
  std::vector<std::size_t> hidden = {64, 64};  // every network's hidden layers
  std::string activation = "elu";
  std::size_t steps = 20000, batch = 512;
  double lr = 1e-3;                         // encoder/decoder (T: avb.disc_lr, 0 = 5 × lr)
  std::size_t draws = 1000;                 // posterior samples per data point, for the figure
  std::size_t importance_samples = 100000;  // K of log p(x) = log mean_k p(x|z_k), z_k ~ p(z)
  std::uint64_t seed = 1;
};

struct AvbToyResult {
  Array<float> z;             // (4, draws, 2): samples of q(z|x_i)
  double elbo = 0;            // the bound averaged over the four points (AVB: T's estimate)
  double log_likelihood = 0;  // log p(x) averaged over the four points (the optimum is log ¼)
  double seconds = 0;         // training time
  std::vector<double> curve;  // the running bound every steps/100 steps
};

/// Trains on the toy problem; `progress(step, running bound)` is called every 100 steps. Returns early
/// (with what it has) once `*stop` is set.
AvbToyResult avb_toy(const AvbToyConfig& config, const std::function<void(std::size_t, double)>& progress = {},
                     const std::atomic<bool>* stop = nullptr);

}  // namespace tapir::models
