// tapir/autodiff/blas.hpp — which BLAS multiplies tapir's matrices, on how many threads, with which
// kernels.
//
// tapir links OpenBLAS. OpenBLAS picks its kernels from the CPU's model number, and on CPUs it does not
// know (virtual machines that report "Intel Xeon Processor" with AVX-512 flags, for one) it falls back
// to its SSE3 "Prescott" kernels, 2–3× slower than its AVX2 ones on tapir's products; setting
// OPENBLAS_CORETYPE=Haswell (or SkylakeX) in the environment fixes that for OpenBLAS. BLIS chooses its
// kernels from the CPU's feature flags instead, but BLIS 0.9 runs AVX2 ones on the same VMs. On a CPU
// with AVX-512F, tapir multiplies float matrices itself (autodiff/sgemm.hpp), about 1.4× faster than
// either on tapir's shapes. So the matrix products (gemm) go to:
//   TAPIR_BLAS=auto      float products of at least 4 MFLOP: tapir's own kernel on a CPU with AVX-512F;
//                        the rest: the linked library, unless it is OpenBLAS running kernels without
//                        AVX2 on a CPU that has AVX2 and FMA and BLIS is installed — then BLIS;
//   TAPIR_BLAS=tapir     as auto, and an error on a CPU without AVX-512F;
//   TAPIR_BLAS=openblas  the linked library, always;
//   TAPIR_BLAS=blis      BLIS (libblis.so.4, Debian's libblis4-pthread), loaded at the first product;
//                        an error if it cannot be loaded;
//   unset: the build's choice, cmake -DTAPIR_BLAS_DEFAULT=auto|openblas|blis (default auto).
// Only gemm is redirected; the factorisations (autodiff/dense.cpp) stay on the linked library.
//
// Threads: by default (TAPIR_GEMM_THREADS=tapir) the library runs on one thread and tapir splits each
// product of at least 1 MFLOP into up to 4 blocks of C (columns, or rows when C is taller than wide),
// which its own pool (autodiff/parallel.hpp; TAPIR_NUM_THREADS) runs: the same threads then do the
// elementwise passes, instead of the library's threads spinning beside them. The blocks depend on the
// shape only, so the numbers do not depend on the thread count. TAPIR_GEMM_THREADS=library gives each
// product to the library's own threads instead (OPENBLAS_NUM_THREADS, BLIS_NUM_THREADS). tapir's own
// kernel always runs on tapir's pool, with the same guarantee (autodiff/sgemm.hpp).
// blas_summary() says what was chosen and why; `tapir --version` and the benchmarks print it.
#pragma once

#include <cstddef>
#include <string>

namespace tapir {

/// C (m×n) = alpha · op(A) · op(B) + beta · C, row-major; op(A) is m×k, op(B) k×n.
void blas_sgemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                const float* b, float beta, float* c);
void blas_dgemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a,
                const double* b, double beta, double* c);
/// C (m×n) = A · B + bias in every row (A m×k, B k×n, bias n): the bits of copying the bias into each
/// row of C and then blas_sgemm with beta = 1. On tapir's kernel the bias is added as each block is
/// stored, without that pass over C (a layer's y = x W + b).
void blas_sgemm_bias(std::size_t m, std::size_t n, std::size_t k, const float* a, const float* b, const float* bias,
                     float* c);

/// The library doing the products: "tapir" (its own float kernel), "OpenBLAS", "BLIS" or "BLAS" (another CBLAS).
const char* blas_library();
/// Its kernels: "AVX-512" (tapir's), OpenBLAS's core name ("Haswell", "Prescott", …) or BLIS's configuration
/// ("haswell", "skx").
const char* blas_kernels();
/// One line: library, kernels, threads, and why this library (e.g. "instead of OpenBLAS's Prescott kernels").
std::string blas_summary();

/// True when tapir splits the products over its threads (TAPIR_GEMM_THREADS=tapir, the default): then a
/// product's numbers do not depend on the thread count (the library's own threads do not promise that).
bool blas_split_by_tapir();
/// The threads one product runs on: tapir's (num_threads(), or what set_blas_threads set) when tapir
/// splits the products; else the library's thread count (1 for a library tapir cannot ask).
int blas_threads();
/// Sets it: the most threads tapir splits a product over, or the library's count where the library
/// allows (OpenBLAS, BLIS) under TAPIR_GEMM_THREADS=library. Values < 1 mean 1.
void set_blas_threads(int n);

/// RAII: products on `n` threads for a scope, the previous count restored after.
class BlasThreadsGuard {
 public:
  explicit BlasThreadsGuard(int n) : saved_(blas_threads()) { set_blas_threads(n); }
  ~BlasThreadsGuard() { set_blas_threads(saved_); }
  BlasThreadsGuard(const BlasThreadsGuard&) = delete;
  BlasThreadsGuard& operator=(const BlasThreadsGuard&) = delete;

 private:
  int saved_;
};

}  // namespace tapir
