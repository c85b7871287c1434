// tapir's own float product (autodiff/sgemm.hpp): against the definition in double for every transpose,
// alpha and beta, at the sizes where its blocks end (12 rows, 32 columns, 256 terms, 1152 rows); the
// same bits at any thread count; BLAS's conventions at the edges (k = 0, alpha = 0, beta = 0 with NaN
// in C).
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "autodiff/blas.hpp"
#include "autodiff/parallel.hpp"
#include "autodiff/random.hpp"
#include "autodiff/sgemm.hpp"
#include "check.hpp"

using namespace tapir;
using tapir::detail::own_sgemm;
using tapir::detail::own_sgemm_available;

namespace {

struct Case {
  std::size_t m, n, k;
};

/// Checks C = alpha op(A) op(B) + beta C0 element by element, within float's rounding of the sum
/// (k + 2 roundings of at most 2⁻²⁴ each, relative to Σ|terms|).
void check_product(bool ta, bool tb, Case s, float alpha, float beta, std::size_t threads, Rng& rng) {
  const auto [m, n, k] = s;
  const Array<float> a = normal<float>(rng, ta ? Shape{k, m} : Shape{m, k}, 0.0f, 1.0f);
  const Array<float> b = normal<float>(rng, tb ? Shape{n, k} : Shape{k, n}, 0.0f, 1.0f);
  Array<float> c = normal<float>(rng, {m, n}, 0.0f, 1.0f);
  const Array<float> c0 = c;
  own_sgemm(ta, tb, m, n, k, alpha, a.data(), b.data(), beta, c.data(), threads);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double want = beta == 0.0f ? 0.0 : double(beta) * c0(i, j), scale = std::abs(want);
      for (std::size_t l = 0; l < k; ++l) {
        const double t = double(alpha) * (ta ? a(l, i) : a(i, l)) * (tb ? b(j, l) : b(l, j));
        want += t;
        scale += std::abs(t);
      }
      if (!(std::abs(c(i, j) - want) <= double(k + 2) * 0x1p-24 * scale)) ++bad;
    }
  INFO("m ", m, " n ", n, " k ", k, " ta ", ta, " tb ", tb, " alpha ", alpha, " beta ", beta, " threads ", threads);
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("tapir's own sgemm: every transpose, alpha and beta, at its blocks' edges") {
  if (!own_sgemm_available()) {
    MESSAGE("this CPU (or build) has no AVX-512F: tapir's own sgemm is not used here, nothing to test");
    return;
  }
  Rng rng(17);
  const std::vector<Case> cases = {{1, 1, 1},     {12, 32, 1},    {13, 33, 7},   {11, 31, 255}, {25, 65, 256},
                                   {24, 64, 257}, {100, 500, 20}, {37, 19, 513}, {1153, 40, 9}, {5, 700, 300}};
  for (const Case& s : cases)
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (float alpha : {1.0f, -0.5f})
          for (float beta : {0.0f, 1.0f, 0.25f}) check_product(ta, tb, s, alpha, beta, 2, rng);
}

TEST_CASE("tapir's own sgemm: the same bits at 1, 2 and 3 threads, and through blas_sgemm") {
  if (!own_sgemm_available()) return;
  Rng rng(23);
  for (auto [m, n, k] : {std::array<std::size_t, 3>{100, 500, 784}, std::array<std::size_t, 3>{784, 500, 100},
                         std::array<std::size_t, 3>{1300, 45, 300}})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const Array<float> a = normal<float>(rng, ta ? Shape{k, m} : Shape{m, k}, 0.0f, 1.0f);
        const Array<float> b = normal<float>(rng, tb ? Shape{n, k} : Shape{k, n}, 0.0f, 1.0f);
        const Array<float> c0 = normal<float>(rng, {m, n}, 0.0f, 1.0f);
        std::vector<Array<float>> got;
        for (std::size_t threads : {1, 2, 3}) {
          Array<float> c = c0;
          own_sgemm(ta, tb, m, n, k, 1.0f, a.data(), b.data(), 1.0f, c.data(), threads);
          got.push_back(c);
        }
        if (std::string(blas_library()) == "tapir") {  // the products' default route on this CPU
          Array<float> c = c0;
          blas_sgemm(ta, tb, m, n, k, 1.0f, a.data(), b.data(), 1.0f, c.data());
          got.push_back(c);
        }
        for (const Array<float>& g : got) CHECK(std::equal(g.begin(), g.end(), got[0].begin()));
      }
}

