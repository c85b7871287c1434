// tapir/autodiff/blas.cpp — see blas.hpp: the product library, chosen once at the first use.
#include "autodiff/blas.hpp"

#include <dlfcn.h>
#include <fmt/format.h>
#include <strings.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

#include "autodiff/array.hpp"
#include "autodiff/parallel.hpp"
#include "autodiff/sgemm.hpp"

// CBLAS as linked (OpenBLAS's LP64 interface: int indices; the enums are ints).
extern "C" {
void cblas_sgemm(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
void cblas_dgemm(int, int, int, int, int, int, double, const double*, int, const double*, int, double, double*, int);
// OpenBLAS's extensions, when the linked library is OpenBLAS (weak: null otherwise).
__attribute__((weak)) void openblas_set_num_threads(int);
__attribute__((weak)) int openblas_get_num_threads();
__attribute__((weak)) char* openblas_get_corename();
}

// AddressSanitizer refuses RTLD_DEEPBIND (google/sanitizers#611), which loading BLIS needs (below).
#if defined(__SANITIZE_ADDRESS__)
#define TAPIR_NO_DEEPBIND 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TAPIR_NO_DEEPBIND 1
#endif
#endif

// The choice when TAPIR_BLAS is unset: cmake -DTAPIR_BLAS_DEFAULT=auto|openblas|blis.
#ifndef TAPIR_BLAS_DEFAULT
#define TAPIR_BLAS_DEFAULT "auto"
#endif

namespace tapir {

namespace {

constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
using Sgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
using Dgemm = void (*)(int, int, int, int, int, int, double, const double*, int, const double*, int, double, double*,
                       int);

struct Backend {
  Sgemm sgemm = &cblas_sgemm;
  Dgemm dgemm = &cblas_dgemm;
  const char* library = "BLAS";
  std::string kernels = "unknown";
  std::string why;
  // BLIS's thread controls when BLIS does the products.
  void (*bli_set_threads)(long) = nullptr;
  long (*bli_get_threads)() = nullptr;
  // TAPIR_GEMM_THREADS=tapir (the default): the library on one thread, tapir's pool splits products.
  bool split = true;
  // Float products on tapir's own AVX-512 kernel (autodiff/sgemm.hpp); the fields above then describe
  // the library doing the double ones.
  bool own_sgemm = false;
};

constexpr double kSplitFlops = 1e6;     // products below this run whole, on the calling thread
constexpr double kOwnFlops = 4e6;       // tapir's own kernel takes float products from here (smaller: the library)
constexpr std::size_t kMaxParts = 4;    // and those above in at most this many parts …
constexpr double kPartFlops = 16e6;     // … of at least this much work each (shape only: see gemm_parts)
std::atomic<int> g_product_threads{0};  // set_blas_threads under TAPIR_GEMM_THREADS=tapir; 0 = num_threads()

bool equals_ignoring_case(const std::string& a, const char* b) { return strcasecmp(a.c_str(), b) == 0; }

/// OpenBLAS's x86-64 cores with AVX2 kernels.
bool openblas_core_has_avx2(const std::string& core) {
  for (const char* c : {"Haswell", "SkylakeX", "Cooperlake", "SapphireRapids", "Zen", "Excavator"})
    if (equals_ignoring_case(core, c)) return true;
  return false;
}

bool cpu_has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

/// BLIS from Debian's libblis4-pthread (else whichever libblis.so.4 the loader finds), or false.
bool load_blis(Backend& b, std::string& error) {
#ifdef TAPIR_NO_DEEPBIND
  (void)b;
  error = "not under AddressSanitizer, which refuses RTLD_DEEPBIND";
  return false;
#else
  // RTLD_DEEPBIND: BLIS's cblas_sgemm calls sgemm_, which the process already has from OpenBLAS; without
  // it BLIS's CBLAS layer would hand every product straight back to OpenBLAS.
  const int flags = RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND;
  void* h = dlopen("/usr/lib/x86_64-linux-gnu/blis-pthread/libblis.so.4", flags);
  if (!h) h = dlopen("libblis.so.4", flags);
  if (!h) {
    const char* e = dlerror();
    error = e ? e : "libblis.so.4 not found";
    return false;
  }
  auto s = reinterpret_cast<Sgemm>(dlsym(h, "cblas_sgemm"));
  auto d = reinterpret_cast<Dgemm>(dlsym(h, "cblas_dgemm"));
  if (!s || !d) {
    error = "libblis.so.4 has no CBLAS interface (cblas_sgemm, cblas_dgemm)";
    return false;
  }
  b.sgemm = s;
  b.dgemm = d;
  b.library = "BLIS";
  b.bli_set_threads = reinterpret_cast<void (*)(long)>(dlsym(h, "bli_thread_set_num_threads"));
  b.bli_get_threads = reinterpret_cast<long (*)()>(dlsym(h, "bli_thread_get_num_threads"));
  auto query = reinterpret_cast<int (*)()>(dlsym(h, "bli_arch_query_id"));
  auto name = reinterpret_cast<const char* (*)(int)>(dlsym(h, "bli_arch_string"));
  if (query && name) b.kernels = name(query());
  // BLIS runs on one thread unless told; OpenBLAS on every core (or OPENBLAS_NUM_THREADS): keep the
  // thread count the user gets from OpenBLAS unless BLIS's own variable says otherwise.
  if (b.bli_set_threads && !std::getenv("BLIS_NUM_THREADS"))
    b.bli_set_threads(openblas_get_num_threads ? openblas_get_num_threads() : 1);
  return true;
#endif
}

Backend choose() {
  Backend b;
  const bool openblas = openblas_get_corename != nullptr;
  if (openblas) {
    b.library = "OpenBLAS";
    b.kernels = openblas_get_corename();
  }
  const char* env = std::getenv("TAPIR_BLAS");
  const bool from_env = env && *env;
  const std::string mode = from_env ? env : TAPIR_BLAS_DEFAULT;
  const std::string setting = from_env ? "TAPIR_BLAS=" + mode : "the build's TAPIR_BLAS_DEFAULT=" + mode;
  std::string error;
  const bool own = equals_ignoring_case(mode, "tapir") || equals_ignoring_case(mode, "auto");
  if (equals_ignoring_case(mode, "tapir") && !detail::own_sgemm_available())
    throw Error(fmt::format("{}, but {}: set TAPIR_BLAS=auto", setting,
                            "this build or this CPU has no AVX-512F for tapir's own kernel"));
  if (own && detail::own_sgemm_available()) b.own_sgemm = true;
  if (equals_ignoring_case(mode, "openblas")) {
    b.why = setting;
  } else if (equals_ignoring_case(mode, "blis")) {
    if (!load_blis(b, error))
      throw Error(fmt::format(
          "{}, but BLIS cannot be loaded ({}): install libblis4-pthread, or set TAPIR_BLAS=openblas", setting, error));
    b.why = setting;
  } else if (own) {  // auto, or tapir: its kernel for the large float products, this choice for the rest
    if (equals_ignoring_case(mode, "tapir")) b.why = setting;
    if (openblas && !openblas_core_has_avx2(b.kernels) && cpu_has_avx2_fma()) {
      const std::string slow = b.kernels;
      if (load_blis(b, error))
        b.why = fmt::format(
            "instead of OpenBLAS's {} kernels on a CPU with AVX2 (OPENBLAS_CORETYPE=Haswell or "
            "TAPIR_BLAS=openblas keep OpenBLAS)",
            slow);
      else
        b.why = fmt::format(
            "OpenBLAS chose its {} kernels on a CPU with AVX2: set OPENBLAS_CORETYPE=Haswell, or install "
            "libblis4-pthread",
            slow);
    }
  } else {
    throw Error(fmt::format("{} is not a choice: use auto, tapir, openblas or blis", setting));
  }
  const char* threads = std::getenv("TAPIR_GEMM_THREADS");
  const std::string who = threads && *threads ? threads : "tapir";
  if (equals_ignoring_case(who, "library")) {
    b.split = false;
  } else if (equals_ignoring_case(who, "tapir")) {
    if (b.bli_set_threads) b.bli_set_threads(1);
    if (openblas_set_num_threads) openblas_set_num_threads(1);
  } else {
    throw Error(fmt::format("TAPIR_GEMM_THREADS='{}' is not a choice: use tapir or library", who));
  }
  return b;
}

Backend& backend() {
  static Backend b = choose();
  return b;
}

int flag(bool t) { return t ? kTrans : kNoTrans; }
int bi(std::size_t v) { return static_cast<int>(v); }

int product_threads() {
  const int n = g_product_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : static_cast<int>(num_threads());
}

/// C = α op(A) op(B) + β C in up to kMaxParts column blocks (or row blocks) of C, one library call each
/// (on one thread), spread over tapir's pool. Each element of C is computed by one call, over the whole
/// k, so it does not matter which thread does which part; and the parts depend on the shape only, so
/// the numbers are the same at any thread count (one thread runs the parts one after the other).
template <class T, class G>
void gemm_parts(G g, bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a, const T* b,
                T beta, T* c) {
  const double flops = 2.0 * double(m) * double(n) * double(k);
  const std::size_t lda = ta ? m : k, ldb = tb ? k : n, ldc = n;
  const bool split_n = m <= n;  // every part packs the operand it shares: share the smaller one
  const std::size_t dim = split_n ? n : m;
  std::size_t parts = flops < kSplitFlops ? 1 : std::min<std::size_t>(kMaxParts, std::max(2.0, flops / kPartFlops));
  parts = std::min(parts, std::max<std::size_t>(1, dim / 16));
  if (parts <= 1) {
    g(kRowMajor, flag(ta), flag(tb), bi(m), bi(n), bi(k), alpha, a, bi(lda), b, bi(ldb), beta, c, bi(ldc));
    return;
  }
  const std::size_t step = ((dim + parts - 1) / parts + 15) / 16 * 16;  // whole 16-row (column) panels
  const std::size_t count = (dim + step - 1) / step;
  const auto part = [&](std::size_t p) {
    const std::size_t lo = p * step, len = std::min(dim, lo + step) - lo;
    if (split_n)
      g(kRowMajor, flag(ta), flag(tb), bi(m), bi(len), bi(k), alpha, a, bi(lda), tb ? b + lo * ldb : b + lo, bi(ldb),
        beta, c + lo, bi(ldc));
    else
      g(kRowMajor, flag(ta), flag(tb), bi(len), bi(n), bi(k), alpha, ta ? a + lo : a + lo * lda, bi(lda), b, bi(ldb),
        beta, c + lo * ldc, bi(ldc));
  };
  parallel_for(count, part, static_cast<std::size_t>(product_threads()));
}

}  // namespace

void blas_sgemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                const float* b, float beta, float* c) {
  if (m == 0 || n == 0) return;
  const Backend& be = backend();
  if (be.own_sgemm && 2.0 * double(m) * double(n) * double(k) >= kOwnFlops)
    return detail::own_sgemm(ta, tb, m, n, k, alpha, a, b, beta, c, std::size_t(product_threads()));
  if (be.split) return gemm_parts(be.sgemm, ta, tb, m, n, k, alpha, a, b, beta, c);
  be.sgemm(kRowMajor, flag(ta), flag(tb), bi(m), bi(n), bi(k), alpha, a, ta ? bi(m) : bi(k), b, tb ? bi(k) : bi(n),
           beta, c, bi(n));
}

void blas_sgemm_bias(std::size_t m, std::size_t n, std::size_t k, const float* a, const float* b, const float* bias,
                     float* c) {
  if (m == 0 || n == 0) return;
  const Backend& be = backend();
  if (be.own_sgemm && k > 0 && 2.0 * double(m) * double(n) * double(k) >= kOwnFlops)
    return detail::own_sgemm(false, false, m, n, k, 1.0f, a, b, 0.0f, c, std::size_t(product_threads()), bias);
  for (std::size_t i = 0; i < m; ++i) std::copy_n(bias, n, c + i * n);
  if (k > 0) blas_sgemm(false, false, m, n, k, 1.0f, a, b, 1.0f, c);
}

void blas_dgemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a,
                const double* b, double beta, double* c) {
  if (m == 0 || n == 0) return;
  const Backend& be = backend();
  if (be.split) return gemm_parts(be.dgemm, ta, tb, m, n, k, alpha, a, b, beta, c);
  be.dgemm(kRowMajor, flag(ta), flag(tb), bi(m), bi(n), bi(k), alpha, a, ta ? bi(m) : bi(k), b, tb ? bi(k) : bi(n),
           beta, c, bi(n));
}

