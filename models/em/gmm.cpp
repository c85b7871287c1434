// tapir/models/em/gmm.cpp — EM for the Gaussian mixture; each step is the line of gmm.hpp it cites.
#include "models/em/gmm.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include <xtensor/xview.hpp>

#include "autodiff/dense.hpp"
#include "autodiff/log_sum_exp.hpp"

namespace tapir::models::em {

namespace {
constexpr double kLog2Pi = 1.8378770664093453;

void check_data(const Array<double>& x, std::size_t k) {
  if (x.dimension() != 2 || x.shape()[0] == 0 || x.shape()[1] == 0)
    throw ShapeError(fmt::format("GMM: data must be (N, D) with N, D > 0, got {}", shape_str(x.shape())));
  if (k == 0 || k > x.shape()[0])
    throw Error(fmt::format("GMM: {} components for {} data points (need 1 ≤ K ≤ N)", k, x.shape()[0]));
}

/// M-step from responsibilities r (N, K).
Gmm m_step(const Array<double>& x, const Array<double>& r, Covariance cov, double eps) {
  const std::size_t n = x.shape()[0], d = x.shape()[1], k = r.shape()[1];
  Gmm g;
  g.covariance = cov;
  g.weights = Array<double>::from_shape({k});
  g.means = xt::zeros<double>({k, d});
  g.covariances =
      cov == Covariance::full ? Array<double>(xt::zeros<double>({k, d, d})) : Array<double>(xt::zeros<double>({k, d}));
  Array<double> centred = Array<double>::from_shape({n, d});
  for (std::size_t c = 0; c < k; ++c) {
    double nk = 0;  // N_k = Σ_n r_nk
    for (std::size_t i = 0; i < n; ++i) nk += r(i, c);
    nk = std::max(nk, 10 * std::numeric_limits<double>::epsilon());
    g.weights(c) = nk / double(n);  // π_k = N_k / N
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < d; ++j) g.means(c, j) += r(i, c) * x(i, j);
    for (std::size_t j = 0; j < d; ++j) g.means(c, j) /= nk;  // μ_k = Σ_n r_nk x_n / N_k
    for (std::size_t i = 0; i < n; ++i) {
      const double w = std::sqrt(r(i, c));
      for (std::size_t j = 0; j < d; ++j) centred(i, j) = w * (x(i, j) - g.means(c, j));
    }
    if (cov == Covariance::full) {
      const Array<double> s = dense::gram(centred, nk);  // Σ_n r_nk (x_n − μ_k)(x_n − μ_k)ᵀ / N_k
      for (std::size_t a = 0; a < d; ++a)
        for (std::size_t b = 0; b < d; ++b) g.covariances(c, a, b) = s(a, b) + (a == b ? eps : 0.0);  // + εI
    } else {
      for (std::size_t j = 0; j < d; ++j) {
        double v = 0;
        for (std::size_t i = 0; i < n; ++i) v += centred(i, j) * centred(i, j);
        g.covariances(c, j) = v / nk + eps;
      }
    }
  }
  return g;
}
}  // namespace

Covariance covariance_from_string(const std::string& s) {
  if (s == "full") return Covariance::full;
  if (s == "diagonal" || s == "diag") return Covariance::diagonal;
  throw Error(fmt::format("covariance '{}': expected full or diagonal", s));
}

Array<double> gmm_log_joint(const Gmm& g, const Array<double>& x) {
  const std::size_t n = x.shape()[0], d = g.dim(), k = g.components();
  if (x.dimension() != 2 || x.shape()[1] != d)
    throw ShapeError(fmt::format("GMM: data of shape {} for a model of dimension {}", shape_str(x.shape()), d));
  Array<double> out = Array<double>::from_shape({n, k});
  Array<double> y = Array<double>::from_shape({n, d});
  for (std::size_t c = 0; c < k; ++c) {
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < d; ++j) y(i, j) = x(i, j) - g.means(c, j);
    double log_det = 0;
    if (g.covariance == Covariance::full) {
      const Array<double> l =
          dense::cholesky(xt::view(g.covariances, c, xt::all(), xt::all()), "a component's covariance");
      log_det = dense::log_det_from_cholesky(l);
      dense::solve_lower_rows(l, y);  // ‖L⁻¹(x − μ)‖² = (x − μ)ᵀ Σ⁻¹ (x − μ)
    } else {
      for (std::size_t j = 0; j < d; ++j) {
        log_det += std::log(g.covariances(c, j));
        const double s = 1 / std::sqrt(g.covariances(c, j));
        for (std::size_t i = 0; i < n; ++i) y(i, j) *= s;
      }
    }
    const double base = std::log(g.weights(c)) - 0.5 * (double(d) * kLog2Pi + log_det);
    for (std::size_t i = 0; i < n; ++i) {
      double m = 0;
      for (std::size_t j = 0; j < d; ++j) m += y(i, j) * y(i, j);
      out(i, c) = base - 0.5 * m;  // log π_k + log N(x_n; μ_k, Σ_k)
    }
  }
  return out;
}

