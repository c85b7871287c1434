// tapir/autodiff/log_sum_exp.hpp — log Σ exp on plain double arrays, outside any tape: the stable
// reduction that importance sampling, AIS and EM's responsibilities need (the differentiable op on
// a tape is `logsumexp` in ops/reduce.hpp).
//
// Edge behaviour, the same for the array and the streaming form:
//   all terms −∞ (or none)  →  −∞   (log 0; never NaN)
//   some term +∞            →  +∞
//   some term NaN           →  NaN
#pragma once

#include <cstddef>
#include <limits>

#include "autodiff/array.hpp"

namespace tapir {

/// log Σ_i exp(a_ij) along `axis` of a 2-D array: axis 0 reduces a (S, n) array to (n,) (one value
/// per column, e.g. S importance weights of n data points), axis 1 a (n, K) array to (n,).
/// Stable: with m = max_i a_ij, computes m + log Σ_i exp(a_ij − m), so no term overflows and the
/// largest contributes exactly exp(0) = 1. Edge cases as in the file comment; a zero-length axis
/// gives −∞. Throws ShapeError unless `a` is 2-D and axis is 0 or 1.
Array<double> log_sum_exp(const Array<double>& a, std::size_t axis = 0);

/// log Σ_k exp(w_k) over a stream of terms, one add() at a time, in O(1) memory: keeps the running
/// maximum m and s = Σ_k exp(w_k − m). A term above m rescales the sum to the new maximum,
///   w > m:  s ← s · exp(m − w) + 1,  m ← w;     otherwise  s ← s + exp(w − m),
/// so value() = m + log s is stable whatever order the terms come in. −∞ terms add nothing.
/// For log (1/K) Σ_k exp(w_k) (an importance-sampled log-likelihood) use log_mean().
struct LogSumExpAccumulator {
  /// Adds one term w (any double, including ±∞ and NaN).
  void add(double w);
  /// log Σ_k exp(w_k) over every term added so far: −∞ before the first finite term (or +∞/NaN as
  /// in the file comment).
  double value() const;
  /// log (1/K) Σ_k exp(w_k) = value() − log K over the K = count() terms added (−∞ terms count);
  /// NaN when nothing was added.
  double log_mean() const;
  /// How many terms add() was given.
  std::size_t count() const { return count_; }

 private:
  double max_ = -std::numeric_limits<double>::infinity();  // m
  double sum_ = 0;                                         // s = Σ exp(w_k − m)
  std::size_t count_ = 0;
  bool nan_ = false;
};

}  // namespace tapir
