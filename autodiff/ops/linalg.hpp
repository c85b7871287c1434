// tapir/autodiff/ops/linalg.hpp — matrix products through BLAS (sgemm/dgemm).
#pragma once

#include "autodiff/tape.hpp"

namespace tapir {

/// C = A B for A (m, k) and B (k, n);  dA = G Bᵀ, dB = Aᵀ G. Forward and both backward products are
/// single gemm calls with the transposes passed as BLAS flags and beta = 1 to accumulate in place.
template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b);

/// C_i = A_i B_i for A (b, m, k) and B (b, k, n): one gemm per batch, forward and backward
/// (dA_i = G_i B_iᵀ, dB_i = A_iᵀ G_i). No broadcasting of the batch axis.
template <class T>
Var<T> bmm(const Var<T>& a, const Var<T>& b);

/// y = x W + b for x (m, k), W (k, n), b (n,) — a Linear layer in one node:  dx = G Wᵀ, dW = xᵀ G,
/// db = Σ_rows G. x may have leading axes, (..., m, k) → (..., m, n): they are rows (no copy). The bias is copied into
/// the output and the product added by one gemm with beta = 1, so the layer costs no separate broadcast add, and no
/// gradient copy, compared with matmul + b. In float on tapir's own kernel (blas_sgemm_bias) the kernel adds the bias
/// as it stores each block instead: the same bits, without the copy.
template <class T>
Var<T> linear(const Var<T>& x, const Var<T>& w, const Var<T>& b);

/// C = op(A) op(B) with plain arrays (no tape): the BLAS call matmul uses, for code outside the tape.
/// Row-major: C (m, n) = alpha · op(A) op(B) + beta · C, op(X) = Xᵀ when trans_x; op(A) is (m, k).
void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
          const float* b, float beta, float* c);
void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a,
          const double* b, double beta, double* c);

}  // namespace tapir
