// bench/bench_tape.cpp — what the tape costs on a real model: the Kingma–Welling VAE loss (float32,
// batch 100, MNIST sizes 784-500-20-500-784), forward + backward to all 10 parameters, three ways:
//   (a) tape    Parameters + tape.param + ops (the batch as tape.constant_view, the Bernoulli term as
//               the VAE's fused dist::bernoulli_log_prob_summed), loss.backward(), tape.clear(),
//               zero_grad every step;
//   (b) manual  the same arithmetic (the ops' stable forms, e.g. tanh' = 4e/(1 + e)²) written by hand:
//               BLAS (tapir::gemm) + xtensor with xt::noalias into preallocated buffers, the backward
//               derived by hand, no tape;
//   (c) sgemm   the 14 sgemm calls the tape makes (same shapes, flags and betas), nothing else;
//   (d) train   the trainer's whole step (models/train/trainer.cpp's loop body): a minibatch gathered from
//               bytes and binarised (data::gather_binarized), the library's VAE (models::Vae) and AEVB
//               method (the paper's prior, Adagrad with its decay) doing forward, backward and update,
//               tape.clear() — what `tapir train vae` times per step, timed here in the same rounds as
//               (c), so that epoch / raw sgemm is a ratio of neighbours, not of two processes' runs.
// (a) and (b) are checked against each other (loss and all 10 gradients) before anything is timed.
//
// Every sgemm, the library's included, goes through __wrap_ of tapir::blas_sgemm (linker --wrap, see
// CMakeLists.txt), which adds its wall time to a counter: that splits each step into sgemm time and
// everything else. __wrap_posix_memalign (xtensor's array allocations) and a replaced operator new count
// heap allocations per step.
//
//   bench_tape [--steps N] [--warmup N] [--threads N] [--only abcd] [--seed N]
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "autodiff/autodiff.hpp"
#include "autodiff/parallel.hpp"
#include "models/data/dataset.hpp"
#include "models/methods/methods.hpp"
#include "models/run/config.hpp"
#include "models/vae/vae.hpp"
#include "nn/dist/bernoulli.hpp"

// ---- Instrumentation ------------------------------------------------------------------------------

namespace {
using Clock = std::chrono::steady_clock;
std::atomic<long long> g_sgemm_ns{0};
std::atomic<long long> g_sgemm_calls{0};
std::atomic<long long> g_allocs{0};

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }
}  // namespace

// tapir::blas_sgemm (autodiff/blas.cpp: every float product, whichever library does it), by its
// mangled name.
extern "C" {
void __real__ZN5tapir10blas_sgemmEbbmmmfPKfS1_fPf(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k,
                                                  float alpha, const float* a, const float* b, float beta, float* c);
void __wrap__ZN5tapir10blas_sgemmEbbmmmfPKfS1_fPf(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k,
                                                  float alpha, const float* a, const float* b, float beta, float* c) {
  const auto t0 = Clock::now();
  __real__ZN5tapir10blas_sgemmEbbmmmfPKfS1_fPf(ta, tb, m, n, k, alpha, a, b, beta, c);
  g_sgemm_ns.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count(),
                       std::memory_order_relaxed);
  g_sgemm_calls.fetch_add(1, std::memory_order_relaxed);
}
int __real_posix_memalign(void** p, std::size_t alignment, std::size_t size);
int __wrap_posix_memalign(void** p, std::size_t alignment, std::size_t size) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  return __real_posix_memalign(p, alignment, size);
}
}

// GCC's -Wmismatched-new-delete sees the free() below inlined where a new'd object is deleted; new and
// delete here are a matched pair (malloc / free).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// ---- The model ------------------------------------------------------------------------------------

