// tapir/models/core/latent_model.cpp — the defaults of LatentVariableModel (see latent_model.hpp).
#include "models/core/latent_model.hpp"

#include <fmt/format.h>

namespace tapir::models {

template <class T>
Var<T> LatentVariableModel<T>::log_importance_weights(const Var<T>&, Rng&, std::size_t) const {
  throw Error(fmt::format("model '{}' has no proposal q(z|x): score it by AIS, not importance sampling", name()));
}

template <class T>
Var<T> LatentVariableModel<T>::encode_mean(const Var<T>&) const {
  throw Error(fmt::format("model '{}' has no proposal q(z|x) to encode data with", name()));
}

template <class T>
Var<T> LatentVariableModel<T>::elbo(const Var<T>& x, Rng& rng, double) const {
  const Var<T> log_w = log_importance_weights(x, rng, 1);  // (1, B)
  return reshape(log_w, {static_cast<long>(x.shape()[0])});
}

template <class T>
ElboTerms<T> LatentVariableModel<T>::elbo_terms(const Var<T>& x, Rng& rng, double beta) const {
  return {elbo(x, rng, beta), std::nullopt, std::nullopt, std::nullopt};
}

template class LatentVariableModel<float>;
template class LatentVariableModel<double>;

}  // namespace tapir::models
