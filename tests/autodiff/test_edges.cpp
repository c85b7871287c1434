// Ops at the edges of their domains: 0, −0, ±∞, NaN, tiny and huge arguments.
//
// - Position independence: xtensor evaluates an elementwise expression with xsimd over whole SIMD
//   batches and with scalar code over the tail, so an op whose SIMD and scalar kernels disagree (xsimd
//   8.1's pow(0, 0) = 0 against std::pow's 1) gives an element a value that depends on where it sits.
//   Every elementwise op, value and gradient, float and double, must give bitwise the same result for
//   an element inside a long array as for the same element alone.
// - Edge values against references computed offline with mpmath (50 digits), pasted as constants.
// - Gradients of the new ops against central differences, at ordinary points and near their edges.
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "check.hpp"

using namespace tapir;
using test::arr;
using test::check_close;
using test::check_gradients;

namespace {

template <class T>
constexpr T kInf = std::numeric_limits<T>::infinity();
template <class T>
constexpr T kNaN = std::numeric_limits<T>::quiet_NaN();

/// 41 arguments: zeros of both signs, ±∞, NaN, subnormal, tiny, huge, saturating ranges of exp.
template <class T>
std::vector<T> edge_values() {
  const T tiny = std::numeric_limits<T>::min(), denorm = std::numeric_limits<T>::denorm_min();
  const T huge = std::numeric_limits<T>::max();
  return {T(0),    -T(0),    kInf<T>, -kInf<T>, kNaN<T>, denorm,   -denorm, tiny,  -tiny,  T(1e-30), -T(1e-30),
          T(1e-8), -T(1e-8), T(0.25), -T(0.25), T(0.5),  -T(0.5),  T(1),    -T(1), T(1.5), -T(1.5),  T(2),
          -T(2),   T(3),     -T(3),   T(10),    -T(10),  T(20),    -T(20),  T(40), -T(40), T(50),    -T(50),
          T(100),  -T(100),  T(1e10), -T(1e10), T(1e30), -T(1e30), huge,    -huge};
}

/// Bitwise equality, with every NaN equal to every other NaN.
template <class T>
bool same_bits(T a, T b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

template <class T>
Array<T> array_of(const std::vector<T>& v) {
  Array<T> a = Array<T>::from_shape({v.size()});
  std::copy(v.begin(), v.end(), a.begin());
  return a;
}

/// Value and gradient (seed 1 for every output element) of a unary op on `xs`.
template <class T, class F>
std::pair<Array<T>, Array<T>> run_unary(F op, const std::vector<T>& xs) {
  Tape<T> tape;
  Var<T> x = tape.variable(array_of(xs));
  Var<T> y = op(x);
  y.backward(xt::ones<T>(y.shape()));
  return {y.value(), x.grad()};
}

/// Same for a binary op on (as, bs), both inputs differentiated.
template <class T, class F>
std::tuple<Array<T>, Array<T>, Array<T>> run_binary(F op, const std::vector<T>& as, const std::vector<T>& bs) {
  Tape<T> tape;
  Var<T> a = tape.variable(array_of(as));
  Var<T> b = tape.variable(array_of(bs));
  Var<T> y = op(a, b);
  y.backward(xt::ones<T>(y.shape()));
  return {y.value(), a.grad(), b.grad()};
}

template <class T>
std::vector<T> rotated(const std::vector<T>& v, std::size_t r) {
  std::vector<T> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = v[(i + r) % v.size()];
  return out;
}

/// Every rotation of the edge values, compared element by element with the op on that element alone.
template <class T, class F>
void check_unary_position(const std::string& name, F op) {
  const std::vector<T> xs = edge_values<T>();
  std::vector<T> alone_y(xs.size()), alone_dx(xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const auto [y, dx] = run_unary<T>(op, std::vector<T>{xs[i]});
    alone_y[i] = y(0);
    alone_dx[i] = dx(0);
  }
  int failures = 0;
  for (std::size_t r = 0; r < xs.size() && failures < 3; ++r) {  // every value at every position
    const auto [y, dx] = run_unary<T>(op, rotated(xs, r));
    for (std::size_t i = 0; i < xs.size() && failures < 3; ++i) {
      const std::size_t k = (i + r) % xs.size();
      if (same_bits(y(i), alone_y[k]) && same_bits(dx(i), alone_dx[k])) continue;
      ++failures;
      FAIL_CHECK(fmt::format("{} ({}): x = {} at position {}: y = {}, dy/dx = {}; alone: y = {}, dy/dx = {}", name,
                             sizeof(T) == 4 ? "float" : "double", xs[k], i, y(i), dx(i), alone_y[k], alone_dx[k]));
    }
  }
  CHECK_MESSAGE(failures == 0, name);
}

/// All pairs (a, b) of the given values, each pair at many positions.
template <class T, class F>
void check_binary_position(const std::string& name, F op, const std::vector<T>& av, const std::vector<T>& bv) {
  std::vector<T> as, bs;
  for (T a : av)
    for (T b : bv) {
      as.push_back(a);
      bs.push_back(b);
    }
  const std::size_t n = as.size();
  std::vector<T> ay(n), ada(n), adb(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto [y, da, db] = run_binary<T>(op, std::vector<T>{as[i]}, std::vector<T>{bs[i]});
    ay[i] = y(0);
    ada[i] = da(0);
    adb[i] = db(0);
  }
  int failures = 0;
  for (std::size_t r = 0; r < n && failures < 3; r += 3) {
    const auto [y, da, db] = run_binary<T>(op, rotated(as, r), rotated(bs, r));
    for (std::size_t i = 0; i < n && failures < 3; ++i) {
      const std::size_t k = (i + r) % n;
      if (same_bits(y(i), ay[k]) && same_bits(da(i), ada[k]) && same_bits(db(i), adb[k])) continue;
      ++failures;
      FAIL_CHECK(fmt::format(
          "{} ({}): (a, b) = ({}, {}) at position {}: y = {}, da = {}, db = {}; alone: y = {}, "
          "da = {}, db = {}",
          name, sizeof(T) == 4 ? "float" : "double", as[k], bs[k], i, y(i), da(i), db(i), ay[k], ada[k], adb[k]));
    }
  }
  CHECK_MESSAGE(failures == 0, name);
}

template <class T>
void check_all_unary_positions() {
  using V = Var<T>;
  check_unary_position<T>("neg", [](const V& x) { return -x; });
  check_unary_position<T>("square", [](const V& x) { return square(x); });
  check_unary_position<T>("sqrt", [](const V& x) { return sqrt(x); });
  check_unary_position<T>("exp", [](const V& x) { return exp(x); });
  check_unary_position<T>("log", [](const V& x) { return log(x); });
  check_unary_position<T>("log1p", [](const V& x) { return log1p(x); });
  check_unary_position<T>("expm1", [](const V& x) { return expm1(x); });
  check_unary_position<T>("abs", [](const V& x) { return abs(x); });
  check_unary_position<T>("sin", [](const V& x) { return sin(x); });
  check_unary_position<T>("cos", [](const V& x) { return cos(x); });
  check_unary_position<T>("erf", [](const V& x) { return erf(x); });
  check_unary_position<T>("lgamma", [](const V& x) { return lgamma(x); });
  check_unary_position<T>("digamma", [](const V& x) { return digamma(x); });
  for (T p : {T(0), T(1), T(2), T(3), T(0.5), T(2.5), T(-1), T(-2), T(-0.5)})
    check_unary_position<T>(fmt::format("pow(x, {})", p), [p](const V& x) { return pow(x, p); });
  check_unary_position<T>("add_scalar", [](const V& x) { return x + T(1.5); });
  check_unary_position<T>("mul_scalar", [](const V& x) { return x * T(3); });
  check_unary_position<T>("rsub_scalar", [](const V& x) { return T(1.5) - x; });
  check_unary_position<T>("rdiv_scalar", [](const V& x) { return T(2) / x; });
  check_unary_position<T>("clamp", [](const V& x) { return clamp(x, T(-0.5), T(0.7)); });
  check_unary_position<T>("tanh", [](const V& x) { return tanh(x); });
  check_unary_position<T>("sigmoid", [](const V& x) { return sigmoid(x); });
  check_unary_position<T>("relu", [](const V& x) { return relu(x); });
  check_unary_position<T>("leaky_relu", [](const V& x) { return leaky_relu(x, T(0.1)); });
  check_unary_position<T>("elu", [](const V& x) { return elu(x, T(1.5)); });
  check_unary_position<T>("softplus", [](const V& x) { return softplus(x); });
  check_unary_position<T>("log_sigmoid", [](const V& x) { return log_sigmoid(x); });
  check_unary_position<T>("rsqrt", [](const V& x) { return rsqrt(x); });
  check_unary_position<T>("tan", [](const V& x) { return tan(x); });
  check_unary_position<T>("atan", [](const V& x) { return atan(x); });
  check_unary_position<T>("sinh", [](const V& x) { return sinh(x); });
  check_unary_position<T>("cosh", [](const V& x) { return cosh(x); });
  check_unary_position<T>("logit", [](const V& x) { return logit(x); });
  check_unary_position<T>("logit(eps)", [](const V& x) { return logit(x, T(1e-3)); });
  check_unary_position<T>("silu", [](const V& x) { return silu(x); });
  check_unary_position<T>("gelu", [](const V& x) { return gelu(x); });
  check_unary_position<T>("gelu_tanh", [](const V& x) { return gelu(x, GeluApproximation::tanh); });
}

template <class T>
void check_all_binary_positions() {
  using V = Var<T>;
  const std::vector<T> a = {T(0), -T(0), T(1), -T(1), T(2), -T(2), T(0.5), kInf<T>, -kInf<T>, kNaN<T>, T(1e-30), T(3)};
  const std::vector<T> b = {T(0), -T(0), T(1), T(2), T(3), -T(1), -T(2), T(0.5), T(-0.5), T(2.5), kInf<T>, -kInf<T>};
  check_binary_position<T>(
      "add", [](const V& x, const V& y) { return x + y; }, a, b);
  check_binary_position<T>(
      "sub", [](const V& x, const V& y) { return x - y; }, a, b);
  check_binary_position<T>(
      "mul", [](const V& x, const V& y) { return x * y; }, a, b);
  check_binary_position<T>(
      "div", [](const V& x, const V& y) { return x / y; }, a, b);
  check_binary_position<T>(
      "pow", [](const V& x, const V& y) { return pow(x, y); }, a, b);
  check_binary_position<T>(
      "xlogy", [](const V& x, const V& y) { return xlogy(x, y); }, a, b);
  check_binary_position<T>(
      "xlogy (swapped)", [](const V& x, const V& y) { return xlogy(x, y); }, b, a);
  const std::vector<T> t = {T(0), T(1), T(0.5), T(0.25)};
  check_binary_position<T>(
      "binary_cross_entropy_with_logits", [](const V& l, const V& y) { return binary_cross_entropy_with_logits(l, y); },
      edge_values<T>(), t);
}

}  // namespace

TEST_CASE("every elementwise op gives an element the same value and gradient wherever it sits in the array") {
  SUBCASE("float unary") { check_all_unary_positions<float>(); }
  SUBCASE("double unary") { check_all_unary_positions<double>(); }
  SUBCASE("float binary") { check_all_binary_positions<float>(); }
  SUBCASE("double binary") { check_all_binary_positions<double>(); }
}

namespace {

/// y and dy/dx of a unary double op at one point.
template <class F>
std::pair<double, double> at(F op, double x) {
  const auto [y, dx] = run_unary<double>(op, std::vector<double>{x});
  return {y(0), dx(0)};
}

/// |actual − expected| ≤ 4 ulp of expected (relative 1e-15 for doubles), with exact zeros and infinities.
void check_ref(double actual, double expected, const std::string& what) {
  INFO(fmt::format("{}: {:.17g} vs reference {:.17g}", what, actual, expected));
  if (std::isnan(expected)) {
    CHECK(std::isnan(actual));
  } else if (std::isinf(expected) || expected == 0) {
    CHECK(actual == expected);
  } else {
    CHECK(std::abs(actual - expected) <= 1e-15 * std::abs(expected));
  }
}

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double qnan = std::numeric_limits<double>::quiet_NaN();

}  // namespace

TEST_CASE("pow at base 0, at ±∞ and with negative bases follows PyTorch's conventions") {
  using V = Var<double>;
  struct Case {
    double x, p, y, dydx;
  };
  const std::vector<Case> cases = {
      {0, 0, 1, 0},          {-0.0, 0, 1, 0},    {inf, 0, 1, 0},       {qnan, 0, 1, 0},  // x⁰ = 1, slope 0
      {0, 1, 0, 1},          {-0.0, 1, -0.0, 1}, {0, 2, 0, 0},         {0, 3, 0, 0},     // p ≥ 1 at 0
      {0, 0.5, 0, inf},      {0, 2.5, 0, 0},     {0, -1, inf, -inf},   {-0.0, -1, -inf, -inf},
      {0, -2, inf, -inf},    {-2, 3, -8, 12},    {-2, 2, 4, -4},       {-2, -1, -0.5, -0.25},
      {-2, 0.5, qnan, qnan}, {inf, 0.5, inf, 0}, {-inf, 2, inf, -inf}, {2, 10, 1024, 5120},
  };
  for (const Case& c : cases) {
    const auto [y, d] = at([p = c.p](const V& x) { return pow(x, p); }, c.x);
    const std::string what = fmt::format("pow({}, {})", c.x, c.p);
    check_ref(y, c.y, what + " value");
    check_ref(d, c.dydx, what + " slope");
    // The tensor-exponent form agrees, and its exponent gradient is 0 at a = 0, b ≥ 0.
    const auto [y2, da, db] = run_binary<double>([](const V& a, const V& b) { return pow(a, b); },
                                                 std::vector<double>{c.x}, std::vector<double>{c.p});
    check_ref(y2(0), c.y, what + " tensor value");
    check_ref(da(0), c.dydx, what + " tensor da");
    if (c.x == 0 && c.p >= 0) CHECK(db(0) == 0);
  }
  // dy/db = a^b log a: −∞ at a = 0 with b < 0; NaN for a negative base.
  const auto [y, da, db] = run_binary<double>([](const V& a, const V& b) { return pow(a, b); },
                                              std::vector<double>{0, -2, 2}, std::vector<double>{-1, 2, 3});
  CHECK(db(0) == -inf);
  CHECK(std::isnan(db(1)));
  check_ref(db(2), 8 * std::log(2.0), "d/db 2^3");
}

TEST_CASE("saturating ranges: gradients keep their tiny values instead of cancelling to 0") {
  using V = Var<double>;
  // References: mpmath at mp.dps = 50 on the exact double inputs, e.g. for elu'(−50) = e^(−50):
  //   python3 -c "from mpmath import *; mp.dps=50; print(exp(-50))"
  const double exp_m50 = 1.928749847963917783e-22;            // e^(−50)
  const double sigmoid_slope_40 = 4.2483542552915889592e-18;  // σ(40)σ(−40)
  const double tanh_slope_20 = 1.6993417021166355837e-17;     // sech²(20)
  const double softplus_m40 = 4.2483542552915889863e-18;      // log1p(e^(−40))
  const double gelu_m10 = -7.619853024160526066e-23;          // −10 erfc(10/√2)/2
  const double gelu_slope_m10 = -7.6184000964648140857e-22;   // Φ(−10) − 10 φ(−10)
  const double gelu_tanh_m6 = -8.439646700762303472e-11;      // −6 σ(2√(2/π)(−6 − 0.044715·216))
  const double gelu_tanh_slope_m6 = -7.7099739309537010282e-10;
  const double silu_m40 = -1.6993417021166355909e-16;        // −40 σ(−40)
  const double silu_slope_m40 = -1.6568581595637196939e-16;  // σ(−40)(1 − 40 σ(40))
  const double logit_half = 3.7252902984619140668e-9;        // logit(½ + 2⁻³⁰)
  const double logit_tiny = -690.77552789821370518;          // logit(1e−300)

  check_ref(at([](const V& x) { return elu(x); }, -50).second, exp_m50, "elu'(−50)");
  check_ref(at([](const V& x) { return elu(x, 2.0); }, -50).second, 2 * exp_m50, "elu'(−50), α = 2");
  check_ref(at([](const V& x) { return expm1(x); }, -50).second, exp_m50, "expm1'(−50)");
  check_ref(at([](const V& x) { return sigmoid(x); }, 40).second, sigmoid_slope_40, "σ'(40)");
  check_ref(at([](const V& x) { return sigmoid(x); }, -40).second, sigmoid_slope_40, "σ'(−40)");
  check_ref(at([](const V& x) { return tanh(x); }, 20).second, tanh_slope_20, "tanh'(20)");
  check_ref(at([](const V& x) { return tanh(x); }, -20).second, tanh_slope_20, "tanh'(−20)");
  check_ref(at([](const V& x) { return softplus(x); }, -40).first, softplus_m40, "softplus(−40)");
  check_ref(at([](const V& x) { return softplus(x); }, 40).second, 1.0, "softplus'(40)");
  check_ref(at([](const V& x) { return log_sigmoid(x); }, 40).first, -softplus_m40, "log σ(40)");
  check_ref(at([](const V& x) { return log_sigmoid(x); }, -40).second, 1.0, "log σ'(−40)");
  // erfc(z) at z = 10/√2 amplifies the rounding of x/√2 by 2z² = 100: a few ulp × 100.
  for (const auto& [value, ref] : {std::pair{at([](const V& x) { return gelu(x); }, -10).first, gelu_m10},
                                   std::pair{at([](const V& x) { return gelu(x); }, -10).second, gelu_slope_m10}}) {
    INFO("gelu(−10) or its slope: " << value << " vs " << ref);
    CHECK(std::abs(value - ref) <= 1e-13 * std::abs(ref));
  }
  check_ref(at([](const V& x) { return gelu(x, GeluApproximation::tanh); }, -6).first, gelu_tanh_m6, "gelu_tanh(−6)");
  {
    const double d = at([](const V& x) { return gelu(x, GeluApproximation::tanh); }, -6).second;
    INFO("gelu_tanh'(−6) = " << d);
    CHECK(std::abs(d - gelu_tanh_slope_m6) <= 1e-13 * std::abs(gelu_tanh_slope_m6));
  }
  check_ref(at([](const V& x) { return silu(x); }, -40).first, silu_m40, "silu(−40)");
  {
    const double d = at([](const V& x) { return silu(x); }, -40).second;
    INFO("silu'(−40) = " << d);
    CHECK(std::abs(d - silu_slope_m40) <= 1e-14 * std::abs(silu_slope_m40));
  }
  check_ref(at([](const V& x) { return logit(x); }, 0.5 + std::ldexp(1.0, -30)).first, logit_half, "logit(½ + 2⁻³⁰)");
  check_ref(at([](const V& x) { return logit(x); }, 1e-300).first, logit_tiny, "logit(1e−300)");
}

TEST_CASE("limits at ±∞, 0 and outside the domain, as the headers state") {
  using V = Var<double>;
  struct Case {
    const char* name;
    std::function<V(const V&)> op;
    double x, y, dydx;
  };
  const std::vector<Case> cases = {
      {"sqrt", [](const V& x) { return sqrt(x); }, 0, 0, inf},
      {"sqrt", [](const V& x) { return sqrt(x); }, -0.0, -0.0, inf},
      {"sqrt", [](const V& x) { return sqrt(x); }, -1, qnan, qnan},
      {"rsqrt", [](const V& x) { return rsqrt(x); }, 0, inf, -inf},
      {"rsqrt", [](const V& x) { return rsqrt(x); }, inf, 0, -0.0},
      {"log", [](const V& x) { return log(x); }, 0, -inf, inf},
      {"log", [](const V& x) { return log(x); }, inf, inf, 0},
      {"log1p", [](const V& x) { return log1p(x); }, -1, -inf, inf},
      {"abs", [](const V& x) { return abs(x); }, 0, 0, 0},
      {"abs", [](const V& x) { return abs(x); }, -0.0, 0, 0},
      {"relu", [](const V& x) { return relu(x); }, 0, 0, 0},
      {"exp", [](const V& x) { return exp(x); }, -inf, 0, 0},
      {"exp", [](const V& x) { return exp(x); }, 1000, inf, inf},
      {"expm1", [](const V& x) { return expm1(x); }, -inf, -1, 0},
      {"tanh", [](const V& x) { return tanh(x); }, inf, 1, 0},
      {"tanh", [](const V& x) { return tanh(x); }, 0, 0, 1},
      {"sigmoid", [](const V& x) { return sigmoid(x); }, -inf, 0, 0},
      {"sigmoid", [](const V& x) { return sigmoid(x); }, 0, 0.5, 0.25},
      {"softplus", [](const V& x) { return softplus(x); }, inf, inf, 1},
      {"softplus", [](const V& x) { return softplus(x); }, -inf, 0, 0},
      {"log_sigmoid", [](const V& x) { return log_sigmoid(x); }, -inf, -inf, 1},
      {"elu", [](const V& x) { return elu(x, 2.0); }, -inf, -2, 0},
      {"elu", [](const V& x) { return elu(x, 2.0); }, 0, 0, 2},
      {"erf", [](const V& x) { return erf(x); }, -inf, -1, 0},
      {"atan", [](const V& x) { return atan(x); }, inf, M_PI / 2, 0},
      {"atan", [](const V& x) { return atan(x); }, 0, 0, 1},
      {"sinh", [](const V& x) { return sinh(x); }, 0, 0, 1},
      {"cosh", [](const V& x) { return cosh(x); }, 0, 1, 0},
      {"cosh", [](const V& x) { return cosh(x); }, 1000, inf, inf},
      {"tan", [](const V& x) { return tan(x); }, 0, 0, 1},
      {"logit", [](const V& x) { return logit(x); }, 0, -inf, inf},
      {"logit", [](const V& x) { return logit(x); }, 1, inf, inf},
      {"logit", [](const V& x) { return logit(x); }, 1.5, qnan, qnan},
      {"logit", [](const V& x) { return logit(x); }, 0.5, 0, 4},
      {"logit(eps)", [](const V& x) { return logit(x, 0.25); }, 0.1, std::log(1.0 / 3.0), 0},
      {"logit(eps)", [](const V& x) { return logit(x, 0.25); }, 0.25, std::log(1.0 / 3.0), 1 / 0.1875},
      {"silu", [](const V& x) { return silu(x); }, -inf, -0.0, 0},
      {"silu", [](const V& x) { return silu(x); }, inf, inf, 1},
      {"silu", [](const V& x) { return silu(x); }, 0, 0, 0.5},
      {"gelu", [](const V& x) { return gelu(x); }, -inf, -0.0, 0},
      {"gelu", [](const V& x) { return gelu(x); }, inf, inf, 1},
      {"gelu", [](const V& x) { return gelu(x); }, 0, 0, 0.5},
      {"gelu_tanh", [](const V& x) { return gelu(x, GeluApproximation::tanh); }, -inf, -0.0, 0},
      {"gelu_tanh", [](const V& x) { return gelu(x, GeluApproximation::tanh); }, 1e200, 1e200, 1},
      {"gelu_tanh", [](const V& x) { return gelu(x, GeluApproximation::tanh); }, 0, 0, 0.5},
      {"lgamma", [](const V& x) { return lgamma(x); }, 0, inf, qnan},
      {"digamma", [](const V& x) { return digamma(x); }, -2, qnan, qnan},
  };
  for (const Case& c : cases) {
    const auto [y, d] = at(c.op, c.x);
    check_ref(y, c.y, fmt::format("{}({}) value", c.name, c.x));
    check_ref(d, c.dydx, fmt::format("{}({}) slope", c.name, c.x));
  }
}

TEST_CASE("xlogy and binary cross-entropy with logits at their edges") {
  using V = Var<double>;
  auto xlogy_at = [](double x, double y) {
    return run_binary<double>([](const V& a, const V& b) { return xlogy(a, b); }, std::vector<double>{x},
                              std::vector<double>{y});
  };
  {
    const auto [y, dx, dy] = xlogy_at(0, 0);  // 0 log 0 = 0, both gradients 0 (torch.xlogy)
    CHECK(y(0) == 0);
    CHECK(dx(0) == 0);
    CHECK(dy(0) == 0);
  }
  {
    const auto [y, dx, dy] = xlogy_at(0, inf);
    CHECK(y(0) == 0);
    CHECK(dx(0) == inf);
    CHECK(dy(0) == 0);
  }
  CHECK(std::isnan(std::get<0>(xlogy_at(0, qnan))(0)));
  {
    const auto [y, dx, dy] = xlogy_at(2, 0.5);
    check_ref(y(0), -1.3862943611198906188, "xlogy(2, ½)");  // mpmath: 2 log ½
    check_ref(dx(0), std::log(0.5), "d/dx xlogy(2, ½)");
    check_ref(dy(0), 4.0, "d/dy xlogy(2, ½)");
  }
  auto bce = [](double l, double t) {
    return run_binary<double>([](const V& a, const V& b) { return binary_cross_entropy_with_logits(a, b); },
                              std::vector<double>{l}, std::vector<double>{t});
  };
  {
    const auto [y, dl, dt] = bce(50, 1);  // log1p(e^(−50)) and σ(50) − 1 = −e^(−50)/(1 + e^(−50))
    check_ref(y(0), 1.928749847963917783e-22, "bce(50, 1)");
    check_ref(dl(0), -1.928749847963917783e-22, "d/dl bce(50, 1)");
    check_ref(dt(0), -50, "d/dt bce(50, 1)");
  }
  {
    const auto [y, dl, dt] = bce(-30, 0.3);  // mpmath with t = the double nearest 0.3
    check_ref(y(0), 9.0000000000000932432, "bce(−30, 0.3)");
    check_ref(dl(0), -0.29999999999990641267, "d/dl bce(−30, 0.3)");
  }
  {
    const auto [y, dl, dt] = bce(inf, 1);
    CHECK(y(0) == 0);
    CHECK(dl(0) == 0);
    CHECK(dt(0) == -inf);
  }
  CHECK(std::get<0>(bce(-inf, 0))(0) == 0);
  CHECK(std::get<0>(bce(-inf, 1))(0) == inf);
  CHECK(std::get<0>(bce(inf, 0.5))(0) == inf);
}

TEST_CASE("new elementwise ops: gradients against central differences, also for a reused input") {
  using V = Var<double>;
  struct Case {
    const char* name;
    std::function<V(const V&)> op;
    double lo, hi;
  };
  const std::vector<Case> cases = {
      {"tan", [](const V& x) { return tan(x); }, -1.2, 1.2},
      {"atan", [](const V& x) { return atan(x); }, -3, 3},
      {"sinh", [](const V& x) { return sinh(x); }, -3, 3},
      {"cosh", [](const V& x) { return cosh(x); }, -3, 3},
      {"rsqrt", [](const V& x) { return rsqrt(x); }, 0.2, 3},
      {"logit", [](const V& x) { return logit(x); }, 0.05, 0.95},
      {"logit(eps)", [](const V& x) { return logit(x, 0.2); }, 0.05, 0.95},  // some clamped
      {"gelu", [](const V& x) { return gelu(x); }, -4, 4},
      {"gelu_tanh", [](const V& x) { return gelu(x, GeluApproximation::tanh); }, -4, 4},
      {"silu", [](const V& x) { return silu(x); }, -6, 6},
      {"elu far left", [](const V& x) { return elu(x); }, -30, -20},
      {"pow near 0", [](const V& x) { return pow(x, 1.5); }, 1e-3, 0.1},
      {"pow negative base", [](const V& x) { return pow(x, 3.0); }, -2, -0.5},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const Array<double> x0 = test::rand({3, 4}, 7, c.lo, c.hi);
    check_gradients([&](Tape<double>&, const auto& in) { return c.op(in[0]); }, {x0}, c.name);
    check_gradients([&](Tape<double>&, const auto& in) { return c.op(in[0]) * in[0]; }, {x0},
                    std::string(c.name) + " reused");
  }
  // Binary: xlogy and the tensor pow, with broadcasting
  const Array<double> a = test::rand({3, 4}, 8, 0.2, 2), b = test::rand({4}, 9, 0.2, 2);
  check_gradients([](Tape<double>&, const auto& in) { return xlogy(in[0], in[1]); }, {a, b}, "xlogy");
  check_gradients([](Tape<double>&, const auto& in) { return pow(in[0], in[1]); }, {a, b}, "pow tensor");
  // xlogy at x = 0: the y-gradient is 0 (the finite differences in y are exactly 0 there too)
  Array<double> a0 = a;
  a0(0, 0) = 0;
  check_gradients([](Tape<double>&, const auto& in) { return xlogy(in[0], in[1]); }, {a0, b}, "xlogy at x = 0");
}

TEST_CASE("min, prod, var, stddev, norm, cumsum: gradients against central differences, every axis") {
  const Array<double> x = test::rand({3, 4, 5}, 21, 0.5, 1.5);
  for (int axis : {0, 1, 2, -1}) {
    CAPTURE(axis);
    check_gradients([axis](Tape<double>&, const auto& in) { return min(in[0], axis); }, {x}, "min axis");
    check_gradients([axis](Tape<double>&, const auto& in) { return prod(in[0], axis, true); }, {x}, "prod axis");
    check_gradients([axis](Tape<double>&, const auto& in) { return var(in[0], axis); }, {x}, "var axis");
    check_gradients([axis](Tape<double>&, const auto& in) { return var(in[0], axis, 0, true); }, {x}, "var c=0");
    check_gradients([axis](Tape<double>&, const auto& in) { return stddev(in[0], axis); }, {x}, "stddev axis");
    check_gradients([axis](Tape<double>&, const auto& in) { return norm(in[0], axis); }, {x - 1.0}, "norm axis");
    check_gradients([axis](Tape<double>&, const auto& in) { return cumsum(in[0], axis); }, {x}, "cumsum");
    // reused input: accumulation into an existing gradient
    check_gradients([axis](Tape<double>&, const auto& in) { return prod(in[0], axis, true) * in[0]; }, {x},
                    "prod reused");
  }
  check_gradients([](Tape<double>&, const auto& in) { return min(in[0]); }, {x}, "min full");
  check_gradients([](Tape<double>&, const auto& in) { return prod(in[0]); }, {x}, "prod full");
  check_gradients([](Tape<double>&, const auto& in) { return norm(in[0]); }, {x - 1.0}, "norm full");
  check_gradients([](Tape<double>&, const auto& in) { return norm(in[0]) * norm(in[0], 0, true); }, {x - 1.0},
                  "norm reused");
}

TEST_CASE("prod with zeros, min ties, var far from 0, std at zero spread, norm at 0 and at 1e200") {
  Tape<double> tape;
  // one zero: it gets the product of the others, the others 0; two zeros: all 0. Exact values.
  Var<double> x = tape.variable(arr({2, 4}, {2, 0, 3, 4, 0, 5, 0, 6}));
  Var<double> p = prod(x, 1);
  CHECK(p.value()(0) == 0);
  p.backward(arr({2}, {1, 1}));
  check_close(x.grad(), arr({2, 4}, {0, 24, 0, 0, 0, 0, 0, 0}), 0);
  check_gradients([](Tape<double>&, const auto& in) { return prod(in[0], 1); }, {arr({2, 4}, {2, 0, 3, 4, 0, 5, 0, 6})},
                  "prod with zeros");
  check_gradients([](Tape<double>&, const auto& in) { return prod(in[0]); }, {arr({3}, {0, 2, -3})}, "prod one zero");

  // ties share the gradient (1/k each), as max
  Var<double> t = tape.variable(arr({4}, {1, -2, 3, -2}));
  min(t).backward();
  check_close(t.grad(), arr({4}, {0, 0.5, 0, 0.5}), 0);

  // two-pass variance: exact for data far from 0 (one-pass Σx² − n x̄² loses every digit here).
  // mpmath: var([1e8+1, 1e8+2, 1e8+4]) = 2.3333333333333333333, std = 1.5275252316519466689
  Var<double> v = tape.variable(arr({3, 1}, {1e8 + 1, 1e8 + 2, 1e8 + 4}));
  check_ref(var(v, 0).value()(0), 2.3333333333333333333, "var far from 0");
  check_ref(stddev(v, 0).value()(0), 1.5275252316519466689, "std far from 0");

  // std at zero spread: y = 0 and the gradient 0 (PyTorch), not 0/0
  Var<double> c = tape.variable(arr({3}, {2, 2, 2}));
  Var<double> s = stddev(c, 0);
  CHECK(s.value()() == 0);
  s.backward();
  check_close(c.grad(), arr({3}, {0, 0, 0}), 0);
  CHECK(std::isnan(var(tape.variable(arr({1}, {5})), 0).value()()));  // n = correction: 0/0

  // norm: the zero vector has gradient 0; huge entries do not overflow. mpmath: √2 · 1e200, 1/√2
  Var<double> z = tape.variable(arr({3}, {0, 0, 0}));
  Var<double> nz = norm(z);
  CHECK(nz.value()() == 0);
  nz.backward();
  check_close(z.grad(), arr({3}, {0, 0, 0}), 0);
  Var<double> h = tape.variable(arr({2}, {1e200, -1e200}));
  Var<double> nh = norm(h);
  check_ref(nh.value()(), 1.414213562373095006e+200, "‖(1e200, −1e200)‖");
  nh.backward();
  check_ref(h.grad()(0), 0.7071067811865475244, "d‖x‖/dx at 1e200");
  Var<double> tiny = tape.variable(arr({2}, {3e-200, 4e-200}));
  check_ref(norm(tiny).value()(), 5e-200, "‖(3e−200, 4e−200)‖");
  CHECK(norm(tape.variable(arr({2}, {1, inf}))).value()() == inf);
  CHECK(std::isnan(norm(tape.variable(arr({2}, {1, qnan}))).value()()));

  // cumsum along the middle axis, exact small integers
  Var<double> q = tape.variable(arr({2, 3, 1}, {1, 2, 3, 4, 5, 6}));
  check_close(cumsum(q, 1).value(), arr({2, 3, 1}, {1, 3, 6, 4, 9, 15}), 0);
}

TEST_CASE("slice and index_select on any axis; bmm") {
  const Array<double> x = test::rand({3, 5, 4}, 31);
  Tape<double> tape;
  Var<double> v = tape.variable(x);
  // x[:, 1:5:2, :] and the Python rules for negative and out-of-range positions
  Var<double> s = slice(v, 1, 1, 5, 2);
  REQUIRE(s.shape() == Shape{3, 2, 4});
  CHECK(s.value()(2, 1, 3) == x(2, 3, 3));
  CHECK(slice(v, -1, -3, 100).shape() == Shape{3, 5, 3});
  CHECK(slice(v, 0, 2, 1).shape() == Shape{0, 5, 4});
  CHECK(slice(v, 2, -100, -1, 3).shape() == Shape{3, 5, 1});
  test::check_throws_with([&] { slice(v, 1, 0, 2, 0); }, {"slice", "step"});
  test::check_throws_with([&] { slice(v, 3, 0, 2); }, {"slice"});
  for (int axis : {0, 1, 2}) {
    CAPTURE(axis);
    check_gradients([axis](Tape<double>&, const auto& in) { return slice(in[0], axis, 1, 4, 2); }, {x}, "slice");
    check_gradients(
        [axis](Tape<double>&, const auto& in) {
          return index_select(in[0], axis, {2, 0, 2});
        },
        {x}, "index_select");
  }
  Var<double> g = index_select(v, 2, {3, 3, 1});
  REQUIRE(g.shape() == Shape{3, 5, 3});
  CHECK(g.value()(1, 4, 2) == x(1, 4, 1));
  test::check_throws_with([&] { index_select(v, 1, {5}); }, {"index_select", "5", "(3, 5, 4)"});

  // bmm against a loop of 2-D matmuls, and its gradients
  const Array<double> a = test::rand({3, 2, 4}, 41), b = test::rand({3, 4, 5}, 42);
  Var<double> c = bmm(tape.constant(a), tape.constant(b));
  REQUIRE(c.shape() == Shape{3, 2, 5});
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t r = 0; r < 2; ++r)
      for (std::size_t j = 0; j < 5; ++j) {
        double e = 0;
        for (std::size_t k = 0; k < 4; ++k) e += a(i, r, k) * b(i, k, j);
        CHECK(c.value()(i, r, j) == doctest::Approx(e).epsilon(1e-14));
      }
  check_gradients([](Tape<double>&, const auto& in) { return bmm(in[0], in[1]); }, {a, b}, "bmm");
  check_gradients([](Tape<double>&, const auto& in) { return bmm(in[0], in[0]); }, {test::rand({2, 3, 3}, 43)},
                  "bmm reused");
  test::check_throws_with([&] { bmm(tape.constant(a), tape.constant(a)); }, {"bmm", "(3, 2, 4)"});
}

