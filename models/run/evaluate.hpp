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

/// The latents (data rows × samples) of one call of the importance sampler by default: 8192, about 25 MB
/// per decoder array for MNIST. (Measured: see evaluate_model.)
/// Rows per batch of the bound's evaluation (each batch a task with its own generator): small enough that
/// two threads' working sets stay near 10 MB each on MNIST, large enough for efficient products.
inline constexpr std::size_t kEvaluationBatch = 250;
inline constexpr std::size_t kEvaluationLatentRows = 8192;

/// The average bound (evaluate_bound) over the rows of `x`, with its reconstruction and KL terms and
/// the active units where the model gives them; and with k > 0 the importance-sampled
/// log p(x) = log (1/K) Σ_k p(x, z_k)/q(z_k|x) per row, averaged. With `binarize`, each row is a
/// Bernoulli draw of its pixels from that generator (the same draws for the bound and for log p(x)):
/// dynamic binarisation without a binarised copy of the data.
///
/// Both passes run on num_threads() threads (autodiff/parallel.hpp). The rows are split into fixed
/// groups — `batch` rows for the bound, importance_group_rows(K) for log p(x) — and each group draws from
/// its own generator, seeded from one draw of `rng` and the group's index, so the results depend on the
/// seed, the data, K and `batch`, never on the thread count. A group's K samples are drawn `latent_rows`
/// latents (rows × samples) at a time, which bounds the memory whatever K is: about latent_rows × x_dim
/// floats per decoder array and thread, and for a mixture prior latent_rows × components × z_dim (see
/// evaluation_rows). For a model that draws a call's z in one array, samples first (the Vae: z_k ~ q
/// as (K, B, z)), `latent_rows` does not change the result either; a model that draws in two steps
/// (TwoLayerVae: z₁ then z₂) sees other draws when K is split differently.
ModelEvaluation evaluate_model(const LatentVariableModel<float>& model, const Array<float>& x, std::size_t k, Rng& rng,
                               std::size_t batch = kEvaluationBatch, Rng* binarize = nullptr,
                               std::size_t latent_rows = kEvaluationLatentRows);
inline ModelEvaluation evaluate_vae(const LatentVariableModel<float>& model, const Array<float>& x, std::size_t k,
                                    Rng& rng, std::size_t batch = kEvaluationBatch, Rng* binarize = nullptr) {
  return evaluate_model(model, x, k, rng, batch, binarize);
}

/// Group g's generator in evaluate_model and evaluate_bound: its own stream, seeded from `base` (one draw
/// of the caller's generator: the bound's base first, then log p(x)'s) and g, so a group's draws do not
/// depend on which thread runs it or when.
Rng group_rng(std::uint64_t base, std::uint64_t g);

/// The rows of one importance-sampling group for K samples: max(1, min(100, 1000 / K)) — one row (its
/// own generator) for K ≥ 1000, up to 100 rows for small K, so the encoder's products stay big enough.
std::size_t importance_group_rows(std::size_t k);

/// latent_rows for evaluate_model for this model: kEvaluationLatentRows, divided by K / 50 for a prior
/// with K mixture components (a VampPrior with 500 pseudo-inputs: 819), at least 256.
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

/// model.elbo_terms over the rows of x: Method::evaluate's default, the curve's train and test columns.
/// Batches of `batch` rows run on num_threads() threads, batch g with its own generator (seeded from one
/// draw of `rng` and g), combined in batch order: the same numbers on any number of threads.
BoundEvaluation evaluate_bound(const LatentVariableModel<float>& model, const Array<float>& x, Rng& rng,
                               std::size_t batch = kEvaluationBatch, Rng* binarize = nullptr);

}  // namespace tapir::models
