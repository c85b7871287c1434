// tapir/autodiff/ops/shape.cpp — reshape, transpose, concat, stack, row slicing and gathering.
#include "autodiff/ops/shape.hpp"

#include <algorithm>
#include <memory>

#include <xtensor/xmanipulation.hpp>

#include "autodiff/ops/op_helpers.hpp"

namespace tapir {

using detail::AxisSplit;

namespace {
/// dst (+)= src over n elements.
template <class T>
void copy_or_add(const T* src, T* dst, std::size_t n, bool accumulate) {
  if (accumulate)
    for (std::size_t i = 0; i < n; ++i) dst[i] += src[i];
  else
    std::copy(src, src + n, dst);
}
}  // namespace

template <class T>
Var<T> reshape(const Var<T>& x, const std::vector<long>& shape) {
  Shape out(shape.size(), 1);
  std::size_t known = 1;
  int infer = -1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1 && infer < 0) {
      infer = static_cast<int>(i);
    } else if (shape[i] < 0) {
      throw ShapeError(
          fmt::format("reshape: invalid dimension {} in the target shape (only one −1 is allowed)", shape[i]));
    } else {
      out[i] = static_cast<std::size_t>(shape[i]);
      known *= out[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || x.size() % known != 0)
      throw ShapeError(fmt::format("reshape: cannot infer the −1 dimension to reshape {} ({} elements)",
                                   shape_str(x.shape()), x.size()));
    out[static_cast<std::size_t>(infer)] = x.size() / known;
  }
  if (shape_size(out) != x.size())
    throw ShapeError(fmt::format("reshape: cannot reshape {} ({} elements) into {} ({} elements)", shape_str(x.shape()),
                                 x.size(), shape_str(out), shape_size(out)));
  Var<T> y = detail::make_output("reshape", out, x);
  std::copy(x.value().begin(), x.value().end(), y.out().begin());
  y.on_backward([x, y] {
    x.accumulate_grad([&](Array<T>& dx, bool acc) { copy_or_add(y.grad().data(), dx.data(), dx.size(), acc); });
  });
  return y;
}

template <class T>
Var<T> transpose(const Var<T>& x, const std::vector<std::size_t>& perm) {
  const Shape& s = x.shape();
  std::vector<bool> seen(s.size(), false);
  bool valid = perm.size() == s.size();
  for (std::size_t p : perm) valid = valid && p < s.size() && !seen[p] && (seen[p] = true);
  if (!valid) {
    std::string ps;
    for (std::size_t p : perm) ps += (ps.empty() ? "" : ", ") + std::to_string(p);
    throw ShapeError(
        fmt::format("transpose: ({}) is not a permutation of the {} axes of shape {}", ps, s.size(), shape_str(s)));
  }
  Shape out(s.size());
  std::vector<std::size_t> inverse(s.size());
  for (std::size_t i = 0; i < perm.size(); ++i) {
    out[i] = s[perm[i]];
    inverse[perm[i]] = i;
  }
  Var<T> y = detail::make_output("transpose", out, x);
  xt::noalias(y.out()) = xt::transpose(x.value(), perm);
  y.on_backward([x, y, inverse] { x.add_grad(xt::transpose(y.grad(), inverse)); });
  return y;
}

template <class T>
Var<T> transpose(const Var<T>& x) {
  std::vector<std::size_t> perm(x.dim());
  for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = perm.size() - 1 - i;
  return transpose(x, perm);
}

