// tapir/models/run/active_units.cpp — LatentActivity (see active_units.hpp).
#include "models/run/active_units.hpp"

#include <fmt/format.h>

namespace tapir::models {

void LatentActivity::add(const Array<float>& mu) {
  if (mu.dimension() != 2)
    throw ShapeError(fmt::format("LatentActivity: means of shape {}, expected (batch, z_dim)", shape_str(mu.shape())));
  const std::size_t b = mu.shape()[0], d = mu.shape()[1];
  if (mean_.empty()) {
    mean_.assign(d, 0.0);
    m2_.assign(d, 0.0);
  } else if (d != mean_.size()) {
    throw ShapeError(fmt::format("LatentActivity: means of {} units after {}", d, mean_.size()));
  }
  for (std::size_t i = 0; i < b; ++i) {
    ++n_;
    for (std::size_t j = 0; j < d; ++j) {  // Welford: δ = μ − m;  m ← m + δ/n;  M₂ ← M₂ + δ (μ − m)
      const double v = mu(i, j), delta = v - mean_[j];
      mean_[j] += delta / double(n_);
      m2_[j] += delta * (v - mean_[j]);
    }
  }
}

std::vector<double> LatentActivity::variance() const {
  std::vector<double> v(m2_.size(), 0.0);
  if (n_ >= 2)
    for (std::size_t j = 0; j < v.size(); ++j) v[j] = m2_[j] / double(n_);
  return v;
}

std::size_t LatentActivity::active(double threshold) const {
  std::size_t a = 0;
  for (const double v : variance()) a += v > threshold;
  return a;
}

}  // namespace tapir::models