namespace {

using tapir::Array;
using tapir::gemm;
using F = float;

constexpr std::size_t B = 100, D = 784, H = 500, Z = 20;
constexpr F inv_b = F(1) / F(B);
constexpr int kParams = 10;
// W1 b1 | W2 b2 | W3 b3 | W4 b4 | W5 b5 : encoder 784-500 (tanh), 500-20 (mu), 500-20 (logvar),
// decoder 20-500 (tanh), 500-784 (Bernoulli logits).
const char* const kNames[kParams] = {"W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4", "W5", "b5"};
const tapir::Shape kShapes[kParams] = {{D, H}, {H}, {H, Z}, {Z}, {H, Z}, {Z}, {Z, H}, {H}, {H, D}, {D}};

using Weights = std::array<Array<F>, kParams>;

Array<F> buf(std::size_t rows, std::size_t cols) { return Array<F>::from_shape(tapir::Shape{rows, cols}); }

// (a) ------------------------------------------------------------------------------------------------
struct TapeVae {
  std::array<tapir::Parameter<F>, kParams> p;
  tapir::Tape<F> tape;

  explicit TapeVae(const Weights& w) {
    for (int i = 0; i < kParams; ++i) p[i] = tapir::Parameter<F>(w[i], kNames[i]);
  }

  F step(const Array<F>& x_data, const Array<F>& eps_data) {
    for (auto& q : p) q.zero_grad();
    auto x = tape.constant_view(x_data);  // the batch read in place, as the trainer does
    auto eps = tape.constant_view(eps_data);
    auto W1 = tape.param(p[0]), b1 = tape.param(p[1]), W2 = tape.param(p[2]), b2 = tape.param(p[3]);
    auto W3 = tape.param(p[4]), b3 = tape.param(p[5]), W4 = tape.param(p[6]), b4 = tape.param(p[7]);
    auto W5 = tape.param(p[8]), b5 = tape.param(p[9]);

    auto h = tapir::tanh(tapir::linear(x, W1, b1));
    auto mu = tapir::linear(h, W2, b2);
    auto logvar = tapir::linear(h, W3, b3);
    auto z = mu + tapir::exp(logvar * F(0.5)) * eps;
    auto h2 = tapir::tanh(tapir::linear(z, W4, b4));
    auto logits = tapir::linear(h2, W5, b5);
    // −Σ log Bernoulli(x | logits): the fused op the library's VAE runs (Independent(Bernoulli).log_prob).
    auto rec = -tapir::sum(tapir::dist::bernoulli_log_prob_summed(logits, x));
    auto kl = F(-0.5) * tapir::sum(F(1) + logvar - tapir::square(mu) - tapir::exp(logvar));
    auto loss = (rec + kl) / F(B);
    loss.backward();
    const F l = loss.item();
    tape.clear();
    return l;
  }
  const Array<F>& grad(int i) const { return p[i].grad(); }
};

// (b) ------------------------------------------------------------------------------------------------
/// out (n) = Σ_r g[r, :] — a bias gradient.
void colsum(const F* g, std::size_t rows, std::size_t n, F* out) {
  std::memcpy(out, g, n * sizeof(F));
  for (std::size_t r = 1; r < rows; ++r) {
    const F* src = g + r * n;
    for (std::size_t j = 0; j < n; ++j) out[j] += src[j];
  }
}
/// Every row of out (rows, n) := bias, so that a gemm with beta = 1 adds the product to it.
void fill_rows(F* out, const F* bias, std::size_t rows, std::size_t n) {
  for (std::size_t r = 0; r < rows; ++r) std::memcpy(out + r * n, bias, n * sizeof(F));
}
/// Σ of a contiguous float array with 8 independent double accumulators (vectorises; as accurate as
/// the tape's double-accumulated sum).
double sum_all(const Array<F>& a) {
  const F* p = a.data();
  const std::size_t n = a.size();
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += p[i + j];
  double s = 0;
  for (; i < n; ++i) s += p[i];
  for (double v : acc) s += v;
  return s;
}

struct ManualVae {
  Weights w, g;
  // forward
  Array<F> a1 = buf(B, H), a2 = buf(B, H), t1 = buf(B, H), t2 = buf(B, H);  // pre-activations, e^(−2|a|)
  Array<F> h1 = buf(B, H), mu = buf(B, Z), lv = buf(B, Z), sd = buf(B, Z), ev = buf(B, Z), klt = buf(B, Z),
           z = buf(B, Z), h2 = buf(B, H), logits = buf(B, D), e = buf(B, D), bce = buf(B, D);
  // backward
  Array<F> dlogits = buf(B, D), dh2 = buf(B, H), dz = buf(B, Z), dmu = buf(B, Z), dlv = buf(B, Z), dh1 = buf(B, H);

