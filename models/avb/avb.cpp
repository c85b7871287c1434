// tapir/models/avb/avb.cpp — AVB's implicit encoder, discriminator, and alternating updates.
#include "models/avb/avb.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "models/core/json_fields.hpp"
#include "nn/optim/adam.hpp"

namespace tapir::models {

namespace {
constexpr double kLog2Pi = 1.8378770664093453;

std::vector<std::size_t> sizes(std::size_t in, const std::vector<std::size_t>& hidden, std::size_t out) {
  std::vector<std::size_t> s{in};
  s.insert(s.end(), hidden.begin(), hidden.end());
  s.push_back(out);
  return s;
}

nn::MlpOptions mlp_options(nn::Activation a) {
  nn::MlpOptions o;
  o.activation = a;  // the last layer stays linear: z, or the logit T
  return o;
}

/// Turns requires_grad off on some parameters for a scope: "T is held fixed" costs no gradient work.
template <class T>
class Freeze {
 public:
  explicit Freeze(std::vector<Parameter<T>*> params) : params_(std::move(params)) {
    for (auto* p : params_) p->set_requires_grad(false);
  }
  ~Freeze() {
    for (auto* p : params_) p->set_requires_grad(true);
  }
  Freeze(const Freeze&) = delete;
  Freeze& operator=(const Freeze&) = delete;

 private:
  std::vector<Parameter<T>*> params_;
};

/// K copies of x stacked: (K · batch, D), copy k in rows [k · batch, (k + 1) · batch).
template <class T>
Var<T> tile_rows(const Var<T>& x, std::size_t k) {
  if (k == 1) return x;
  return concat(std::vector<Var<T>>(k, x), 0);
}
}  // namespace

nlohmann::json AvbOptions::to_json() const {
  return {{"adaptive_contrast", adaptive_contrast},
          {"noise_dim", noise_dim},
          {"encoder_hidden", encoder_hidden},
          {"disc_hidden", disc_hidden},
          {"disc_activation", disc_activation},
          {"disc_steps", disc_steps},
          {"disc_lr", disc_lr},
          {"contrast_samples", contrast_samples},
          {"contrast_eps", contrast_eps}};
}

AvbOptions AvbOptions::from_json(const nlohmann::json& j) {
  AvbOptions o;
  try {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      if (k == "adaptive_contrast")
        o.adaptive_contrast = it->get<bool>();
      else if (k == "noise_dim")
        o.noise_dim = json_fields::count(*it, k);
      else if (k == "encoder_hidden")
        o.encoder_hidden = json_fields::counts(*it, k);
      else if (k == "disc_hidden")
        o.disc_hidden = json_fields::counts(*it, k);
      else if (k == "disc_activation")
        o.disc_activation = it->get<std::string>();
      else if (k == "disc_steps")
        o.disc_steps = json_fields::count(*it, k);
      else if (k == "disc_lr")
        o.disc_lr = json_fields::real(*it, k);
      else if (k == "contrast_samples")
        o.contrast_samples = json_fields::count(*it, k);
      else if (k == "contrast_eps")
        o.contrast_eps = json_fields::real(*it, k);
      else
        throw Error(fmt::format("unknown key '{}'", k));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("AVB options: {}", e.what()));
  } catch (const Error& e) {
    throw Error(fmt::format("AVB options: {}", e.what()));
  }
  return o;
}

void AvbOptions::validate() const {
  if (noise_dim == 0) throw Error("AVB: --noise-dim must be positive (the encoder needs noise to be random)");
  if (disc_steps == 0) throw Error("AVB: --disc-steps must be at least 1");
  if (adaptive_contrast && contrast_samples < 2)
    throw Error("AVB: adaptive contrast estimates a std from --contrast-samples, which must be at least 2");
  if (disc_lr < 0) throw Error(fmt::format("AVB: --disc-lr {} must not be negative", disc_lr));
  if (!(contrast_eps > 0)) throw Error("AVB: contrast_eps must be positive");
  nn::activation_from_string(disc_activation);  // throws naming the accepted ones
}

