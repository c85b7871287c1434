// tapir/autodiff/blas.hpp — which BLAS multiplies tapir's matrices, on how many threads, with which
// kernels.
//
// tapir links OpenBLAS. OpenBLAS picks its kernels from the CPU's model number, and on CPUs it does not
// know (virtual machines that report "Intel Xeon Processor" with AVX-512 flags, for one) it falls back
// to its SSE3 "Prescott" kernels, 2–3× slower than its AVX2 ones on tapir's products; setting
// OPENBLAS_CORETYPE=Haswell (or SkylakeX) in the environment fixes that for OpenBLAS. BLIS chooses its
// kernels from the CPU's feature flags instead. So the matrix products (gemm) go to:
//   TAPIR_BLAS=openblas  the linked library, always;
//   TAPIR_BLAS=blis      BLIS (libblis.so.4, Debian's libblis4-pthread), loaded at the first product;
//                        an error if it cannot be loaded;
//   TAPIR_BLAS=auto, or unset: the linked library, unless it is OpenBLAS running kernels without AVX2
//                        on a CPU that has AVX2 and FMA and BLIS is installed — then BLIS.
// Only gemm is redirected; the factorisations (autodiff/dense.cpp) stay on the linked library.
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

/// The library doing the products: "OpenBLAS", "BLIS" or "BLAS" (another CBLAS).
const char* blas_library();
/// Its kernels: OpenBLAS's core name ("Haswell", "Prescott", …) or BLIS's configuration ("haswell", "skx").
const char* blas_kernels();
/// One line: library, kernels, threads, and why this library (e.g. "instead of OpenBLAS's Prescott kernels").
std::string blas_summary();

/// The product library's thread count (1 for a library tapir cannot ask).
int blas_threads();
/// Sets it where the library allows (OpenBLAS, BLIS); a no-op otherwise. Values < 1 mean 1.
void set_blas_threads(int n);

/// RAII: the product library on `n` threads for a scope, the previous count restored after.
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
