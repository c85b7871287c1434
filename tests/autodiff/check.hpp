// tests/autodiff/check.hpp — helpers shared by the autodiff tests.
#pragma once

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "autodiff/autodiff.hpp"

namespace tapir::test {

/// A double array with given shape and values in row-major order.
inline Array<double> arr(const Shape& shape, std::vector<double> values) {
  Array<double> a = Array<double>::from_shape(shape);
  REQUIRE(values.size() == a.size());
  std::copy(values.begin(), values.end(), a.begin());
  return a;
}

/// Seeded random inputs in [lo, hi).
inline Array<double> rand(const Shape& shape, std::uint64_t seed, double lo = -1, double hi = 1) {
  Rng rng(seed);
  return uniform<double>(rng, shape, lo, hi);
}

/// Asserts that every input's tape gradient matches central finite differences (atol 1e-5,
/// rtol 1e-3), and prints the worst errors when it does not.
inline void check_gradients(const GradCheckFn& f, const std::vector<Array<double>>& inputs, const std::string& what,
                            GradCheckOptions options = {}) {
  const auto results = grad_check(f, inputs, options);
  REQUIRE(results.size() == inputs.size());
  for (std::size_t j = 0; j < results.size(); ++j) {
    INFO(fmt::format("{}: input {}: max abs error {:.3g}, max rel error {:.3g}, worst element {}", what, j,
                     results[j].max_abs_error, results[j].max_rel_error, results[j].worst_index));
    CHECK(results[j].passed);
  }
}

/// Asserts two arrays agree elementwise within tolerance (shapes must match exactly).
template <class A, class B>
void check_close(const A& actual, const B& expected, double tol = 1e-6) {
  REQUIRE(Shape(actual.shape().begin(), actual.shape().end()) ==
          Shape(expected.shape().begin(), expected.shape().end()));
  Array<double> a = xt::cast<double>(actual);
  Array<double> e = xt::cast<double>(expected);
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("element " << i << ": " << a.data()[i] << " vs " << e.data()[i]);
    CHECK(std::abs(a.data()[i] - e.data()[i]) <= tol * (1 + std::abs(e.data()[i])));
  }
}

// Full reductions of plain arrays for the tests, with the standard library: xtensor 0.24's immediate
// full reductions (xt::sum(a)()) can write through a null pointer (UBSan reports it).
template <class T>
double total(const Array<T>& a) {
  return std::accumulate(a.begin(), a.end(), 0.0);
}
template <class T>
double average(const Array<T>& a) {
  return total(a) / static_cast<double>(a.size());
}
template <class T>
T largest(const Array<T>& a) {
  return *std::max_element(a.begin(), a.end());
}
template <class T>
T smallest(const Array<T>& a) {
  return *std::min_element(a.begin(), a.end());
}

/// Runs `fn` and checks it throws a tapir::Error whose message contains every string in `parts`.
template <class F>
void check_throws_with(F&& fn, const std::vector<std::string>& parts) {
  try {
    fn();
    FAIL("expected an exception");
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) {
      INFO("message: " << msg << " — expected to contain: " << p);
      CHECK(msg.find(p) != std::string::npos);
    }
  }
}

}  // namespace tapir::test
