// tapir/models/vae/vae.cpp — the VAE's networks and bounds; each line cites the paper.
#include "models/vae/vae.hpp"

#include <fmt/format.h>

#include <cmath>

#include "models/core/json_fields.hpp"
#include "models/priors/make_prior.hpp"
#include "nn/init.hpp"

namespace tapir::models {

namespace {
constexpr std::pair<Likelihood, const char*> kLikelihoods[] = {
    {Likelihood::bernoulli, "bernoulli"},
    {Likelihood::gaussian, "gaussian"},
    {Likelihood::continuous_bernoulli, "continuous-bernoulli"}};

std::vector<std::size_t> check_hidden(const VaeConfig& c) {
  if (c.hidden.empty()) throw Error("Vae: needs at least one hidden layer (config.hidden is empty)");
  if (c.x_dim == 0 || c.z_dim == 0)
    throw Error(fmt::format("Vae: x_dim = {} and z_dim = {} must be positive", c.x_dim, c.z_dim));
  if (c.samples == 0) throw Error("Vae: samples (L) must be at least 1");
  return c.hidden;
}
}  // namespace

Likelihood likelihood_from_string(const std::string& s) {
  for (const auto& [l, n] : kLikelihoods)
    if (s == n) return l;
  throw Error(fmt::format("unknown likelihood '{}' (expected bernoulli, gaussian or continuous-bernoulli)", s));
}

const char* to_string(Likelihood l) {
  for (const auto& [k, n] : kLikelihoods)
    if (k == l) return n;
  return "?";
}

nlohmann::json VaeConfig::to_json() const {
  return {{"x_dim", x_dim},
          {"z_dim", z_dim},
          {"hidden", hidden},
          {"activation", nn::to_string(activation)},
          {"likelihood", models::to_string(likelihood)},
          {"estimator", estimator == Estimator::analytic_kl   ? "B"
                        : estimator == Estimator::monte_carlo ? "A"
                                                              : "auto"},
          {"samples", samples},
          {"init_std", init_std},
          {"prior", prior},
          {"z2_dim", z2_dim},
          {"hidden2", hidden2}};
}

VaeConfig VaeConfig::from_json(const nlohmann::json& j) {
  VaeConfig c;
  try {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      if (k == "x_dim")
        c.x_dim = json_fields::count(*it, k);
      else if (k == "z_dim")
        c.z_dim = json_fields::count(*it, k);
      else if (k == "hidden")
        c.hidden = json_fields::counts(*it, k);
      else if (k == "activation")
        c.activation = nn::activation_from_string(it->get<std::string>());
      else if (k == "likelihood")
        c.likelihood = likelihood_from_string(it->get<std::string>());
      else if (k == "estimator") {
        const std::string e = it->get<std::string>();
        if (e != "A" && e != "B" && e != "auto") throw Error(fmt::format("estimator '{}' (expected A, B or auto)", e));
        c.estimator = e == "B" ? Estimator::analytic_kl : e == "A" ? Estimator::monte_carlo : Estimator::automatic;
      } else if (k == "samples")
        c.samples = json_fields::count(*it, k);
      else if (k == "init_std")
        c.init_std = json_fields::real(*it, k);
      else if (k == "prior") {
        c.prior = it->get<std::string>();
        check_prior_spec(c.prior);
      } else if (k == "z2_dim")
        c.z2_dim = json_fields::count(*it, k);
      else if (k == "hidden2")
        c.hidden2 = json_fields::counts(*it, k);
      else
        throw Error(fmt::format("unknown key '{}'", k));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("VAE config: {}", e.what()));
  } catch (const Error& e) {
    throw Error(fmt::format("VAE config: {}", e.what()));
  }
  return c;
}

template <class T>
PixelDecoder<T>::PixelDecoder(const VaeConfig& c, std::size_t in, const std::vector<std::size_t>& hidden, Rng& rng) {
  nn::Module<T>* head;
  if (c.likelihood == Likelihood::gaussian) {  // N(σ(W h + b), exp(W' h + b'))   App. C.2
    gaussian_ = std::make_unique<nn::NormalMlp<T>>(in, hidden, c.x_dim, rng, c.activation, nn::MeanActivation::sigmoid);
    head = gaussian_.get();
  } else {  // y = σ(W₂ tanh(W₁z + b₁) + b₂)   App. C.1
    bernoulli_ = std::make_unique<nn::BernoulliMlp<T>>(in, hidden, c.x_dim, rng, c.activation,
                                                       c.likelihood == Likelihood::continuous_bernoulli);
    head = bernoulli_.get();
  }
  // The head's parts are the decoder's own: "decoder.trunk.0.weight", "decoder.logits.bias".
  for (const auto& [name, child] : head->children()) this->register_module(name, *child);
}

