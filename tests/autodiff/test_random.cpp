// The generator: determinism by seed, state round trip, moments of the draws.
#include <algorithm>
#include <cmath>
#include <set>

#include "autodiff/parallel.hpp"
#include "check.hpp"

using namespace tapir;
using test::check_throws_with;

TEST_CASE("the same seed gives the same numbers; different seeds differ") {
  Rng a(42), b(42), c(43);
  const Array<float> xa = normal<float>(a, {100});
  const Array<float> xb = normal<float>(b, {100});
  const Array<float> xc = normal<float>(c, {100});
  CHECK(xa == xb);
  CHECK(xa != xc);
  // Regression anchor: the stream is defined by this file, not by the standard library.
  Rng d(0);
  CHECK(d.next_u64() == 0x99ec5f36cb75f2b4ULL);
}

TEST_CASE("state() and set_state() resume the exact stream, including the spare normal") {
  Rng rng(7);
  rng.normal();  // leaves a spare
  const Rng::State saved = rng.state();
  const Array<double> first = normal<double>(rng, {9});
  rng.set_state(saved);
  CHECK(normal<double>(rng, {9}) == first);
}

TEST_CASE("fill_normal gives the bits of one normal() call after another, at any size and thread count") {
  // Large fills draw the uniforms in order and transform them on tapir's threads (autodiff/random.cpp).
  for (const std::size_t threads : {1, 2, 3}) {
    set_num_threads(threads);
    for (const std::size_t n : {0, 1, 2, 511, 512, 513, 514, 515, 2000, 100001}) {
      for (const bool spare : {false, true}) {
        Rng a(99 + n), b(99 + n);
        if (spare) {
          a.normal();
          b.normal();
        }
        Array<float> f = Array<float>::from_shape({n});
        fill_normal(a, f, 0.25f, 1.5f);
        Array<double> d = Array<double>::from_shape({n});
        Rng a2 = b;
        fill_normal(a2, d, -1.0, 0.5);
        bool same = true;
        for (std::size_t i = 0; i < n; ++i) {
          const double x = b.normal();
          same = same && f.data()[i] == static_cast<float>(0.25f + 1.5f * x);
        }
        Rng b2(99 + n);
        if (spare) b2.normal();
        for (std::size_t i = 0; i < n; ++i) same = same && d.data()[i] == -1.0 + 0.5 * b2.normal();
        CAPTURE(threads);
        CAPTURE(n);
        CAPTURE(spare);
        CHECK(same);
        CHECK(a.state() == b.state());  // the stream (and the spare) left where the calls leave it
        CHECK(a2.state() == b2.state());
      }
    }
  }
  set_num_threads(0);  // back to the default
}

TEST_CASE("moments of normal, uniform and bernoulli draws are within a few standard errors") {
  Rng rng(123);
  const std::size_t n = 200000;
  const Array<double> z = normal<double>(rng, {n}, 1.5, 2.0);
  const double se = 2.0 / std::sqrt(double(n));
  CHECK(std::abs(test::average(z) - 1.5) < 4 * se);
  CHECK(std::abs(test::average(Array<double>((z - test::average(z)) * (z - test::average(z)))) - 4.0) <
        4 * 4.0 * std::sqrt(2.0 / n));
  const Array<double> u = uniform<double>(rng, {n}, -1.0, 3.0);
  CHECK(test::smallest(u) >= -1.0);
  CHECK(test::largest(u) < 3.0);
  CHECK(std::abs(test::average(u) - 1.0) < 4 * (4 / std::sqrt(12.0 * n)));
  const Array<double> bern = bernoulli<double>(rng, {n}, 0.3);
  CHECK(std::abs(test::average(bern) - 0.3) < 4 * std::sqrt(0.3 * 0.7 / n));
  const Array<float> p = {0.f, 1.f, 0.5f};
  const Array<float> bp = bernoulli<float>(rng, p);
  CHECK(bp(0) == 0.f);
  CHECK(bp(1) == 1.f);
  check_throws_with([&] { bernoulli<float>(rng, Array<float>({0.5f, 1.5f})); }, {"bernoulli", "1.5", "index 1"});
}

TEST_CASE("permutation is a permutation, and below() stays in range") {
  Rng rng(5);
  const auto p = permutation(rng, 1000);
  CHECK(std::set<std::size_t>(p.begin(), p.end()).size() == 1000);
  CHECK(*std::max_element(p.begin(), p.end()) == 999);
  for (int i = 0; i < 1000; ++i) CHECK(rng.below(7) < 7);
}

TEST_CASE("uniform draws stay in [lo, hi) after rounding to float") {
  // Between 1 and 1 + 2⁻²⁰ float has 8 values: a double in [lo, hi) rounds up to hi about once in 16.
  Rng rng(12);
  const float lo = 1.0f, hi = 1.0f + 0x1.0p-20f;
  const Array<float> u = uniform<float>(rng, {10000}, lo, hi);
  CHECK(std::all_of(u.begin(), u.end(), [&](float v) { return v >= lo && v < hi; }));
  CHECK(std::count(u.begin(), u.end(), std::nextafter(hi, lo)) > 500);  // the top value is still drawn
}