template <class T>
Var<T> concat(const std::vector<Var<T>>& xs, int axis) {
  if (xs.empty()) throw ShapeError("concat: needs at least one input");
  const Shape& s0 = xs[0].shape();
  if (s0.empty()) throw ShapeError("concat: cannot concatenate 0-d arrays (use stack)");
  const std::size_t a = normalize_axis("concat", axis, s0.size());
  Tape<T>& tape = xs[0].tape();
  Shape out = s0;
  out[a] = 0;
  bool requires_grad = false;
  for (std::size_t j = 0; j < xs.size(); ++j) {
    const Shape& s = xs[j].shape();
    if (&xs[j].tape() != &tape) throw Error(fmt::format("concat: input {} belongs to a different tape", j));
    bool ok = s.size() == s0.size();
    for (std::size_t i = 0; ok && i < s.size(); ++i) ok = i == a || s[i] == s0[i];
    if (!ok)
      throw ShapeError(
          fmt::format("concat: input {} has shape {}, which does not match input 0's shape {} "
                      "outside axis {}",
                      j, shape_str(s), shape_str(s0), a));
    out[a] += s[a];
    requires_grad = requires_grad || xs[j].requires_grad();
  }
  Var<T> y = tape.push("concat", out, requires_grad);
  const AxisSplit so = detail::split_axis(out, a);
  std::size_t offset = 0;  // in units of `inner`, along the axis
  for (const Var<T>& x : xs) {
    const AxisSplit sx = detail::split_axis(x.shape(), a);
    for (std::size_t o = 0; o < so.outer; ++o)
      std::copy_n(x.value().data() + o * sx.n * sx.inner, sx.n * sx.inner,
                  y.out().data() + (o * so.n + offset) * so.inner);
    offset += sx.n;
  }
  y.on_backward([xs, y, a, so] {
    std::size_t offset = 0;
    for (const Var<T>& x : xs) {
      const AxisSplit sx = detail::split_axis(x.shape(), a);
      x.accumulate_grad([&](Array<T>& dx, bool acc) {
        for (std::size_t o = 0; o < so.outer; ++o)
          copy_or_add(y.grad().data() + (o * so.n + offset) * so.inner, dx.data() + o * sx.n * sx.inner,
                      sx.n * sx.inner, acc);
      });
      offset += sx.n;
    }
  });
  return y;
}

template <class T>
Var<T> stack(const std::vector<Var<T>>& xs, int axis) {
  if (xs.empty()) throw ShapeError("stack: needs at least one input");
  const Shape& s0 = xs[0].shape();
  for (std::size_t j = 1; j < xs.size(); ++j)
    if (xs[j].shape() != s0)
      throw ShapeError(fmt::format("stack: input {} has shape {}, input 0 has {}; stack needs equal shapes", j,
                                   shape_str(xs[j].shape()), shape_str(s0)));
  const std::size_t a = normalize_axis("stack", axis, s0.size() + 1);
  std::vector<long> with_axis(s0.begin(), s0.end());
  with_axis.insert(with_axis.begin() + static_cast<long>(a), 1);
  std::vector<Var<T>> expanded;
  expanded.reserve(xs.size());
  for (const Var<T>& x : xs) expanded.push_back(reshape(x, with_axis));
  return concat(expanded, static_cast<int>(a));
}

template <class T>
Var<T> slice_rows(const Var<T>& x, std::size_t begin, std::size_t end) {
  const Shape& s = x.shape();
  if (s.empty()) throw ShapeError("slice_rows: cannot slice a 0-d array");
  if (begin > end || end > s[0])
    throw ShapeError(fmt::format("slice_rows: rows [{}, {}) are out of range for shape {}", begin, end, shape_str(s)));
  Shape out = s;
  out[0] = end - begin;
  const std::size_t row = shape_size(s) / std::max<std::size_t>(s[0], 1);
  Var<T> y = detail::make_output("slice_rows", out, x);
  std::copy_n(x.value().data() + begin * row, (end - begin) * row, y.out().data());
  y.on_backward([x, y, begin, row] {
    x.accumulate_grad([&](Array<T>& dx, bool acc) {
      if (!acc) std::fill(dx.begin(), dx.end(), T(0));
      copy_or_add(y.grad().data(), dx.data() + begin * row, y.size(), true);
    });
  });
  return y;
}

template <class T>
Var<T> index_select(const Var<T>& x, const std::vector<std::size_t>& indices) {
  const Shape& s = x.shape();
  if (s.empty()) throw ShapeError("index_select: cannot select rows of a 0-d array");
  for (std::size_t i = 0; i < indices.size(); ++i)
    if (indices[i] >= s[0])
      throw ShapeError(fmt::format("index_select: index {} (position {}) is out of range for {} rows (shape {})",
                                   indices[i], i, s[0], shape_str(s)));
  Shape out = s;
  out[0] = indices.size();
  const std::size_t row = shape_size(s) / std::max<std::size_t>(s[0], 1);
  Var<T> y = detail::make_output("index_select", out, x);
  for (std::size_t i = 0; i < indices.size(); ++i)
    std::copy_n(x.value().data() + indices[i] * row, row, y.out().data() + i * row);
  auto idx = std::make_shared<const std::vector<std::size_t>>(indices);
  y.on_backward([x, y, idx, row] {
    x.accumulate_grad([&](Array<T>& dx, bool acc) {
      if (!acc) std::fill(dx.begin(), dx.end(), T(0));
      for (std::size_t i = 0; i < idx->size(); ++i)
        copy_or_add(y.grad().data() + i * row, dx.data() + (*idx)[i] * row, row, true);
    });
  });
  return y;
}

