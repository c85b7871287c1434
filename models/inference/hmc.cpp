// tapir/models/inference/hmc.cpp — leapfrog, Metropolis correction and step-size adaptation.
#include "models/inference/hmc.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <xtensor/xview.hpp>

namespace tapir::models {

template <class T>
void DensityEvaluator<T>::operator()(const Array<T>& z, Array<T>& log_p, Array<T>& grad) {
  // Only a flag that is on is written (and restored): with the parameters frozen by the caller, several
  // evaluators on several threads share a model and only read it (model_ais's groups).
  std::vector<bool> was(frozen.size());
  for (std::size_t i = 0; i < frozen.size(); ++i) {
    was[i] = frozen[i]->requires_grad();
    if (was[i]) frozen[i]->set_requires_grad(false);
  }
  try {
    tape.clear();
    const Var<T> zv = tape.variable(z);
    const Var<T> lp = log_density(zv);
    if (lp.dim() != 1 || lp.shape()[0] != z.shape()[0])
      throw ShapeError(fmt::format("HMC: the log density of {} chains has shape {}, expected ({},)", z.shape()[0],
                                   shape_str(lp.shape()), z.shape()[0]));
    log_p = lp.value();
    sum(lp).backward();  // rows are independent: ∂ Σ_r log π(z_r) / ∂ z_r = ∇ log π(z_r)
    grad = zv.grad();
    tape.clear();
  } catch (...) {
    for (std::size_t i = 0; i < frozen.size(); ++i)
      if (was[i]) frozen[i]->set_requires_grad(true);
    throw;
  }
  for (std::size_t i = 0; i < frozen.size(); ++i)
    if (was[i]) frozen[i]->set_requires_grad(true);
}

template <class T>
Hmc<T>::Hmc(LogDensityFn<T> log_density, std::size_t chains, const HmcOptions& options,
            std::vector<Parameter<T>*> frozen)
    : options_(options) {
  if (chains == 0) throw Error("HMC: needs at least one chain");
  if (options.leapfrog_steps == 0) throw Error("HMC: needs at least one leapfrog step");
  if (!(options.step_size > 0)) throw Error(fmt::format("HMC: step size {} must be positive", options.step_size));
  if (!(options.target_accept > 0 && options.target_accept < 1))
    throw Error(fmt::format("HMC: target acceptance {} must be in (0, 1)", options.target_accept));
  if (options.groups == 0 || chains % options.groups != 0)
    throw Error(fmt::format("HMC: {} step-size groups do not divide {} chains", options.groups, chains));
  eval_.log_density = std::move(log_density);
  eval_.frozen = std::move(frozen);
  chains_ = chains;
  step_ = xt::ones<T>({options.groups}) * static_cast<T>(options.step_size);
}

template <class T>
Array<T> Hmc<T>::step(const Array<T>& z0, Rng& rng) {
  const std::size_t n = chains_, g = step_.size();
  if (z0.dimension() != 2 || z0.shape()[0] != n)
    throw ShapeError(fmt::format("HMC: states of shape {} for {} chains", shape_str(z0.shape()), n));
  const std::size_t d = z0.shape()[1];
  Array<T> log_p0, grad;
  eval_(z0, log_p0, grad);
  Array<T> rho = normal<T>(rng, {n, d});  // ρ ~ N(0, I)
  Array<T> kinetic0 = 0.5 * xt::sum(rho * rho, {1});
  Array<T> z = z0, log_p;
  Array<T> eps = Array<T>::from_shape({n, 1});  // each chain's ε
  for (std::size_t r = 0; r < n; ++r) eps(r, 0) = step_(r % g);
  rho += 0.5 * eps * grad;  // half step in momentum
  for (std::size_t l = 0; l < options_.leapfrog_steps; ++l) {
    z += eps * rho;  // full step in position
    eval_(z, log_p, grad);
    if (l + 1 < options_.leapfrog_steps) rho += eps * grad;  // full step in momentum, but the last
  }
  rho += 0.5 * eps * grad;  // final half step
  const Array<T> kinetic = 0.5 * xt::sum(rho * rho, {1});
  Array<T> out = z0;
  double accept_mean = 0;
  std::vector<double> group_accept(g, 0.0);
  for (std::size_t r = 0; r < n; ++r) {
    const double log_ratio = double(log_p(r)) - double(kinetic(r)) - (double(log_p0(r)) - double(kinetic0(r)));
    const double a = std::isfinite(log_ratio) ? std::min(1.0, std::exp(log_ratio)) : 0.0;  // H₀ − H_L
    if (rng.uniform() < a) std::copy_n(z.data() + r * d, d, out.data() + r * d);
    accept_mean += a;
    group_accept[r % g] += a;
  }
  if (options_.adapt)
    for (std::size_t k = 0; k < g; ++k) {
      const double mean_a = group_accept[k] / double(n / g);
      const double s = double(step_(k)) * std::exp(options_.adapt_rate * (mean_a - options_.target_accept));
      step_(k) = static_cast<T>(std::clamp(s, options_.min_step, options_.max_step));
    }
  last_accept_ = accept_mean / double(n);
  accept_sum_ += last_accept_;
  ++transitions_;
  return out;
}

template <class T>
void Hmc<T>::set_step_sizes(const Array<T>& s) {
  if (s.shape() != step_.shape())
    throw ShapeError(fmt::format("HMC: step sizes of shape {} for {} groups", shape_str(s.shape()), step_.size()));
  step_ = s;
}

template <class T>
Array<T> Hmc<T>::run(Array<T> z, std::size_t n, Rng& rng) {
  for (std::size_t i = 0; i < n; ++i) z = step(z, rng);
  return z;
}

template struct DensityEvaluator<float>;
template struct DensityEvaluator<double>;
template class Hmc<float>;
template class Hmc<double>;

}  // namespace tapir::models
