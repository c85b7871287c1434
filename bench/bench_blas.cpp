// bench_blas: tapir's matrix products through any CBLAS library, loaded at run time.
//
//   bench_blas --lib /usr/lib/x86_64-linux-gnu/blis-pthread/libblis.so.4 --threads 2 [--reps 200]
//
// Loads the library with dlopen (so one binary measures OpenBLAS's pthread and OpenMP builds and BLIS
// side by side; OPENBLAS_CORETYPE is read by OpenBLAS when it loads, so set it in the environment),
// names the kernels it picked (openblas_get_corename, bli_arch_string), and times, as medians over
// --reps repetitions after a warm-up:
//   step    the 14 sgemm calls of one VAE training step (784-500-20-500-784, batch 100), the shapes,
//           transposes and betas tapir's tape makes (bench_tape's raw variant);
//   decode  the decoder's two products for 10 000 latent rows (20→500→784), as evaluation makes them;
//   square  one 1024³ sgemm (the library's peak on this machine);
//   split   `decode` and `step` with the library on one thread, each product's rows split across
//           --threads std::threads by hand (the alternative to the library's own threading).
// `--lib tapir` times tapir's own AVX-512 kernel instead (autodiff/sgemm.hpp, on --threads of tapir's
// threads; CPUs with AVX-512F). Libraries are loaded with RTLD_DEEPBIND, so that BLIS's CBLAS layer
// calls its own sgemm_, not the one tapir's linked OpenBLAS puts in the process.
// Prints one JSON object per line (bench/blas_survey.py reads them).
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "autodiff/sgemm.hpp"

namespace {

enum Order { RowMajor = 101 };
enum Trans { NoTrans = 111, Transposed = 112 };
using Sgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);

Sgemm sgemm_fn = nullptr;

/// `--lib tapir`: tapir's own kernel behind the CBLAS signature (row-major, packed leading dimensions).
int g_own_threads = 1;
void own_cblas_sgemm(int, int ta, int tb, int m, int n, int k, float alpha, const float* a, int, const float* b, int,
                     float beta, float* c, int) {
  tapir::detail::own_sgemm(ta == Transposed, tb == Transposed, std::size_t(m), std::size_t(n), std::size_t(k), alpha, a,
                           b, beta, c, std::size_t(g_own_threads));
}

/// C (m×n) = alpha op(A) op(B) + beta C, row-major, op(A) m×k, op(B) k×n.
void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, const float* b, float beta, float* c) {
  sgemm_fn(RowMajor, ta ? Transposed : NoTrans, tb ? Transposed : NoTrans, m, n, k, alpha, a, ta ? m : k, b, tb ? k : n,
           beta, c, n);
}

/// The same product with its rows split across `threads` std::threads (for ta = false: rows of A and
/// C; for ta = true the rows of C are columns of A, which are contiguous in a row-major A too).
void gemm_split(int threads, bool ta, bool tb, int m, int n, int k, float alpha, const float* a, const float* b,
                float beta, float* c) {
  if (threads <= 1 || m < 2 * threads) return gemm(ta, tb, m, n, k, alpha, a, b, beta, c);
  std::vector<std::thread> pool;
  const int per = (m + threads - 1) / threads;
  for (int t = 0; t < threads; ++t) {
    const int r0 = t * per, r1 = std::min(m, r0 + per);
    if (r0 >= r1) break;
    pool.emplace_back([=] {
      // ta: A is k×m row-major; rows r0..r1 of C use columns r0..r1 of A (leading dimension m).
      sgemm_fn(RowMajor, ta ? Transposed : NoTrans, tb ? Transposed : NoTrans, r1 - r0, n, k, alpha,
               ta ? a + r0 : a + std::size_t(r0) * k, ta ? m : k, b, tb ? k : n, beta, c + std::size_t(r0) * n, n);
    });
  }
  for (auto& th : pool) th.join();
}

