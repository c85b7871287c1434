// Exact EM: the Gaussian mixture (monotone log-likelihood, recovered clusters) and
// pPCA / factor analysis (EM's fixed point is the closed-form maximum-likelihood solution).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <xtensor/xview.hpp>

#include "autodiff/check.hpp"
#include "autodiff/dense.hpp"
#include "models/em/gmm.hpp"
#include "models/em/linear_vae.hpp"
#include "models/em/ppca.hpp"

using namespace tapir;
using namespace tapir::models::em;
using test::check_throws_with;

namespace {
Array<double> matmul_t(const Array<double>& a, const Array<double>& b) {  // A Bᵀ by loops
  Array<double> c = xt::zeros<double>({a.shape()[0], b.shape()[0]});
  for (std::size_t i = 0; i < a.shape()[0]; ++i)
    for (std::size_t j = 0; j < b.shape()[0]; ++j)
      for (std::size_t k = 0; k < a.shape()[1]; ++k) c(i, j) += a(i, k) * b(j, k);
  return c;
}

void check_near(const Array<double>& a, const Array<double>& b, double tol) {
  REQUIRE(a.shape() == b.shape());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("element " << i << ": " << a.data()[i] << " vs " << b.data()[i]);
    CHECK(std::abs(a.data()[i] - b.data()[i]) <= tol);
  }
}

/// Three well-separated 2-D clusters of 300 points each, with different shapes.
Array<double> three_clusters(Rng& rng) {
  const double centres[3][2] = {{-5, 0}, {0, 5}, {5, 0}};
  Array<double> x = Array<double>::from_shape({900, 2});
  for (std::size_t i = 0; i < 900; ++i) {
    const auto c = i % 3;
    const double a = rng.normal(), b = rng.normal();
    x(i, 0) = centres[c][0] + (c == 0 ? 1.0 : 0.5) * a;
    x(i, 1) = centres[c][1] + (c == 2 ? 0.3 * a + 0.8 * b : 0.7 * b);
  }
  return x;
}

void check_non_decreasing(const std::vector<double>& ll) {
  for (std::size_t i = 1; i < ll.size(); ++i) {
    INFO("iteration " << i << ": " << ll[i - 1] << " → " << ll[i]);
    CHECK(ll[i] >= ll[i - 1] - 1e-10);
  }
}

LinearGaussian known_model(std::size_t d, std::size_t q, Rng& rng) {
  LinearGaussian m;
  m.w = normal<double>(rng, {d, q}, 0.0, 1.0);
  m.mu = normal<double>(rng, {d}, 0.0, 1.0);
  m.psi = xt::ones<double>({d}) * 0.25;
  return m;
}
}  // namespace

TEST_CASE("GMM: log p(x) by hand, responsibilities sum to one") {
  Gmm g;
  g.weights = test::arr({2}, {0.3, 0.7});
  g.means = test::arr({2, 2}, {0, 0, 1, 2});
  g.covariances = test::arr({2, 2, 2}, {1, 0.5, 0.5, 2, 0.5, 0, 0, 0.25});
  const Array<double> x = test::arr({1, 2}, {0.5, 1.0});
  // By hand: N(x; μ, Σ) = exp(−½ dᵀΣ⁻¹d) / (2π sqrt|Σ|) for 2-D.
  const auto density = [](double dx, double dy, double a, double b, double c) {  // Σ = [[a, b], [b, c]]
    const double det = a * c - b * b, m = (c * dx * dx - 2 * b * dx * dy + a * dy * dy) / det;
    return std::exp(-0.5 * m) / (2 * M_PI * std::sqrt(det));
  };
  const double p = 0.3 * density(0.5, 1.0, 1, 0.5, 2) + 0.7 * density(-0.5, -1.0, 0.5, 0, 0.25);
  CHECK(gmm_log_likelihood(g, x) == doctest::Approx(std::log(p)).epsilon(1e-12));
  const Array<double> r = gmm_responsibilities(g, x);
  CHECK(r(0, 0) + r(0, 1) == doctest::Approx(1.0));
  CHECK(r(0, 0) == doctest::Approx(0.3 * density(0.5, 1.0, 1, 0.5, 2) / p));

  Gmm diag = g;  // the diagonal form reads the variances only
  diag.covariance = Covariance::diagonal;
  diag.covariances = test::arr({2, 2}, {1, 2, 0.5, 0.25});
  const double pd = 0.3 * density(0.5, 1.0, 1, 0, 2) + 0.7 * density(-0.5, -1.0, 0.5, 0, 0.25);
  CHECK(gmm_log_likelihood(diag, x) == doctest::Approx(std::log(pd)).epsilon(1e-12));
}

TEST_CASE("GMM by EM: log-likelihood never decreases, the clusters are found, full beats diagonal") {
  Rng data_rng(5);
  const Array<double> x = three_clusters(data_rng);
  GmmOptions o;
  o.components = 3;
  Rng rng(1);
  const GmmFit full = fit_gmm(x, o, rng);
  CHECK(full.converged);
  check_non_decreasing(full.log_likelihood);
  std::vector<std::pair<double, double>> means;
  for (std::size_t c = 0; c < 3; ++c) means.push_back({full.model.means(c, 0), full.model.means(c, 1)});
  std::sort(means.begin(), means.end());
  CHECK(means[0].first == doctest::Approx(-5).epsilon(0.03));
  CHECK(means[1].second == doctest::Approx(5).epsilon(0.03));
  CHECK(means[2].first == doctest::Approx(5).epsilon(0.03));
  for (std::size_t c = 0; c < 3; ++c) CHECK(full.model.weights(c) == doctest::Approx(1.0 / 3).epsilon(0.03));

  o.covariance = Covariance::diagonal;
  Rng rng2(1);
  const GmmFit diag = fit_gmm(x, o, rng2);
  check_non_decreasing(diag.log_likelihood);
  CHECK(diag.log_likelihood.back() < full.log_likelihood.back());  // cluster 3 is correlated
}

