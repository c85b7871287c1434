// tapir/models/em/linear_vae.cpp — pPCA by AEVB (see linear_vae.hpp).
#include "models/em/linear_vae.hpp"

#include <cmath>

#include <xtensor/xview.hpp>

#include "nn/dist/dist.hpp"
#include "nn/optim/optim.hpp"

namespace tapir::models::em {

template <class T>
LinearGaussianVae<T>::LinearGaussianVae(std::size_t x_dim, std::size_t z_dim, Rng& rng)
    : mu_(x_dim, z_dim, rng),
      log_var_(x_dim, z_dim, rng),
      w_(this->register_parameter("w_t", normal<T>(rng, {z_dim, x_dim}, T(0), T(0.1)))),
      b_(this->register_parameter("mu", xt::zeros<T>({x_dim}))),
      log_sigma2_(this->register_parameter("log_sigma2", xt::zeros<T>({std::size_t(1)}))) {
  this->register_module("q_mu", mu_);
  this->register_module("q_log_var", log_var_);
}

template <class T>
Var<T> LinearGaussianVae<T>::elbo(const Var<T>& x, Rng& rng) const {
  Tape<T>& tape = x.tape();
  const dist::Independent<T> q(dist::Normal<T>::from_log_var(mu_(x), log_var_(x)), 1);  // q_φ(z|x), diagonal
  const Var<T> z = q.rsample(rng);                                                      // z = μ + σ ⊙ ε
  const Var<T> mean = matmul(z, tape.param(w_)) + tape.param(b_);                       // W z + μ
  const Var<T> log_var = tape.full(x.shape(), T(1)) * tape.param(log_sigma2_);          // log σ², every pixel
  const Var<T> log_px_z = dist::Independent<T>(dist::Normal<T>::from_log_var(mean, log_var), 1).log_prob(x);
  const dist::Independent<T> prior = dist::standard_normal<T>(tape, {x.shape()[0]}, {z.shape()[1]});  // p(z)
  return log_px_z - dist::kl_divergence<T>(q, prior);                                                 // eq. 7
}

template <class T>
Var<T> LinearGaussianVae<T>::iwae(const Var<T>& x, Rng& rng, std::size_t k) const {
  Tape<T>& tape = x.tape();
  const dist::Independent<T> q(dist::Normal<T>::from_log_var(mu_(x), log_var_(x)), 1);
  const Var<T> z = q.rsample(rng, {k});  // (K, batch, z)
  const std::size_t b = x.shape()[0], zd = z.shape()[2], d = x.shape()[1];
  const Var<T> mean =
      reshape(matmul(reshape(z, {long(k * b), long(zd)}), tape.param(w_)), {long(k), long(b), long(d)}) +
      tape.param(b_);
  const Var<T> log_var = tape.full({k, b, d}, T(1)) * tape.param(log_sigma2_);
  const Var<T> log_px_z = dist::Independent<T>(dist::Normal<T>::from_log_var(mean, log_var), 1).log_prob(x);
  const dist::Independent<T> prior = dist::standard_normal<T>(tape, {b}, {zd});  // p(z)
  return logsumexp(log_px_z + prior.log_prob(z) - q.log_prob(z), 0) - static_cast<T>(std::log(double(k)));
}

template <class T>
LinearGaussian LinearGaussianVae<T>::generative_model() const {
  LinearGaussian m;
  m.w = xt::transpose(xt::cast<double>(w_.value()));
  m.mu = xt::cast<double>(b_.value());
  m.psi = xt::ones<double>({b_.size()}) * std::exp(double(log_sigma2_.value()(0)));
  return m;
}

PpcaComparison compare_ppca(const Array<double>& x, const PpcaComparisonOptions& o, Rng& rng) {
  PpcaComparison c;
  c.closed_form = log_likelihood(ppca_closed_form(x, o.latent), x);
  c.em = fit_linear_gaussian_em(x, o.latent, o.em, rng).log_likelihood;

  const std::size_t n = x.shape()[0], d = x.shape()[1];
  LinearGaussianVae<double> vae(d, o.latent, rng);
  vae.parameter("mu").value() = xt::mean(x, {0});  // start at the data mean and variance, as EM does
  vae.parameter("log_sigma2").value()(0) = std::log(xt::mean(xt::variance(x, {0}))());
  optim::AdamOptions ao;
  ao.lr = o.lr;
  optim::Adam<double> adam(vae.parameters(), ao);
  Tape<double> tape;
  Array<double> xb;
  std::vector<std::size_t> order, idx;
  long long next_report = 1000;
  const auto report = [&](long long samples) {
    NoGradGuard<double> no_grad(tape);
    Rng eval_rng(7);
    double elbo = 0;  // averaged over 10 draws of ε per point: the estimate's noise well below the gap
    for (int draw = 0; draw < 10; ++draw) {
      elbo += xt::mean(vae.elbo(tape.constant(x), eval_rng).value())() / 10;
      tape.clear();
    }
    c.aevb.push_back({samples, elbo, log_likelihood(vae.generative_model(), x)});
  };
  for (long long samples = 0; samples < o.aevb_samples;) {
    if (order.empty()) order = permutation(rng, n);
    const std::size_t m = std::min(o.batch, order.size());
    idx.assign(order.end() - long(m), order.end());
    order.resize(order.size() - m);
    xb = Array<double>::from_shape({m, d});
    for (std::size_t i = 0; i < m; ++i) std::copy_n(x.data() + idx[i] * d, d, xb.data() + i * d);
    const Var<double> loss = -mean(vae.elbo(tape.constant(xb), rng));
    loss.backward();
    if (o.lr_decay > 0) adam.set_lr(o.lr / (1.0 + double(samples) / o.lr_decay));
    adam.step();
    adam.zero_grad();
    tape.clear();
    samples += long(m);
    if (samples >= next_report || samples >= o.aevb_samples) {
      report(samples);
      next_report = static_cast<long long>(double(next_report) * 1.3335);  // 8 per decade
    }
  }
  NoGradGuard<double> no_grad(tape);
  Rng eval_rng(8);
  double is = 0;
  for (std::size_t i = 0; i < n; i += 100) {
    const std::size_t m = std::min<std::size_t>(100, n - i);
    xb = xt::view(x, xt::range(i, i + m), xt::all());
    is += xt::sum(vae.iwae(tape.constant(xb), eval_rng, 100).value())();
    tape.clear();
  }
  c.aevb_importance = is / double(n);
  return c;
}

template class LinearGaussianVae<float>;
template class LinearGaussianVae<double>;

}  // namespace tapir::models::em
