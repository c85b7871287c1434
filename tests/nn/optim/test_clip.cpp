// optim::clip_grad_norm: the returned norm, the rescaling, double accumulation, non-finite gradients.
#include <cmath>
#include <limits>

#include "optim_util.hpp"

using namespace tapir;
using namespace tapir::test;
using optim::clip_grad_norm;

TEST_CASE("clip_grad_norm returns the global L2 norm and rescales to max_norm") {
  Parameter<double> a(vec({0.0, 0.0})), b(arr({1, 1}, {0.0}));
  set_grad(a, vec({3.0, 4.0}));
  set_grad(b, arr({1, 1}, {12.0}));
  // ‖g‖ = √(9 + 16 + 144) = 13
  CHECK(clip_grad_norm<double>({&a, &b}, 6.5) == 13.0);
  const double c = 6.5 / (13 + 1e-6);
  check_values(a.grad(), {3 * c, 4 * c}, 1e-15);
  check_values(b.grad(), {12 * c}, 1e-15);
  // The norm is now 13 · 6.5 / (13 + 1e−6), a hair under 6.5.
  CHECK(clip_grad_norm<double>({&a, &b}, 100.0) == doctest::Approx(13 * c).epsilon(1e-12));
  CHECK(clip_grad_norm<double>({&a, &b}, 100.0) < 6.5);
}

TEST_CASE("clip_grad_norm leaves gradients below max_norm alone") {
  Parameter<double> a(vec({0.0, 0.0}));
  set_grad(a, vec({3.0, 4.0}));
  CHECK(clip_grad_norm<double>({&a}, 5.5) == 5.0);
  check_values(a.grad(), {3.0, 4.0}, 0);
  CHECK(clip_grad_norm<double>({&a}, 0.0) == 5.0);  // max_norm 0 zeroes them
  check_values(a.grad(), {0.0, 0.0}, 0);
}

TEST_CASE("clip_grad_norm accumulates in double: float squares that would overflow do not") {
  Parameter<float> a(Array<float>({0.0f, 0.0f}));
  set_grad(a, Array<float>({3e20f, 4e20f}));  // (3e20)² overflows float
  const double n = clip_grad_norm<float>({&a}, 1.0);
  CHECK(n == doctest::Approx(5e20).epsilon(1e-6));
  CHECK(a.grad()(0) == doctest::Approx(0.6).epsilon(1e-6));
  CHECK(a.grad()(1) == doctest::Approx(0.8).epsilon(1e-6));
}

TEST_CASE("clip_grad_norm ignores frozen parameters") {
  Parameter<double> a(vec({0.0})), frozen(vec({0.0}));
  set_grad(a, vec({2.0}));
  set_grad(frozen, vec({100.0}));
  frozen.set_requires_grad(false);
  CHECK(clip_grad_norm<double>({&a, &frozen}, 1.0) == 2.0);
  CHECK(frozen.grad()(0) == 100.0);
}

TEST_CASE("clip_grad_norm with non-finite gradients and bad arguments") {
  Parameter<double> a(vec({0.0, 0.0}));
  set_grad(a, vec({1.0, std::numeric_limits<double>::quiet_NaN()}));
  CHECK(std::isnan(clip_grad_norm<double>({&a}, 1.0)));
  CHECK(a.grad()(0) == 1.0);  // left alone
  check_throws_with([&] { clip_grad_norm<double>({&a}, 1.0, true); }, {"nan", "NaN or Inf"});
  check_throws_with([&] { clip_grad_norm<double>({&a}, -1.0); }, {"max_norm", "-1"});
  check_throws_with([&] { clip_grad_norm<double>({nullptr}, 1.0); }, {"null"});
}
