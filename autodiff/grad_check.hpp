// tapir/autodiff/grad_check.hpp — central finite differences in double, for every op and for users
// who add their own.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "autodiff/tape.hpp"

namespace tapir {

struct GradCheckOptions {
  double eps = 1e-6;   // central difference step h: (f(x + h) − f(x − h)) / 2h
  double atol = 1e-5;  // an element passes when |analytic − numeric| ≤ atol + rtol · |numeric|
  double rtol = 1e-3;
  std::uint64_t seed = 1234;  // for the random projection of a non-scalar output
};

/// The worst disagreement found for one input.
struct GradCheckResult {
  double max_abs_error = 0;     // max over elements of |analytic − numeric|
  double max_rel_error = 0;     // max of |analytic − numeric| / |numeric| over elements whose error > atol
  std::size_t worst_index = 0;  // flat index of the element with the largest excess over the tolerance
  bool passed = true;           // every element within atol + rtol · |numeric|
};

/// A function of the inputs, built on the given tape from the given leaf Vars.
using GradCheckFn = std::function<Var<double>(Tape<double>&, const std::vector<Var<double>>&)>;

/// Compares the tape's gradient of f at `inputs` with central finite differences, per input.
/// A non-scalar output is reduced to Σ w ⊙ f(x) with fixed random weights w, which checks the whole
/// Jacobian-vector product without one backward pass per output element.
std::vector<GradCheckResult> grad_check(const GradCheckFn& f, const std::vector<Array<double>>& inputs,
                                        const GradCheckOptions& options = {});

}  // namespace tapir
