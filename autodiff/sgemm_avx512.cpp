// tapir/autodiff/sgemm_avx512.cpp — the inner kernel of tapir's own float product (autodiff/sgemm.cpp):
// one 12 × 32 block of C from packed panels, in AVX-512.
//
// Only this file is compiled with AVX-512 (CMakeLists.txt), and sgemm.cpp calls it only on a CPU that
// has AVX-512F. It includes nothing but <cstddef> and <immintrin.h> and defines no inline function, so
// no function another file also uses can be emitted here with AVX-512 instructions (the linker keeps
// one copy of such a function, and it could be this one).
#include <immintrin.h>
#include <cstddef>

namespace tapir::detail {

// C[i][j] (i < rows ≤ 12, j < cols ≤ 32, row stride ldc) = alpha · Σ_p a[12p + i] · b[32p + j] + beta · C[i][j];
// beta == 0 does not read C. The sum runs over p = 0, 1, …, kc − 1 in that order, one fused multiply-add
// per term, so every element of C gets the same arithmetic wherever its block sits and whichever thread
// computes it.
void sgemm_block_avx512(std::size_t kc, const float* a, const float* b, float alpha, float beta, float* c,
                        std::size_t ldc, std::size_t rows, std::size_t cols) {
  __m512 lo[12], hi[12];
#pragma GCC unroll 12
  for (int i = 0; i < 12; ++i) lo[i] = hi[i] = _mm512_setzero_ps();
  for (std::size_t p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      lo[i] = _mm512_fmadd_ps(ai, b0, lo[i]);
      hi[i] = _mm512_fmadd_ps(ai, b1, hi[i]);
    }
    a += 12;
    b += 32;
  }
  const __mmask16 m0 = cols >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << cols) - 1);
  const __mmask16 m1 = cols >= 32 ? __mmask16(0xFFFF) : cols <= 16 ? __mmask16(0) : __mmask16((1u << (cols - 16)) - 1);
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 12
  for (int i = 0; i < 12; ++i) {
    if (std::size_t(i) >= rows) break;
    float* ci = c + std::size_t(i) * ldc;
    __m512 r0 = _mm512_mul_ps(va, lo[i]), r1 = _mm512_mul_ps(va, hi[i]);
    if (beta != 0.0f) {
      r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, ci), r0);
      r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, ci + 16), r1);
    }
    _mm512_mask_storeu_ps(ci, m0, r0);
    _mm512_mask_storeu_ps(ci + 16, m1, r1);
  }
}

}  // namespace tapir::detail