bool blas_split_by_tapir() { return backend().split; }

const char* blas_library() { return backend().own_sgemm ? "tapir" : backend().library; }
const char* blas_kernels() { return backend().own_sgemm ? "AVX-512" : backend().kernels.c_str(); }

std::string blas_summary() {
  const Backend& b = backend();
  std::string s = b.split ? fmt::format("{} ({} kernels; products split over {} of tapir's threads)", b.library,
                                        b.kernels, product_threads())
                          : fmt::format("{} ({} kernels, {} threads)", b.library, b.kernels, blas_threads());
  if (!b.why.empty()) s += ": " + b.why;
  if (b.own_sgemm)
    s = fmt::format(
        "tapir (AVX-512 kernels; float products of at least 4 MFLOP on {} of tapir's threads); the rest: {}",
        product_threads(), s);
  return s;
}

int blas_threads() {
  const Backend& b = backend();
  if (b.split || b.own_sgemm) return product_threads();
  if (b.bli_get_threads) return static_cast<int>(std::max(1L, b.bli_get_threads()));
  if (openblas_get_num_threads) return openblas_get_num_threads();
  return 1;
}

void set_blas_threads(int n) {
  if (n < 1) n = 1;
  Backend& b = backend();
  if (b.split || b.own_sgemm) g_product_threads.store(n, std::memory_order_relaxed);  // tapir's parts
  if (b.split) return;                                                                // the library stays on one thread
  if (b.bli_set_threads) b.bli_set_threads(n);
  if (openblas_set_num_threads) openblas_set_num_threads(n);  // the factorisations' library
}

}  // namespace tapir
