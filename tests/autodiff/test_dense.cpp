// tapir::dense: Cholesky factor, solves, log-determinant, inverse, symmetric eigendecomposition and
// scatter matrix against hand values and reconstructions; the errors for bad inputs.
#include "autodiff/dense.hpp"

#include <cmath>
#include <limits>

#include "autodiff/random.hpp"
#include "check.hpp"

using namespace tapir;
using test::arr;
using test::check_close;
using test::check_throws_with;

namespace {
using A = Array<double>;

A matmul(const A& a, const A& b) {  // A B by loops, independent of BLAS
  A c = xt::zeros<double>({a.shape()[0], b.shape()[1]});
  for (std::size_t i = 0; i < a.shape()[0]; ++i)
    for (std::size_t j = 0; j < b.shape()[1]; ++j)
      for (std::size_t k = 0; k < a.shape()[1]; ++k) c(i, j) += a(i, k) * b(k, j);
  return c;
}
A transpose(const A& a) { return xt::transpose(a); }

/// A random symmetric positive-definite (d, d) matrix: G Gᵀ + d I.
A random_spd(std::size_t d, std::uint64_t seed) {
  const A g = test::rand({d, d}, seed);
  A a = matmul(g, transpose(g));
  for (std::size_t i = 0; i < d; ++i) a(i, i) += double(d);
  return a;
}
}  // namespace

TEST_CASE("cholesky: a hand-factored matrix, A = L Lᵀ, and only the lower triangle is read") {
  // [[4, 2], [2, 5]] = [[2, 0], [1, 2]] [[2, 1], [0, 2]]
  check_close(dense::cholesky(arr({2, 2}, {4, 2, 2, 5})), arr({2, 2}, {2, 0, 1, 2}), 1e-15);
  check_close(dense::cholesky(arr({2, 2}, {4, 99, 2, 5})), arr({2, 2}, {2, 0, 1, 2}), 1e-15);  // upper ignored

  const A a = arr({3, 3}, {4, 2, 0.4, 2, 5, 1, 0.4, 1, 3});
  const A l = dense::cholesky(a);
  check_close(matmul(l, transpose(l)), a, 1e-14);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(l(i, i) > 0);
    for (std::size_t j = i + 1; j < 3; ++j) CHECK(l(i, j) == 0.0);
  }
  const A big = random_spd(40, 1);  // beyond any blocking threshold of the LAPACK underneath
  const A lb = dense::cholesky(big);
  check_close(matmul(lb, transpose(lb)), big, 1e-12);

  CHECK(dense::cholesky(A::from_shape({0, 0})).size() == 0);
}

TEST_CASE("log_det_from_cholesky: log det A from hand determinants") {
  CHECK(dense::log_det_from_cholesky(dense::cholesky(arr({2, 2}, {4, 2, 2, 5}))) == doctest::Approx(std::log(16.0)));
  const double det3 = 4 * (5 * 3 - 1) - 2 * (2 * 3 - 0.4) + 0.4 * (2 - 5 * 0.4);
  CHECK(dense::log_det_from_cholesky(dense::cholesky(arr({3, 3}, {4, 2, 0.4, 2, 5, 1, 0.4, 1, 3}))) ==
        doctest::Approx(std::log(det3)).epsilon(1e-13));
  CHECK(dense::log_det_from_cholesky(A::from_shape({0, 0})) == 0.0);
}

TEST_CASE("solve_lower_rows and cholesky_solve_rows: rows against hand solutions") {
  const A l = arr({2, 2}, {2, 0, 1, 2});  // A = L Lᵀ = [[4, 2], [2, 5]]
  // L x = y:  x₀ = 2/2 = 1, x₁ = (3 − 1)/2 = 1;  and x = (1, −0.5) for y = (2, 0).
  A y = arr({2, 2}, {2, 3, 2, 0});
  dense::solve_lower_rows(l, y);
  check_close(y, arr({2, 2}, {1, 1, 1, -0.5}), 1e-15);

  // A x = y for x = (1, 2): y = (8, 12); and x = (−1, 0.5): y = (−3, 0.5).
  A z = arr({2, 2}, {8, 12, -3, 0.5});
  dense::cholesky_solve_rows(l, z);
  check_close(z, arr({2, 2}, {1, 2, -1, 0.5}), 1e-15);

  // Larger: rows of Y A⁻¹ multiplied back by A give Y; ‖L⁻¹ y‖² = yᵀ A⁻¹ y.
  const A a = random_spd(7, 2);
  const A la = dense::cholesky(a);
  const A y0 = test::rand({5, 7}, 3);
  A x = y0;
  dense::cholesky_solve_rows(la, x);
  check_close(matmul(x, a), y0, 1e-12);
  A w = y0;
  dense::solve_lower_rows(la, w);
  for (std::size_t n = 0; n < 5; ++n) {
    double ww = 0, yx = 0;
    for (std::size_t i = 0; i < 7; ++i) ww += w(n, i) * w(n, i), yx += y0(n, i) * x(n, i);
    CHECK(ww == doctest::Approx(yx).epsilon(1e-12));
  }

  A empty = A::from_shape({0, 2});
  dense::cholesky_solve_rows(l, empty);  // nothing to solve, no error
  A wrong = A::from_shape({3, 3});
  CHECK_THROWS_AS(dense::solve_lower_rows(l, wrong), ShapeError);
  check_throws_with([&] { dense::cholesky_solve_rows(l, wrong); }, {"cholesky_solve_rows", "(3, 3)", "(2, 2)"});
}

