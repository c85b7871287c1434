// tapir/models/data/image.hpp — image grids as PNG files (the pictures of `tapir sample`, `reconstruct`
// and `manifold`).
#pragma once

#include <string>

#include "autodiff/array.hpp"

namespace tapir::models::data {

/// Writes the rows of `images` (N, rows·cols), values in [0, 1] (clamped), as a grey PNG grid of
/// `grid_cols` images per line with a `pad`-pixel border, each image scaled up by `zoom`.
/// Written atomically; throws tapir::Error naming the path on failure.
void write_png_grid(const std::string& path, const Array<float>& images, std::size_t rows, std::size_t cols,
                    std::size_t grid_cols, std::size_t pad = 1, std::size_t zoom = 1);

}  // namespace tapir::models::data
