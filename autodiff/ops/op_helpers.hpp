// tapir/autodiff/ops/op_helpers.hpp — shared plumbing for op implementations (not a public API).
//
// unary() and binary() capture the pattern every elementwise op follows: size the output, evaluate
// the forward expression into the tape's buffer, and register a backward closure that turns the
// output gradient into each input's gradient. Only evaluated arrays and Var handles are captured.
#pragma once

#include <fmt/format.h>

#include "autodiff/tape.hpp"

namespace tapir::detail {

template <class T>
Var<T> make_output(const char* op, const Shape& shape, const Var<T>& x) {
  return x.tape().push(op, shape, x.requires_grad());
}

template <class T>
Tape<T>& common_tape(const char* op, const Var<T>& a, const Var<T>& b) {
  Tape<T>& t = a.tape();
  if (&t != &b.tape()) throw Error(fmt::format("{}: the operands belong to different tapes", op));
  return t;
}

template <class T>
Var<T> make_output(const char* op, const Shape& shape, const Var<T>& a, const Var<T>& b) {
  return common_tape(op, a, b).push(op, shape, a.requires_grad() || b.requires_grad());
}

/// y = fwd(x);  x.grad += bwd(x, y, g).
template <class T, class Fwd, class Bwd>
Var<T> unary(const char* op, const Var<T>& x, Fwd fwd, Bwd bwd) {
  Var<T> y = make_output(op, x.shape(), x);
  xt::noalias(y.out()) = fwd(x.value());
  y.on_backward([x, y, bwd] { x.add_grad(bwd(x.value(), y.value(), y.grad())); });
  return y;
}

/// y = fwd(a, b) broadcast;  a.grad += unbroadcast(bwd_a(a, b, y, g)), same for b.
template <class T, class Fwd, class BwdA, class BwdB>
Var<T> binary(const char* op, const Var<T>& a, const Var<T>& b, Fwd fwd, BwdA bwd_a, BwdB bwd_b) {
  const Shape shape = a.shape() == b.shape() ? a.shape() : broadcast_shapes(op, a.shape(), b.shape());
  Var<T> y = make_output(op, shape, a, b);
  xt::noalias(y.out()) = fwd(a.value(), b.value());
  y.on_backward([a, b, y, bwd_a, bwd_b] {
    if (a.requires_grad()) a.add_grad_unbroadcast(bwd_a(a.value(), b.value(), y.value(), y.grad()));
    if (b.requires_grad()) b.add_grad_unbroadcast(bwd_b(a.value(), b.value(), y.value(), y.grad()));
  });
  return y;
}

/// A shape viewed as (outer, n, inner) around one axis: element (o, k, i) is at (o n + k) inner + i.
struct AxisSplit {
  std::size_t outer = 1, n = 1, inner = 1;
};

inline AxisSplit split_axis(const Shape& s, std::size_t axis) {
  AxisSplit r;
  for (std::size_t i = 0; i < axis; ++i) r.outer *= s[i];
  r.n = s[axis];
  for (std::size_t i = axis + 1; i < s.size(); ++i) r.inner *= s[i];
  return r;
}

}  // namespace tapir::detail