TEST_CASE("spd_inverse: the 2×2 inverse by hand, A A⁻¹ = I for a larger matrix") {
  check_close(dense::spd_inverse(arr({2, 2}, {4, 2, 2, 5})), arr({2, 2}, {5.0 / 16, -2.0 / 16, -2.0 / 16, 4.0 / 16}),
              1e-15);
  const A a = random_spd(9, 4);
  check_close(matmul(a, dense::spd_inverse(a)), xt::eye<double>(9), 1e-12);
}

TEST_CASE("symmetric_eigen: eigenpairs by hand, V Λ Vᵀ = A and Vᵀ V = I") {
  // [[2, 1], [1, 2]]: λ = 1 with v = (1, −1)/√2, λ = 3 with v = (1, 1)/√2 (signs are LAPACK's).
  const dense::SymmetricEigen e2 = dense::symmetric_eigen(arr({2, 2}, {2, 1, 1, 2}));
  check_close(e2.values, arr({2}, {1, 3}), 1e-15);
  const double r = 1 / std::sqrt(2.0);
  CHECK(std::abs(e2.vectors(0, 0)) == doctest::Approx(r));
  CHECK(e2.vectors(0, 0) == doctest::Approx(-e2.vectors(1, 0)));  // column 0 ∝ (1, −1)
  CHECK(e2.vectors(0, 1) == doctest::Approx(e2.vectors(1, 1)));   // column 1 ∝ (1, 1)

  for (const std::size_t d : {3u, 12u}) {
    const A a = d == 3 ? arr({3, 3}, {4, 2, 0.4, 2, 5, 1, 0.4, 1, 3}) : random_spd(d, 5);
    const dense::SymmetricEigen e = dense::symmetric_eigen(a);
    REQUIRE(e.values.shape() == Shape{d});
    REQUIRE(e.vectors.shape() == Shape{d, d});
    for (std::size_t j = 1; j < d; ++j) CHECK(e.values(j - 1) <= e.values(j));
    A scaled = e.vectors;  // V Λ
    for (std::size_t i = 0; i < d; ++i)
      for (std::size_t j = 0; j < d; ++j) scaled(i, j) *= e.values(j);
    check_close(matmul(scaled, transpose(e.vectors)), a, 1e-12);
    check_close(matmul(transpose(e.vectors), e.vectors), xt::eye<double>(d), 1e-12);
  }
  // The eigenvalues of a symmetric matrix need not be positive.
  check_close(dense::symmetric_eigen(arr({2, 2}, {1, 2, 2, 1})).values, arr({2}, {-1, 3}), 1e-15);
}

TEST_CASE("gram: Aᵀ A / scale by hand, exactly symmetric") {
  const A a = arr({3, 2}, {1, 2, 3, 4, 5, 6});
  // Aᵀ A = [[1+9+25, 2+12+30], [2+12+30, 4+16+36]] = [[35, 44], [44, 56]]
  check_close(dense::gram(a, 2.0), arr({2, 2}, {17.5, 22, 22, 28}), 1e-15);
  const A g = dense::gram(test::rand({20, 6}, 6), 3.0);
  CHECK(g == transpose(g));
  CHECK_THROWS_AS(dense::gram(arr({2}, {1, 2})), ShapeError);
}

TEST_CASE("bad inputs: not positive definite, non-finite, not square") {
  check_throws_with(
      [] {
        dense::cholesky(arr({2, 2}, {1, 2, 2, 1}), "the test matrix");
      },
      {"the test matrix is not positive definite", "order 2 of 2"});
  check_throws_with(
      [] {
        dense::cholesky(arr({2, 2}, {-1, 0, 0, 1}), "Σ");
      },
      {"Σ is not positive definite", "order 1"});
  check_throws_with([] { dense::spd_inverse(arr({2, 2}, {1, 1, 1, 1}), "W Wᵀ"); }, {"W Wᵀ is not positive definite"});
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  check_throws_with(
      [&] {
        dense::cholesky(arr({2, 2}, {4, 0, nan, 5}), "the covariance");
      },
      {"the covariance has a non-finite entry (1, 0) = nan"});
  check_throws_with([&] { dense::symmetric_eigen(arr({2, 2}, {4, 0, 0, inf})); }, {"non-finite entry (1, 1) = inf"});
  CHECK_THROWS_AS(dense::cholesky(arr({2, 3}, {1, 0, 0, 0, 1, 0})), ShapeError);
  check_throws_with([] { dense::symmetric_eigen(arr({3}, {1, 2, 3})); }, {"symmetric_eigen", "square", "(3,)"});
}