TEST_CASE("float instantiations of the new ops run and agree with double") {
  Tape<float> tf;
  Tape<double> td;
  const Array<double> x = test::rand({2, 3}, 51, 0.1, 0.9);
  Var<float> xf = tf.variable(xt::cast<float>(x));
  Var<double> xd = td.variable(x);
  auto both = [&](auto op, const char* name) {
    CAPTURE(name);
    Var<float> yf = op(xf);
    Var<double> yd = op(xd);
    check_close(yf.value(), yd.value(), 1e-5);
  };
  both([](const auto& v) { return sum(tan(v) + atan(v) + sinh(v) + cosh(v) + rsqrt(v) + logit(v, 0.01)); }, "unary");
  both([](const auto& v) { return sum(gelu(v) + gelu(v, GeluApproximation::tanh) + silu(v) + xlogy(v, v)); }, "act");
  both([](const auto& v) { return min(v, 0) + prod(v, 0) + var(v, 0) + stddev(v, 0) + norm(v, 0); }, "reduce");
  both([](const auto& v) { return sum(cumsum(v, 1)) + sum(slice(v, 1, 0, 3, 2)) + sum(index_select(v, 1, {2})); },
       "shape");
  both([](const auto& v) { return sum(bmm(reshape(v, {1, 2, 3}), reshape(v, {1, 3, 2}))) + min(v) + norm(v); }, "bmm");
}
