// tapir/autodiff/random.hpp — an explicit, seedable generator and draws into arrays.
//
// There is no global generator: every function that draws takes an Rng&. The engine is xoshiro256**
// (seeded through splitmix64), uniforms use the top 53 bits, normals use Box–Muller; all of it is
// written here, so the same seed gives the same bits and uniforms on every platform and standard library
// (normals go through std::log/sin/cos: identical wherever the math library is).
// state()/set_state() capture everything, for checkpoints.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "autodiff/array.hpp"

namespace tapir {

class Rng {
 public:
  struct State {
    std::array<std::uint64_t, 4> s{};
    bool has_spare = false;  // Box–Muller makes normals in pairs; the second waits here
    double spare = 0;
    bool operator==(const State& o) const { return s == o.s && has_spare == o.has_spare && spare == o.spare; }
  };

  explicit Rng(std::uint64_t seed = 0) { this->seed(seed); }
  void seed(std::uint64_t seed);

  /// 64 uniformly random bits. (Inline, like uniform(): pixel-by-pixel draws call them in tight loops.)
  std::uint64_t next_u64() {
    auto& s = state_.s;
    const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
    const std::uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
  /// Uniform on [0, 1) with 53 random bits: (next_u64() >> 11) · 2⁻⁵³, exactly.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  /// Standard normal N(0, 1).
  double normal();
  /// Uniform integer in [0, n) without modulo bias; n > 0.
  std::uint64_t below(std::uint64_t n);

  State state() const { return state_; }
  void set_state(const State& st) { state_ = st; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  State state_;
};

/// Counter-based bits: splitmix64's output number i + 1 from state `key`, computed by itself. Draws
/// that must come out the same however their elements are split among threads (dynamic binarisation)
/// take one key from an Rng and use element i's counter_bits(key, i): every element's bits depend on
/// the key and its index only. (splitmix64 passes BigCrush; its finaliser is a bijection of 64 bits.)
inline std::uint64_t counter_bits(std::uint64_t key, std::uint64_t i) {
  std::uint64_t z = key + (i + 1) * 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// Fills `out` (any shape) with N(mean, std²) draws.
template <class T>
void fill_normal(Rng& rng, Array<T>& out, T mean = T(0), T std = T(1));
/// Fills `out` with U[lo, hi) draws (in [lo, hi) also after rounding to T).
template <class T>
void fill_uniform(Rng& rng, Array<T>& out, T lo = T(0), T hi = T(1));

/// An array of N(mean, std²) draws.
template <class T>
Array<T> normal(Rng& rng, const Shape& shape, T mean = T(0), T std = T(1));
/// An array of U[lo, hi) draws.
template <class T>
Array<T> uniform(Rng& rng, const Shape& shape, T lo = T(0), T hi = T(1));
/// 0/1 draws with P(1) = probs[i] (probs in [0, 1]; throws otherwise).
template <class T>
Array<T> bernoulli(Rng& rng, const Array<T>& probs);
/// 0/1 draws with P(1) = p.
template <class T>
Array<T> bernoulli(Rng& rng, const Shape& shape, T p);
/// A uniformly random permutation of 0..n−1 (Fisher–Yates).
std::vector<std::size_t> permutation(Rng& rng, std::size_t n);
/// The same permutation (the same draws) into `out`, reusing its memory.
void permutation(Rng& rng, std::size_t n, std::vector<std::size_t>& out);

}  // namespace tapir
