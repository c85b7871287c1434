// tapir/models/inference/ais.cpp — annealed importance sampling with HMC transitions.
#include "models/inference/ais.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "autodiff/dense.hpp"
#include "autodiff/log_sum_exp.hpp"

namespace tapir::models {

std::vector<double> ais_schedule(std::size_t steps, bool sigmoid) {
  if (steps == 0) throw Error("AIS: needs at least one temperature");
  std::vector<double> beta(steps + 1);
  if (!sigmoid) {
    for (std::size_t t = 0; t <= steps; ++t) beta[t] = double(t) / double(steps);
    return beta;
  }
  // σ(δ(2t/T − 1)) rescaled to [0, 1]: dense near both ends, where log p(x|z) changes fastest.
  const double delta = 4.0;
  const auto s = [&](double u) { return 1.0 / (1.0 + std::exp(-delta * (2 * u - 1))); };
  const double lo = s(0), hi = s(1);
  for (std::size_t t = 0; t <= steps; ++t) beta[t] = (s(double(t) / double(steps)) - lo) / (hi - lo);
  beta[0] = 0, beta[steps] = 1;
  return beta;
}

Array<double> log_mean_exp_rows(const Array<double>& w) {
  if (w.dimension() != 2 || w.shape()[0] == 0)
    throw ShapeError(fmt::format("log_mean_exp_rows: expected (S, n) with S ≥ 1, got {}", shape_str(w.shape())));
  return log_sum_exp(w, 0) - std::log(double(w.shape()[0]));  // log (1/S) Σ_s exp(w_sn)
}

template <class T>
AisResult ais(const LatentModel<T>& model, const Array<T>& prior_draws, std::size_t n, const AisOptions& o, Rng& rng) {
  if (n == 0 || prior_draws.dimension() != 2 || prior_draws.shape()[0] != n * o.chains)
    throw ShapeError(
        fmt::format("AIS: {} prior draws for {} points × {} chains", shape_str(prior_draws.shape()), n, o.chains));
  const std::size_t rows = prior_draws.shape()[0];
  const std::vector<double> beta = ais_schedule(o.steps, o.sigmoid_schedule);
  Array<double> log_w = xt::zeros<double>({rows});
  Array<T> z = prior_draws;
  DensityEvaluator<T> likelihood{model.log_likelihood, model.parameters, {}};
  Array<T> ll, unused_grad;
  double b = 0;                                             // the current temperature, read by the density below
  const LogDensityFn<T> annealed = [&](const Var<T>& zv) {  // log f_t(z) = log p(z) + β_t log p(x|z)
    return model.log_prior(zv) + model.log_likelihood(zv) * static_cast<T>(b);
  };
  HmcOptions hmc_options = o.hmc;
  hmc_options.groups = n;  // one step size per data point
  AisResult res;
  // Pilot: adapt ε along the schedule on chains of its own; record the ε each temperature used.
  std::vector<Array<T>> eps(o.steps + 1, xt::full_like(Array<T>::from_shape({n}), static_cast<T>(o.hmc.step_size)));
  if (o.hmc.adapt) {
    if (!model.sample_prior)
      throw Error("AIS: adapting HMC step sizes needs the model's sample_prior for a pilot run (or hmc.adapt = false)");
    const std::size_t pilot = o.pilot_chains ? std::min(o.pilot_chains, o.chains) : (o.chains + 3) / 4;
    Array<T> zp = model.sample_prior(pilot * n, rng);
    if (zp.dimension() != 2 || zp.shape()[0] != pilot * n || zp.shape()[1] != prior_draws.shape()[1])
      throw ShapeError(fmt::format("AIS: sample_prior gave {} for {} rows", shape_str(zp.shape()), pilot * n));
    Hmc<T> pilot_hmc(annealed, pilot * n, hmc_options, model.parameters);
    for (std::size_t t = 1; t <= o.steps; ++t) {
      b = beta[t];
      eps[t] = pilot_hmc.step_sizes();
      zp = pilot_hmc.step(zp, rng);
    }
    res.pilot_acceptance = pilot_hmc.mean_acceptance();
  }
  // The scored run: the same schedule with the recorded ε, no adaptation (a kernel fixed in advance).
  hmc_options.adapt = false;
  Hmc<T> hmc(annealed, rows, hmc_options, model.parameters);
  res.step_sizes = Array<double>::from_shape({o.steps, n});
  for (std::size_t t = 1; t <= o.steps; ++t) {
    likelihood(z, ll, unused_grad);  // log p(x|z_{t−1})
    for (std::size_t r = 0; r < rows; ++r) log_w(r) += (beta[t] - beta[t - 1]) * double(ll(r));
    b = beta[t];
    hmc.set_step_sizes(eps[t]);
    for (std::size_t i = 0; i < n; ++i) res.step_sizes(t - 1, i) = double(eps[t](i));
    z = hmc.step(z, rng);  // a transition that leaves f_t invariant
  }
  res.log_weights = Array<double>::from_shape({o.chains, n});
  std::copy(log_w.begin(), log_w.end(), res.log_weights.begin());  // row = chain · n + point
  res.log_marginal = log_mean_exp_rows(res.log_weights);
  res.acceptance = hmc.mean_acceptance();
  return res;
}

template <class T>
Array<double> importance_log_marginal(const LatentModel<T>& model, const Array<T>& z, const Array<T>& log_q,
                                      std::size_t n) {
  if (n == 0 || z.dimension() != 2 || z.shape()[0] % n != 0 || log_q.size() != z.shape()[0])
    throw ShapeError(fmt::format("importance_log_marginal: draws {} and log q {} for {} points", shape_str(z.shape()),
                                 shape_str(log_q.shape()), n));
  Tape<T> tape;
  NoGradGuard<T> no_grad(tape);
  const Var<T> zv = tape.constant(z);
  const Array<T> log_joint = (model.log_prior(zv) + model.log_likelihood(zv)).value();
  Array<double> w = Array<double>::from_shape({z.shape()[0] / n, n});
  for (std::size_t r = 0; r < z.shape()[0]; ++r) w.data()[r] = double(log_joint(r)) - double(log_q(r));
  return log_mean_exp_rows(w);  // log (1/K) Σ_k p(x, z_k) / q(z_k)
}

template <class T>
HarmonicResult harmonic_log_marginal(const LatentModel<T>& model, const Array<T>& init, std::size_t n,
                                     const HarmonicOptions& o, Rng& rng) {
  if (n == 0 || init.dimension() != 2 || init.shape()[0] % n != 0)
    throw ShapeError(fmt::format("harmonic_log_marginal: initial states {} for {} points", shape_str(init.shape()), n));
  if (o.samples < 2 || o.thin == 0) throw Error("harmonic_log_marginal: needs at least 2 samples and thin ≥ 1");
  const std::size_t rows = init.shape()[0], d = init.shape()[1], chains = rows / n;
  const std::size_t per_chain = (o.samples + chains - 1) / chains, m = per_chain * chains;  // samples per point
  const LogDensityFn<T> joint = [&](const Var<T>& z) { return model.log_prior(z) + model.log_likelihood(z); };
  HmcOptions h = o.hmc;
  h.groups = n;  // one step size per point, adapted on its chains' mean acceptance during burn-in only
  Hmc<T> hmc(joint, rows, h, model.parameters);
  Array<T> z = hmc.run(init, o.burn_in, rng);
  hmc.set_adapt(false);  // a fixed kernel from here on, so the samples come from p(z|x)
  const std::size_t burn_transitions = hmc.transitions();
  const double burn_accept = hmc.mean_acceptance() * double(burn_transitions);
  // draw(s, i, :) = the s-th sample of point i
  const auto draw = [&](Array<double>& out) {
    out = Array<double>::from_shape({m, n, d});
    for (std::size_t s = 0; s < per_chain; ++s) {
      z = hmc.run(z, o.thin, rng);
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < d; ++j) out((r / n) * per_chain + s, r % n, j) = double(z(r, j));
    }
  };
  Array<double> fit_draws, draws;
  draw(fit_draws);
  draw(draws);
  // Fit q_i = N(μ_i, Σ_i) by moments and score the fresh draws: log q(z) − log p(x, z).
  Array<double> w = Array<double>::from_shape({m, n});
  // log p(x, z) of the fresh draws, in batches shaped like the chains (the model's rows are fixed).
  Array<double> log_joint = Array<double>::from_shape({m, n});
  {
    Tape<T> tape;
    NoGradGuard<T> no_grad(tape);
    Array<T> zz = Array<T>::from_shape({rows, d});
    for (std::size_t b = 0; b < per_chain; ++b) {
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < d; ++j) zz(r, j) = static_cast<T>(draws((r / n) * per_chain + b, r % n, j));
      const Array<T> lj = joint(tape.constant(zz)).value();
      for (std::size_t r = 0; r < rows; ++r) log_joint((r / n) * per_chain + b, r % n) = double(lj(r));
      tape.clear();
    }
  }
  constexpr double log_2pi = 1.8378770664093453;
  for (std::size_t i = 0; i < n; ++i) {
    Array<double> mu = xt::zeros<double>({d}), cov = xt::zeros<double>({d, d});
    for (std::size_t s = 0; s < m; ++s)
      for (std::size_t j = 0; j < d; ++j) mu(j) += fit_draws(s, i, j) / double(m);
    for (std::size_t s = 0; s < m; ++s)
      for (std::size_t j = 0; j < d; ++j)
        for (std::size_t k = 0; k < d; ++k)
          cov(j, k) += (fit_draws(s, i, j) - mu(j)) * (fit_draws(s, i, k) - mu(k)) / double(m - 1);
    double mean_var = 0;
    for (std::size_t j = 0; j < d; ++j) mean_var += cov(j, j) / double(d);
    for (std::size_t j = 0; j < d; ++j) cov(j, j) += o.ridge * mean_var + 1e-12;
    const Array<double> l = dense::cholesky(cov, "the covariance fitted to HMC samples");
    const double log_det = dense::log_det_from_cholesky(l);
    Array<double> y = Array<double>::from_shape({m, d});
    for (std::size_t s = 0; s < m; ++s)
      for (std::size_t j = 0; j < d; ++j) y(s, j) = draws(s, i, j) - mu(j);
    dense::solve_lower_rows(l, y);  // rows of L⁻¹ (z − μ)
    for (std::size_t s = 0; s < m; ++s) {
      double q = 0;
      for (std::size_t j = 0; j < d; ++j) q += y(s, j) * y(s, j);
      const double log_q = -0.5 * (q + log_det + double(d) * log_2pi);
      w(s, i) = log_q - log_joint(s, i);
    }
  }
  HarmonicResult res;
  res.log_ratios = w;
  res.log_marginal = -log_mean_exp_rows(w);
  const double after = double(hmc.transitions() - burn_transitions);
  res.acceptance = after > 0 ? (hmc.mean_acceptance() * double(hmc.transitions()) - burn_accept) / after : 0.0;
  return res;
}

template HarmonicResult harmonic_log_marginal<float>(const LatentModel<float>&, const Array<float>&, std::size_t,
                                                     const HarmonicOptions&, Rng&);
template HarmonicResult harmonic_log_marginal<double>(const LatentModel<double>&, const Array<double>&, std::size_t,
                                                      const HarmonicOptions&, Rng&);
template AisResult ais<float>(const LatentModel<float>&, const Array<float>&, std::size_t, const AisOptions&, Rng&);
template AisResult ais<double>(const LatentModel<double>&, const Array<double>&, std::size_t, const AisOptions&, Rng&);

}  // namespace tapir::models

namespace tapir::models {
template Array<double> importance_log_marginal<float>(const LatentModel<float>&, const Array<float>&,
                                                      const Array<float>&, std::size_t);
template Array<double> importance_log_marginal<double>(const LatentModel<double>&, const Array<double>&,
                                                       const Array<double>&, std::size_t);
}  // namespace tapir::models