std::vector<float> filled(std::size_t n, std::mt19937& g) {
  std::normal_distribution<float> d(0.f, 0.1f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

double time_ms(int reps, const std::function<void()>& f) {
  for (int i = 0; i < std::max(3, reps / 10); ++i) f();
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return median(ms);
}

}  // namespace

int main(int argc, char** argv) {
  std::string lib;
  int threads = 1, reps = 200;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--lib" && i + 1 < argc)
      lib = argv[++i];
    else if (a == "--threads" && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (a == "--reps" && i + 1 < argc)
      reps = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: bench_blas --lib PATH [--threads N] [--reps N]\n");
      return 2;
    }
  }
  if (lib.empty() || threads < 1 || reps < 1) {
    std::fprintf(stderr, "bench_blas: --lib PATH is required; --threads and --reps must be positive\n");
    return 2;
  }
  std::string kernels = "?";
  void* h = nullptr;
  if (lib == "tapir") {  // tapir's own AVX-512 kernel (autodiff/sgemm.hpp) on `threads` of tapir's threads
    if (!tapir::detail::own_sgemm_available()) {
      std::fprintf(stderr, "bench_blas: --lib tapir needs a CPU with AVX-512F\n");
      return 1;
    }
    sgemm_fn = &own_cblas_sgemm;
    kernels = "AVX-512";
  } else {
    h = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  }
  if (!h && !sgemm_fn) {
    std::fprintf(stderr, "bench_blas: cannot load %s: %s\n", lib.c_str(), dlerror());
    return 1;
  }
  if (h) sgemm_fn = reinterpret_cast<Sgemm>(dlsym(h, "cblas_sgemm"));
  if (!sgemm_fn) {
    std::fprintf(stderr, "bench_blas: %s has no cblas_sgemm\n", lib.c_str());
    return 1;
  }
  auto set_threads = [&](int n) {
    g_own_threads = n;
    if (!h) return;
    if (auto f = reinterpret_cast<void (*)(int)>(dlsym(h, "openblas_set_num_threads"))) f(n);
    if (auto f = reinterpret_cast<void (*)(long)>(dlsym(h, "bli_thread_set_num_threads"))) f(n);
  };
  if (auto f = h ? reinterpret_cast<char* (*)()>(dlsym(h, "openblas_get_corename")) : nullptr) kernels = f();
  if (auto q = h ? reinterpret_cast<int (*)()>(dlsym(h, "bli_arch_query_id")) : nullptr)
    if (auto s = reinterpret_cast<const char* (*)(int)>(dlsym(h, "bli_arch_string"))) kernels = s(q());

  constexpr int B = 100, D = 784, H = 500, Z = 20, R = 10000, S = 1024;
  std::mt19937 g(1);
  auto x = filled(B * D, g), W1 = filled(D * H, g), W2 = filled(H * Z, g), W3 = filled(H * Z, g), W4 = filled(Z * H, g),
       W5 = filled(H * D, g), h1 = filled(B * H, g), z = filled(B * Z, g), h2 = filled(B * H, g), dl = filled(B * D, g),
       dh2 = filled(B * H, g), dmu = filled(B * Z, g), dlv = filled(B * Z, g), o1 = filled(B * H, g),
       o2 = filled(B * Z, g), o3 = filled(B * Z, g), o4 = filled(B * H, g), o5 = filled(B * D, g),
       o6 = filled(B * H, g), o7 = filled(B * Z, g), o8 = filled(B * H, g), gW1 = filled(D * H, g),
       gW2 = filled(H * Z, g), gW3 = filled(H * Z, g), gW4 = filled(Z * H, g), gW5 = filled(H * D, g);
  auto zr = filled(std::size_t(R) * Z, g), hr = filled(std::size_t(R) * H, g), lr = filled(std::size_t(R) * D, g);
  auto sa = filled(S * S, g), sb = filled(S * S, g), sc = filled(S * S, g);

  auto step = [&](int split) {
    auto mm = [&](bool ta, bool tb, int m, int n, int k, const float* a, const float* b, float beta, float* c) {
      gemm_split(split, ta, tb, m, n, k, 1.f, a, b, beta, c);
    };
    mm(false, false, B, H, D, x.data(), W1.data(), 0.f, o1.data());
    mm(false, false, B, Z, H, h1.data(), W2.data(), 0.f, o2.data());
    mm(false, false, B, Z, H, h1.data(), W3.data(), 0.f, o3.data());
    mm(false, false, B, H, Z, z.data(), W4.data(), 0.f, o4.data());
    mm(false, false, B, D, H, h2.data(), W5.data(), 0.f, o5.data());
    mm(false, true, B, H, D, dl.data(), W5.data(), 0.f, o6.data());
    mm(true, false, H, D, B, h2.data(), dl.data(), 1.f, gW5.data());
    mm(false, true, B, Z, H, dh2.data(), W4.data(), 0.f, o7.data());
    mm(true, false, Z, H, B, z.data(), dh2.data(), 1.f, gW4.data());
    mm(false, true, B, H, Z, dlv.data(), W3.data(), 0.f, o8.data());
    mm(true, false, H, Z, B, h1.data(), dlv.data(), 1.f, gW3.data());
    mm(false, true, B, H, Z, dmu.data(), W2.data(), 1.f, o8.data());
    mm(true, false, H, Z, B, h1.data(), dmu.data(), 1.f, gW2.data());
    mm(true, false, D, H, B, x.data(), o8.data(), 1.f, gW1.data());
  };
  auto decode = [&](int split) {
    gemm_split(split, false, false, R, H, Z, 1.f, zr.data(), W4.data(), 0.f, hr.data());
    gemm_split(split, false, false, R, D, H, 1.f, hr.data(), W5.data(), 0.f, lr.data());
  };
  // Five products of D·H and nine of H·Z multiply-adds per batch row (forward, input and weight gradients).
  const double step_flop = 2.0 * B * (5.0 * D * H + 9.0 * H * Z);
  const double decode_flop = 2.0 * R * (double(Z) * H + double(H) * D), square_flop = 2.0 * S * double(S) * S;

  set_threads(threads);
  const double t_step = time_ms(reps, [&] { step(1); });
  const double t_decode = time_ms(std::max(5, reps / 20), [&] { decode(1); });
  const double t_square =
      time_ms(std::max(5, reps / 20), [&] { gemm(false, false, S, S, S, 1.f, sa.data(), sb.data(), 0.f, sc.data()); });
  double t_step_split = 0, t_decode_split = 0;  // 0: not measured (tapir's kernel splits by itself)
  if (threads > 1 && h) {
    set_threads(1);
    t_step_split = time_ms(reps, [&] { step(threads); });
    t_decode_split = time_ms(std::max(5, reps / 20), [&] { decode(threads); });
  }
  const char* ct = std::getenv("OPENBLAS_CORETYPE");
  std::printf(
      "{\"lib\": \"%s\", \"kernels\": \"%s\", \"coretype\": \"%s\", \"threads\": %d, \"step_ms\": %.4f, "
      "\"step_gflops\": %.1f, \"decode_ms\": %.3f, \"decode_gflops\": %.1f, \"square_gflops\": %.1f, "
      "\"step_split_ms\": %.4f, \"decode_split_ms\": %.3f}\n",
      lib.c_str(), kernels.c_str(), ct ? ct : "unset", threads, t_step, step_flop / t_step * 1e-6, t_decode,
      decode_flop / t_decode * 1e-6, square_flop / t_square * 1e-6, t_step_split, t_decode_split);
  return 0;
}