TEST_CASE("k-means++ picks distinct points; GMM errors are clear") {
  Rng data_rng(5);
  const Array<double> x = three_clusters(data_rng);
  Rng rng(2);
  const auto c = kmeans_plus_plus(x, 10, rng);
  CHECK(std::set<std::size_t>(c.begin(), c.end()).size() == 10);
  GmmOptions o;
  o.components = 2000;
  check_throws_with([&] { fit_gmm(x, o, rng); }, {"2000 components for 900 data points"});
  check_throws_with([] { covariance_from_string("spherical"); }, {"expected full or diagonal"});
}

TEST_CASE("pPCA: exact log-likelihood; EM climbs monotonically to the closed-form solution") {
  Rng rng(3);
  const LinearGaussian truth = known_model(6, 2, rng);
  const Array<double> x = sample(truth, 4000, rng);

  // log_likelihood against N(x; μ, C) written out with C's inverse and determinant.
  Array<double> c = matmul_t(truth.w, truth.w);
  for (std::size_t i = 0; i < 6; ++i) c(i, i) += truth.psi(i);
  const Array<double> c_inv = dense::spd_inverse(c);
  const double log_det = dense::log_det_from_cholesky(dense::cholesky(c));
  double direct = 0;
  for (std::size_t n = 0; n < 50; ++n) {
    double m = 0;
    for (std::size_t i = 0; i < 6; ++i)
      for (std::size_t j = 0; j < 6; ++j) m += (x(n, i) - truth.mu(i)) * c_inv(i, j) * (x(n, j) - truth.mu(j));
    direct += -0.5 * (6 * std::log(2 * M_PI) + log_det + m);
  }
  CHECK(log_likelihood(truth, xt::view(x, xt::range(0, 50), xt::all())) == doctest::Approx(direct / 50).epsilon(1e-12));

  const LinearGaussian closed = ppca_closed_form(x, 2);
  const double ll_closed = log_likelihood(closed, x);
  CHECK(ll_closed >= log_likelihood(truth, x));  // the maximum, on its own data
  EmOptions o;
  o.tol = 1e-13;  // W converges more slowly than the likelihood along its flat directions
  o.max_iter = 20000;
  Rng init(4);
  const auto fit = fit_linear_gaussian_em(x, 2, o, init);
  CHECK(fit.converged);
  check_non_decreasing(fit.log_likelihood);
  CHECK(fit.log_likelihood.back() == doctest::Approx(ll_closed).epsilon(1e-7));
  CHECK(fit.log_likelihood.back() <= ll_closed + 1e-9);
  // W is identified up to a rotation: compare W Wᵀ, and σ².
  check_near(matmul_t(fit.model.w, fit.model.w), matmul_t(closed.w, closed.w), 1e-3);
  CHECK(fit.model.psi(0) == doctest::Approx(closed.psi(0)).epsilon(1e-4));
}

TEST_CASE("factor analysis: EM never decreases the likelihood and beats pPCA's shared noise") {
  Rng rng(6);
  LinearGaussian truth = known_model(5, 1, rng);
  truth.psi = test::arr({5}, {0.05, 0.5, 1.0, 0.1, 2.0});  // heteroscedastic noise
  const Array<double> x = sample(truth, 3000, rng);
  EmOptions o;
  o.factor_analysis = true;
  Rng init(7);
  const auto fa = fit_linear_gaussian_em(x, 1, o, init);
  check_non_decreasing(fa.log_likelihood);
  CHECK(fa.log_likelihood.back() > log_likelihood(ppca_closed_form(x, 1), x));
  for (std::size_t i = 0; i < 5; ++i) CHECK(fa.model.psi(i) == doctest::Approx(truth.psi(i)).epsilon(0.25));
  check_throws_with([&] { ppca_closed_form(x, 5); }, {"latent dimension 5"});
}

TEST_CASE("pPCA by AEVB: the bound stays below the exact log-likelihood and both approach EM's optimum") {
  Rng rng(12);
  const LinearGaussian truth = known_model(6, 2, rng);
  const Array<double> x = sample(truth, 500, rng);
  PpcaComparisonOptions o;
  o.latent = 2;
  o.aevb_samples = 150'000;
  o.batch = 50;
  Rng r(13);
  const PpcaComparison c = compare_ppca(x, o, r);
  CHECK(c.em.back() == doctest::Approx(c.closed_form).epsilon(1e-6));
  REQUIRE(c.aevb.size() > 5);
  for (const auto& row : c.aevb) {
    INFO(row.samples << " samples: ELBO " << row.elbo << ", exact " << row.log_likelihood);
    CHECK(row.elbo <= row.log_likelihood + 0.05);       // one ε per point: the estimate may wobble a little
    CHECK(row.log_likelihood <= c.closed_form + 1e-9);  // nothing beats the maximum likelihood
  }
  const auto& last = c.aevb.back();
  CHECK(last.log_likelihood == doctest::Approx(c.closed_form).epsilon(0.01));
  CHECK(last.log_likelihood - last.elbo < 0.1);  // a diagonal q can match pPCA's posterior at the optimum
  CHECK(c.aevb_importance == doctest::Approx(last.log_likelihood).epsilon(0.01));
}
