// tapir/models/inference/latent_inference.cpp — AIS and App. D over LatentVariableModel.
#include "models/inference/latent_inference.hpp"

#include <fmt/format.h>

#include <xtensor/xview.hpp>

#include "autodiff/parallel.hpp"

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

namespace {

/// Runs fn(g, x_g, rng_g) for the groups of kInferenceGroupPoints consecutive rows of x on up to
/// num_threads() threads (BLAS on one thread), group g with a generator of its own
/// seeded from one draw of `rng` and g: the results do not depend on the thread count. The model's
/// parameters are frozen (requires_grad off) around the whole loop, so the tasks' density evaluators
/// only read them (DensityEvaluator writes a flag only when it has to change it).
template <class T, class F>
void over_point_groups(const LatentVariableModel<T>& model, const Array<T>& x, Rng& rng, const F& fn) {
  const std::size_t n = x.shape()[0], d = x.shape()[1];
  if (n == 0) throw Error("AIS and App. D need at least one data point");
  const std::size_t groups = (n + kInferenceGroupPoints - 1) / kInferenceGroupPoints;
  const std::uint64_t base = rng.next_u64();
  const auto params = model.parameters();
  std::vector<bool> was(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    was[i] = params[i]->requires_grad();
    params[i]->set_requires_grad(false);
  }
  try {
    const BlasThreadsGuard one_blas_thread(1);  // always: as evaluate_model, the same numbers on any count
    parallel_for(groups, [&](std::size_t g) {
      const std::size_t a = g * kInferenceGroupPoints, b = std::min(n, a + kInferenceGroupPoints);
      Array<T> xg = Array<T>::from_shape({b - a, d});
      std::copy(x.data() + a * d, x.data() + b * d, xg.data());
      Rng r(base ^ (0x9e3779b97f4a7c15ULL * (g + 1)));  // as evaluate.hpp's group_rng
      fn(g, xg, r);
    });
  } catch (...) {
    for (std::size_t i = 0; i < params.size(); ++i) params[i]->set_requires_grad(was[i]);
    throw;
  }
  for (std::size_t i = 0; i < params.size(); ++i) params[i]->set_requires_grad(was[i]);
}

/// Rows a..b of a (rows, n) array per group, concatenated along axis 1 in group order.
template <class A>
void put_columns(Array<double>& out, const A& part, std::size_t first) {
  for (std::size_t r = 0; r < part.shape()[0]; ++r)
    for (std::size_t j = 0; j < part.shape()[1]; ++j) out(r, first + j) = part(r, j);
}

}  // namespace

template <class T>
AisResult model_ais(const LatentVariableModel<T>& model, const Array<T>& x, const AisOptions& options, Rng& rng) {
  const std::size_t n = x.shape()[0];
  std::vector<AisResult> parts((n + kInferenceGroupPoints - 1) / kInferenceGroupPoints);
  over_point_groups(model, x, rng, [&](std::size_t g, const Array<T>& xg, Rng& r) {
    const DecoderLatentModel<T> dm(model, xg, options.chains);
    const Array<T> draws = model.sample_prior(r, options.chains * xg.shape()[0]);  // z ~ p(z)
    parts[g] = ais(dm.latent, draws, xg.shape()[0], options, r);
  });
  AisResult res;
  res.log_marginal = Array<double>::from_shape({n});
  res.log_weights = Array<double>::from_shape({options.chains, n});
  res.step_sizes = Array<double>::from_shape({options.steps, n});
  for (std::size_t g = 0, first = 0; g < parts.size(); ++g) {
    const AisResult& p = parts[g];
    const std::size_t m = p.log_marginal.size();
    std::copy(p.log_marginal.begin(), p.log_marginal.end(), res.log_marginal.begin() + first);
    put_columns(res.log_weights, p.log_weights, first);
    put_columns(res.step_sizes, p.step_sizes, first);
    res.acceptance += p.acceptance * double(m) / double(n);  // every point has as many chains and steps
    res.pilot_acceptance += p.pilot_acceptance * double(m) / double(n);
    first += m;
  }
  return res;
}

template <class T>
HarmonicResult model_harmonic(const LatentVariableModel<T>& model, const Array<T>& x, const HarmonicOptions& options,
                              Rng& rng, std::size_t chains) {
  const std::size_t n = x.shape()[0];
  std::vector<HarmonicResult> parts((n + kInferenceGroupPoints - 1) / kInferenceGroupPoints);
  over_point_groups(model, x, rng, [&](std::size_t g, const Array<T>& xg, Rng& r) {
    const DecoderLatentModel<T> dm(model, xg, chains);
    const Array<T> init = model.sample_prior(r, chains * xg.shape()[0]);
    parts[g] = harmonic_log_marginal(dm.latent, init, xg.shape()[0], options, r);
  });
  HarmonicResult res;
  res.log_marginal = Array<double>::from_shape({n});
  res.log_ratios = Array<double>::from_shape({parts[0].log_ratios.shape()[0], n});
  for (std::size_t g = 0, first = 0; g < parts.size(); ++g) {
    const HarmonicResult& p = parts[g];
    const std::size_t m = p.log_marginal.size();
    std::copy(p.log_marginal.begin(), p.log_marginal.end(), res.log_marginal.begin() + first);
    put_columns(res.log_ratios, p.log_ratios, first);
    res.acceptance += p.acceptance * double(m) / double(n);
    first += m;
  }
  return res;
}

#define TAPIR_LATENT_INFERENCE(T)                                                                                   \
  template struct DecoderLatentModel<T>;                                                                            \
  template AisResult model_ais<T>(const LatentVariableModel<T>&, const Array<T>&, const AisOptions&, Rng&);         \
  template HarmonicResult model_harmonic<T>(const LatentVariableModel<T>&, const Array<T>&, const HarmonicOptions&, \
                                            Rng&, std::size_t);
TAPIR_LATENT_INFERENCE(float)
TAPIR_LATENT_INFERENCE(double)

}  // namespace tapir::models
