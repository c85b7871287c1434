// tapir/nn/dist/standard_normal.hpp — N(0, I) of any batch and event shape in one call (tapir::dist).
#pragma once

#include "nn/dist/independent.hpp"
#include "nn/dist/normal.hpp"

namespace tapir::dist {

/// p(z) = N(0, I) as Independent(Normal(0, 1), |event_shape|): batch shape `batch_shape`, event shape
/// `event_shape` (either may be empty: standard_normal(tape, {}, {}) is the scalar N(0, 1)). The
/// parameters are constants on `tape`, so nothing is learned and no gradient is recorded for them;
/// log_prob(z) = −½ Σ_event (z² + log 2π) for z of shape S + batch_shape + event_shape.
template <class T>
Independent<T> standard_normal(Tape<T>& tape, const Shape& batch_shape, const Shape& event_shape) {
  const Shape shape = concat_shapes(batch_shape, event_shape);
  return {Normal<T>(tape.full(shape, T(0)), tape.full(shape, T(1))), event_shape.size()};
}

}  // namespace tapir::dist