template <class T>
dist::Independent<T> PixelDecoder<T>::forward(const Var<T>& z) const {
  return gaussian_ ? gaussian_->forward(z) : bernoulli_->forward(z);
}

template <class T>
Vae<T>::Vae(const VaeConfig& config, Rng& rng, std::unique_ptr<Prior<T>> prior)
    : config_(config),
      encoder_(config.x_dim, check_hidden(config), config.z_dim, rng, config.activation),
      decoder_(config, config.z_dim, std::vector<std::size_t>(config.hidden.rbegin(), config.hidden.rend()), rng) {
  this->register_module("encoder", encoder_);
  this->register_module("decoder", decoder_);
  if (config.init_std > 0)  // "all parameters initialised by random sampling from N(0, 0.01)"  §5
    for (auto& [name, p] : this->named_parameters()) nn::init::normal_(*p, rng, 0.0, config.init_std);
  prior_ = prior ? std::move(prior) : make_prior<T>(config.prior, config.z_dim, encoder_, rng);  // its own init
  if (prior_->dim() != config.z_dim)
    throw Error(fmt::format("Vae: the prior '{}' is over {} dimensions but z_dim is {}", prior_->name(), prior_->dim(),
                            config.z_dim));
  this->register_module("prior", *prior_);
  // Estimator B needs KL(q ‖ p) in closed form: ask the registry about the two families.
  Tape<T> tape;
  NoGradGuard<T> no_grad(tape);
  const dist::Independent<T> q = dist::standard_normal<T>(tape, {1}, {config.z_dim});  // q's family
  const auto p = prior_->distribution(tape);
  const bool pair = dist::has_kl<T>(q, *p);
  if (config.estimator == Estimator::analytic_kl && !pair)
    throw Error(
        fmt::format("estimator B (the analytic KL) needs kl_divergence({}, {}), which is not registered for "
                    "the prior '{}': use estimator A or auto",
                    q.type_name(), p->type_name(), prior_->name()));
  analytic_kl_ = config.estimator == Estimator::analytic_kl || (config.estimator == Estimator::automatic && pair);
}

template <class T>
dist::Independent<T> Vae<T>::encode(const Var<T>& x) const {
  if (x.dim() != 2 || x.shape()[1] != config_.x_dim)
    throw ShapeError(
        fmt::format("Vae::encode: x has shape {}, expected (batch, {})", shape_str(x.shape()), config_.x_dim));
  return encoder_(x);  // h = tanh(W₃x + b₃), μ = W₄h + b₄, log σ² = W₅h + b₅   App. C.2
}

template <class T>
dist::Independent<T> Vae<T>::decode(const Var<T>& z) const {
  return decoder_(z);
}

template <class T>
Var<T> Vae<T>::log_likelihood(const Var<T>& x, const Var<T>& z) const {
  if (z.dim() == 0 || z.shape().back() != config_.z_dim)
    throw ShapeError(fmt::format("Vae::log_likelihood: z has shape {}, expected (..., batch, {})", shape_str(z.shape()),
                                 config_.z_dim));
  return decoder_(z).log_prob(x);  // Σ x log y + (1−x) log(1−y)   App. C.1
}

