// tapir/models/inference/ais.cpp — annealed importance sampling with HMC transitions.
#include "models/inference/ais.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>

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
  const std::size_t s = w.shape()[0], n = w.shape()[1];
  Array<double> out = Array<double>::from_shape({n});
  for (std::size_t j = 0; j < n; ++j) {
    double m = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < s; ++i) m = std::max(m, w(i, j));
    double acc = 0;
    for (std::size_t i = 0; i < s; ++i) acc += std::exp(w(i, j) - m);
    out(j) = m + std::log(acc / double(s));
  }
  return out;
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
  hmc_options.groups = n;  // one step size per data point, adapted on the mean over its S chains
  Hmc<T> hmc(annealed, rows, hmc_options, model.parameters);
  for (std::size_t t = 1; t <= o.steps; ++t) {
    likelihood(z, ll, unused_grad);  // log p(x|z_{t−1})
    for (std::size_t r = 0; r < rows; ++r) log_w(r) += (beta[t] - beta[t - 1]) * double(ll(r));
    b = beta[t];
    z = hmc.step(z, rng);  // a transition that leaves f_t invariant
  }
  AisResult res;
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

template AisResult ais<float>(const LatentModel<float>&, const Array<float>&, std::size_t, const AisOptions&, Rng&);
template AisResult ais<double>(const LatentModel<double>&, const Array<double>&, std::size_t, const AisOptions&, Rng&);

}  // namespace tapir::models

namespace tapir::models {
template Array<double> importance_log_marginal<float>(const LatentModel<float>&, const Array<float>&,
                                                      const Array<float>&, std::size_t);
template Array<double> importance_log_marginal<double>(const LatentModel<double>&, const Array<double>&,
                                                       const Array<double>&, std::size_t);
}  // namespace tapir::models
