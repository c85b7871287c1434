// tapir/nn/dist/low_rank_multivariate_normal.hpp — LowRankMultivariateNormal(μ, W, d):
//   x ~ N(μ, Σ),  Σ = W Wᵀ + diag(d),  μ (D,), W (D, R), d (D,) > 0.
// The exact marginal of probabilistic PCA (Tipping & Bishop 1999) is N(μ, W Wᵀ + σ² I): pass d = σ²·1.
//
// log_prob never forms the D×D covariance. With Ψ = diag(d) and the R×R capacitance C = I + Wᵀ Ψ⁻¹ W
// (Cholesky C = L Lᵀ, computed on plain arrays):
//   Σ⁻¹ = Ψ⁻¹ − Ψ⁻¹ W C⁻¹ Wᵀ Ψ⁻¹                      (Woodbury identity)
//   log|Σ| = log|C| + Σ_i log d_i                       (matrix determinant lemma)
// so one log_prob costs O(N D R + D R²). It is a single tape node whose backward is written out
// (a_n = Σ⁻¹ (x_n − μ), g_n the upstream gradient, G = Σ_n g_n):
//   d/dμ = Σ_n g_n a_n,   d/dx_n = −g_n a_n,
//   d/dW = −G Σ⁻¹W + Σ_n g_n a_n a_nᵀ W,  with Σ⁻¹W = Ψ⁻¹ W C⁻¹,
//   d/dd_i = −½ G (Σ⁻¹)_ii + ½ Σ_n g_n a_{ni}².
// This is the whole family's gradient: log_prob, entropy and rsample are all differentiable.
// Only batch_shape () is supported (one μ, W, d; any number of samples in x).
// Holds Var handles to μ, W and d; lives until Tape::clear().
#pragma once

#include "nn/dist/distribution.hpp"

namespace tapir::dist {

template <class T>
class LowRankMultivariateNormal : public Distribution<T> {
 public:
  /// loc (D,), cov_factor (D, R), cov_diag (D,); throws ShapeError naming the three shapes otherwise.
  LowRankMultivariateNormal(const Var<T>& loc, const Var<T>& cov_factor, const Var<T>& cov_diag);

  std::string type_name() const override { return "LowRankMultivariateNormal"; }
  /// log N(x; μ, Σ) = −½ [D log 2π + log|Σ| + (x − μ)ᵀ Σ⁻¹ (x − μ)] for x of shape S + (D,); returns S.
  /// Support ℝᴰ; a non-finite x gives a non-finite result. Throws Error when some d_i ≤ 0.
  Var<T> log_prob(const Var<T>& value) const override;
  bool has_rsample() const override { return true; }
  /// Noise [ε₁, ε₂] ~ N(0, I_(R+D)) of shape S + (R + D,): ε₁ the first R entries, ε₂ the last D.
  BaseNoise base_noise() const override { return BaseNoise::standard_normal; }
  Shape noise_shape(const Shape& sample_shape = {}) const override;
  /// Draws every sample's ε₁, then every ε₂ (the order rsample always used), packed as above.
  Array<T> draw_noise(Rng& rng, const Shape& sample_shape = {}) const override;
  /// x = μ + W ε₁ + √d ⊙ ε₂, so Cov x = W Wᵀ + diag(d).
  Var<T> rsample_with_noise(const Var<T>& noise) const override;
  /// H = ½ D (1 + log 2π) + ½ log|Σ| = D/2 − log N(μ; μ, Σ) (computed that way, through log_prob).
  Var<T> entropy() const override;
  /// E[x] = μ.
  Var<T> mean() const override { return loc_; }
  /// diag Σ = Σ_r W_ir² + d_i.
  Var<T> variance() const override;

  const Var<T>& loc() const { return loc_; }
  const Var<T>& cov_factor() const { return cov_factor_; }
  const Var<T>& cov_diag() const { return cov_diag_; }

 private:
  Var<T> loc_, cov_factor_, cov_diag_;
};

}  // namespace tapir::dist
