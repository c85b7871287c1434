// tapir/models/inference/ais.hpp — marginal likelihoods log p(x) = log ∫ p(z) p(x|z) dz of a latent-
// variable model, by importance sampling with a proposal q and by annealed importance sampling.
//
// AIS (Neal 2001) moves chains from the prior p(z) through f_t(z) = p(z) p(x|z)^β_t,
// 0 = β_0 < … < β_T = 1, with one HMC transition per temperature; the log weight of a chain is
// Σ_t (β_t − β_{t−1}) log p(x|z_{t−1}), and log p(x) ≈ log (1/S) Σ_s exp(w_s) over S chains. It needs
// only the prior and the likelihood (no q), so it scores any decoder: a VAE's, wake-sleep's, AVB's.
// The mean of exp(w_s) is unbiased for p(x) only when each transition's kernel is fixed in advance: the
// HMC step sizes are therefore adapted in a pilot run (its own chains, then discarded) and replayed,
// frozen, temperature by temperature in the run that is scored.
#pragma once

#include <functional>
#include <vector>

#include "models/inference/hmc.hpp"

namespace tapir::models {

/// The pieces of a model p(z) p(x|z) for a batch of rows: each row of z belongs to one data point,
/// row r to point r mod n (the chains of all points are stacked: row = chain · n + point).
template <class T>
struct LatentModel {
  LogDensityFn<T> log_prior;              // z (R, d) → log p(z_r), (R,)
  LogDensityFn<T> log_likelihood;         // z (R, d) → log p(x_{r mod n} | z_r), (R,)
  std::vector<Parameter<T>*> parameters;  // those the densities use (held fixed while sampling)
  std::function<Array<T>(std::size_t rows, Rng& rng)> sample_prior;  // rows draws z ~ p(z) (AIS's pilot)
};

struct AisOptions {
  std::size_t steps = 500;       // temperatures T
  std::size_t chains = 16;       // S per data point
  HmcOptions hmc{};              // one transition per temperature; ε per data point (see pilot_chains)
  bool sigmoid_schedule = true;  // β_t on a sigmoid ramp (Grosse et al.), else linear
  // With hmc.adapt, a pilot run of this many chains per point (0: ⌈S/4⌉) adapts ε per point and
  // temperature on its chains' mean acceptance; the scored run replays those ε, frozen. Without
  // hmc.adapt, every transition uses hmc.step_size and there is no pilot.
  std::size_t pilot_chains = 0;
};

struct AisResult {
  Array<double> log_marginal;   // (n,): log p(x_i) estimates
  Array<double> log_weights;    // (S, n)
  Array<double> step_sizes;     // (T, n): the frozen ε of each temperature's transition, per point
  double acceptance = 0;        // mean HMC acceptance over the scored run
  double pilot_acceptance = 0;  // … and over the pilot run (0 without one)
};

/// AIS for n data points: z starts as S·n draws from the prior (R = S·n rows); the pilot run (when
/// options.hmc.adapt) draws its own starting points with model.sample_prior from `rng`.
template <class T>
AisResult ais(const LatentModel<T>& model, const Array<T>& prior_draws, std::size_t n, const AisOptions& options,
              Rng& rng);

/// Importance sampling: log (1/K) Σ_k p(z_k) p(x|z_k) / q(z_k) per point, from K·n draws z ~ q (rows
/// stacked as in LatentModel) and their log q(z). Exact for any K when q is the exact posterior.
template <class T>
Array<double> importance_log_marginal(const LatentModel<T>& model, const Array<T>& z, const Array<T>& log_q,
                                      std::size_t n);

/// The App. D estimator of the AEVB paper (a "harmonic mean" estimator with a fitted density):
/// run HMC on p(z|x) ∝ p(z) p(x|z), fit a Gaussian q(z) to L posterior samples, draw L new ones, and
///   log p(x) ≈ −log (1/L) Σ_l q(z_l) / (p(z_l) p(x|z_l)),
/// since E_{p(z|x)}[q(z) / p(x, z)] = ∫ q(z) dz / p(x) = 1 / p(x). Low variance while q is no wider than
/// the posterior, which a moment-matched Gaussian is for unimodal posteriors in a few dimensions (the
/// paper used it for N_z < 5); it fails quietly for multimodal or heavy-tailed posteriors: prefer AIS.
struct HarmonicOptions {
  std::size_t samples = 50;   // L per point, for the fit and again for the average (App. D)
  std::size_t burn_in = 200;  // transitions before the first sample, with step-size adaptation
  std::size_t thin = 1;       // transitions between kept samples
  HmcOptions hmc = [] {
    HmcOptions h;
    h.leapfrog_steps = 4;  // App. D
    return h;
  }();
  double ridge = 1e-6;  // added to the fitted covariance's diagonal, relative to its mean variance
};

struct HarmonicResult {
  Array<double> log_marginal;  // (n,)
  Array<double> log_ratios;    // (L, n): log q(z_l) − log p(x, z_l)
  double acceptance = 0;       // mean HMC acceptance after burn-in
};

/// The App. D estimate for n points; `init` (C·n, d) starts C chains per point (row = chain · n + point),
/// whose samples are pooled.
template <class T>
HarmonicResult harmonic_log_marginal(const LatentModel<T>& model, const Array<T>& init, std::size_t n,
                                     const HarmonicOptions& options, Rng& rng);

/// The annealing schedule β_0 = 0 < … < β_T = 1.
std::vector<double> ais_schedule(std::size_t steps, bool sigmoid);

/// log (1/S) Σ_s exp(w_sn) per column of w (S, n): log_sum_exp(w, 0) − log S (autodiff/log_sum_exp.hpp),
/// so a column of −∞ gives −∞. Throws ShapeError unless w is 2-D with S ≥ 1.
Array<double> log_mean_exp_rows(const Array<double>& w);

}  // namespace tapir::models
