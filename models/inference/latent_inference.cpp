// tapir/models/inference/latent_inference.cpp — AIS and App. D over LatentVariableModel.
#include "models/inference/latent_inference.hpp"

#include <fmt/format.h>

#include <xtensor/xview.hpp>

namespace tapir::models {

template <class T>
DecoderLatentModel<T>::DecoderLatentModel(const LatentVariableModel<T>& model, const Array<T>& x, std::size_t chains) {
  const std::size_t n = x.shape()[0], d = x.shape()[1];
  tiled = Array<T>::from_shape({chains * n, d});
  for (std::size_t r = 0; r < chains * n; ++r) std::copy_n(x.data() + (r % n) * d, d, tiled.data() + r * d);
  const LatentVariableModel<T>* m = &model;
  const Array<T>* xs = &tiled;
  latent.log_prior = [m](const Var<T>& z) { return m->log_prior(z); };
  latent.log_likelihood = [m, xs](const Var<T>& z) {
    const std::size_t r = z.shape()[0];  // fewer rows (AIS's pilot): x_{r mod n} is the first r rows of `tiled`
    if (r == xs->shape()[0]) return m->log_likelihood(z.tape().constant(*xs), z);
    if (r > xs->shape()[0])
      throw ShapeError(fmt::format("log p(x|z): {} rows of z for {} tiled rows of x", r, xs->shape()[0]));
    return m->log_likelihood(z.tape().constant(Array<T>(xt::view(*xs, xt::range(0, r), xt::all()))), z);
  };
  latent.parameters = model.parameters();
  latent.sample_prior = [m](std::size_t rows, Rng& rng) { return m->sample_prior(rng, rows); };
}

template <class T>
AisResult model_ais(const LatentVariableModel<T>& model, const Array<T>& x, const AisOptions& options, Rng& rng) {
  const DecoderLatentModel<T> dm(model, x, options.chains);
  const Array<T> draws = model.sample_prior(rng, options.chains * x.shape()[0]);  // z ~ p(z)
  return ais(dm.latent, draws, x.shape()[0], options, rng);
}

template <class T>
HarmonicResult model_harmonic(const LatentVariableModel<T>& model, const Array<T>& x, const HarmonicOptions& options,
                              Rng& rng, std::size_t chains) {
  const DecoderLatentModel<T> dm(model, x, chains);
  const Array<T> init = model.sample_prior(rng, chains * x.shape()[0]);
  return harmonic_log_marginal(dm.latent, init, x.shape()[0], options, rng);
}

#define TAPIR_LATENT_INFERENCE(T)                                                                                   \
  template struct DecoderLatentModel<T>;                                                                            \
  template AisResult model_ais<T>(const LatentVariableModel<T>&, const Array<T>&, const AisOptions&, Rng&);         \
  template HarmonicResult model_harmonic<T>(const LatentVariableModel<T>&, const Array<T>&, const HarmonicOptions&, \
                                            Rng&, std::size_t);
TAPIR_LATENT_INFERENCE(float)
TAPIR_LATENT_INFERENCE(double)

}  // namespace tapir::models
