// tapir/autodiff/log_sum_exp.cpp — two passes (max, then Σ exp) for arrays; one pass for streams.
#include "autodiff/log_sum_exp.hpp"

#include <fmt/format.h>

#include <cmath>
#include <vector>

namespace tapir {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

/// m + log s for the maximum m and s = Σ exp(w − m); ±∞ and NaN maxima decided before the log.
double finish(double m, double s, bool nan) {
  if (nan) return std::numeric_limits<double>::quiet_NaN();
  if (m == -kInf || m == kInf) return m;  // all terms −∞ (or none): log 0; some +∞: +∞
  return m + std::log(s);
}
}  // namespace

Array<double> log_sum_exp(const Array<double>& a, std::size_t axis) {
  if (a.dimension() != 2 || axis > 1)
    throw ShapeError(fmt::format("log_sum_exp: expected a 2-D array and axis 0 or 1, got shape {} and axis {}",
                                 shape_str(a.shape()), axis));
  const std::size_t rows = a.shape()[0], cols = a.shape()[1];
  const std::size_t n = axis == 0 ? cols : rows;  // outputs
  const std::size_t k = axis == 0 ? rows : cols;  // terms per output
  // Term i of output j sits at a[i * stride_term + j * stride_out] in row-major order.
  const std::size_t stride_term = axis == 0 ? cols : 1, stride_out = axis == 0 ? 1 : cols;
  const double* p = a.data();
  std::vector<double> m(n, -kInf), s(n, 0.0);
  std::vector<char> nan(n, 0);
  // Both passes walk the array in memory order: for axis 0 the inner loop runs along a row.
  const auto for_each = [&](auto&& f) {
    if (axis == 0) {
      for (std::size_t i = 0; i < k; ++i)
        for (std::size_t j = 0; j < n; ++j) f(j, p[i * stride_term + j * stride_out]);
    } else {
      for (std::size_t j = 0; j < n; ++j)
        for (std::size_t i = 0; i < k; ++i) f(j, p[i * stride_term + j * stride_out]);
    }
  };
  for_each([&](std::size_t j, double w) {
    if (std::isnan(w)) nan[j] = 1;
    m[j] = std::max(m[j], w);
  });
  for_each([&](std::size_t j, double w) {
    if (std::isfinite(m[j])) s[j] += std::exp(w - m[j]);  // w − m ≤ 0: no overflow; exp(−∞) = 0
  });
  Array<double> out = Array<double>::from_shape({n});
  for (std::size_t j = 0; j < n; ++j) out(j) = finish(m[j], s[j], nan[j]);
  return out;
}

void LogSumExpAccumulator::add(double w) {
  ++count_;
  if (std::isnan(w)) {
    nan_ = true;
  } else if (w > max_) {  // a new maximum: rescale the sum to it (exp(−∞) = 0 for the first term)
    sum_ = sum_ * std::exp(max_ - w) + 1.0;
    max_ = w;
  } else if (w != -kInf && max_ != kInf) {  // −∞ adds nothing; after +∞ the value is fixed
    sum_ += std::exp(w - max_);
  }
}

double LogSumExpAccumulator::value() const { return finish(max_, sum_, nan_); }

double LogSumExpAccumulator::log_mean() const {
  if (count_ == 0) return std::numeric_limits<double>::quiet_NaN();
  return value() - std::log(static_cast<double>(count_));
}

}  // namespace tapir