  explicit ManualVae(const Weights& init) : w(init) {
    for (int i = 0; i < kParams; ++i) g[i] = Array<F>::from_shape(kShapes[i]);
  }

  F step(const Array<F>& x, const Array<F>& eps) {
    const F *W1 = w[0].data(), *b1 = w[1].data(), *W2 = w[2].data(), *b2 = w[3].data(), *W3 = w[4].data(),
            *b3 = w[5].data(), *W4 = w[6].data(), *b4 = w[7].data(), *W5 = w[8].data(), *b5 = w[9].data();
    // Forward. Biases are pre-filled and the product added with beta = 1.
    fill_rows(a1.data(), b1, B, H);
    gemm(false, false, B, H, D, F(1), x.data(), W1, F(1), a1.data());
    xt::noalias(h1) = xt::tanh(a1);
    fill_rows(mu.data(), b2, B, Z);
    gemm(false, false, B, Z, H, F(1), h1.data(), W2, F(1), mu.data());
    fill_rows(lv.data(), b3, B, Z);
    gemm(false, false, B, Z, H, F(1), h1.data(), W3, F(1), lv.data());
    xt::noalias(sd) = xt::exp(F(0.5) * lv);
    xt::noalias(ev) = xt::exp(lv);
    xt::noalias(z) = mu + sd * eps;
    fill_rows(a2.data(), b4, B, H);
    gemm(false, false, B, H, Z, F(1), z.data(), W4, F(1), a2.data());
    xt::noalias(h2) = xt::tanh(a2);
    fill_rows(logits.data(), b5, B, D);
    gemm(false, false, B, D, H, F(1), h2.data(), W5, F(1), logits.data());

    // Bernoulli log-likelihood from logits l: max(l, 0) − l x + log1p(e^−|l|); d/dl = σ(l) − x.
    xt::noalias(e) = xt::exp(-xt::abs(logits));
    // (xt::where, not xt::maximum: xtensor 0.24 drops to scalar code for maximum mixed with log1p/exp.)
    xt::noalias(bce) = xt::where(logits > F(0), logits, F(0)) - logits * x + xt::log1p(e);
    xt::noalias(dlogits) = (xt::where(logits >= F(0), F(1), e) / (F(1) + e) - x) * inv_b;
    const double rec = sum_all(bce);
    // KL = −½ Σ (1 + lv − mu² − e^lv)
    xt::noalias(klt) = F(1) + lv - mu * mu - ev;
    const double kl = -0.5 * sum_all(klt);

    // Backward. Gradients are written with beta = 0 (nothing to zero).
    colsum(dlogits.data(), B, D, g[9].data());
    gemm(true, false, H, D, B, F(1), h2.data(), dlogits.data(), F(0), g[8].data());
    gemm(false, true, B, H, D, F(1), dlogits.data(), W5, F(0), dh2.data());
    // Through tanh, in the op's stable form: 1 − h² = 4e/(1 + e)², e = e^(−2|a|) (1 − h² is 0 in float
    // once |a| > 9; the tape's tanh keeps the true slope there, and so does this).
    xt::noalias(t2) = xt::exp(F(-2) * xt::abs(a2));
    xt::noalias(dh2) = dh2 * (F(4) * t2 / ((F(1) + t2) * (F(1) + t2)));
    colsum(dh2.data(), B, H, g[7].data());
    gemm(true, false, Z, H, B, F(1), z.data(), dh2.data(), F(0), g[6].data());
    gemm(false, true, B, Z, H, F(1), dh2.data(), W4, F(0), dz.data());
    // z = mu + e^(lv/2) eps;  KL: dKL/dmu = mu, dKL/dlv = ½(e^lv − 1); both scaled by 1/B.
    xt::noalias(dmu) = dz + mu * inv_b;
    xt::noalias(dlv) = F(0.5) * (dz * sd * eps + (ev - F(1)) * inv_b);
    colsum(dmu.data(), B, Z, g[3].data());
    colsum(dlv.data(), B, Z, g[5].data());
    gemm(true, false, H, Z, B, F(1), h1.data(), dmu.data(), F(0), g[2].data());
    gemm(true, false, H, Z, B, F(1), h1.data(), dlv.data(), F(0), g[4].data());
    gemm(false, true, B, H, Z, F(1), dmu.data(), W2, F(0), dh1.data());
    gemm(false, true, B, H, Z, F(1), dlv.data(), W3, F(1), dh1.data());
    xt::noalias(t1) = xt::exp(F(-2) * xt::abs(a1));
    xt::noalias(dh1) = dh1 * (F(4) * t1 / ((F(1) + t1) * (F(1) + t1)));
    colsum(dh1.data(), B, H, g[1].data());
    gemm(true, false, D, H, B, F(1), x.data(), dh1.data(), F(0), g[0].data());
    return static_cast<F>((rec + kl) * inv_b);
  }
  const Array<F>& grad(int i) const { return g[i]; }
};

// (c) ------------------------------------------------------------------------------------------------
/// The tape's 14 sgemm calls in its order, with its transposes and betas (the first write to a
/// gradient uses beta = 0; the tape's forward `linear` adds onto the bias with beta = 1, here 0 —
/// the same arithmetic cost). Inputs are
/// copies of the manual model's buffers after a step, so the values are realistic.
struct RawGemms {
  Array<F> x, W1, W2, W3, W4, W5, h1, z, h2, dlogits, dh2, dmu, dlv, dh1;
  Array<F> o_h1, o_mu, o_lv, o_h2, o_logits, o_dh2, o_dz, o_dh1, gW1, gW2, gW3, gW4, gW5;

