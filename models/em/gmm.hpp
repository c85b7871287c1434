// tapir/models/em/gmm.hpp — the Gaussian mixture by exact EM: the E-step's posterior (responsibilities)
// is tractable, so q(z) = p(z|x; θ) and the bound equals log p(x; θ) after every E-step (seed 000).
//
//   E-step:  r_nk = π_k N(x_n; μ_k, Σ_k) / Σ_j π_j N(x_n; μ_j, Σ_j)          (in log space)
//   M-step:  N_k = Σ_n r_nk,  π_k = N_k / N,  μ_k = Σ_n r_nk x_n / N_k,
//            Σ_k = Σ_n r_nk (x_n − μ_k)(x_n − μ_k)ᵀ / N_k + εI               (diagonal: its diagonal)
// log p(X; θ) never decreases from one iteration to the next (Dempster, Laird & Rubin 1977).
#pragma once

#include <string>
#include <vector>

#include "autodiff/array.hpp"
#include "autodiff/random.hpp"

namespace tapir::models::em {

enum class Covariance { full, diagonal };
Covariance covariance_from_string(const std::string& s);  // "full" | "diagonal"

struct GmmOptions {
  std::size_t components = 3;
  Covariance covariance = Covariance::full;
  std::size_t max_iter = 200;
  double tol = 1e-6;             // stop when the average log-likelihood gains less than this
  double regularisation = 1e-6;  // ε added to every variance
};

struct Gmm {
  Array<double> weights;      // (K,)  π
  Array<double> means;        // (K, D) μ
  Array<double> covariances;  // (K, D, D) full, or (K, D) diagonal variances
  Covariance covariance = Covariance::full;
  std::size_t components() const { return weights.size(); }
  std::size_t dim() const { return means.shape()[1]; }
};

/// log π_k + log N(x_n; μ_k, Σ_k) for every n, k: shape (N, K).
Array<double> gmm_log_joint(const Gmm& model, const Array<double>& x);
/// Average log p(x_n) over the rows of x.
double gmm_log_likelihood(const Gmm& model, const Array<double>& x);
/// Responsibilities p(z_n = k | x_n), shape (N, K).
Array<double> gmm_responsibilities(const Gmm& model, const Array<double>& x);

/// k-means++ seeding: K rows of x, the first uniform, each next with probability ∝ squared distance
/// to the nearest chosen one (Arthur & Vassilvitskii 2007).
std::vector<std::size_t> kmeans_plus_plus(const Array<double>& x, std::size_t k, Rng& rng);

struct GmmFit {
  Gmm model;
  std::vector<double> log_likelihood;  // average log p(x) after each E-step, from the initial model
  bool converged = false;
};

/// EM from k-means++ centres (hard assignments give the first M-step).
GmmFit fit_gmm(const Array<double>& x, const GmmOptions& options, Rng& rng);

}  // namespace tapir::models::em
