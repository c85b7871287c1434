// tapir/models/em/ppca.cpp — pPCA / factor analysis: exact likelihood, closed form, and EM.
#include "models/em/ppca.hpp"

#include <fmt/format.h>

#include <cmath>

#include "autodiff/dense.hpp"
#include "autodiff/ops/linalg.hpp"

namespace tapir::models::em {

namespace {
constexpr double kLog2Pi = 1.8378770664093453;

/// C = A B (plain row-major matrices).
Array<double> mm(const Array<double>& a, const Array<double>& b, bool ta = false, bool tb = false) {
  const std::size_t m = ta ? a.shape()[1] : a.shape()[0], k = ta ? a.shape()[0] : a.shape()[1];
  const std::size_t n = tb ? b.shape()[0] : b.shape()[1];
  if ((tb ? b.shape()[1] : b.shape()[0]) != k)
    throw ShapeError(fmt::format("matrix product of {} and {}", shape_str(a.shape()), shape_str(b.shape())));
  Array<double> c = Array<double>::from_shape({m, n});
  gemm(ta, tb, m, n, k, 1.0, a.data(), b.data(), 0.0, c.data());
  return c;
}

void check_data(const Array<double>& x, std::size_t q) {
  if (x.dimension() != 2 || x.shape()[0] < 2)
    throw ShapeError(fmt::format("pPCA: data must be (N, D) with N ≥ 2, got {}", shape_str(x.shape())));
  if (q == 0 || q >= x.shape()[1])
    throw Error(fmt::format("pPCA: latent dimension {} must be in 1 … D − 1 = {}", q, x.shape()[1] - 1));
}

/// Centred data and the sample covariance S = (1/N) Σ (x_n − x̄)(x_n − x̄)ᵀ.
std::pair<Array<double>, Array<double>> moments(const Array<double>& x) {
  Array<double> mean = xt::mean(x, {0});
  Array<double> centred = x - mean;
  return {mean, dense::gram(centred, double(x.shape()[0]))};
}
}  // namespace

double log_likelihood(const LinearGaussian& m, const Array<double>& x) {
  const std::size_t d = m.dim();
  if (x.dimension() != 2 || x.shape()[1] != d)
    throw ShapeError(fmt::format("log_likelihood: data {} for a model of dimension {}", shape_str(x.shape()), d));
  Array<double> c = mm(m.w, m.w, false, true);  // C = W Wᵀ + Ψ
  for (std::size_t i = 0; i < d; ++i) c(i, i) += m.psi(i);
  const Array<double> l = dense::cholesky(c, "W Wᵀ + Ψ");
  Array<double> y = x - m.mu;
  dense::solve_lower_rows(l, y);
  const double maha = xt::sum(y * y)() / double(x.shape()[0]);
  return -0.5 * (double(d) * kLog2Pi + dense::log_det_from_cholesky(l) + maha);
}

LinearGaussian ppca_closed_form(const Array<double>& x, std::size_t q) {
  check_data(x, q);
  const auto [mean, s] = moments(x);
  const std::size_t d = x.shape()[1];
  const dense::SymmetricEigen e = dense::symmetric_eigen(s);  // ascending
  double sigma2 = 0;
  for (std::size_t i = 0; i < d - q; ++i) sigma2 += e.values(i);
  sigma2 /= double(d - q);  // the variance the q principal directions leave out, per dimension
  LinearGaussian m;
  m.mu = mean;
  m.psi = xt::ones<double>({d}) * sigma2;
  m.w = Array<double>::from_shape({d, q});
  for (std::size_t j = 0; j < q; ++j) {
    const std::size_t col = d - 1 - j;  // the j-th largest eigenvalue
    const double scale = std::sqrt(std::max(e.values(col) - sigma2, 0.0));
    for (std::size_t i = 0; i < d; ++i) m.w(i, j) = e.vectors(i, col) * scale;  // U_q (Λ_q − σ²I)^{1/2}
  }
  return m;
}

LinearGaussianFit fit_linear_gaussian_em(const Array<double>& x, std::size_t q, const EmOptions& o, Rng& rng) {
  check_data(x, q);
  const auto [mean, s] = moments(x);
  const std::size_t d = x.shape()[1];
  LinearGaussianFit fit;
  auto& m = fit.model;
  m.mu = mean;  // the maximum-likelihood μ is the sample mean, whatever W and Ψ are
  const double avg_var = xt::mean(xt::diagonal(s))();
  m.w = normal<double>(rng, {d, q}, 0.0, std::sqrt(avg_var / double(q)));
  m.psi = o.factor_analysis ? Array<double>(xt::diagonal(s)) : Array<double>(xt::ones<double>({d}) * avg_var);
  fit.log_likelihood.push_back(log_likelihood(m, x));
  const Array<double> eye_q = xt::eye<double>(q);
  for (std::size_t it = 0; it < o.max_iter; ++it) {
    // E-step (in aggregate): A = Ψ⁻¹ W, M = Wᵀ Ψ⁻¹ W + I; E[z_n] = M⁻¹ Aᵀ (x_n − μ).
    Array<double> a = m.w;
    for (std::size_t i = 0; i < d; ++i)
      for (std::size_t j = 0; j < q; ++j) a(i, j) /= m.psi(i);
    const Array<double> m_inv = dense::spd_inverse(mm(m.w, a, true, false) + eye_q, "Wᵀ Ψ⁻¹ W + I");
    const Array<double> b = mm(m_inv, mm(a, s, true, false));  // (1/N) Σ E[z_n](x_n − μ)ᵀ = M⁻¹ Aᵀ S   (q, D)
    const Array<double> ezz = m_inv + mm(mm(b, a), m_inv);  // (1/N) Σ E[z_n z_nᵀ] = M⁻¹ + M⁻¹ Aᵀ S A M⁻¹
    // M-step: W = [Σ (x_n − μ) E[z_n]ᵀ][Σ E[z_n z_nᵀ]]⁻¹, Ψ = diag(S − W (1/N) Σ E[z_n](x_n − μ)ᵀ).
    m.w = mm(b, dense::spd_inverse(ezz, "Σ E[z zᵀ]"), true, false);
    const Array<double> wb = mm(m.w, b);
    if (o.factor_analysis) {
      for (std::size_t i = 0; i < d; ++i) m.psi(i) = std::max(s(i, i) - wb(i, i), 1e-12);
    } else {
      double t = 0;
      for (std::size_t i = 0; i < d; ++i) t += s(i, i) - wb(i, i);
      m.psi = xt::ones<double>({d}) * std::max(t / double(d), 1e-12);  // σ² = tr(S − W B) / D
    }
    fit.log_likelihood.push_back(log_likelihood(m, x));
    const std::size_t t = fit.log_likelihood.size();
    if (std::abs(fit.log_likelihood[t - 1] - fit.log_likelihood[t - 2]) < o.tol) {
      fit.converged = true;
      break;
    }
  }
  return fit;
}

Array<double> sample(const LinearGaussian& m, std::size_t n, Rng& rng) {
  const Array<double> z = normal<double>(rng, {n, m.latent()});
  Array<double> x = mm(z, m.w, false, true) + m.mu;
  const Array<double> eps = normal<double>(rng, {n, m.dim()});
  x += eps * xt::sqrt(m.psi);
  return x;
}

}  // namespace tapir::models::em