double gmm_log_likelihood(const Gmm& g, const Array<double>& x) {
  return xt::mean(log_sum_exp(gmm_log_joint(g, x), 1))();
}

Array<double> gmm_responsibilities(const Gmm& g, const Array<double>& x) {
  Array<double> a = gmm_log_joint(g, x);
  const Array<double> norm = log_sum_exp(a, 1);  // log Σ_k exp(a_nk) per row
  for (std::size_t i = 0; i < a.shape()[0]; ++i)
    for (std::size_t c = 0; c < a.shape()[1]; ++c) a(i, c) = std::exp(a(i, c) - norm(i));  // r_nk, log space
  return a;
}

std::vector<std::size_t> kmeans_plus_plus(const Array<double>& x, std::size_t k, Rng& rng) {
  check_data(x, k);
  const std::size_t n = x.shape()[0], d = x.shape()[1];
  std::vector<std::size_t> centres{static_cast<std::size_t>(rng.below(n))};
  std::vector<double> dist(n, std::numeric_limits<double>::infinity());
  while (centres.size() < k) {
    const std::size_t last = centres.back();
    double total = 0;
    for (std::size_t i = 0; i < n; ++i) {
      double s = 0;
      for (std::size_t j = 0; j < d; ++j) s += (x(i, j) - x(last, j)) * (x(i, j) - x(last, j));
      dist[i] = std::min(dist[i], s);
      total += dist[i];
    }
    std::size_t pick = static_cast<std::size_t>(rng.below(n));  // all points coincide: any
    if (total > 0) {
      double u = rng.uniform() * total;
      for (std::size_t i = 0; i < n; ++i) {
        u -= dist[i];
        if (u <= 0 && dist[i] > 0) {
          pick = i;
          break;
        }
      }
    }
    centres.push_back(pick);
  }
  return centres;
}

GmmFit fit_gmm(const Array<double>& x, const GmmOptions& o, Rng& rng) {
  check_data(x, o.components);
  if (o.regularisation < 0) throw Error("GMM: regularisation must be non-negative");
  const std::size_t n = x.shape()[0], d = x.shape()[1], k = o.components;
  // Initialise: hard assignments to the nearest k-means++ centre, then one M-step.
  const auto centres = kmeans_plus_plus(x, k, rng);
  Array<double> r = xt::zeros<double>({n, k});
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t best = 0;
    double best_d = std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < k; ++c) {
      double s = 0;
      for (std::size_t j = 0; j < d; ++j) s += (x(i, j) - x(centres[c], j)) * (x(i, j) - x(centres[c], j));
      if (s < best_d) best_d = s, best = c;
    }
    r(i, best) = 1;
  }
  GmmFit fit;
  fit.model = m_step(x, r, o.covariance, o.regularisation);
  for (std::size_t it = 0; it < o.max_iter; ++it) {
    Array<double> a = gmm_log_joint(fit.model, x);  // E-step: q(z_n) = p(z_n | x_n; θ), in log space
    const Array<double> norm = log_sum_exp(a, 1);   // log Σ_k exp(a_nk) per row
    fit.log_likelihood.push_back(xt::mean(norm)());
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t c = 0; c < k; ++c) a(i, c) = std::exp(a(i, c) - norm(i));
    const std::size_t t = fit.log_likelihood.size();
    if (t >= 2 && std::abs(fit.log_likelihood[t - 1] - fit.log_likelihood[t - 2]) < o.tol) {
      fit.converged = true;
      break;
    }
    fit.model = m_step(x, a, o.covariance, o.regularisation);  // M-step: maximise the bound in θ
  }
  if (!fit.converged) fit.log_likelihood.push_back(gmm_log_likelihood(fit.model, x));  // the returned model's
  return fit;
}

}  // namespace tapir::models::em
