// tapir/autodiff/sgemm.hpp — tapir's own float matrix product, for CPUs with AVX-512.
//
// Why tapir multiplies float matrices itself: on a CPU OpenBLAS 0.3.21 does not know by model number
// (a VM reporting "Intel Xeon Processor" with AVX-512 flags), OpenBLAS runs SSE3 or, pinned with
// OPENBLAS_CORETYPE=Haswell, AVX2 kernels, and BLIS 0.9 falls back to its AVX2 ones: half of what a
// core with two 512-bit FMA units does. This product is the textbook blocked one (C in 12 × 32 blocks,
// the operands packed into panels, autodiff/sgemm_avx512.cpp's kernel on each block), with the blocks
// handed to tapir's pool (autodiff/parallel.hpp).
//
// Numbers: every element of C is one sum over k in increasing order, one fused multiply-add per term
// (in chunks of at most kKc terms added into C in order), whatever the thread count or the block it
// falls in. So results do not depend on the thread count, and they differ from a BLAS library's only
// by rounding (their k order differs).
#pragma once

#include <cstddef>

namespace tapir::detail {

/// True when this build has the kernel and the CPU (and OS) run AVX-512F.
bool own_sgemm_available();

/// C (m×n) = alpha · op(A) · op(B) + beta · C, row-major, as blas_sgemm; on up to `threads` of tapir's
/// threads. beta == 0 does not read C. Requires own_sgemm_available() (a build without the kernel throws
/// std::logic_error; k == 0 and alpha == 0 only scale C, on any build). With a bias (n floats), C = alpha ·
/// op(A) op(B) + bias in every row, beta ignored: the same bits as beta = 1 over C filled with the bias,
/// without that pass over C.
void own_sgemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
               const float* b, float beta, float* c, std::size_t threads, const float* bias = nullptr);

}  // namespace tapir::detail
