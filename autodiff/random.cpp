// tapir/autodiff/random.cpp — xoshiro256** with splitmix64 seeding; Box–Muller normals.
#include "autodiff/random.hpp"

#include "autodiff/parallel.hpp"

#include <fmt/format.h>

#include <cmath>
#include <numeric>

namespace tapir {

namespace {
std::uint64_t splitmix64(std::uint64_t& x) {  // the next output of splitmix64 from state x
  const std::uint64_t z = counter_bits(x, 0);
  x += 0x9e3779b97f4a7c15ULL;
  return z;
}
}  // namespace

void Rng::seed(std::uint64_t seed) {
  std::uint64_t x = seed;
  for (auto& w : state_.s) w = splitmix64(x);
  state_.has_spare = false;
  state_.spare = 0;
}

namespace {
/// Box–Muller: two independent N(0, 1) draws from u1 ∈ (0, 1] and u2 ∈ [0, 1). normal() and fill_normal
/// both go through here, so their numbers are the same bits.
inline void box_muller(double u1, double u2, double& first, double& second) {
  constexpr double two_pi = 6.283185307179586476925;
  const double r = std::sqrt(-2.0 * std::log(u1));
  first = r * std::cos(two_pi * u2);
  second = r * std::sin(two_pi * u2);
}
}  // namespace

double Rng::normal() {
  if (state_.has_spare) {
    state_.has_spare = false;
    return state_.spare;
  }
  const double u1 = 1.0 - uniform();  // (0, 1]: log is finite
  const double u2 = uniform();
  double first;
  box_muller(u1, u2, first, state_.spare);
  state_.has_spare = true;
  return first;
}

std::uint64_t Rng::below(std::uint64_t n) {
  if (n == 0) throw Error("Rng::below: n must be positive");
  const std::uint64_t limit = ~std::uint64_t(0) - (~std::uint64_t(0) % n);  // reject the biased tail
  std::uint64_t x;
  do x = next_u64();
  while (x >= limit);
  return x % n;
}

template <class T>
void fill_normal(Rng& rng, Array<T>& out, T mean, T std) {
  // The same numbers as n calls of rng.normal(), in two passes: the uniforms drawn in the stream's order
  // on this thread, then Box–Muller's log, square root, sine and cosine (most of a normal's cost; a VAE
  // step draws batch × N_z of them while tapir's other threads would wait) on tapir's threads, pair by
  // pair, each pair as normal() computes it. Inside a parallel task (an evaluation's chunks) the second
  // pass runs inline. A spare waiting from an earlier call comes first; an odd last draw leaves one waiting.
  const std::size_t n = out.size();
  T* o = out.data();
  std::size_t i = 0;
  if (n > 0 && rng.state().has_spare) o[i++] = static_cast<T>(mean + std * rng.normal());
  const std::size_t pairs = (n - i) / 2;
  constexpr std::size_t kGrain = 256;  // pairs per task: a few µs of libm calls
  if (pairs > kGrain) {
    thread_local std::vector<double> u;
    u.resize(2 * pairs);
    for (std::size_t p = 0; p < pairs; ++p) {
      u[2 * p] = 1.0 - rng.uniform();  // (0, 1]: log is finite
      u[2 * p + 1] = rng.uniform();
    }
    T* dst = o + i;
    const double* src = u.data();
    parallel_chunks(pairs, kGrain, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t p = lo; p < hi; ++p) {
        double first, second;
        box_muller(src[2 * p], src[2 * p + 1], first, second);
        dst[2 * p] = static_cast<T>(mean + std * first);
        dst[2 * p + 1] = static_cast<T>(mean + std * second);
      }
    });
    i += 2 * pairs;
    // normal() leaves its last pair's second value in the state, used or not: so does this (a checkpoint
    // of the generator has the same bytes either way).
    Rng::State st = rng.state();
    double first;
    box_muller(src[2 * pairs - 2], src[2 * pairs - 1], first, st.spare);
    rng.set_state(st);
  }
  for (; i < n; ++i) o[i] = static_cast<T>(mean + std * rng.normal());
}

template <class T>
void fill_uniform(Rng& rng, Array<T>& out, T lo, T hi) {
  for (auto& v : out) {
    const T u = static_cast<T>(lo + (hi - lo) * rng.uniform());
    v = u < hi ? u : std::nextafter(hi, lo);  // [lo, hi) also after rounding to T (float rounds up to hi)
  }
}

template <class T>
Array<T> normal(Rng& rng, const Shape& shape, T mean, T std) {
  Array<T> a = Array<T>::from_shape(shape);
  fill_normal(rng, a, mean, std);
  return a;
}

template <class T>
Array<T> uniform(Rng& rng, const Shape& shape, T lo, T hi) {
  Array<T> a = Array<T>::from_shape(shape);
  fill_uniform(rng, a, lo, hi);
  return a;
}

template <class T>
Array<T> bernoulli(Rng& rng, const Array<T>& probs) {
  Array<T> a = Array<T>::from_shape(probs.shape());
  for (std::size_t i = 0; i < probs.size(); ++i) {
    const T p = probs.data()[i];
    if (!(p >= T(0) && p <= T(1)))
      throw Error(fmt::format("bernoulli: probability {} at flat index {} is outside [0, 1]", p, i));
    a.data()[i] = rng.uniform() < static_cast<double>(p) ? T(1) : T(0);
  }
  return a;
}

template <class T>
Array<T> bernoulli(Rng& rng, const Shape& shape, T p) {
  if (!(p >= T(0) && p <= T(1))) throw Error(fmt::format("bernoulli: probability {} is outside [0, 1]", p));
  Array<T> a = Array<T>::from_shape(shape);
  for (auto& v : a) v = rng.uniform() < static_cast<double>(p) ? T(1) : T(0);
  return a;
}

void permutation(Rng& rng, std::size_t n, std::vector<std::size_t>& out) {
  out.resize(n);
  std::iota(out.begin(), out.end(), std::size_t(0));
  for (std::size_t i = n; i > 1; --i) std::swap(out[i - 1], out[rng.below(i)]);
}

std::vector<std::size_t> permutation(Rng& rng, std::size_t n) {
  std::vector<std::size_t> p;
  permutation(rng, n, p);
  return p;
}

#define TAPIR_INSTANTIATE(T)                           \
  template void fill_normal(Rng&, Array<T>&, T, T);    \
  template void fill_uniform(Rng&, Array<T>&, T, T);   \
  template Array<T> normal(Rng&, const Shape&, T, T);  \
  template Array<T> uniform(Rng&, const Shape&, T, T); \
  template Array<T> bernoulli(Rng&, const Array<T>&);  \
  template Array<T> bernoulli(Rng&, const Shape&, T);

TAPIR_INSTANTIATE(float)
TAPIR_INSTANTIATE(double)

}  // namespace tapir
