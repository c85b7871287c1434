// tapir/models/vae/vae.cpp — the VAE's networks and bounds; each line cites the paper.
#include "models/vae/vae.hpp"

#include <fmt/format.h>

#include <cmath>

#include "nn/init.hpp"

namespace tapir::models {

namespace {
constexpr std::pair<Likelihood, const char*> kLikelihoods[] = {
    {Likelihood::bernoulli, "bernoulli"},
    {Likelihood::gaussian, "gaussian"},
    {Likelihood::continuous_bernoulli, "continuous-bernoulli"}};

std::vector<std::size_t> chain(std::size_t first, const std::vector<std::size_t>& middle) {
  std::vector<std::size_t> s{first};
  s.insert(s.end(), middle.begin(), middle.end());
  return s;
}

nn::MlpOptions hidden_options(nn::Activation a) {
  nn::MlpOptions o;
  o.activation = a;
  o.output_activation = a;  // every layer of these stacks is hidden: the heads come after
  return o;
}

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
          {"estimator", estimator == Estimator::analytic_kl ? "B" : "A"},
          {"samples", samples},
          {"init_std", init_std}};
}

VaeConfig VaeConfig::from_json(const nlohmann::json& j) {
  VaeConfig c;
  try {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      if (k == "x_dim")
        c.x_dim = it->get<std::size_t>();
      else if (k == "z_dim")
        c.z_dim = it->get<std::size_t>();
      else if (k == "hidden")
        c.hidden = it->get<std::vector<std::size_t>>();
      else if (k == "activation")
        c.activation = nn::activation_from_string(it->get<std::string>());
      else if (k == "likelihood")
        c.likelihood = likelihood_from_string(it->get<std::string>());
      else if (k == "estimator") {
        const std::string e = it->get<std::string>();
        if (e != "A" && e != "B") throw Error(fmt::format("estimator '{}' (expected A or B)", e));
        c.estimator = e == "B" ? Estimator::analytic_kl : Estimator::monte_carlo;
      } else if (k == "samples")
        c.samples = it->get<std::size_t>();
      else if (k == "init_std")
        c.init_std = it->get<double>();
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
Vae<T>::Vae(const VaeConfig& config, Rng& rng)
    : config_(config),
      encoder_hidden_(chain(config.x_dim, check_hidden(config)), rng, hidden_options(config.activation)),
      mu_(config.hidden.back(), config.z_dim, rng),
      log_var_(config.hidden.back(), config.z_dim, rng),
      decoder_hidden_(chain(config.z_dim, std::vector<std::size_t>(config.hidden.rbegin(), config.hidden.rend())), rng,
                      hidden_options(config.activation)),
      out_(config.hidden.front(), config.x_dim, rng) {
  this->register_module("encoder", encoder_hidden_);
  this->register_module("mu", mu_);
  this->register_module("log_var", log_var_);
  this->register_module("decoder", decoder_hidden_);
  this->register_module("out", out_);
  if (config.likelihood == Likelihood::gaussian) {
    out_log_var_ = std::make_unique<nn::Linear<T>>(config.hidden.front(), config.x_dim, rng);
    this->register_module("out_log_var", *out_log_var_);
  }
  if (config.init_std > 0)  // "all parameters initialised by random sampling from N(0, 0.01)"  §5
    for (auto& [name, p] : this->named_parameters()) nn::init::normal_(*p, rng, 0.0, config.init_std);
}

template <class T>
dist::Independent<T> Vae<T>::encode(const Var<T>& x) const {
  if (x.dim() != 2 || x.shape()[1] != config_.x_dim)
    throw ShapeError(
        fmt::format("Vae::encode: x has shape {}, expected (batch, {})", shape_str(x.shape()), config_.x_dim));
  const Var<T> h = encoder_hidden_(x);                             // h = tanh(W₃x + b₃)      App. C.2
  return {dist::Normal<T>::from_log_var(mu_(h), log_var_(h)), 1};  // μ = W₄h + b₄, log σ² = W₅h + b₅
}

template <class T>
dist::Independent<T> Vae<T>::prior(Tape<T>& tape, std::size_t n) const {
  const std::vector<std::size_t> shape{n, config_.z_dim};
  const Array<T> zeros(shape, T(0)), ones(shape, T(1));
  return {dist::Normal<T>(tape.constant(zeros), tape.constant(ones)), 1};  // p(z) = N(0, I)
}

template <class T>
Var<T> Vae<T>::log_likelihood(const Var<T>& x, const Var<T>& z) const {
  const long k = static_cast<long>(z.shape()[0]), b = static_cast<long>(z.shape()[1]);
  const long d = static_cast<long>(config_.x_dim);
  const Var<T> h = decoder_hidden_(reshape(z, {k * b, static_cast<long>(config_.z_dim)}));  // one batched pass
  const Var<T> head = reshape(out_(h), {k, b, d});
  switch (config_.likelihood) {
    case Likelihood::bernoulli:                                              // y = σ(W₂ h + b₂)         App. C.1
      return dist::Independent<T>(dist::Bernoulli<T>(head), 1).log_prob(x);  // Σ x log y + (1−x) log(1−y)
    case Likelihood::continuous_bernoulli:
      return dist::Independent<T>(dist::ContinuousBernoulli<T>(head), 1).log_prob(x);
    case Likelihood::gaussian: {  // N(σ(mean head), exp(W h + b))
      const Var<T> log_var = reshape((*out_log_var_)(h), {k, b, d});
      return dist::Independent<T>(dist::Normal<T>::from_log_var(sigmoid(head), log_var), 1).log_prob(x);
    }
  }
  throw Error("Vae: unknown likelihood");
}

template <class T>
dist::Independent<T> Vae<T>::decode(const Var<T>& z) const {
  const Var<T> h = decoder_hidden_(z);
  switch (config_.likelihood) {
    case Likelihood::bernoulli:
      return {dist::Bernoulli<T>(out_(h)), 1};
    case Likelihood::continuous_bernoulli:
      return {dist::ContinuousBernoulli<T>(out_(h)), 1};
    case Likelihood::gaussian:
      return {dist::Normal<T>::from_log_var(sigmoid(out_(h)), (*out_log_var_)(h)), 1};
  }
  throw Error("Vae: unknown likelihood");
}

template <class T>
Var<T> Vae<T>::elbo(const Var<T>& x, Rng& rng, double beta) const {
  const auto q = encode(x);                            // q_φ(z|x)
  const Var<T> z = q.rsample(rng, {config_.samples});  // z_l = μ + σ ⊙ ε_l  (L, batch, z)
  const Var<T> log_px_z = log_likelihood(x, z);        // log p_θ(x|z_l)     (L, batch)
  const auto p = prior(x.tape(), x.shape()[0]);        // p(z) = N(0, I)
  if (config_.estimator == Estimator::analytic_kl)     // eq. 7 (estimator B)
    return mean(log_px_z, 0) - dist::kl_divergence<T>(q, p) * static_cast<T>(beta);
  return mean(log_px_z + p.log_prob(z) - q.log_prob(z), 0);  // eq. 6 (estimator A)
}

template <class T>
Var<T> Vae<T>::log_importance_weights(const Var<T>& x, Rng& rng, std::size_t k) const {
  if (k == 0) throw Error("Vae: needs at least one importance sample");
  const auto q = encode(x);
  const Var<T> z = q.rsample(rng, {k});  // z_k ~ q_φ(z|x)      (K, batch, z)
  const auto p = prior(x.tape(), x.shape()[0]);
  return log_likelihood(x, z) + p.log_prob(z) - q.log_prob(z);  // log p(x, z_k) − log q(z_k|x)
}

template <class T>
Var<T> Vae<T>::iwae(const Var<T>& x, Rng& rng, std::size_t k) const {
  const Var<T> log_w = log_importance_weights(x, rng, k);
  return logsumexp(log_w, 0) - static_cast<T>(std::log(static_cast<double>(k)));  // log (1/K) Σ_k w_k
}

template <class T>
Var<T> Vae<T>::log_joint(const Var<T>& x, const Var<T>& z) const {
  if (z.dim() != 2 || z.shape()[0] != x.shape()[0] || z.shape()[1] != config_.z_dim)
    throw ShapeError(fmt::format("Vae::log_joint: z has shape {}, expected ({}, {})", shape_str(z.shape()),
                                 x.shape()[0], config_.z_dim));
  const long b = static_cast<long>(z.shape()[0]), zd = static_cast<long>(config_.z_dim);
  const Var<T> log_px_z = reshape(log_likelihood(x, reshape(z, {1, b, zd})), {b});  // log p_θ(x|z)
  return log_px_z + prior(x.tape(), z.shape()[0]).log_prob(z);                      // + log p(z)
}

template <class T>
typename Vae<T>::WakeSleep Vae<T>::wake_sleep(const Var<T>& x, Rng& rng) const {
  const std::size_t m = x.shape()[0];
  // Wake: a posterior sample from the recognition model, then maximum likelihood for θ on (x, z).
  const auto q = encode(x);
  const Var<T> z = q.sample(rng);  // z ~ q_φ(z|x), a constant
  const auto p = prior(x.tape(), m);
  const Var<T> log_joint = decode(z).log_prob(x) + p.log_prob(z);  // log p_θ(x|z) + log p(z)
  // Sleep: a fantasy from the generative model, then maximum likelihood for φ on (x̃, z̃).
  const Var<T> z_dream = p.sample(rng);                // z̃ ~ p(z)
  const Var<T> x_dream = decode(z_dream).sample(rng);  // x̃ ~ p_θ(x|z̃), a constant
  const Var<T> log_q_dream = encode(x_dream).log_prob(z_dream);
  return {-(mean(log_joint) + mean(log_q_dream)), log_joint - q.log_prob(z)};
}

template class Vae<float>;
template class Vae<double>;

}  // namespace tapir::models
