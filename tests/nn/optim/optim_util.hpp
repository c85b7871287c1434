// tests/nn/optim/optim_util.hpp — helpers shared by the optimizer tests.
#pragma once

#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "autodiff/check.hpp"
#include "nn/optim/optim.hpp"

namespace tapir::test {

/// A 1-d double array.
inline Array<double> vec(const std::vector<double>& values) {
  Array<double> a = xt::empty<double>(std::vector<std::size_t>{values.size()});
  std::copy(values.begin(), values.end(), a.begin());
  return a;
}

/// Sets p's gradient to g (as a user or a backward pass would).
template <class T>
void set_grad(Parameter<T>& p, const Array<T>& g) {
  p.zero_grad();
  p.grad() = g;
}

/// Checks every element of `actual` against `expected` within a relative tolerance (0: exactly).
inline void check_values(const Array<double>& actual, const std::vector<double>& expected, double rtol = 1e-12) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("element " << i << ": " << actual.data()[i] << " vs expected " << expected[i]);
    if (rtol == 0)
      CHECK(actual.data()[i] == expected[i]);
    else
      CHECK(actual.data()[i] == doctest::Approx(expected[i]).epsilon(rtol));
  }
}

/// Same shape and the same bits in every element.
template <class T>
bool bitwise_equal(const Array<T>& a, const Array<T>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

}  // namespace tapir::test
