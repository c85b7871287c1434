// tapir/autodiff/sgemm_avx512.cpp — the AVX-512 parts of tapir's own float product (autodiff/sgemm.cpp):
// packing the operands into panels, and the kernel that makes one 12 × 32 block of C from them.
//
// Only this file is compiled with AVX-512 (CMakeLists.txt), and sgemm.cpp calls it only on a CPU that
// has AVX-512F. It includes nothing but <cstddef> and <immintrin.h> and defines no inline function, so
// no function another file also uses can be emitted here with AVX-512 instructions (the linker keeps
// one copy of such a function, and it could be this one).
#include <immintrin.h>
#include <cstddef>

namespace tapir::detail {

namespace {

/// Transposes 16 rows of 16 floats in registers: afterwards r[q] holds element q of every input row.
void transpose16(__m512 r[16]) {
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
  }
#pragma GCC unroll 2
  for (int h = 0; h < 16; h += 8)
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
      t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0x88);
      t[h + i + 4] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0xdd);
    }
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
  }
}

__mmask16 first(std::size_t n) { return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1); }

/// out[w·p + i] = src[i · ld + p] for i < rows (≤ 16), p < len, zero for rows ≤ i < w (w ≤ 32 per
/// call of 16 columns: the caller runs it for i in [0, 16) and [16, 32)): `rows` rows read 16 floats
/// at a time and transposed in registers.
void transpose_rows(const float* src, std::size_t ld, std::size_t rows, std::size_t len, float* out, std::size_t w,
                    std::size_t width_here) {
  const __mmask16 store = first(width_here);
  for (std::size_t p = 0; p < len; p += 16) {
    const std::size_t n = len - p < 16 ? len - p : 16;
    const __mmask16 load = first(n);
    __m512 r[16];
#pragma GCC unroll 16
    for (std::size_t i = 0; i < 16; ++i)
      r[i] = i < rows ? _mm512_maskz_loadu_ps(load, src + i * ld + p) : _mm512_setzero_ps();
    transpose16(r);
    for (std::size_t q = 0; q < n; ++q) _mm512_mask_storeu_ps(out + (p + q) * w, store, r[q]);
  }
}

}  // namespace

// A's rows [i0, i0 + rows) (rows ≤ 12), all k terms: out[12p + i] = op(A)(i0 + i, p), zero past `rows`.
void sgemm_pack_a_avx512(bool ta, const float* a, std::size_t lda, std::size_t i0, std::size_t rows, std::size_t k,
                         float* out) {
  if (ta) {  // op(A)(i, p) = a[p · lda + i]: 12 neighbours per p
    const __mmask16 load = first(rows), store = first(12);
    for (std::size_t p = 0; p < k; ++p)
      _mm512_mask_storeu_ps(out + 12 * p, store, _mm512_maskz_loadu_ps(load, a + p * lda + i0));
  } else {  // op(A)(i, p) = a[(i0 + i) · lda + p]: rows transposed 16 terms at a time
    transpose_rows(a + i0 * lda, lda, rows, k, out, 12, 12);
  }
}

// op(B)'s columns [j0, j0 + cols) (cols ≤ 32), terms [p0, p0 + kc): out[32p + j], zero past `cols`.
void sgemm_pack_b_avx512(bool tb, const float* b, std::size_t ldb, std::size_t j0, std::size_t cols, std::size_t p0,
                         std::size_t kc, float* out) {
  if (tb) {  // op(B)(p, j) = b[j · ldb + p]: rows of b transposed, 16 at a time
    const float* src = b + j0 * ldb + p0;
    transpose_rows(src, ldb, cols < 16 ? cols : 16, kc, out, 32, 16);
    transpose_rows(src + 16 * ldb, ldb, cols > 16 ? cols - 16 : 0, kc, out + 16, 32, 16);
  } else {  // op(B)(p, j) = b[p · ldb + j]: 32 neighbours per p
    const __mmask16 m0 = first(cols), m1 = first(cols > 16 ? cols - 16 : 0);
    const float* src = b + p0 * ldb + j0;
    for (std::size_t p = 0; p < kc; ++p, src += ldb, out += 32) {
      _mm_prefetch(reinterpret_cast<const char*>(src + 8 * ldb), _MM_HINT_T0);       // rows ldb apart: too far
      _mm_prefetch(reinterpret_cast<const char*>(src + 8 * ldb + 16), _MM_HINT_T0);  // for the hardware
      _mm512_storeu_ps(out, _mm512_maskz_loadu_ps(m0, src));
      _mm512_storeu_ps(out + 16, _mm512_maskz_loadu_ps(m1, src + 16));
    }
  }
}

// C[i][j] (i < rows ≤ 12, j < cols ≤ 32, row stride ldc) = alpha · Σ_p a[12p + i] · b[32p + j] + beta · C[i][j],
// or, with a bias (then beta is ignored), alpha · Σ_p … + bias[j]: the bits of beta = 1 over a C holding the
// bias in every row. beta == 0 does not read C. The sum runs over p = 0, 1, …, kc − 1 in that order, one fused
// multiply-add per term, so every element of C gets the same arithmetic wherever its block sits and whichever thread
// computes it.
void sgemm_block_avx512(std::size_t kc, const float* a, const float* b, float alpha, float beta, float* c,
                        std::size_t ldc, std::size_t rows, std::size_t cols, const float* bias) {
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
  const __m512 bias0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
  const __m512 bias1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 12
  for (int i = 0; i < 12; ++i) {
    if (std::size_t(i) >= rows) break;
    float* ci = c + std::size_t(i) * ldc;
    __m512 r0 = _mm512_mul_ps(va, lo[i]), r1 = _mm512_mul_ps(va, hi[i]);
    if (bias) {  // round(r + bias): what fma(1, C, r) gives with C = bias
      r0 = _mm512_add_ps(r0, bias0);
      r1 = _mm512_add_ps(r1, bias1);
    } else if (beta != 0.0f) {
      r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, ci), r0);
      r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, ci + 16), r1);
    }
    _mm512_mask_storeu_ps(ci, m0, r0);
    _mm512_mask_storeu_ps(ci + 16, m1, r1);
  }
}

}  // namespace tapir::detail