TEST_CASE("tapir's own sgemm keeps BLAS's conventions: beta = 0 ignores C, k = 0 and alpha = 0 scale C") {
  if (!own_sgemm_available()) return;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> a(40 * 50, 1.0f), b(50 * 60, 2.0f);
  std::vector<float> c(40 * 60, nan);
  own_sgemm(false, false, 40, 60, 50, 1.0f, a.data(), b.data(), 0.0f, c.data(), 2);
  for (float v : c) CHECK(v == 100.0f);  // NaN in C does not leak through beta = 0
  own_sgemm(false, false, 40, 60, 0, 1.0f, a.data(), b.data(), 0.5f, c.data(), 2);
  for (float v : c) CHECK(v == 50.0f);
  own_sgemm(false, false, 40, 60, 50, 0.0f, a.data(), b.data(), 2.0f, c.data(), 2);
  for (float v : c) CHECK(v == 100.0f);
  std::fill(c.begin(), c.end(), nan);
  own_sgemm(false, false, 40, 60, 0, 1.0f, a.data(), b.data(), 0.0f, c.data(), 2);
  for (float v : c) CHECK(v == 0.0f);
  // Inf and NaN in A or B reach exactly the elements of C they touch.
  std::vector<float> a2(a), c2(40 * 60, 0.0f);
  a2[3 * 50 + 7] = std::numeric_limits<float>::infinity();
  own_sgemm(false, false, 40, 60, 50, 1.0f, a2.data(), b.data(), 0.0f, c2.data(), 2);
  for (std::size_t i = 0; i < 40; ++i)
    for (std::size_t j = 0; j < 60; ++j) CHECK((i == 3 ? std::isinf(c2[i * 60 + j]) : c2[i * 60 + j] == 100.0f));
}

TEST_CASE("a product with a bias (y = x W + b): the bits of beta = 1 over C holding the bias, on any route") {
  // Sizes at the blocks' edges (12 rows, 32 columns, 256 terms), one k of a single pass and two of
  // several, one at the 1152-row block; NaN in the output buffer must not leak (it is never read).
  Rng rng(31);
  for (auto [m, n, k] : {std::array<std::size_t, 3>{13, 33, 7}, std::array<std::size_t, 3>{100, 500, 784},
                         std::array<std::size_t, 3>{25, 784, 257}, std::array<std::size_t, 3>{1153, 40, 500},
                         std::array<std::size_t, 3>{3, 5, 0}}) {
    CAPTURE(m);
    CAPTURE(n);
    CAPTURE(k);
    const Array<float> a = normal<float>(rng, {m, k}, 0.0f, 1.0f), b = normal<float>(rng, {k, n}, 0.0f, 1.0f);
    const Array<float> bias = normal<float>(rng, {n}, 0.0f, 1.0f);
    Array<float> want = Array<float>::from_shape({m, n});
    for (std::size_t i = 0; i < m; ++i) std::copy_n(bias.data(), n, want.data() + i * n);
    if (k > 0) blas_sgemm(false, false, m, n, k, 1.0f, a.data(), b.data(), 1.0f, want.data());
    Array<float> got = xt::full_like(want, std::numeric_limits<float>::quiet_NaN());
    blas_sgemm_bias(m, n, k, a.data(), b.data(), bias.data(), got.data());
    CHECK(std::equal(got.begin(), got.end(), want.begin()));
    if (own_sgemm_available() && k > 0) {  // the kernel's own path, against the copy and beta = 1 on the kernel
      for (std::size_t threads : {1, 2, 3}) {
        Array<float> own = xt::full_like(want, std::numeric_limits<float>::quiet_NaN());
        own_sgemm(false, false, m, n, k, 1.0f, a.data(), b.data(), 0.0f, own.data(), threads, bias.data());
        Array<float> copied = Array<float>::from_shape({m, n});
        for (std::size_t i = 0; i < m; ++i) std::copy_n(bias.data(), n, copied.data() + i * n);
        own_sgemm(false, false, m, n, k, 1.0f, a.data(), b.data(), 1.0f, copied.data(), threads);
        CHECK(std::equal(own.begin(), own.end(), copied.begin()));
      }
    }
  }
}
