// tapir/models/data/image.hpp — image grids as PNG files (the pictures of `tapir sample`, `reconstruct`
// and `manifold`).
#pragma once

#include <string>
#include <vector>

#include "autodiff/array.hpp"

namespace tapir::models::data {

/// Writes the rows of `images` (N, rows·cols), values in [0, 1] (clamped), as a grey PNG grid of
/// `grid_cols` images per line with a `pad`-pixel border, each image scaled up by `zoom`.
/// Written atomically; throws tapir::Error naming the path on failure.
void write_png_grid(const std::string& path, const Array<float>& images, std::size_t rows, std::size_t cols,
                    std::size_t grid_cols, std::size_t pad = 1, std::size_t zoom = 1);

/// A scatter plot of 2-D points as a `size`×`size` RGB PNG of the square [−extent, extent]²: points
/// (N, 2) coloured by `group` (N,) from a fixed palette (group g < 8), with faint axes through 0.
/// Written atomically; throws tapir::Error naming the path on failure.
void write_png_scatter(const std::string& path, const Array<float>& points, const std::vector<std::size_t>& group,
                       double extent = 3.0, std::size_t size = 512);

}  // namespace tapir::models::data
