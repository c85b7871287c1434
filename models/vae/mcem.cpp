// tapir/models/vae/mcem.cpp — Monte Carlo EM with HMC (see mcem.hpp).
#include "models/vae/mcem.hpp"

#include <fmt/format.h>

namespace tapir::models {

template <class T>
Mcem<T>::Mcem(Vae<T>& model, std::size_t n_train, const McemOptions& o, Rng& rng)
    : model_(model), options_(o), chains_(normal<T>(rng, {n_train, model.config().z_dim})) {
  if (o.weight_updates == 0 || o.transitions == 0) throw Error("MCEM: needs at least one transition and one update");
  step_size_ = xt::ones<T>({std::size_t(1)}) * static_cast<T>(o.step_size);
}

template <class T>
void Mcem<T>::set_chains(const Array<T>& chains) {
  if (chains.shape() != chains_.shape())
    throw ShapeError(
        fmt::format("MCEM: chains of shape {}, expected {}", shape_str(chains.shape()), shape_str(chains_.shape())));
  chains_ = chains;
}

template <class T>
double Mcem<T>::step(const Array<T>& x, const std::vector<std::size_t>& idx, optim::Optimizer<T>& optimizer, Rng& rng) {
  const std::size_t m = idx.size(), zd = chains_.shape()[1];
  if (x.dimension() != 2 || x.shape()[0] != m) throw ShapeError("MCEM: the batch and its indices differ in length");
  Array<T> z = Array<T>::from_shape({m, zd});
  for (std::size_t i = 0; i < m; ++i) std::copy_n(chains_.data() + idx[i] * zd, zd, z.data() + i * zd);

  // E-step: HMC on p_θ(z|x) ∝ p(z) p_θ(x|z), θ fixed.
  HmcOptions ho;
  ho.leapfrog_steps = options_.leapfrog_steps;
  ho.step_size = double(step_size_(0));
  ho.target_accept = options_.target_accept;
  const LogDensityFn<T> log_post = [&](const Var<T>& zv) { return model_.log_joint(zv.tape().constant(x), zv); };
  Hmc<T> hmc(log_post, m, ho, model_.parameters());
  hmc.set_step_sizes(step_size_);
  z = hmc.run(z, options_.transitions, rng);
  step_size_ = hmc.step_sizes();
  last_accept_ = hmc.last_acceptance();
  for (std::size_t i = 0; i < m; ++i) std::copy_n(z.data() + i * zd, zd, chains_.data() + idx[i] * zd);

  // M-step: a few gradient steps on log p_θ(x, z) with the sample.
  double value = 0;
  for (std::size_t u = 0; u < options_.weight_updates; ++u) {
    const Var<T> objective = mean(model_.log_joint(tape_.constant(x), tape_.constant(z)));
    (-objective).backward();
    optimizer.step();
    optimizer.zero_grad();
    value = objective.item();
    tape_.clear();
  }
  return value;
}

template <class T>
DecoderLatentModel<T>::DecoderLatentModel(const Vae<T>& model, const Array<T>& x, std::size_t chains) {
  const std::size_t n = x.shape()[0], d = x.shape()[1];
  tiled = Array<T>::from_shape({chains * n, d});
  for (std::size_t r = 0; r < chains * n; ++r) std::copy_n(x.data() + (r % n) * d, d, tiled.data() + r * d);
  const Vae<T>* m = &model;
  const Array<T>* xs = &tiled;
  latent.log_prior = [m](const Var<T>& z) { return m->prior(z.tape(), z.shape()[0]).log_prob(z); };
  latent.log_likelihood = [m, xs](const Var<T>& z) {  // log p(x, z) − log p(z) = log p(x|z)
    return m->log_joint(z.tape().constant(*xs), z) - m->prior(z.tape(), z.shape()[0]).log_prob(z);
  };
  latent.parameters = model.parameters();
}

template <class T>
AisResult vae_ais(const Vae<T>& model, const Array<T>& x, const AisOptions& options, Rng& rng) {
  const DecoderLatentModel<T> dm(model, x, options.chains);
  const Array<T> draws = normal<T>(rng, {options.chains * x.shape()[0], model.config().z_dim});
  return ais(dm.latent, draws, x.shape()[0], options, rng);
}

template <class T>
HarmonicResult vae_harmonic(const Vae<T>& model, const Array<T>& x, const HarmonicOptions& options, Rng& rng,
                            std::size_t chains) {
  const DecoderLatentModel<T> dm(model, x, chains);
  const Array<T> init = normal<T>(rng, {chains * x.shape()[0], model.config().z_dim});
  return harmonic_log_marginal(dm.latent, init, x.shape()[0], options, rng);
}

template HarmonicResult vae_harmonic<float>(const Vae<float>&, const Array<float>&, const HarmonicOptions&, Rng&,
                                            std::size_t);
template HarmonicResult vae_harmonic<double>(const Vae<double>&, const Array<double>&, const HarmonicOptions&, Rng&,
                                             std::size_t);
template struct DecoderLatentModel<float>;
template struct DecoderLatentModel<double>;
template AisResult vae_ais<float>(const Vae<float>&, const Array<float>&, const AisOptions&, Rng&);
template AisResult vae_ais<double>(const Vae<double>&, const Array<double>&, const AisOptions&, Rng&);
template class Mcem<float>;
template class Mcem<double>;

}  // namespace tapir::models