template <class T>
Avb<T>::Avb(const VaeConfig& model, const AvbOptions& options, Rng& rng)
    : options_((options.validate(), options)),
      z_dim_(model.z_dim),
      encoder_(sizes(model.x_dim + options.noise_dim,
                     options.encoder_hidden.empty() ? model.hidden : options.encoder_hidden, model.z_dim),
               rng, mlp_options(model.activation)),
      disc_(sizes(model.x_dim + model.z_dim, options.disc_hidden.empty() ? model.hidden : options.disc_hidden, 1), rng,
            mlp_options(nn::activation_from_string(options.disc_activation))) {
  this->register_module("encoder", encoder_);
  this->register_module("discriminator", disc_);
}

template <class T>
Var<T> Avb<T>::encode(const Var<T>& x, Rng& rng) const {
  if (x.dim() != 2) throw ShapeError(fmt::format("Avb::encode: x has shape {}", shape_str(x.shape())));
  const Var<T> eps = x.tape().constant(normal<T>(rng, {x.shape()[0], options_.noise_dim}));
  return encoder_(concat(std::vector<Var<T>>{x, eps}, 1));  // z = f_φ(x, ε)
}

template <class T>
Var<T> Avb<T>::discriminator(const Var<T>& x, const Var<T>& z) const {
  const Var<T> t = disc_(concat(std::vector<Var<T>>{x, z}, 1));  // (batch, 1)
  return reshape(t, {-1});
}

template <class T>
typename Avb<T>::Sample Avb<T>::sample(const Var<T>& x, Rng& rng) const {
  if (!options_.adaptive_contrast) {
    const Var<T> z = encode(x, rng);
    return {z, z, Var<T>()};
  }
  // K samples per point: rows k · B + i of z_all belong to point i; z is the first of them. Taking μ and
  // σ over samples that include z bounds |ẑ| by (K − 1)/√K. With μ, σ from K *other* samples ẑ is
  // unbounded, and the bracket's −log r_α = ½‖ẑ‖² + … rewards the encoder for outliers faster than T
  // learns to price them: on the four-point toy that version diverged (the bound passed 10¹² within 4000
  // steps). The price of the bounded version is a 1/K share of z in its own μ, σ.
  const std::size_t b = x.shape()[0], k = options_.contrast_samples, d = z_dim_;
  const Var<T> z_all = encode(tile_rows(x, k), rng);
  const Var<T> zk = reshape(z_all, {long(k), long(b), long(d)});
  const Var<T> mu = mean(zk, 0);                                                          // (B, d)
  const Var<T> var = sum(square(zk - reshape(mu, {1, long(b), long(d)})), 0) / T(k - 1);  // unbiased
  const Var<T> sd = sqrt(var + T(options_.contrast_eps));
  const Var<T> z = slice_rows(z_all, 0, b);  // the first of the K samples
  const Var<T> z_hat = (z - mu) / sd;
  // log r_α(z|x) = log N(z; μ, σ²) = −½ Σ_j (ẑ_j² + log 2π) − Σ_j log σ_j
  const Var<T> log_r = -0.5 * sum(square(z_hat), 1) - T(0.5 * kLog2Pi * double(d)) - sum(log(sd), 1);
  return {z, z_hat, log_r};
}

template <class T>
ElboTerms<T> Avb<T>::bound(const Vae<T>& decoder, const Var<T>& x, Rng& rng, bool terms) const {
  const Sample s = sample(x, rng);
  const Var<T> log_px_z = decoder.decode(s.z).log_prob(x);
  ElboTerms<T> b;
  if (terms) b.reconstruction = log_px_z;
  if (!options_.adaptive_contrast) {
    const Var<T> t = discriminator(x, s.z);
    b.elbo = -t + log_px_z;  // −T(x, z) + log p(x|z)
    if (terms) b.kl = t;
    return b;
  }
  const Var<T> log_pz = decoder.log_prior(s.z);
  const Var<T> t = discriminator(x, s.z_hat);
  b.elbo = -t - s.log_r + log_pz + log_px_z;
  if (terms) b.kl = t + s.log_r - log_pz;  // log q − log p = T*(x, ẑ) + log r_α(z|x) − log p(z)
  return b;
}

