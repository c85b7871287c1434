// tapir/autodiff/ops/reduce.cpp — reductions and (log-)softmax as loops over (outer, n, inner).
//
// Viewing the input as (outer, n, inner) around the reduced axis turns every reduction into three
// plain loops whose innermost one is contiguous, whatever the axis.
#include "autodiff/ops/reduce.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "autodiff/ops/op_helpers.hpp"

namespace tapir {

using detail::AxisSplit;

namespace {

struct Plan {
  AxisSplit sp;
  Shape out_shape;
};

/// axis == nullopt reduces everything.
Plan plan(const char* op, const Shape& s, std::optional<int> axis, bool keepdims) {
  Plan p;
  if (!axis) {
    p.sp.n = shape_size(s);
    p.out_shape = keepdims ? Shape(s.size(), 1) : Shape{};
    return p;
  }
  if (s.empty()) throw ShapeError(fmt::format("{}: cannot reduce along axis {} of a 0-d array", op, *axis));
  const std::size_t a = normalize_axis(op, *axis, s.size());
  p.sp = detail::split_axis(s, a);
  if (p.sp.n == 0) throw ShapeError(fmt::format("{}: axis {} of shape {} is empty", op, *axis, shape_str(s)));
  p.out_shape = s;
  if (keepdims)
    p.out_shape[a] = 1;
  else
    p.out_shape.erase(p.out_shape.begin() + static_cast<long>(a));
  return p;
}

/// out[o, i] = Σ_k x[o, k, i] (double accumulator for full reductions).
template <class T>
void sum_loop(const T* x, const AxisSplit& sp, T* out) {
  if (sp.inner == 1) {
    for (std::size_t o = 0; o < sp.outer; ++o) {
      double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // independent partial sums: not latency-bound
      const T* row = x + o * sp.n;
      std::size_t k = 0;
      for (; k + 8 <= sp.n; k += 8)
        for (int j = 0; j < 8; ++j) acc[j] += row[k + j];
      for (; k < sp.n; ++k) acc[0] += row[k];
      out[o] = static_cast<T>(((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])));
    }
    return;
  }
  std::fill(out, out + sp.outer * sp.inner, T(0));
  for (std::size_t o = 0; o < sp.outer; ++o)
    for (std::size_t k = 0; k < sp.n; ++k) {
      const T* row = x + (o * sp.n + k) * sp.inner;
      T* dst = out + o * sp.inner;
      for (std::size_t i = 0; i < sp.inner; ++i) dst[i] += row[i];
    }
}

/// dx[o, k, i] (+)= scale · g[o, i]
template <class T>
void spread_loop(const T* g, const AxisSplit& sp, T scale, T* dx, bool accumulate) {
  if (sp.inner == 1) {  // contiguous rows: a fill (or add) of one value per row, which vectorises
    for (std::size_t o = 0; o < sp.outer; ++o) {
      T* row = dx + o * sp.n;
      const T v = scale * g[o];
      if (accumulate)
        for (std::size_t k = 0; k < sp.n; ++k) row[k] += v;
      else
        std::fill(row, row + sp.n, v);
    }
    return;
  }
  for (std::size_t o = 0; o < sp.outer; ++o)
    for (std::size_t k = 0; k < sp.n; ++k) {
      T* row = dx + (o * sp.n + k) * sp.inner;
      const T* src = g + o * sp.inner;
      if (accumulate)
        for (std::size_t i = 0; i < sp.inner; ++i) row[i] += scale * src[i];
      else
        for (std::size_t i = 0; i < sp.inner; ++i) row[i] = scale * src[i];
    }
}

/// out[o, i] = max_k x[o, k, i] (min_k with is_min); NaN wins.
template <class T>
void max_loop(const T* x, const AxisSplit& sp, T* out, bool is_min = false) {
  for (std::size_t o = 0; o < sp.outer; ++o) {
    T* dst = out + o * sp.inner;
    const T* first = x + o * sp.n * sp.inner;
    std::copy(first, first + sp.inner, dst);
    for (std::size_t k = 1; k < sp.n; ++k) {
      const T* row = first + k * sp.inner;
      for (std::size_t i = 0; i < sp.inner; ++i)
        dst[i] = (is_min ? row[i] < dst[i] : row[i] > dst[i]) || std::isnan(row[i]) ? row[i] : dst[i];
    }
  }
}

/// out[o, i] = logsumexp_k x[o, k, i], shifting by the max (by 0 when the max is ±∞).
template <class T>
void logsumexp_loop(const T* x, const AxisSplit& sp, T* out) {
  if (sp.n == 0) {  // the log of an empty sum, as NumPy and PyTorch
    std::fill(out, out + sp.outer * sp.inner, -std::numeric_limits<T>::infinity());
    return;
  }
  max_loop(x, sp, out);
  thread_local std::vector<T> acc;  // scratch, kept between calls: no allocation per step
  acc.resize(sp.inner);
  for (std::size_t o = 0; o < sp.outer; ++o) {
    T* dst = out + o * sp.inner;
    std::fill(acc.begin(), acc.end(), T(0));
    for (std::size_t k = 0; k < sp.n; ++k) {
      const T* row = x + (o * sp.n + k) * sp.inner;
      for (std::size_t i = 0; i < sp.inner; ++i) {
        const T m = std::isfinite(dst[i]) ? dst[i] : T(0);
        acc[i] += std::exp(row[i] - m);
      }
    }
    for (std::size_t i = 0; i < sp.inner; ++i) {
      const T m = std::isfinite(dst[i]) ? dst[i] : T(0);
      dst[i] = m + std::log(acc[i]);
    }
  }
}

template <class T>
Var<T> sum_impl(const Var<T>& x, std::optional<int> axis, bool keepdims, bool mean) {
  const char* op = mean ? "mean" : "sum";
  const Plan p = plan(op, x.shape(), axis, keepdims);
  Var<T> y = detail::make_output(op, p.out_shape, x);
  sum_loop(x.value().data(), p.sp, y.out().data());
  const T scale = mean ? T(1) / static_cast<T>(p.sp.n) : T(1);
  if (mean) y.out() *= scale;
  y.on_backward([x, y, sp = p.sp, scale] {
    x.accumulate_grad([&](Array<T>& dx, bool acc) { spread_loop(y.grad().data(), sp, scale, dx.data(), acc); });
  });
  return y;
}

template <class T>
Var<T> max_impl(const Var<T>& x, std::optional<int> axis, bool keepdims, bool is_min = false) {
  const char* op = is_min ? "min" : "max";
  const Plan p = plan(op, x.shape(), axis, keepdims);
  if (x.size() == 0) throw ShapeError(fmt::format("{}: cannot take the {} of an empty array", op, op));
  Var<T> y = detail::make_output(op, p.out_shape, x);
  max_loop(x.value().data(), p.sp, y.out().data(), is_min);
  y.on_backward([x, y, sp = p.sp] {
    // Each of the k maximal elements of a slice gets g/k (PyTorch's amax convention).
    x.accumulate_grad([&](Array<T>& dx, bool acc) {
      const T* xv = x.value().data();
      const T* yv = y.value().data();
      const T* g = y.grad().data();
      if (!acc) std::fill(dx.begin(), dx.end(), T(0));
      std::vector<T> count(sp.inner);
      for (std::size_t o = 0; o < sp.outer; ++o) {
        std::fill(count.begin(), count.end(), T(0));
        for (std::size_t k = 0; k < sp.n; ++k)
          for (std::size_t i = 0; i < sp.inner; ++i)
            count[i] += xv[(o * sp.n + k) * sp.inner + i] == yv[o * sp.inner + i] ? T(1) : T(0);
        for (std::size_t k = 0; k < sp.n; ++k)
          for (std::size_t i = 0; i < sp.inner; ++i) {
            const std::size_t j = (o * sp.n + k) * sp.inner + i;
            if (xv[j] == yv[o * sp.inner + i]) dx.data()[j] += g[o * sp.inner + i] / count[i];
          }
      }
    });
  });
  return y;
}

template <class T>
Var<T> logsumexp_impl(const Var<T>& x, std::optional<int> axis, bool keepdims) {
  const Plan p = plan("logsumexp", x.shape(), axis, keepdims);
  Var<T> y = detail::make_output("logsumexp", p.out_shape, x);
  logsumexp_loop(x.value().data(), p.sp, y.out().data());
  y.on_backward([x, y, sp = p.sp] {
    // dx = g · exp(x − y); a slice with y = −∞ (all −∞) gets 0 instead of exp(−∞ + ∞) = NaN.
    x.accumulate_grad([&](Array<T>& dx, bool acc) {
      const T* xv = x.value().data();
      const T* yv = y.value().data();
      const T* g = y.grad().data();
      for (std::size_t o = 0; o < sp.outer; ++o)
        for (std::size_t k = 0; k < sp.n; ++k)
          for (std::size_t i = 0; i < sp.inner; ++i) {
            const std::size_t j = (o * sp.n + k) * sp.inner + i, r = o * sp.inner + i;
            const T d = yv[r] == -std::numeric_limits<T>::infinity() ? T(0) : g[r] * std::exp(xv[j] - yv[r]);
            dx.data()[j] = acc ? dx.data()[j] + d : d;
          }
    });
  });
  return y;
}

/// softmax (log_space = false) or log_softmax (true) along `axis`.
template <class T>
Var<T> softmax_impl(const char* op, const Var<T>& x, int axis, bool log_space) {
  if (x.dim() == 0) throw ShapeError(fmt::format("{}: needs at least one axis, got a 0-d array", op));
  const AxisSplit sp = detail::split_axis(x.shape(), normalize_axis(op, axis, x.dim()));
  if (sp.n == 0) throw ShapeError(fmt::format("{}: axis {} of shape {} is empty", op, axis, shape_str(x.shape())));
  Var<T> y = detail::make_output(op, x.shape(), x);
  std::vector<T> lse(sp.outer * sp.inner);
  logsumexp_loop(x.value().data(), sp, lse.data());
  const T* xv = x.value().data();
  T* yv = y.out().data();
  for (std::size_t o = 0; o < sp.outer; ++o)
    for (std::size_t k = 0; k < sp.n; ++k)
      for (std::size_t i = 0; i < sp.inner; ++i) {
        const std::size_t j = (o * sp.n + k) * sp.inner + i;
        const T z = xv[j] - lse[o * sp.inner + i];
        yv[j] = log_space ? z : std::exp(z);
      }
  y.on_backward([x, y, sp, log_space] {
    x.accumulate_grad([&](Array<T>& dx, bool acc) {
      const T* yv = y.value().data();
      const T* g = y.grad().data();
      std::vector<T> s(sp.inner);
      for (std::size_t o = 0; o < sp.outer; ++o) {
        std::fill(s.begin(), s.end(), T(0));
        for (std::size_t k = 0; k < sp.n; ++k)  // s = Σ_k g·y (softmax) or Σ_k g (log_softmax)
          for (std::size_t i = 0; i < sp.inner; ++i) {
            const std::size_t j = (o * sp.n + k) * sp.inner + i;
            s[i] += log_space ? g[j] : g[j] * yv[j];
          }
        for (std::size_t k = 0; k < sp.n; ++k)
          for (std::size_t i = 0; i < sp.inner; ++i) {
            const std::size_t j = (o * sp.n + k) * sp.inner + i;
            const T d = log_space ? g[j] - std::exp(yv[j]) * s[i] : yv[j] * (g[j] - s[i]);
            dx.data()[j] = acc ? dx.data()[j] + d : d;
          }
      }
    });
  });
  return y;
}

template <class T>
Var<T> prod_impl(const Var<T>& x, std::optional<int> axis, bool keepdims) {
  const Plan p = plan("prod", x.shape(), axis, keepdims);
  Var<T> y = detail::make_output("prod", p.out_shape, x);
  const AxisSplit sp = p.sp;
  {
    const T* xv = x.value().data();
    T* yv = y.out().data();
    std::fill(yv, yv + sp.outer * sp.inner, T(1));
    for (std::size_t o = 0; o < sp.outer; ++o)
      for (std::size_t k = 0; k < sp.n; ++k)
        for (std::size_t i = 0; i < sp.inner; ++i) yv[o * sp.inner + i] *= xv[(o * sp.n + k) * sp.inner + i];
  }
  y.on_backward([x, y, sp] {
    // dy/dx_k = Π_{j<k} x_j · Π_{j>k} x_j: a prefix product times a suffix product, never y / x_k, so
    // one zero gets the product of the others and every other element 0, and two zeros give 0 throughout.
    x.accumulate_grad([&](Array<T>& dx, bool acc) {
      const T* xv = x.value().data();
      const T* g = y.grad().data();
      T* d = dx.data();
      std::vector<T> run(sp.inner);
      for (std::size_t o = 0; o < sp.outer; ++o) {
        std::vector<T> prefix(sp.n * sp.inner);
        std::fill(run.begin(), run.end(), T(1));
        for (std::size_t k = 0; k < sp.n; ++k)
          for (std::size_t i = 0; i < sp.inner; ++i) {
            prefix[k * sp.inner + i] = run[i];
            run[i] *= xv[(o * sp.n + k) * sp.inner + i];
          }
        std::fill(run.begin(), run.end(), T(1));
        for (std::size_t k = sp.n; k-- > 0;)
          for (std::size_t i = 0; i < sp.inner; ++i) {
            const std::size_t j = (o * sp.n + k) * sp.inner + i;
            const T v = g[o * sp.inner + i] * (prefix[k * sp.inner + i] * run[i]);
            d[j] = acc ? d[j] + v : v;
            run[i] *= xv[j];
          }
      }
    });
  });
  return y;
}

/// The mean of each slice into m[o, i] (two passes keep var accurate for data far from 0).
template <class T>
std::vector<T> slice_means(const T* x, const AxisSplit& sp) {
  std::vector<T> m(sp.outer * sp.inner);
  sum_loop(x, sp, m.data());
  for (T& v : m) v /= static_cast<T>(sp.n);
  return m;
}

/// var (std_dev = false) or standard deviation along `axis` with divisor n − correction.
template <class T>
Var<T> var_impl(const Var<T>& x, int axis, int correction, bool keepdims, bool std_dev) {
  const char* op = std_dev ? "stddev" : "var";
  const Plan p = plan(op, x.shape(), axis, keepdims);
  const AxisSplit sp = p.sp;
  // n − correction ≤ 0 divides by 0 (inf or NaN), as PyTorch
  const T divisor = std::max(T(0), static_cast<T>(static_cast<long>(sp.n) - correction));
  Var<T> y = detail::make_output(op, p.out_shape, x);
  const T* xv = x.value().data();
  const std::vector<T> m = slice_means(xv, sp);
  T* yv = y.out().data();
  std::fill(yv, yv + sp.outer * sp.inner, T(0));
  for (std::size_t o = 0; o < sp.outer; ++o)
    for (std::size_t k = 0; k < sp.n; ++k)
      for (std::size_t i = 0; i < sp.inner; ++i) {
        const T c = xv[(o * sp.n + k) * sp.inner + i] - m[o * sp.inner + i];
        yv[o * sp.inner + i] += c * c;
      }
  for (std::size_t r = 0; r < sp.outer * sp.inner; ++r) yv[r] = std_dev ? std::sqrt(yv[r] / divisor) : yv[r] / divisor;
  y.on_backward([x, y, sp, divisor, std_dev] {
    // var: dx = 2 (x − m)/(n − c) · g;  std: dx = (x − m)/((n − c) s) · g, and 0 where s = 0.
    x.accumulate_grad([&](Array<T>& dx, bool acc) {
      const T* xv = x.value().data();
      const T* yv = y.value().data();
      const T* g = y.grad().data();
      const std::vector<T> m = slice_means(xv, sp);
      T* d = dx.data();
      for (std::size_t o = 0; o < sp.outer; ++o)
        for (std::size_t k = 0; k < sp.n; ++k)
          for (std::size_t i = 0; i < sp.inner; ++i) {
            const std::size_t j = (o * sp.n + k) * sp.inner + i, r = o * sp.inner + i;
            const T c = xv[j] - m[r];
            T v;
            if (!std_dev)
              v = g[r] * (T(2) * c / divisor);
            else
              v = yv[r] == T(0) ? T(0) : g[r] * (c / (divisor * yv[r]));
            d[j] = acc ? d[j] + v : v;
          }
    });
  });
  return y;
}

/// ‖x‖₂ over everything or one axis, scaled by the largest |x| so no square overflows or underflows.
template <class T>
Var<T> norm_impl(const Var<T>& x, std::optional<int> axis, bool keepdims) {
  const Plan p = plan("norm", x.shape(), axis, keepdims);
  const AxisSplit sp = p.sp;
  Var<T> y = detail::make_output("norm", p.out_shape, x);
  const T* xv = x.value().data();
  T* yv = y.out().data();
  std::vector<T> scale(sp.outer * sp.inner, T(0));
  for (std::size_t o = 0; o < sp.outer; ++o)
    for (std::size_t k = 0; k < sp.n; ++k)
      for (std::size_t i = 0; i < sp.inner; ++i) {
        const T a = std::abs(xv[(o * sp.n + k) * sp.inner + i]);
        T& s = scale[o * sp.inner + i];
        s = a > s || std::isnan(a) ? a : s;
      }
  std::fill(yv, yv + sp.outer * sp.inner, T(0));
  for (std::size_t o = 0; o < sp.outer; ++o)
    for (std::size_t k = 0; k < sp.n; ++k)
      for (std::size_t i = 0; i < sp.inner; ++i) {
        const std::size_t r = o * sp.inner + i;
        if (scale[r] == T(0) || std::isinf(scale[r])) continue;
        const T q = xv[(o * sp.n + k) * sp.inner + i] / scale[r];
        yv[r] += q * q;
      }
  for (std::size_t r = 0; r < sp.outer * sp.inner; ++r)
    yv[r] = std::isinf(scale[r]) || scale[r] == T(0) ? scale[r] : scale[r] * std::sqrt(yv[r]);
  y.on_backward([x, y, sp] {
    // dx = g x/‖x‖, and the subgradient 0 at the zero vector (as PyTorch)
    x.accumulate_grad([&](Array<T>& dx, bool acc) {
      const T* xv = x.value().data();
      const T* yv = y.value().data();
      const T* g = y.grad().data();
      T* d = dx.data();
      for (std::size_t o = 0; o < sp.outer; ++o)
        for (std::size_t k = 0; k < sp.n; ++k)
          for (std::size_t i = 0; i < sp.inner; ++i) {
            const std::size_t j = (o * sp.n + k) * sp.inner + i, r = o * sp.inner + i;
            const T v = yv[r] == T(0) ? T(0) : g[r] * (xv[j] / yv[r]);
            d[j] = acc ? d[j] + v : v;
          }
    });
  });
  return y;
}

template <class T>
Var<T> cumsum_impl(const Var<T>& x, int axis) {
  if (x.dim() == 0) throw ShapeError("cumsum: needs at least one axis, got a 0-d array");
  const AxisSplit sp = detail::split_axis(x.shape(), normalize_axis("cumsum", axis, x.dim()));
  Var<T> y = detail::make_output("cumsum", x.shape(), x);
  const T* xv = x.value().data();
  T* yv = y.out().data();
  for (std::size_t o = 0; o < sp.outer; ++o)
    for (std::size_t k = 0; k < sp.n; ++k)
      for (std::size_t i = 0; i < sp.inner; ++i) {
        const std::size_t j = (o * sp.n + k) * sp.inner + i;
        yv[j] = k == 0 ? xv[j] : yv[j - sp.inner] + xv[j];
      }
  y.on_backward([x, y, sp] {
    // dx_k = Σ_{j ≥ k} g_j: the cumulative sum of g from the end
    x.accumulate_grad([&](Array<T>& dx, bool acc) {
      const T* g = y.grad().data();
      T* d = dx.data();
      std::vector<T> run(sp.inner);
      for (std::size_t o = 0; o < sp.outer; ++o) {
        std::fill(run.begin(), run.end(), T(0));
        for (std::size_t k = sp.n; k-- > 0;)
          for (std::size_t i = 0; i < sp.inner; ++i) {
            const std::size_t j = (o * sp.n + k) * sp.inner + i;
            run[i] += g[j];
            d[j] = acc ? d[j] + run[i] : run[i];
          }
      }
    });
  });
  return y;
}

}  // namespace

