// examples/cvae/cvae.hpp — a conditional VAE (Sohn, Lee & Yan 2015) as a tapir LatentVariableModel.
//
// The label y is a context, not data: each row of x is [the image's D pixels, y one-hot in C values]
// (data::with_one_hot_labels), and every density of the interface is conditioned on it:
//   q(z | x, y) = N(μ, diag σ²)  from an MLP on [x, y]            (nn::NormalMlp(D + C, {H}, Z))
//   p(x | z, y) = Π Bernoulli(logits(h)),  h = relu(W_z z + W_y y + b)   (z and y enter one layer)
//   p(z)        = N(0, I)
// so log_likelihood(x, z) = log p(pixels | z, y), the bound is the ELBO of log p(pixels | y), and
// evaluate_model's importance-sampled estimate and model_ais estimate log p(pixels | y). The label columns
// get no likelihood: the model never predicts them.
#pragma once

#include <tapir/models/core/latent_model.hpp>
#include <tapir/nn/dist/standard_normal.hpp>
#include <tapir/nn/heads.hpp>
#include <tapir/nn/layers.hpp>

namespace cvae {

using tapir::Array;
using tapir::Rng;
using tapir::Var;
namespace dist = tapir::dist;

class Cvae : public tapir::models::LatentVariableModel<float> {
 public:
  /// `pixels` (D) values of data, then `classes` (C) of one-hot label in each row of x.
  Cvae(std::size_t pixels, std::size_t classes, std::size_t hidden, std::size_t z_dim, Rng& rng)
      : d_(pixels),
        c_(classes),
        z_(z_dim),
        encoder_(pixels + classes, {hidden}, z_dim, rng, tapir::nn::Activation::relu),
        dec_z_(z_dim, hidden, rng),
        dec_y_(classes, hidden, rng, /*bias=*/false),
        dec_out_(hidden, pixels, rng) {
    register_module("encoder", encoder_);
    register_module("dec_z", dec_z_);
    register_module("dec_y", dec_y_);
    register_module("dec_out", dec_out_);
  }

  std::string name() const override { return "cvae"; }
  std::size_t x_dim() const override { return d_ + c_; }
  std::size_t z_dim() const override { return z_; }

  /// The pixels and the label of rows x (B, D + C).
  Var<float> pixels(const Var<float>& x) const { return tapir::slice(x, 1, 0, long(d_)); }
  Var<float> label(const Var<float>& x) const { return tapir::slice(x, 1, long(d_), long(d_ + c_)); }

  /// p(x | z, y) over the pixels: z (..., B, Z) and y (B, C) give batch (..., B), event (D,).
  dist::Independent<float> decode_given(const Var<float>& z, const Var<float>& y) const {
    const Var<float> h = tapir::relu(dec_z_(z) + dec_y_(y));  // (..., B, H) + (B, H): broadcast over samples
    return dist::Independent<float>(dist::Bernoulli<float>(dec_out_(h)), 1);
  }
  /// The interface's decode(z) has no label to condition on: use decode_given.
  dist::Independent<float> decode(const Var<float>&) const override {
    throw tapir::Error("cvae: decode(z) needs a label; call decode_given(z, y)");
  }

  Var<float> log_prior(const Var<float>& z) const override {
    return dist::standard_normal<float>(z.tape(), {}, {z_}).log_prob(z);
  }
  Var<float> log_likelihood(const Var<float>& x, const Var<float>& z) const override {
    return decode_given(z, label(x)).log_prob(pixels(x));
  }
  Array<float> sample_prior(Rng& rng, std::size_t n) const override { return tapir::normal<float>(rng, {n, z_}); }

  bool has_proposal() const override { return true; }
  /// log p(pixels, z_k | y) − log q(z_k | x, y) for K draws z_k ~ q: (K, B).
  Var<float> log_importance_weights(const Var<float>& x, Rng& rng, std::size_t k) const override {
    const auto q = encoder_(x);
    const Var<float> z = q.rsample(rng, {k});
    return log_likelihood(x, z) + log_prior(z) - q.log_prob(z);
  }
  Var<float> encode_mean(const Var<float>& x) const override { return encoder_(x).mean(); }

  /// Estimator B: one z ~ q(z | x, y), the KL against N(0, I) in closed form.
  tapir::models::ElboTerms<float> elbo_terms(const Var<float>& x, Rng& rng, double beta = 1.0) const override {
    const auto q = encoder_(x);
    const Var<float> recon = log_likelihood(x, q.rsample(rng));
    const Var<float> kl = dist::kl_divergence<float>(q, dist::standard_normal<float>(x.tape(), {}, {z_}));
    tapir::models::ElboTerms<float> t;
    t.elbo = recon - kl * float(beta);
    t.reconstruction = recon;
    t.kl = kl;
    t.mean = q.mean();
    return t;
  }
  Var<float> elbo(const Var<float>& x, Rng& rng, double beta = 1.0) const override {
    return elbo_terms(x, rng, beta).elbo;
  }

 private:
  std::size_t d_, c_, z_;
  tapir::nn::NormalMlp<float> encoder_;
  tapir::nn::Linear<float> dec_z_, dec_y_, dec_out_;
};

}  // namespace cvae
