// tapir/autodiff/array.hpp — the one header that includes xtensor.
//
// Array<T> is a dynamic-rank, row-major, contiguous xtensor array. Every value and gradient on a tape
// is an Array; ops read their inputs through const references and write their outputs into buffers the
// tape owns (see tape.hpp). Shape is xtensor's small-vector shape type.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include <xtensor/xarray.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xoperation.hpp>

namespace tapir {

template <class T>
using Array = xt::xarray<T, xt::layout_type::row_major>;

using Shape = typename Array<float>::shape_type;

/// Base of every error tapir throws: the message says what failed and the values involved.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Incompatible shapes or an out-of-range axis/index; the message names the op and the shapes.
class ShapeError : public Error {
 public:
  using Error::Error;
};

/// Anomaly mode found a NaN or Inf; the message names the op (and its label) that produced it.
class AnomalyError : public Error {
 public:
  using Error::Error;
};

/// "(2, 3)" — shapes in messages are written the NumPy way.
std::string shape_str(const Shape& shape);

/// The NumPy broadcast of two shapes; throws ShapeError naming `op` and both shapes if incompatible.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

/// True when an array of shape `from` broadcasts to exactly `to` (NumPy rules).
bool broadcasts_to(const Shape& from, const Shape& to);

/// Number of elements of a shape (1 for a 0-d shape).
std::size_t shape_size(const Shape& shape);

/// Resolves a possibly negative axis against `rank`; throws ShapeError naming `op` when out of range.
std::size_t normalize_axis(const char* op, int axis, std::size_t rank);

/// True when every element is finite (no NaN, no ±Inf).
template <class T>
bool all_finite(const Array<T>& a) {
  const T* p = a.data();
  for (std::size_t i = 0, n = a.size(); i < n; ++i)
    if (!std::isfinite(p[i])) return false;
  return true;
}

}  // namespace tapir