template <class T>
Var<T> sum(const Var<T>& x) {
  return sum_impl(x, std::nullopt, false, false);
}
template <class T>
Var<T> sum(const Var<T>& x, int axis, bool keepdims) {
  return sum_impl(x, axis, keepdims, false);
}
template <class T>
Var<T> mean(const Var<T>& x) {
  return sum_impl(x, std::nullopt, false, true);
}
template <class T>
Var<T> mean(const Var<T>& x, int axis, bool keepdims) {
  return sum_impl(x, axis, keepdims, true);
}
template <class T>
Var<T> max(const Var<T>& x) {
  return max_impl(x, std::nullopt, false);
}
template <class T>
Var<T> max(const Var<T>& x, int axis, bool keepdims) {
  return max_impl(x, axis, keepdims);
}
template <class T>
Var<T> min(const Var<T>& x) {
  return max_impl(x, std::nullopt, false, true);
}
template <class T>
Var<T> min(const Var<T>& x, int axis, bool keepdims) {
  return max_impl(x, axis, keepdims, true);
}
template <class T>
Var<T> prod(const Var<T>& x) {
  return prod_impl(x, std::nullopt, false);
}
template <class T>
Var<T> prod(const Var<T>& x, int axis, bool keepdims) {
  return prod_impl(x, axis, keepdims);
}
template <class T>
Var<T> var(const Var<T>& x, int axis, int correction, bool keepdims) {
  return var_impl(x, axis, correction, keepdims, false);
}
template <class T>
Var<T> stddev(const Var<T>& x, int axis, int correction, bool keepdims) {
  return var_impl(x, axis, correction, keepdims, true);
}
template <class T>
Var<T> norm(const Var<T>& x) {
  return norm_impl(x, std::nullopt, false);
}
template <class T>
Var<T> norm(const Var<T>& x, int axis, bool keepdims) {
  return norm_impl(x, axis, keepdims);
}
template <class T>
Var<T> cumsum(const Var<T>& x, int axis) {
  return cumsum_impl(x, axis);
}
template <class T>
Var<T> logsumexp(const Var<T>& x) {
  return logsumexp_impl(x, std::nullopt, false);
}
template <class T>
Var<T> logsumexp(const Var<T>& x, int axis, bool keepdims) {
  return logsumexp_impl(x, axis, keepdims);
}
template <class T>
Var<T> softmax(const Var<T>& x, int axis) {
  return softmax_impl("softmax", x, axis, false);
}
template <class T>
Var<T> log_softmax(const Var<T>& x, int axis) {
  return softmax_impl("log_softmax", x, axis, true);
}