template <class T>
Var<T> Avb<T>::elbo(const Vae<T>& decoder, const Var<T>& x, Rng& rng) const {
  return bound(decoder, x, rng, false).elbo;
}

template <class T>
ElboTerms<T> Avb<T>::elbo_terms(const Vae<T>& decoder, const Var<T>& x, Rng& rng) const {
  return bound(decoder, x, rng, true);
}

template <class T>
Var<T> Avb<T>::discriminator_loss(const Var<T>& x, Rng& rng) const {
  Tape<T>& tape = x.tape();
  Array<T> z_q;
  {
    NoGradGuard<T> no_grad(tape);  // the encoder is held fixed: its samples enter as constants
    z_q = sample(x, rng).z_hat.value();
  }
  const std::size_t b = x.shape()[0];
  const Var<T> zq = tape.constant(z_q);
  const Var<T> zp = tape.constant(normal<T>(rng, {b, z_dim_}));  // p(z) = N(0, I), or r₀ = N(0, I)
  // −log σ(T(x, z_q)) − log(1 − σ(T(x, z_p))), each in its stable softplus form
  return mean(softplus(-discriminator(x, zq)) + softplus(discriminator(x, zp)));
}

template <class T>
std::vector<Parameter<T>*> decoder_parameters(const Vae<T>& vae) {
  std::vector<Parameter<T>*> out;
  for (const auto& [name, p] : vae.named_parameters())
    if (name.rfind("encoder.", 0) != 0) out.push_back(p);  // the decoder's and the prior's
  return out;
}

template <class T>
double avb_step(Avb<T>& avb, Vae<T>& vae, const Array<T>& x, optim::Optimizer<T>& generator,
                optim::Optimizer<T>& discriminator, Rng& rng, Tape<T>& tape) {
  for (std::size_t s = 0; s < avb.options().disc_steps; ++s) {
    discriminator.zero_grad();
    avb.discriminator_loss(tape.constant(x), rng).backward();
    discriminator.step();
    tape.clear();
  }
  double bound = 0;
  {
    Freeze<T> fixed(avb.discriminator_parameters());  // T held fixed in the encoder/decoder step
    generator.zero_grad();
    const Var<T> b = mean(avb.elbo(vae, tape.constant(x), rng));
    (-b).backward();
    generator.step();
    bound = b.item();
  }
  tape.clear();
  return bound;
}

