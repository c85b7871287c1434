// tapir/models/vae/two_layer_vae.cpp — the two-stochastic-layer VAE (see two_layer_vae.hpp).
#include "models/vae/two_layer_vae.hpp"

#include <fmt/format.h>

#include "models/priors/make_prior.hpp"
#include "nn/init.hpp"

namespace tapir::models {

namespace {
const VaeConfig& checked(const VaeConfig& c) {
  if (c.z2_dim == 0) throw Error("TwoLayerVae: z2_dim (the second latent layer) must be positive");
  if (c.hidden.empty() || c.hidden2.empty())
    throw Error("TwoLayerVae: needs hidden layers between x and z1 (hidden) and between z1 and z2 (hidden2)");
  if (c.prior.rfind("vamp", 0) == 0)
    throw Error("TwoLayerVae: the VampPrior is not available for p(z2) (use normal or mog:K)");
  return c;
}
std::vector<std::size_t> reversed(const std::vector<std::size_t>& v) { return {v.rbegin(), v.rend()}; }
}  // namespace

template <class T>
TwoLayerVae<T>::TwoLayerVae(const VaeConfig& config, Rng& rng, std::unique_ptr<Prior<T>> prior)
    : config_(checked(config)),
      q_z1_(config.x_dim, config.hidden, config.z_dim, rng, config.activation),
      q_z2_(config.z_dim, config.hidden2, config.z2_dim, rng, config.activation),
      p_z1_(config.z2_dim, reversed(config.hidden2), config.z_dim, rng, config.activation),
      decoder_(config, config.z_dim, reversed(config.hidden), rng) {
  this->register_module("q_z1", q_z1_);
  this->register_module("q_z2", q_z2_);
  this->register_module("p_z1", p_z1_);
  this->register_module("decoder", decoder_);
  if (config.init_std > 0)
    for (auto& [name, p] : this->named_parameters()) nn::init::normal_(*p, rng, 0.0, config.init_std);
  prior_ = prior ? std::move(prior) : make_prior<T>(config.prior, config.z2_dim, q_z2_, rng);
  if (prior_->dim() != config.z2_dim)
    throw Error(fmt::format("TwoLayerVae: the prior '{}' is over {} dimensions but z2_dim is {}", prior_->name(),
                            prior_->dim(), config.z2_dim));
  this->register_module("prior", *prior_);
}

template <class T>
Var<T> TwoLayerVae<T>::part(const Var<T>& z, std::size_t begin, std::size_t end) const {
  if (z.dim() == 0 || z.shape().back() != z_dim())
    throw ShapeError(fmt::format("TwoLayerVae: z has shape {}, expected (..., {}) = [z1 ({}), z2 ({})]",
                                 shape_str(z.shape()), z_dim(), config_.z_dim, config_.z2_dim));
  // The last axis to the front, rows [begin, end), and back.
  const std::size_t n = z.dim();
  std::vector<std::size_t> to_front{n - 1}, back;
  for (std::size_t i = 0; i + 1 < n; ++i) to_front.push_back(i);
  for (std::size_t i = 1; i < n; ++i) back.push_back(i);
  back.push_back(0);
  return transpose(slice_rows(transpose(z, to_front), begin, end), back);
}

template <class T>
Var<T> TwoLayerVae<T>::log_prior(const Var<T>& z) const {
  const Var<T> z1 = part(z, 0, config_.z_dim), z2 = part(z, config_.z_dim, z_dim());
  return prior_->log_prob(z2) + p_z1_(z2).log_prob(z1);  // log p(z₂) + log p(z₁|z₂)
}

template <class T>
Var<T> TwoLayerVae<T>::log_likelihood(const Var<T>& x, const Var<T>& z) const {
  return decoder_(part(z, 0, config_.z_dim)).log_prob(x);  // log p(x|z₁)
}

template <class T>
dist::Independent<T> TwoLayerVae<T>::decode(const Var<T>& z) const {
  return decoder_(part(z, 0, config_.z_dim));
}

template <class T>
Array<T> TwoLayerVae<T>::sample_prior(Rng& rng, std::size_t n) const {
  Tape<T> tape;
  NoGradGuard<T> no_grad(tape);
  const Var<T> z2 = tape.constant(prior_->sample(rng, n));  // z₂ ~ p(z₂)
  const Var<T> z1 = p_z1_(z2).sample(rng);                  // z₁ ~ p(z₁|z₂)
  return concat<T>({z1, z2}, -1).value();
}

template <class T>
typename TwoLayerVae<T>::Draws TwoLayerVae<T>::draw(const Var<T>& x, Rng& rng, std::size_t k) const {
  if (k == 0) throw Error("TwoLayerVae: needs at least one importance sample");
  if (x.dim() != 2 || x.shape()[1] != config_.x_dim)
    throw ShapeError(
        fmt::format("TwoLayerVae: x has shape {}, expected (batch, {})", shape_str(x.shape()), config_.x_dim));
  const auto q1 = q_z1_(x);
  const Var<T> z1 = q1.rsample(rng, {k});  // z₁ ~ q(z₁|x)    (K, batch, z1)
  const auto q2 = q_z2_(z1);
  const Var<T> z2 = q2.rsample(rng);  // z₂ ~ q(z₂|z₁)   (K, batch, z2)
  return {decoder_(z1).log_prob(x), p_z1_(z2).log_prob(z1), prior_->log_prob(z2),  // log p(x|z₁), p(z₁|z₂), p(z₂)
          q1.log_prob(z1),          q2.log_prob(z2),        q1.mean()};            // log q(z₁|x), q(z₂|z₁); μ₁
}

template <class T>
Var<T> TwoLayerVae<T>::log_importance_weights(const Var<T>& x, Rng& rng, std::size_t k) const {
  return draw(x, rng, k).log_w();  // log p(x, z₁, z₂) − log q(z₁, z₂|x)
}

template <class T>
Var<T> TwoLayerVae<T>::encode_mean(const Var<T>& x) const {
  const Var<T> mu1 = q_z1_(x).mean();
  return concat<T>({mu1, q_z2_(mu1).mean()}, -1);
}

template <class T>
Var<T> TwoLayerVae<T>::elbo(const Var<T>& x, Rng& rng, double) const {
  return mean(log_importance_weights(x, rng, config_.samples), 0);
}

template <class T>
ElboTerms<T> TwoLayerVae<T>::elbo_terms(const Var<T>& x, Rng& rng, double) const {
  const Draws d = draw(x, rng, config_.samples);
  ElboTerms<T> b;
  b.elbo = mean(d.log_w(), 0);
  b.reconstruction = mean(d.log_px, 0);                             // (1/L) Σ log p(x|z₁)
  b.kl = mean(d.log_qz1 + d.log_qz2 - (d.log_pz1 + d.log_pz2), 0);  // (1/L) Σ log q(z₁, z₂|x) − log p(z₁, z₂)
  b.mean = concat<T>({d.mu1, q_z2_(d.mu1).mean()}, -1);             // encode_mean(x)
  return b;
}

template class TwoLayerVae<float>;
template class TwoLayerVae<double>;

}  // namespace tapir::models