  RawGemms(const ManualVae& m, const Array<F>& x_)
      : x(x_),
        W1(m.w[0]),
        W2(m.w[2]),
        W3(m.w[4]),
        W4(m.w[6]),
        W5(m.w[8]),
        h1(m.h1),
        z(m.z),
        h2(m.h2),
        dlogits(m.dlogits),
        dh2(m.dh2),
        dmu(m.dmu),
        dlv(m.dlv),
        dh1(m.dh1),
        o_h1(m.h1),
        o_mu(m.mu),
        o_lv(m.lv),
        o_h2(m.h2),
        o_logits(m.logits),
        o_dh2(m.dh2),
        o_dz(m.dz),
        o_dh1(m.dh1),
        gW1(m.g[0]),
        gW2(m.g[2]),
        gW3(m.g[4]),
        gW4(m.g[6]),
        gW5(m.g[8]) {}

  F step() {
    gemm(false, false, B, H, D, F(1), x.data(), W1.data(), F(0), o_h1.data());
    gemm(false, false, B, Z, H, F(1), h1.data(), W2.data(), F(0), o_mu.data());
    gemm(false, false, B, Z, H, F(1), h1.data(), W3.data(), F(0), o_lv.data());
    gemm(false, false, B, H, Z, F(1), z.data(), W4.data(), F(0), o_h2.data());
    gemm(false, false, B, D, H, F(1), h2.data(), W5.data(), F(0), o_logits.data());
    gemm(false, true, B, H, D, F(1), dlogits.data(), W5.data(), F(0), o_dh2.data());
    gemm(true, false, H, D, B, F(1), h2.data(), dlogits.data(), F(1), gW5.data());
    gemm(false, true, B, Z, H, F(1), dh2.data(), W4.data(), F(0), o_dz.data());
    gemm(true, false, Z, H, B, F(1), z.data(), dh2.data(), F(1), gW4.data());
    gemm(false, true, B, H, Z, F(1), dlv.data(), W3.data(), F(0), o_dh1.data());
    gemm(true, false, H, Z, B, F(1), h1.data(), dlv.data(), F(1), gW3.data());
    gemm(false, true, B, H, Z, F(1), dmu.data(), W2.data(), F(1), o_dh1.data());
    gemm(true, false, H, Z, B, F(1), h1.data(), dmu.data(), F(1), gW2.data());
    gemm(true, false, D, H, B, F(1), x.data(), dh1.data(), F(1), gW1.data());
    return o_logits.data()[0];
  }
};

// ---- Measurement ----------------------------------------------------------------------------------

struct Samples {
  std::vector<double> total_ms, sgemm_ms;
  long long sgemm_calls = 0, allocs = 0;
  std::size_t steps = 0;
};

/// Runs one step and records its wall time, the part of it spent in sgemm, and what it allocated.
template <class Fn>
void timed(Samples& s, Fn&& fn) {
  const long long ns0 = g_sgemm_ns.load(), calls0 = g_sgemm_calls.load(), allocs0 = g_allocs.load();
  const auto t0 = Clock::now();
  volatile F sink = fn();
  (void)sink;
  const double ms = ms_since(t0);
  const long long ns = g_sgemm_ns.load() - ns0, calls = g_sgemm_calls.load() - calls0,
                  allocs = g_allocs.load() - allocs0;
  s.total_ms.push_back(ms);
  s.sgemm_ms.push_back(static_cast<double>(ns) * 1e-6);
  s.sgemm_calls += calls;
  s.allocs += allocs;
  ++s.steps;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
double minimum(const std::vector<double>& v) { return v.empty() ? 0 : *std::min_element(v.begin(), v.end()); }
std::vector<double> minus(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> r(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) r[i] = a[i] - b[i];
  return r;
}

/// max |a − b| / max |b|: a normwise relative difference that near-zero entries cannot blow up.
double rel_diff(const Array<F>& a, const Array<F>& b) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num = std::max(num, std::abs(static_cast<double>(a.data()[i]) - b.data()[i]));
    den = std::max(den, std::abs(static_cast<double>(b.data()[i])));
  }
  return den > 0 ? num / den : num;
}