AvbToyResult avb_toy(const AvbToyConfig& c, const std::function<void(std::size_t, double)>& progress,
                     const std::atomic<bool>* stop) {
  if (c.method != "avb" && c.method != "vae")
    throw Error(fmt::format("toy method '{}': expected avb or vae", c.method));
  if (c.steps == 0 || c.batch == 0 || c.draws == 0 || c.importance_samples == 0)
    throw Error("the toy needs positive steps, batch, draws and importance samples");
  using T = float;
  constexpr std::size_t kPoints = 4, kZ = 2;
  VaeConfig m;
  m.x_dim = kPoints;
  m.z_dim = kZ;
  m.hidden = c.hidden;
  m.activation = nn::activation_from_string(c.activation);
  m.init_std = 0;  // PyTorch's default initialisation: Adam, not the paper's Adagrad on N(0, 0.01)
  Rng init(c.seed), rng(c.seed + 1);
  Vae<T> vae(m, init);
  AvbOptions ao = c.avb;
  if (ao.encoder_hidden.empty()) ao.encoder_hidden = c.hidden;
  if (ao.disc_hidden.empty()) ao.disc_hidden = c.hidden;
  const bool avb = c.method == "avb";
  std::unique_ptr<Avb<T>> net = avb ? std::make_unique<Avb<T>>(m, ao, init) : nullptr;
  optim::AdamOptions go;
  go.lr = c.lr;
  std::vector<Parameter<T>*> gen_params = avb ? decoder_parameters(vae) : vae.parameters();
  if (avb)
    for (auto* p : net->encoder_parameters()) gen_params.push_back(p);
  optim::Adam<T> generator(gen_params, go);
  optim::AdamOptions dopt;
  dopt.lr = ao.disc_lr > 0 ? ao.disc_lr : 5 * c.lr;
  std::unique_ptr<optim::Adam<T>> disc =
      avb ? std::make_unique<optim::Adam<T>>(net->discriminator_parameters(), dopt) : nullptr;

  const auto one_hot = [&](std::size_t n, Rng& r, std::vector<std::size_t>* which) {
    Array<T> x = xt::zeros<T>({n, kPoints});
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t k = std::min<std::size_t>(kPoints - 1, std::size_t(uniform<double>(r, {1})(0) * kPoints));
      x(i, k) = 1;
      if (which) which->push_back(k);
    }
    return x;
  };
  Tape<T> tape;
  AvbToyResult res;
  double running = std::nan("");
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t step = 1; step <= c.steps && !(stop && stop->load()); ++step) {
    const Array<T> x = one_hot(c.batch, rng, nullptr);
    double b = 0;
    if (avb) {
      b = avb_step(*net, vae, x, generator, *disc, rng, tape);
    } else {
      generator.zero_grad();
      const Var<T> bound = mean(vae.elbo(tape.constant(x), rng));
      (-bound).backward();
      generator.step();
      b = bound.item();
      tape.clear();
    }
    if (!std::isfinite(b)) throw Error(fmt::format("the toy's bound became {} at step {}: lower --lr", b, step));
    running = std::isnan(running) ? b : 0.99 * running + 0.01 * b;
    if (step % std::max<std::size_t>(1, c.steps / 100) == 0) res.curve.push_back(running);
    if (progress && step % 100 == 0) progress(step, running);
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // The posteriors, the bound and log p(x), with no gradients.
  NoGradGuard<T> no_grad(tape);
  res.z = Array<T>::from_shape({kPoints, c.draws, kZ});
  double elbo = 0, ll = 0;
  for (std::size_t i = 0; i < kPoints; ++i) {
    Array<T> x = xt::zeros<T>({c.draws, kPoints});
    for (std::size_t r = 0; r < c.draws; ++r) x(r, i) = 1;
    const Var<T> xv = tape.constant(x);
    const Var<T> z = avb ? net->encode(xv, rng) : vae.encode(xv).rsample(rng);
    std::copy(z.value().begin(), z.value().end(), res.z.begin() + long(i * c.draws * kZ));
    const Array<T> b = (avb ? net->elbo(vae, xv, rng) : vae.elbo(xv, rng)).value();
    elbo += std::accumulate(b.begin(), b.end(), 0.0) / double(c.draws * kPoints);
    tape.clear();
    // log p(x_i) = log (1/K) Σ_k p(x_i|z_k), z_k ~ p(z): exact enough in two dimensions
    double m_max = -std::numeric_limits<double>::infinity();
    std::vector<double> lw;
    lw.reserve(c.importance_samples);
    for (std::size_t done = 0; done < c.importance_samples;) {
      const std::size_t k = std::min<std::size_t>(10000, c.importance_samples - done);
      Array<T> xi = xt::zeros<T>({k, kPoints});
      for (std::size_t r = 0; r < k; ++r) xi(r, i) = 1;
      const Array<T> lp = vae.decode(tape.constant(normal<T>(rng, {k, kZ}))).log_prob(tape.constant(xi)).value();
      for (const T v : lp) {
        lw.push_back(double(v));
        m_max = std::max(m_max, double(v));
      }
      tape.clear();
      done += k;
    }
    double acc = 0;
    for (const double v : lw) acc += std::exp(v - m_max);
    ll += (m_max + std::log(acc / double(lw.size()))) / double(kPoints);
  }
  res.elbo = elbo;
  res.log_likelihood = ll;
  return res;
}

template class Avb<float>;
template class Avb<double>;
template std::vector<Parameter<float>*> decoder_parameters<float>(const Vae<float>&);
template std::vector<Parameter<double>*> decoder_parameters<double>(const Vae<double>&);
template double avb_step<float>(Avb<float>&, Vae<float>&, const Array<float>&, optim::Optimizer<float>&,
                                optim::Optimizer<float>&, Rng&, Tape<float>&);
template double avb_step<double>(Avb<double>&, Vae<double>&, const Array<double>&, optim::Optimizer<double>&,
                                 optim::Optimizer<double>&, Rng&, Tape<double>&);

}  // namespace tapir::models
