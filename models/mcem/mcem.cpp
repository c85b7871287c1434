// tapir/models/mcem/mcem.cpp — Monte Carlo EM with HMC (see mcem.hpp).
#include "models/mcem/mcem.hpp"

#include <fmt/format.h>

namespace tapir::models {

template <class T>
Mcem<T>::Mcem(LatentVariableModel<T>& model, std::size_t n_train, const McemOptions& o, Rng& rng)
    : model_(model), options_(o), chains_(model.sample_prior(rng, n_train)) {  // z_n ~ p(z)
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

template class Mcem<float>;
template class Mcem<double>;

}  // namespace tapir::models