template <class T>
ElboTerms<T> Vae<T>::bound(const Var<T>& x, Rng& rng, double beta, bool terms) const {
  const auto q = encode(x);                            // q_φ(z|x)
  const Var<T> z = q.rsample(rng, {config_.samples});  // z_l = μ + σ ⊙ ε_l  (L, batch, z)
  const Var<T> log_px_z = log_likelihood(x, z);        // log p_θ(x|z_l)     (L, batch)
  ElboTerms<T> b;
  if (terms) b.mean = q.mean();                     // μ_φ(x)
  if (analytic_kl_) {                               // eq. 7 (estimator B)
    const auto p = prior_->distribution(x.tape());  // p(z)
    const Var<T> reconstruction = mean(log_px_z, 0), kl = dist::kl_divergence<T>(q, *p);
    b.elbo = reconstruction - kl * static_cast<T>(beta);
    if (terms) {
      b.reconstruction = reconstruction;
      b.kl = kl;
    }
    return b;
  }
  // (log p(z) through the prior's own log_prob, as log_prior() and so IWAE and AIS see it.)
  const Var<T> log_pz = log_prior(z), log_qz = q.log_prob(z);
  if (beta == 1.0)
    b.elbo = mean(log_px_z + log_pz - log_qz, 0);  // eq. 6 (estimator A)
  else  // β on the Monte Carlo KL term log p(z) − log q(z|x) (warm-up with priors that have no analytic KL)
    b.elbo = mean(log_px_z + (log_pz - log_qz) * static_cast<T>(beta), 0);
  if (terms) {
    b.reconstruction = mean(log_px_z, 0);  // (1/L) Σ_l log p_θ(x|z_l)
    b.kl = mean(log_qz - log_pz, 0);       // (1/L) Σ_l [log q_φ(z_l|x) − log p(z_l)]
  }
  return b;
}

template <class T>
Var<T> Vae<T>::elbo(const Var<T>& x, Rng& rng, double beta) const {
  return bound(x, rng, beta, false).elbo;
}

template <class T>
ElboTerms<T> Vae<T>::elbo_terms(const Var<T>& x, Rng& rng, double beta) const {
  return bound(x, rng, beta, true);
}

template <class T>
Var<T> Vae<T>::log_importance_weights(const Var<T>& x, Rng& rng, std::size_t k) const {
  if (k == 0) throw Error("Vae: needs at least one importance sample");
  const auto q = encode(x);
  const Var<T> z = q.rsample(rng, {k});                        // z_k ~ q_φ(z|x)      (K, batch, z)
  return log_likelihood(x, z) + log_prior(z) - q.log_prob(z);  // log p(x, z_k) − log q(z_k|x)
}

template <class T>
typename Vae<T>::WakeSleep Vae<T>::wake_sleep(const Var<T>& x, Rng& rng) const {
  const std::size_t m = x.shape()[0];
  // Wake: a posterior sample from the recognition model, then maximum likelihood for θ on (x, z).
  const auto q = encode(x);
  const Var<T> z = q.sample(rng);                                 // z ~ q_φ(z|x), a constant
  const Var<T> log_joint = decode(z).log_prob(x) + log_prior(z);  // log p_θ(x|z) + log p(z)
  // Sleep: a fantasy from the generative model, then maximum likelihood for φ on (x̃, z̃).
  const Var<T> z_dream = x.tape().constant(sample_prior(rng, m));  // z̃ ~ p(z)
  const Var<T> x_dream = decode(z_dream).sample(rng);              // x̃ ~ p_θ(x|z̃), a constant
  const Var<T> log_q_dream = encode(x_dream).log_prob(z_dream);
  return {-(mean(log_joint) + mean(log_q_dream)), log_joint - q.log_prob(z)};
}

std::string legacy_vae_parameter_name(const std::string& name, Likelihood likelihood) {
  const auto starts = [&](const char* p) { return name.rfind(p, 0) == 0; };
  const auto rest = [&](std::size_t n) { return name.substr(n); };
  if (starts("encoder.") && !starts("encoder.trunk.") && !starts("encoder.mu.") && !starts("encoder.log_var."))
    return "encoder.trunk." + rest(8);
  if (starts("mu.")) return "encoder.mu." + rest(3);
  if (starts("log_var.")) return "encoder.log_var." + rest(8);
  if (starts("decoder.") && !starts("decoder.trunk.") && !starts("decoder.logits.") && !starts("decoder.mu.") &&
      !starts("decoder.log_var."))
    return "decoder.trunk." + rest(8);
  if (starts("out_log_var.")) return "decoder.log_var." + rest(12);
  if (starts("out."))
    return std::string(likelihood == Likelihood::gaussian ? "decoder.mu." : "decoder.logits.") + rest(4);
  return name;
}

template class PixelDecoder<float>;
template class PixelDecoder<double>;
template class Vae<float>;
template class Vae<double>;

}  // namespace tapir::models