// (d) ------------------------------------------------------------------------------------------------
/// The trainer's step on the paper's MNIST model, from the library's own parts: a synthetic data set of
/// bytes as large as MNIST's training set (60 000 × 784: the gather reads from 47 MB, as in `tapir train`;
/// MNIST-like: three quarters of the pixels 0, the rest uniform), the training order a permutation.
struct TrainStep {
  tapir::models::data::Dataset data;
  tapir::models::VaeTrainConfig config;  // the paper's (tapir train vae's defaults for MNIST)
  tapir::Rng init, rng;
  std::unique_ptr<tapir::models::Vae<F>> model;
  std::unique_ptr<tapir::models::Method> method;
  tapir::Tape<F> tape;
  std::vector<std::size_t> order, idx;
  std::size_t pos = 0;
  Array<F> x;

  explicit TrainStep(std::uint64_t seed, std::size_t n = 60000) : init(seed + 2), rng(seed + 3) {
    data.name = "mnist";
    data.rows = data.cols = 28;
    data.pixels.resize(n * D);
    for (auto& b : data.pixels) b = init.uniform() < 0.75 ? 0 : static_cast<std::uint8_t>(init.uniform() * 256);
    const tapir::models::VaeRunConfig paper = tapir::models::paper_vae_setup("mnist", Z);  // 784-500-20-500-784
    config = paper.train;
    model = std::make_unique<tapir::models::Vae<F>>(paper.model, init);
    method = tapir::models::make_method(*model, config, n, init, rng);
    order = tapir::permutation(init, n);
    idx.reserve(B);
  }

  F step() {
    if (pos + B > order.size()) pos = 0;
    idx.assign(order.begin() + static_cast<long>(pos), order.begin() + static_cast<long>(pos + B));
    pos += B;
    tapir::models::data::gather_binarized(data, idx, rng, x);
    const double b = method->step(x, idx, 1.0, rng, tape);
    tape.clear();
    return static_cast<F>(b);
  }
};

