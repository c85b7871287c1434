// tapir/models/experiments/manifold.hpp — the learned data manifold of the AEVB paper's Figure 4: the
// decoder over a grid of two latent dimensions, spaced by the prior's quantiles so that every cell
// holds the same prior mass (the other latents stay at 0, the prior's mode).
#pragma once

#include <cstddef>

#include "autodiff/array.hpp"
#include "models/vae/vae.hpp"

namespace tapir::models::experiments {

/// Φ⁻¹(p), the standard normal quantile: Acklam's rational approximation (relative error < 1.15e-9),
/// polished by one Halley step on Φ(x) − p to near double precision.
/// Edges: Φ⁻¹(0) = −∞, Φ⁻¹(1) = +∞, Φ⁻¹(½) = 0; NaN for p outside [0, 1] or NaN. For p near 1, 1 − p
/// is rounded, so Φ⁻¹(p) = −Φ⁻¹(1 − p) holds only to that rounding; prefer the lower tail.
double normal_quantile(double p);

/// The latents of a grid × grid picture, row-major, (grid², z_dim): cell (i, j) holds
/// z[dim_x] = Φ⁻¹((j + ½) / grid) (columns: left to right, low to high) and
/// z[dim_y] = Φ⁻¹(1 − (i + ½) / grid) (rows: top = high), every other latent 0.
/// Throws tapir::Error unless dim_x ≠ dim_y, both < z_dim, and grid ≥ 2.
Array<float> manifold_latents(std::size_t grid, std::size_t z_dim, std::size_t dim_x, std::size_t dim_y);

/// The decoder's mean images over manifold_latents, (grid², x_dim), in write_png_grid's order.
Array<float> manifold_images(const LatentVariableModel<float>& model, std::size_t grid, std::size_t dim_x,
                             std::size_t dim_y);

}  // namespace tapir::models::experiments
