// tapir/models/data/image.cpp — PNG grids through stb_image_write (Debian's libstb-dev).
#include "models/data/image.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#include <stb/stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace tapir::models::data {

void write_png_grid(const std::string& path, const Array<float>& images, std::size_t rows, std::size_t cols,
                    std::size_t grid_cols, std::size_t pad, std::size_t zoom) {
  if (images.dimension() != 2 || images.shape()[1] != rows * cols)
    throw ShapeError(fmt::format("write_png_grid: images have shape {}, expected (N, {}×{})", shape_str(images.shape()),
                                 rows, cols));
  const std::size_t n = images.shape()[0];
  if (n == 0 || grid_cols == 0 || zoom == 0) throw Error("write_png_grid: nothing to draw");
  grid_cols = std::min(grid_cols, n);
  const std::size_t grid_rows = (n + grid_cols - 1) / grid_cols;
  const std::size_t cell_w = cols * zoom + pad, cell_h = rows * zoom + pad;
  const std::size_t width = grid_cols * cell_w + pad, height = grid_rows * cell_h + pad;
  std::vector<unsigned char> pixels(width * height, 255);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t x0 = pad + (i % grid_cols) * cell_w, y0 = pad + (i / grid_cols) * cell_h;
    for (std::size_t r = 0; r < rows * zoom; ++r)
      for (std::size_t c = 0; c < cols * zoom; ++c) {
        const float v = images(i, (r / zoom) * cols + c / zoom);
        const float clamped = std::isfinite(v) ? std::clamp(v, 0.0f, 1.0f) : 0.0f;
        pixels[(y0 + r) * width + x0 + c] = static_cast<unsigned char>(std::lround(clamped * 255.0f));
      }
  }
  const std::string tmp = path + ".tmp";
  if (!stbi_write_png(tmp.c_str(), static_cast<int>(width), static_cast<int>(height), 1, pixels.data(),
                      static_cast<int>(width))) {
    std::remove(tmp.c_str());
    throw Error(fmt::format("cannot write PNG '{}' (does its directory exist?)", path));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(fmt::format("cannot rename '{}' to '{}'", tmp, path));
  }
}

}  // namespace tapir::models::data
