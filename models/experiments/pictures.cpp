#include "models/experiments/pictures.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace tapir::models::experiments {

std::pair<std::size_t, std::size_t> image_shape(const VaeRunConfig& c) {
  if (c.train.dataset == "frey") return {28, 20};
  const auto side = static_cast<std::size_t>(std::lround(std::sqrt(double(c.model.x_dim))));
  if (side * side != c.model.x_dim) throw Error(fmt::format("cannot draw images of {} pixels", c.model.x_dim));
  return {side, side};
}

Array<float> decode_mean(const LatentVariableModel<float>& vae, const Array<float>& z) {
  Tape<float> tape;
  NoGradGuard<float> no_grad(tape);
  return vae.decode(tape.constant(z)).mean().value();
}

Array<float> reconstruction_grid(const Array<float>& x, const Array<float>& r, std::size_t per_row) {
  if (x.dimension() != 2 || x.shape() != r.shape() || per_row == 0)
    throw Error(
        fmt::format("reconstruction_grid: need data and reconstructions of one shape (n, D), {} per row", per_row));
  const std::size_t n = x.shape()[0], d = x.shape()[1];
  const std::size_t lines = (n + per_row - 1) / per_row;
  Array<float> grid = xt::zeros<float>({2 * lines * per_row, d});
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t line = i / per_row, col = i % per_row;
    std::copy_n(x.data() + i * d, d, grid.data() + (2 * line * per_row + col) * d);
    std::copy_n(r.data() + i * d, d, grid.data() + ((2 * line + 1) * per_row + col) * d);
  }
  return grid;
}

}  // namespace tapir::models::experiments
