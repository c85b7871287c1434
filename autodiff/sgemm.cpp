// tapir/autodiff/sgemm.cpp — see sgemm.hpp: blocking, packing and threads around the AVX-512 kernel.
#include "autodiff/sgemm.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "autodiff/parallel.hpp"

namespace tapir::detail {

#ifdef TAPIR_HAVE_AVX512_KERNEL
// autodiff/sgemm_avx512.cpp: A's rows [i0, i0 + rows) as k-major panels of 12 (rows ≤ 12; zero past
// rows); op(B)'s columns [j0, j0 + cols), terms [p0, p0 + kc), as k-major panels of 32; the kernel.
void sgemm_pack_a_avx512(bool ta, const float* a, std::size_t lda, std::size_t i0, std::size_t rows, std::size_t k,
                         float* out);
void sgemm_pack_b_avx512(bool tb, const float* b, std::size_t ldb, std::size_t j0, std::size_t cols, std::size_t p0,
                         std::size_t kc, float* out);
void sgemm_block_avx512(std::size_t kc, const float* a, const float* b, float alpha, float beta, float* c,
                        std::size_t ldc, std::size_t rows, std::size_t cols, const float* bias);
#endif

namespace {

constexpr std::size_t kMr = 12;    // rows of C per kernel call (the kernel's A panel width)
constexpr std::size_t kNr = 32;    // columns of C per kernel call (two 16-float registers)
constexpr std::size_t kKc = 256;   // terms of the k sum per pass: a B panel of kc × 32 floats stays in L1
constexpr std::size_t kMc = 1152;  // rows of A packed at a time (96 panels of all k terms: 2.3 MB at k = 500)

}  // namespace

bool own_sgemm_available() {
#if defined(TAPIR_HAVE_AVX512_KERNEL) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");  // libgcc also checks that the OS saves the 512-bit state
#else
  return false;
#endif
}

void own_sgemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
               const float* b, float beta, float* c, std::size_t threads, const float* bias) {
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == 0.0f) {  // C = beta · C, as BLAS (beta == 0 writes zeros, whatever C held), or the bias
    for (std::size_t i = 0; i < m * n; ++i) c[i] = bias ? bias[i % n] : beta == 0.0f ? 0.0f : beta * c[i];
    return;
  }
#ifdef TAPIR_HAVE_AVX512_KERNEL
  const std::size_t lda = ta ? m : k, ldb = tb ? k : n;
  const std::size_t passes = (k + kKc - 1) / kKc, kc_max = (k + passes - 1) / passes;
  const std::size_t b_panels = (n + kNr - 1) / kNr;
  // The caller's thread owns the packed A; the tasks (any thread) read it and pack their own B panel.
  static thread_local std::vector<float> a_pack;
  for (std::size_t i0 = 0; i0 < m; i0 += kMc) {
    const std::size_t mc = std::min(kMc, m - i0), a_panels = (mc + kMr - 1) / kMr;
    if (a_pack.size() < a_panels * kMr * k) a_pack.resize(a_panels * kMr * k);
    float* ap = a_pack.data();
    // A's panels, each holding every pass: panel r's pass q starts at ap + r·12k + 12·q·kc_max.
    parallel_for(
        a_panels,
        [&](std::size_t r) {
          sgemm_pack_a_avx512(ta, a, lda, i0 + r * kMr, std::min(kMr, mc - r * kMr), k, ap + r * kMr * k);
        },
        a_panels * kMr * k >= 32768 ? threads : 1);
    // Tasks: one B panel against a run of A panels. Enough tasks to keep every thread busy; their
    // grouping does not change a number.
    const std::size_t runs = std::min(a_panels, std::max<std::size_t>(1, (2 * threads + b_panels - 1) / b_panels));
    const std::size_t per_run = (a_panels + runs - 1) / runs;
    const auto task = [&](std::size_t t) {
      const std::size_t jp = t / runs, run = t % runs;
      const std::size_t j0 = jp * kNr, cols = std::min(kNr, n - j0);
      const std::size_t r_lo = run * per_run, r_hi = std::min(a_panels, r_lo + per_run);
      static thread_local std::vector<float> b_buffer(kKc * kNr);
      float* b_pack = b_buffer.data();
      for (std::size_t q = 0, p0 = 0; q < passes; ++q, p0 += kc_max) {
        const std::size_t kc = std::min(kc_max, k - p0);
        sgemm_pack_b_avx512(tb, b, ldb, j0, cols, p0, kc, b_pack);
        for (std::size_t r = r_lo; r < r_hi; ++r) {
          const std::size_t row = i0 + r * kMr;
          sgemm_block_avx512(kc, ap + r * kMr * k + kMr * p0, b_pack, alpha, q == 0 ? beta : 1.0f, c + row * n + j0, n,
                             std::min(kMr, m - row), cols, q == 0 && bias ? bias + j0 : nullptr);
        }
      }
    };
    const double flops = 2.0 * double(mc) * double(n) * double(k);
    parallel_for(b_panels * runs, task, flops >= 1e6 ? threads : 1);
  }
#else
  (void)ta, (void)tb, (void)a, (void)b, (void)threads, (void)bias;
  throw std::logic_error("own_sgemm: this build has no AVX-512 kernel (callers check own_sgemm_available())");
#endif
}

}  // namespace tapir::detail
