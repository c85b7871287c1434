#include "models/experiments/manifold.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "models/experiments/pictures.hpp"

namespace tapir::models::experiments {

double normal_quantile(double p) {
  if (std::isnan(p) || p < 0 || p > 1) return std::numeric_limits<double>::quiet_NaN();
  if (p == 0) return -std::numeric_limits<double>::infinity();
  if (p == 1) return std::numeric_limits<double>::infinity();
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  double x;
  if (p < 0.02425) {  // lower tail: a rational function of q = sqrt(−2 log p)
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p > 1 - 0.02425) {  // upper tail, by symmetry
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {  // central region: a rational function of q = p − ½
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  // One Halley step on f(x) = Φ(x) − p: with e = f(x) and u = e / φ(x), x ← x − u / (1 + x u / 2).
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

Array<float> manifold_latents(std::size_t grid, std::size_t z_dim, std::size_t dim_x, std::size_t dim_y) {
  if (dim_x >= z_dim || dim_y >= z_dim || dim_x == dim_y)
    throw Error(fmt::format("manifold: latent dimensions {} and {}: need two different ones below N_z = {}", dim_x,
                            dim_y, z_dim));
  if (grid < 2) throw Error(fmt::format("manifold: a grid of {} points per axis: need at least 2", grid));
  Array<float> z = xt::zeros<float>({grid * grid, z_dim});
  for (std::size_t i = 0; i < grid; ++i)      // rows: second latent, top = high
    for (std::size_t j = 0; j < grid; ++j) {  // columns: first latent
      z(i * grid + j, dim_x) = static_cast<float>(normal_quantile((double(j) + 0.5) / double(grid)));
      z(i * grid + j, dim_y) = static_cast<float>(normal_quantile(1.0 - (double(i) + 0.5) / double(grid)));
    }
  return z;
}

Array<float> manifold_images(const LatentVariableModel<float>& vae, std::size_t grid, std::size_t dim_x,
                             std::size_t dim_y) {
  return decode_mean(vae, manifold_latents(grid, vae.z_dim(), dim_x, dim_y));
}

}  // namespace tapir::models::experiments