#define TAPIR_INSTANTIATE(T)                             \
  template Var<T> sum(const Var<T>&);                    \
  template Var<T> sum(const Var<T>&, int, bool);         \
  template Var<T> mean(const Var<T>&);                   \
  template Var<T> mean(const Var<T>&, int, bool);        \
  template Var<T> max(const Var<T>&);                    \
  template Var<T> max(const Var<T>&, int, bool);         \
  template Var<T> logsumexp(const Var<T>&);              \
  template Var<T> logsumexp(const Var<T>&, int, bool);   \
  template Var<T> min(const Var<T>&);                    \
  template Var<T> min(const Var<T>&, int, bool);         \
  template Var<T> prod(const Var<T>&);                   \
  template Var<T> prod(const Var<T>&, int, bool);        \
  template Var<T> var(const Var<T>&, int, int, bool);    \
  template Var<T> stddev(const Var<T>&, int, int, bool); \
  template Var<T> norm(const Var<T>&);                   \
  template Var<T> norm(const Var<T>&, int, bool);        \
  template Var<T> cumsum(const Var<T>&, int);            \
  template Var<T> softmax(const Var<T>&, int);           \
  template Var<T> log_softmax(const Var<T>&, int);

TAPIR_INSTANTIATE(float)
TAPIR_INSTANTIATE(double)

}  // namespace tapir
