// tapir/models/em/ppca.hpp — probabilistic PCA and factor analysis: the linear-Gaussian latent model
//   z ~ N(0, I_q),  x | z ~ N(W z + μ, Ψ),  Ψ = σ² I (pPCA) or diag(ψ) (factor analysis),
// whose marginal p(x) = N(μ, W Wᵀ + Ψ) and posterior p(z|x) are exact (Tipping & Bishop 1999).
// So the E-step is exact, EM's fixed point is pPCA's closed-form maximum-likelihood solution, and an
// amortised Gaussian q trained by AEVB can be compared with the exact log-likelihood.
#pragma once

#include <vector>

#include "autodiff/array.hpp"
#include "autodiff/random.hpp"

namespace tapir::models::em {

struct LinearGaussian {
  Array<double> w;    // (D, q)
  Array<double> mu;   // (D,)
  Array<double> psi;  // (D,) noise variances (all equal for pPCA)
  std::size_t dim() const { return w.shape()[0]; }
  std::size_t latent() const { return w.shape()[1]; }
};

/// Average exact log p(x_n) = log N(x_n; μ, W Wᵀ + Ψ) over the rows of x.
double log_likelihood(const LinearGaussian& model, const Array<double>& x);

/// pPCA's maximum-likelihood solution: μ = mean, σ² = mean of the D − q smallest eigenvalues of the
/// sample covariance S, W = U_q (Λ_q − σ² I)^{1/2} (Tipping & Bishop 1999, eqs. 7–8).
LinearGaussian ppca_closed_form(const Array<double>& x, std::size_t q);

struct EmOptions {
  std::size_t max_iter = 500;
  double tol = 1e-8;             // stop when the average log-likelihood gains less than this
  bool factor_analysis = false;  // diagonal Ψ instead of σ² I
};

struct LinearGaussianFit {
  LinearGaussian model;
  std::vector<double> log_likelihood;  // average exact log p(x) after each iteration, from the start
  bool converged = false;
};

/// EM for pPCA (or factor analysis) from a random W:
///   E-step: M = Wᵀ Ψ⁻¹ W + I,  E[z_n] = M⁻¹ Wᵀ Ψ⁻¹ (x_n − μ),  E[z zᵀ] = M⁻¹ + E[z] E[z]ᵀ
///   M-step: W = [Σ (x_n − μ) E[z_n]ᵀ] [Σ E[z_n z_nᵀ]]⁻¹,
///           Ψ = diag(S − W (1/N) Σ E[z_n] (x_n − μ)ᵀ)  (pPCA: its mean times I)
LinearGaussianFit fit_linear_gaussian_em(const Array<double>& x, std::size_t q, const EmOptions& options, Rng& rng);

/// Draws n rows from the model (for tests and demonstrations).
Array<double> sample(const LinearGaussian& model, std::size_t n, Rng& rng);

}  // namespace tapir::models::em
