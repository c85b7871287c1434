// tapir/models/run/evaluate.hpp — a model's average bound and importance-sampled log p(x) over the
// rows of a data set (any LatentVariableModel with a proposal), and the run's data splits.
#pragma once

#include <cmath>
#include <functional>
#include <optional>

#include "models/core/latent_model.hpp"
#include "models/data/dataset.hpp"
#include "models/run/active_units.hpp"
#include "models/run/config.hpp"

namespace tapir::models {

/// The split of the run's dataset as the model sees it: binarised as in training. Dynamic binarisation
/// is evaluated on one fixed draw (seeded by `seed`), so every evaluation scores the same data.
data::Dataset load_vae_split(const VaeTrainConfig& config, data::Split split, std::uint64_t seed = 0x5eed);

/// A bound averaged over data points, with what the model could tell about it (absent: not available).
struct BoundEvaluation {
  BoundEvaluation(double elbo = std::nan("")) : elbo(elbo) {}  // NOLINT: a method may return its bound
  double elbo;                                                 // average lower bound per data point
  std::optional<double> reconstruction, kl;  // the averages of its terms E_q[log p(x|z)], KL(q ‖ p) (ElboTerms)
  std::optional<std::size_t> active_units;   // units with Var_x(E_q[z_j]) > 0.01 (active_units.hpp)
};

struct ModelEvaluation {
  double elbo = 0;            // average lower bound per data point
  double log_likelihood = 0;  // average IWAE estimate of log p(x) with K samples (NaN if K = 0)
  std::size_t n = 0, k = 0;
  double seconds = 0;
  std::optional<double> reconstruction, kl;  // as in BoundEvaluation
  std::optional<std::size_t> active_units;
};
using VaeEvaluation = ModelEvaluation;

/// The average bound (model.elbo_terms: the same value as model.elbo) over the rows of `x` (in batches of
/// `batch`), with its reconstruction and KL terms where the model splits it and the active units of its
/// proposal means where elbo_terms gives them; and with k > 0 the
/// importance-sampled log p(x) = log (1/K) Σ_k p(x, z_k)/q(z_k|x), computed in chunks of K so that
/// K = 5000 fits in memory. With `binarize`, each row is a Bernoulli draw of its pixels from that
/// generator (the same draws for the bound and for log p(x)): dynamic binarisation without a binarised
/// copy of the data. `latent_rows` bounds the latents (data rows × samples) of one pass of the importance
/// sampler, and with it the memory: about latent_rows × x_dim floats for the decoder, and for a mixture
/// prior latent_rows × components × z_dim (see evaluation_rows).
ModelEvaluation evaluate_model(const LatentVariableModel<float>& model, const Array<float>& x, std::size_t k, Rng& rng,
                               std::size_t batch = 1000, Rng* binarize = nullptr, std::size_t latent_rows = 100'000);
inline ModelEvaluation evaluate_vae(const LatentVariableModel<float>& model, const Array<float>& x, std::size_t k,
                                    Rng& rng, std::size_t batch = 1000, Rng* binarize = nullptr) {
  return evaluate_model(model, x, k, rng, batch, binarize);
}

/// latent_rows for evaluate_model that keeps a pass near 300 MB for this model: 10⁵, divided by
/// K / 50 for a prior with K mixture components (a VampPrior with 500 pseudo-inputs: 10⁴).
std::size_t evaluation_rows(const VaeConfig& model);

/// The mean over the rows of x of a per-row statistic f(x_batch) → (batch,), in batches with no
/// gradients; with `binarize`, each row is a Bernoulli draw of its pixels (row-major draws, so any
/// batching sees the same pixels). What methods with their own bound (AVB) evaluate with.
double mean_over_rows(const Array<float>& x, std::size_t batch, Rng* binarize,
                      const std::function<Var<float>(const Var<float>&)>& f);

/// The same for a bound split into terms, f(x_batch) → ElboTerms: the averages of the bound and of each
/// term every batch gave, and the active units of the means when every batch gave them (rows in order,
/// so the count does not depend on `batch`).
BoundEvaluation mean_terms_over_rows(const Array<float>& x, std::size_t batch, Rng* binarize,
                                     const std::function<ElboTerms<float>(const Var<float>&)>& f);

/// model.elbo_terms(x, rng) over the rows of x: Method::evaluate's default, the curve's train and test
/// columns.
BoundEvaluation evaluate_bound(const LatentVariableModel<float>& model, const Array<float>& x, Rng& rng,
                               std::size_t batch = 1000, Rng* binarize = nullptr);

}  // namespace tapir::models
