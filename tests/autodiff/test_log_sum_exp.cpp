// log_sum_exp and LogSumExpAccumulator: hand values, no overflow or underflow at ±1000, the
// ±∞/NaN edge cases, and the streaming form agreeing with the array form in any order.
#include "autodiff/log_sum_exp.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "autodiff/random.hpp"
#include "check.hpp"

using namespace tapir;
using test::arr;
using test::check_close;
using test::check_throws_with;

namespace {
using A = Array<double>;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double accumulate(const std::vector<double>& terms) {
  LogSumExpAccumulator acc;
  for (double w : terms) acc.add(w);
  return acc.value();
}
}  // namespace

TEST_CASE("log_sum_exp: hand values over axis 0 and axis 1") {
  // Columns: {0, log 3} → log 4;  {log 2, log 2} → log 4;  {−1, −1} → log 2 − 1.
  const A a = arr({2, 3}, {0, std::log(2.0), -1, std::log(3.0), std::log(2.0), -1});
  check_close(log_sum_exp(a, 0), arr({3}, {std::log(4.0), std::log(4.0), std::log(2.0) - 1}), 1e-15);
  check_close(log_sum_exp(a), log_sum_exp(a, 0), 0);  // axis 0 is the default
  const A at = xt::transpose(a);
  check_close(log_sum_exp(at, 1), log_sum_exp(a, 0), 1e-15);
  // A single term is returned as is.
  check_close(log_sum_exp(arr({1, 2}, {-3.5, 7}), 0), arr({2}, {-3.5, 7}), 0);
}

TEST_CASE("log_sum_exp: stable far from 0, exact at the edges") {
  // exp(±1000) overflows/underflows a double; the shifted sum does not.
  check_close(log_sum_exp(arr({2, 2}, {1000, -1000, 1000, -1000}), 0),
              arr({2}, {1000 + std::log(2.0), -1000 + std::log(2.0)}), 1e-15);
  // One term dominating by 800: the other contributes exp(−800) ≈ 0 and nothing overflows.
  check_close(log_sum_exp(arr({2, 1}, {800, 0}), 0), arr({1}, {800}), 0);

  const A edges = arr({3, 5}, {-kInf, -kInf, kInf, kNaN, 0,  //
                               -kInf, 1, 2, 0, -kInf,        //
                               -kInf, -kInf, kInf, 0, -kInf});
  const A out = log_sum_exp(edges, 0);
  CHECK(out(0) == -kInf);  // all −∞: log 0, not NaN
  CHECK(out(1) == 1.0);    // −∞ terms add nothing
  CHECK(out(2) == kInf);   // +∞ wins, even twice (no ∞ − ∞)
  CHECK(std::isnan(out(3)));
  CHECK(out(4) == 0.0);
  // A zero-length axis: the log of an empty sum.
  const A none = log_sum_exp(A::from_shape({0, 3}), 0);
  REQUIRE(none.shape() == Shape{3});
  for (double v : none) CHECK(v == -kInf);
  CHECK(log_sum_exp(A::from_shape({4, 0}), 0).size() == 0);
}

TEST_CASE("log_sum_exp: shape errors") {
  check_throws_with([] { log_sum_exp(arr({3}, {1, 2, 3})); }, {"log_sum_exp", "2-D", "(3,)"});
  check_throws_with([] { log_sum_exp(arr({1, 1}, {1}), 2); }, {"axis 2"});
}

TEST_CASE("LogSumExpAccumulator: the array form's value in any order, and log_mean") {
  Rng rng(11);
  const A w = normal<double>(rng, {200, 3}, 0.0, 30.0);  // spread wide: the running max changes often
  const A expected = log_sum_exp(w, 0);
  std::mt19937 shuffle_rng(5);
  for (std::size_t j = 0; j < 3; ++j) {
    std::vector<double> terms;
    for (std::size_t i = 0; i < 200; ++i) terms.push_back(w(i, j));
    CHECK(accumulate(terms) == doctest::Approx(expected(j)).epsilon(1e-13));
    std::sort(terms.begin(), terms.end());  // ascending: a new maximum at every step
    CHECK(accumulate(terms) == doctest::Approx(expected(j)).epsilon(1e-13));
    std::shuffle(terms.begin(), terms.end(), shuffle_rng);
    CHECK(accumulate(terms) == doctest::Approx(expected(j)).epsilon(1e-13));
  }

  LogSumExpAccumulator acc;
  CHECK(acc.value() == -kInf);
  CHECK(std::isnan(acc.log_mean()));  // the mean of nothing
  acc.add(std::log(1.0));
  acc.add(-kInf);  // a zero weight: counts for the mean, adds nothing to the sum
  acc.add(std::log(5.0));
  CHECK(acc.count() == 3);
  CHECK(acc.value() == doctest::Approx(std::log(6.0)));
  CHECK(acc.log_mean() == doctest::Approx(std::log(2.0)));
}

TEST_CASE("LogSumExpAccumulator: the same edge cases as the array form") {
  CHECK(accumulate({-kInf, -kInf}) == -kInf);
  CHECK(accumulate({-kInf, 1, -kInf}) == 1.0);
  CHECK(accumulate({1, kInf, 2, kInf}) == kInf);
  CHECK(accumulate({kInf, -kInf}) == kInf);
  CHECK(std::isnan(accumulate({1, kNaN, 2})));
  CHECK(std::isnan(accumulate({kInf, kNaN})));
  CHECK(accumulate({1000, 1000}) == doctest::Approx(1000 + std::log(2.0)));
  CHECK(accumulate({-1000, -1000}) == doctest::Approx(-1000 + std::log(2.0)));
}