template <class T>
Var<T> slice(const Var<T>& x, int axis, long begin, long end, long step) {
  const Shape& s = x.shape();
  if (s.empty()) throw ShapeError("slice: cannot slice a 0-d array");
  if (step <= 0) throw ShapeError(fmt::format("slice: step must be positive, got {}", step));
  const std::size_t a = normalize_axis("slice", axis, s.size());
  const long n = static_cast<long>(s[a]);
  // Python's rules: negative positions count from the end, then both are clamped to [0, n].
  auto resolve = [n](long i) { return std::clamp(i < 0 ? i + n : i, 0L, n); };
  const long b = resolve(begin), e = resolve(end);
  const std::size_t count = e > b ? static_cast<std::size_t>((e - b + step - 1) / step) : 0;
  Shape out = s;
  out[a] = count;
  const AxisSplit sx = detail::split_axis(s, a);
  Var<T> y = detail::make_output("slice", out, x);
  // Row r of the output along the axis is row b + r·step of the input.
  auto src_row = [b, step](std::size_t r) { return static_cast<std::size_t>(b) + r * static_cast<std::size_t>(step); };
  for (std::size_t o = 0; o < sx.outer; ++o)
    for (std::size_t r = 0; r < count; ++r)
      std::copy_n(x.value().data() + (o * sx.n + src_row(r)) * sx.inner, sx.inner,
                  y.out().data() + (o * count + r) * sx.inner);
  y.on_backward([x, y, sx, count, src_row] {
    x.accumulate_grad([&](Array<T>& dx, bool acc) {
      if (!acc) std::fill(dx.begin(), dx.end(), T(0));
      for (std::size_t o = 0; o < sx.outer; ++o)
        for (std::size_t r = 0; r < count; ++r)
          copy_or_add(y.grad().data() + (o * count + r) * sx.inner, dx.data() + (o * sx.n + src_row(r)) * sx.inner,
                      sx.inner, true);
    });
  });
  return y;
}

template <class T>
Var<T> index_select(const Var<T>& x, int axis, const std::vector<std::size_t>& indices) {
  const Shape& s = x.shape();
  if (s.empty()) throw ShapeError("index_select: cannot select from a 0-d array");
  const std::size_t a = normalize_axis("index_select", axis, s.size());
  for (std::size_t i = 0; i < indices.size(); ++i)
    if (indices[i] >= s[a])
      throw ShapeError(fmt::format("index_select: index {} (position {}) is out of range for axis {} of shape {}",
                                   indices[i], i, axis, shape_str(s)));
  Shape out = s;
  out[a] = indices.size();
  const AxisSplit sx = detail::split_axis(s, a);
  const std::size_t m = indices.size();
  Var<T> y = detail::make_output("index_select", out, x);
  for (std::size_t o = 0; o < sx.outer; ++o)
    for (std::size_t r = 0; r < m; ++r)
      std::copy_n(x.value().data() + (o * sx.n + indices[r]) * sx.inner, sx.inner,
                  y.out().data() + (o * m + r) * sx.inner);
  auto idx = std::make_shared<const std::vector<std::size_t>>(indices);
  y.on_backward([x, y, sx, idx] {
    x.accumulate_grad([&](Array<T>& dx, bool acc) {  // scatter-add: repeated indices accumulate
      if (!acc) std::fill(dx.begin(), dx.end(), T(0));
      const std::size_t m = idx->size();
      for (std::size_t o = 0; o < sx.outer; ++o)
        for (std::size_t r = 0; r < m; ++r)
          copy_or_add(y.grad().data() + (o * m + r) * sx.inner, dx.data() + (o * sx.n + (*idx)[r]) * sx.inner, sx.inner,
                      true);
    });
  });
  return y;
}

#define TAPIR_INSTANTIATE(T)                                                    \
  template Var<T> reshape(const Var<T>&, const std::vector<long>&);             \
  template Var<T> transpose(const Var<T>&);                                     \
  template Var<T> transpose(const Var<T>&, const std::vector<std::size_t>&);    \
  template Var<T> concat(const std::vector<Var<T>>&, int);                      \
  template Var<T> stack(const std::vector<Var<T>>&, int);                       \
  template Var<T> slice_rows(const Var<T>&, std::size_t, std::size_t);          \
  template Var<T> index_select(const Var<T>&, const std::vector<std::size_t>&); \
  template Var<T> slice(const Var<T>&, int, long, long, long);                  \
  template Var<T> index_select(const Var<T>&, int, const std::vector<std::size_t>&);

TAPIR_INSTANTIATE(float)
TAPIR_INSTANTIATE(double)

}  // namespace tapir
