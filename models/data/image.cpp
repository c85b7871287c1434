// tapir/models/data/image.cpp — PNG grids through stb_image_write (Debian's libstb-dev).
#include "models/data/image.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "nn/io/atomic_file.hpp"

#define STB_IMAGE_WRITE_STATIC
#define STBI_WRITE_NO_STDIO  // files are written by write_file_atomically only
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

namespace {
/// stb's output callback: appends each chunk of the encoded PNG to the std::string at `context`.
void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

/// pixels (height · width · channels bytes) to `path` as a PNG, encoded in memory and written with
/// write_file_atomically (never half an image).
void write_png(const std::string& path, std::size_t width, std::size_t height, int channels,
               const std::vector<unsigned char>& pixels) {
  std::string png;
  if (!stbi_write_png_to_func(append_bytes, &png, static_cast<int>(width), static_cast<int>(height), channels,
                              pixels.data(), static_cast<int>(width) * channels))
    throw Error(fmt::format("cannot encode the {}×{} PNG for '{}'", width, height, path));
  write_file_atomically(path, png);
}
}  // namespace

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
  write_png(path, width, height, 1, pixels);
}

void write_png_scatter(const std::string& path, const Array<float>& points, const std::vector<std::size_t>& group,
                       double extent, std::size_t size) {
  if (points.dimension() != 2 || points.shape()[1] != 2 || group.size() != points.shape()[0])
    throw ShapeError(
        fmt::format("write_png_scatter: points {} with {} group labels", shape_str(points.shape()), group.size()));
  if (!(extent > 0) || size < 16) throw Error("write_png_scatter: extent must be positive and size at least 16");
  static constexpr unsigned char palette[8][3] = {{31, 119, 180},  {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
                                                  {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127}};
  std::vector<unsigned char> px(size * size * 3, 255);
  const auto to_pixel = [&](double v) { return (v + extent) / (2 * extent) * double(size - 1); };
  const std::size_t zero = static_cast<std::size_t>(std::lround(to_pixel(0)));
  for (std::size_t i = 0; i < size; ++i)
    for (const std::size_t at : {i * size + zero, zero * size + i})  // the axes
      for (int ch = 0; ch < 3; ++ch) px[at * 3 + std::size_t(ch)] = 210;
  for (std::size_t n = 0; n < points.shape()[0]; ++n) {
    if (!std::isfinite(points(n, 0)) || !std::isfinite(points(n, 1)) || std::abs(points(n, 0)) > 2 * extent ||
        std::abs(points(n, 1)) > 2 * extent)
      continue;  // off the picture (or not a number)
    const double cx = to_pixel(points(n, 0)), cy = to_pixel(-double(points(n, 1)));  // y up
    const unsigned char* colour = palette[group[n] % 8];
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx) {
        const long x = std::lround(cx) + dx, y = std::lround(cy) + dy;
        if (x < 0 || y < 0 || x >= long(size) || y >= long(size)) continue;
        for (int ch = 0; ch < 3; ++ch) px[(std::size_t(y) * size + std::size_t(x)) * 3 + std::size_t(ch)] = colour[ch];
      }
  }
  write_png(path, size, size, 3, px);
}

}  // namespace tapir::models::data
