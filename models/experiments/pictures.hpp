// tapir/models/experiments/pictures.hpp — what a trained decoder shows: the mean of p(x|z) as images, the
// shape of one image, and a grid that sets data points above their reconstructions. The pictures of
// `tapir sample`, `reconstruct` and `manifold` (written by models/data/image.hpp's write_png_grid).
#pragma once

#include <cstddef>
#include <utility>

#include "autodiff/array.hpp"
#include "models/train/run.hpp"
#include "models/vae/vae.hpp"

namespace tapir::models::experiments {

/// (rows, cols) of one image of the run's data: Frey Face 28 × 20; otherwise a square of x_dim pixels.
/// Throws tapir::Error when x_dim is not a square.
std::pair<std::size_t, std::size_t> image_shape(const VaeRunConfig& config);

/// The images a decoder shows for latents z (n, z_dim): the mean of p(x|z), (n, x_dim). Runs on a tape
/// of its own without gradients.
Array<float> decode_mean(const LatentVariableModel<float>& model, const Array<float>& z);

/// The rows of a grid of `per_row` images per line that shows x_i on a line and its reconstruction r_i
/// directly below: lines 2l hold data, 2l + 1 reconstructions; a short last pair of lines is padded with
/// blank (0) images. x and r are (n, D); the result is (2 · ⌈n / per_row⌉ · per_row, D).
Array<float> reconstruction_grid(const Array<float>& x, const Array<float>& r, std::size_t per_row);

}  // namespace tapir::models::experiments
