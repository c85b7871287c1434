// tapir/models/inference/latent_inference.hpp — AIS and the App. D estimator for any
// LatentVariableModel: the model's log p(z) and log p(x|z) as the densities ais() and
// harmonic_log_marginal() take.
#pragma once

#include "models/core/latent_model.hpp"
#include "models/inference/ais.hpp"

namespace tapir::models {

/// The densities of `model` for AIS on the rows of x (n, D) with `chains` chains each (row r of z
/// explains x_{r mod n}). It holds x tiled; keep it alive while the LatentModel is used.
template <class T>
struct DecoderLatentModel {
  DecoderLatentModel(const LatentVariableModel<T>& model, const Array<T>& x, std::size_t chains);
  DecoderLatentModel(const DecoderLatentModel&) = delete;  // the densities point at `tiled`
  DecoderLatentModel& operator=(const DecoderLatentModel&) = delete;
  LatentModel<T> latent;
  Array<T> tiled;  // (chains · n, D)
};

/// The data points of one AIS or App. D group: the points are split into groups of this many, each
/// run on its own (its own generator seeded from one draw of `rng` and the group's index, its own chains
/// and tapes) on num_threads() threads, so the results depend on the seed, never on the thread count,
/// and memory is bounded by chains × 50 rows of z whatever the number of points.
inline constexpr std::size_t kInferenceGroupPoints = 50;

/// log p(x) of every row of x by AIS from the model's prior (no proposal needed: any decoder), in
/// groups of kInferenceGroupPoints points on several threads (above).
template <class T>
AisResult model_ais(const LatentVariableModel<T>& model, const Array<T>& x, const AisOptions& options, Rng& rng);

/// log p(x) of every row of x by the AEVB paper's App. D estimator (HMC from the prior, a fitted
/// Gaussian, the harmonic-mean style average); meant for z_dim < 5. In groups of points as model_ais.
template <class T>
HarmonicResult model_harmonic(const LatentVariableModel<T>& model, const Array<T>& x, const HarmonicOptions& options,
                              Rng& rng, std::size_t chains = 1);

/// The names these had when they took a Vae.
template <class T>
AisResult vae_ais(const LatentVariableModel<T>& model, const Array<T>& x, const AisOptions& options, Rng& rng) {
  return model_ais(model, x, options, rng);
}
template <class T>
HarmonicResult vae_harmonic(const LatentVariableModel<T>& model, const Array<T>& x, const HarmonicOptions& options,
                            Rng& rng, std::size_t chains = 1) {
  return model_harmonic(model, x, options, rng, chains);
}

}  // namespace tapir::models
