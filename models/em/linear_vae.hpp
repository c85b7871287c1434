// tapir/models/em/linear_vae.hpp — the pPCA model p(z) = N(0, I), p(x|z) = N(W z + μ, σ² I) trained by
// AEVB instead of EM: an amortised diagonal Gaussian q_φ(z|x) = N(A x + a, diag exp(B x + b)) and
// estimator B of the bound. Its log-likelihood is exact (em::log_likelihood), so the gap
// log p(x) − ELBO = KL(q ‖ p(z|x)) can be watched while it trains: it closes only where q can equal the
// true posterior (seed 000: ELBO = log p(x) exactly when q is the posterior).
#pragma once

#include "models/em/ppca.hpp"
#include "nn/layers.hpp"

namespace tapir::models::em {

template <class T>
class LinearGaussianVae : public nn::Module<T> {
 public:
  LinearGaussianVae(std::size_t x_dim, std::size_t z_dim, Rng& rng);
  /// The bound per data point (batch,): E_q[log N(x; W z + μ, σ² I)] − KL(q ‖ N(0, I)), one z sample.
  Var<T> elbo(const Var<T>& x, Rng& rng) const;
  /// log (1/K) Σ_k p(x, z_k)/q(z_k|x), z_k ~ q: importance sampling with the trained q, shape (batch,).
  Var<T> iwae(const Var<T>& x, Rng& rng, std::size_t k) const;
  /// The generative half as a LinearGaussian in double, to score with the exact log-likelihood.
  LinearGaussian generative_model() const;

 private:
  nn::Linear<T> mu_, log_var_;  // encoder heads (amortised q)
  Parameter<T>& w_;             // Wᵀ (z_dim, x_dim): x̂ = z Wᵀ + μ row-wise
  Parameter<T>& b_;             // μ (x_dim,)
  Parameter<T>& log_sigma2_;    // log σ² (1,)
};

/// EM against AEVB on one data set: the closed-form maximum likelihood, EM's climb to it, and AEVB's
/// bound with its decoder's exact log-likelihood as it trains (all averages per data point).
struct PpcaComparison {
  double closed_form = 0;  // log p(x) at pPCA's maximum-likelihood solution
  std::vector<double> em;  // EM's log p(x) per iteration
  struct Row {
    long long samples = 0;
    double elbo = 0, log_likelihood = 0;  // AEVB's bound and its generative model's exact log p(x)
  };
  std::vector<Row> aevb;
  double aevb_importance = 0;  // AEVB's log p(x) by importance sampling with its q (K = 100)
};

struct PpcaComparisonOptions {
  std::size_t latent = 5;
  long long aevb_samples = 2'000'000;
  std::size_t batch = 100;
  double lr = 1e-2;     // Adam
  double lr_decay = 0;  // τ > 0: step lr / (1 + samples/τ), a Robbins–Monro decay; 0: constant
  EmOptions em;
};

PpcaComparison compare_ppca(const Array<double>& x, const PpcaComparisonOptions& options, Rng& rng);

}  // namespace tapir::models::em