[[noreturn]] void usage(const char* argv0, int code) {
  std::fprintf(
      code ? stderr : stdout,
      "usage: %s [--steps N] [--warmup N] [--threads N] [--only abcd] [--seed N]\n"
      "  --steps N    timed steps per variant (default 200)\n"
      "  --warmup N   untimed steps per variant first (default 20)\n"
      "  --threads N  BLAS threads (default: the library's own, e.g. OPENBLAS_NUM_THREADS)\n"
      "  --only abcd  variants to time: a = tape, b = manual, c = raw sgemm, d = training step (default abcd)\n"
      "  --seed N     seed of data, weights and noise (default 42)\n",
      argv0);
  std::exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  int steps = 200, warmup = 20, threads = 0;
  std::uint64_t seed = 42;
  std::string only = "abcd";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") usage(argv[0], 0);
    if (i + 1 >= argc) usage(argv[0], 2);
    const char* v = argv[++i];
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    const bool numeric = end != v && *end == '\0' && n >= 0;
    if (a == "--steps" && numeric && n > 0)
      steps = static_cast<int>(n);
    else if (a == "--warmup" && numeric)
      warmup = static_cast<int>(n);
    else if (a == "--threads" && numeric && n > 0)
      threads = static_cast<int>(n);
    else if (a == "--seed" && numeric)
      seed = static_cast<std::uint64_t>(n);
    else if (a == "--only" && !std::string(v).empty() && std::string(v).find_first_not_of("abcd") == std::string::npos)
      only = v;
    else
      usage(argv[0], 2);
  }
  if (threads > 0) tapir::set_blas_threads(threads);
  const bool run_a = only.find('a') != std::string::npos, run_b = only.find('b') != std::string::npos,
             run_c = only.find('c') != std::string::npos, run_d = only.find('d') != std::string::npos;

  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  const char* env_threads = std::getenv("OPENBLAS_NUM_THREADS");
  fmt::print("bench_tape: VAE {}-{}-{}-{}-{}, batch {}, float32, forward + backward to {} parameters\n", D, H, Z, H, D,
             B, kParams);
  fmt::print("BLAS: {} threads (OPENBLAS_NUM_THREADS={}{}), kernels '{}', OPENBLAS_CORETYPE={}\n",
             tapir::blas_threads(), env_threads ? env_threads : "(unset)",
             threads > 0 ? fmt::format(", --threads {}", threads) : std::string(), tapir::blas_kernels(),
             coretype ? coretype : "(unset)");
  fmt::print("steps: {} warm-up + {} timed per variant, in rounds of 10 rotating a, b, c, d\n\n", warmup, steps);

  // Data, weights, noise: all from one seeded generator.
  tapir::Rng rng(seed);
  const Array<F> x = tapir::bernoulli<F>(rng, tapir::Shape{B, D}, F(0.5));
  Weights w0;
  for (int i = 0; i < kParams; ++i) w0[i] = tapir::normal<F>(rng, kShapes[i], F(0), F(0.01));
  Array<F> eps = buf(B, Z);
  tapir::Rng noise(seed + 1);

  TapeVae tape_vae(w0);
  ManualVae manual(w0);

  // ---- Correctness: the same step both ways ----
  tapir::fill_normal<F>(noise, eps);
  const F loss_a = tape_vae.step(x, eps);
  const F loss_b = manual.step(x, eps);
  double worst = std::abs(static_cast<double>(loss_a) - loss_b) / std::abs(static_cast<double>(loss_b));
  fmt::print("check (a) tape vs (b) manual, relative difference max|a-b|/max|b|:\n");
  fmt::print("  loss   {:>12.6f} vs {:>12.6f}  {:.1e}\n", loss_a, loss_b, worst);
  std::string line = " ";
  for (int i = 0; i < kParams; ++i) {
    const double r = rel_diff(tape_vae.grad(i), manual.grad(i));
    worst = std::max(worst, r);
    line += fmt::format(" d{} {:.1e}", kNames[i], r);
    if (i == 4) line += "\n ";
  }
  fmt::print("{}\n  worst: {:.1e} ({})\n\n", line, worst, worst < 1e-4 ? "ok" : "MISMATCH");
  if (!(worst < 1e-4)) return 1;

  RawGemms raw(manual, x);
  std::unique_ptr<TrainStep> train;
  if (run_d) train = std::make_unique<TrainStep>(seed);

  // ---- Timing ----
  Samples sa, sb, sc, sd;
  tapir::TapeStats stats_warm{};
  const int round = 10;
  auto run = [&](int n, bool record) {
    for (int done = 0; done < n; done += round) {
      const int k = std::min(round, n - done);
      if (run_a)
        for (int i = 0; i < k; ++i) {
          tapir::fill_normal<F>(noise, eps);
          if (record)
            timed(sa, [&] { return tape_vae.step(x, eps); });
          else
            tape_vae.step(x, eps);
        }
      if (run_b)
        for (int i = 0; i < k; ++i) {
          tapir::fill_normal<F>(noise, eps);
          if (record)
            timed(sb, [&] { return manual.step(x, eps); });
          else
            manual.step(x, eps);
        }
      if (run_c)
        for (int i = 0; i < k; ++i) {
          if (record)
            timed(sc, [&] { return raw.step(); });
          else
            raw.step();
        }
      if (run_d)
        for (int i = 0; i < k; ++i) {
          if (record)
            timed(sd, [&] { return train->step(); });
          else
            train->step();
        }
    }
  };
  run(warmup, false);
  stats_warm = tape_vae.tape.stats();
  run(steps, true);
  const tapir::TapeStats stats_end = tape_vae.tape.stats();

  // ---- Report ----
  struct Row {
    const char* name;
    const Samples* s;
  };
  const Row rows[] = {{"(a) tape", &sa}, {"(b) manual", &sb}, {"(c) raw sgemm", &sc}, {"(d) train step", &sd}};
  fmt::print("{:<14} {:>9} {:>9} {:>11} {:>11} {:>12} {:>12}\n", "variant", "median ms", "min ms", "sgemm med",
             "other med", "sgemm/step", "allocs/step");
  for (const Row& r : rows) {
    if (r.s->steps == 0) continue;
    const double n = static_cast<double>(r.s->steps);
    fmt::print("{:<14} {:>9.3f} {:>9.3f} {:>11.3f} {:>11.3f} {:>12.1f} {:>12.1f}\n", r.name, median(r.s->total_ms),
               minimum(r.s->total_ms), median(r.s->sgemm_ms), median(minus(r.s->total_ms, r.s->sgemm_ms)),
               static_cast<double>(r.s->sgemm_calls) / n, static_cast<double>(r.s->allocs) / n);
  }
  fmt::print("  (sgemm med: time inside sgemm per step; other med: the rest of the step)\n\n");
  if (run_a && run_b) {
    const double ma = median(sa.total_ms), mb = median(sb.total_ms);
    const double na = median(minus(sa.total_ms, sa.sgemm_ms)), nb = median(minus(sb.total_ms, sb.sgemm_ms));
    fmt::print("tape / manual           median {:.3f} ({:+.1f}%), min {:.3f} ({:+.1f}%)\n", ma / mb,
               100 * (ma / mb - 1), minimum(sa.total_ms) / minimum(sb.total_ms),
               100 * (minimum(sa.total_ms) / minimum(sb.total_ms) - 1));
    fmt::print("  non-sgemm time        tape {:.3f} ms vs manual {:.3f} ms: +{:.3f} ms per step\n", na, nb, na - nb);
  }
  if (run_a && run_c)
    fmt::print("tape sgemm / raw sgemm  median {:.3f} ({:.3f} vs {:.3f} ms)\n",
               median(sa.sgemm_ms) / median(sc.sgemm_ms), median(sa.sgemm_ms), median(sc.sgemm_ms));
  if (run_b && run_c)
    fmt::print("manual sgemm / raw      median {:.3f} ({:.3f} vs {:.3f} ms)\n",
               median(sb.sgemm_ms) / median(sc.sgemm_ms), median(sb.sgemm_ms), median(sc.sgemm_ms));
  if (run_c && run_d)
    fmt::print("train step / raw sgemm  median {:.3f} ({:.3f} vs {:.3f} ms): epoch / raw sgemm, from neighbours\n",
               median(sd.total_ms) / median(sc.total_ms), median(sd.total_ms), median(sc.total_ms));
  if (run_a) {
    fmt::print(
        "tape stats: {} slots (nodes per step), {:.1f} MiB reserved; buffer_allocations {} after warm-up, {} "
        "at end ({})\n",
        stats_end.slots, static_cast<double>(stats_end.bytes_reserved) / (1 << 20), stats_warm.buffer_allocations,
        stats_end.buffer_allocations,
        stats_end.buffer_allocations == stats_warm.buffer_allocations ? "no growth" : "GREW");
  }
  return 0;
}
