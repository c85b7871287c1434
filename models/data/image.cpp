// tapir/models/data/image.cpp — PNG grids and scatter plots through stb_image_write, text in
// stb_easy_font's bitmap font (both Debian's libstb-dev).
#include "models/data/image.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
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
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#endif
#include <stb/stb_easy_font.h>
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

using Rgb = std::array<unsigned char, 3>;
constexpr Rgb kBlack{0, 0, 0}, kGrey{110, 110, 110}, kGridLine{232, 232, 232};

/// An RGB picture being drawn: white at first; drawing outside it is clipped.
struct Canvas {
  long w, h;
  std::vector<unsigned char> px;
  Canvas(std::size_t width, std::size_t height) : w(long(width)), h(long(height)), px(width * height * 3, 255) {}

  /// The pixel (x, y) := (1 − a) · pixel + a · c.
  void blend(long x, long y, const Rgb& c, double a) {
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    unsigned char* p = &px[std::size_t(y * w + x) * 3];
    for (int ch = 0; ch < 3; ++ch) p[ch] = static_cast<unsigned char>(std::lround((1 - a) * p[ch] + a * c[ch]));
  }
  /// The rectangle [x0, x1) × [y0, y1) in colour c.
  void fill(long x0, long y0, long x1, long y1, const Rgb& c) {
    for (long y = std::max(0L, y0); y < std::min(h, y1); ++y)
      for (long x = std::max(0L, x0); x < std::min(w, x1); ++x) blend(x, y, c, 1.0);
  }
  /// A disc of radius r around (cx, cy), opacity a.
  void disc(double cx, double cy, int r, const Rgb& c, double a) {
    const long x0 = std::lround(cx), y0 = std::lround(cy);
    for (long dy = -r; dy <= r; ++dy)
      for (long dx = -r; dx <= r; ++dx)
        if (dx * dx + dy * dy <= long(r) * r + r / 2) blend(x0 + dx, y0 + dy, c, a);
  }
};

/// The text with every byte outside printable ASCII left out (stb_easy_font draws ASCII only).
std::string ascii(const std::string& s) {
  std::string out;
  for (char ch : s)
    if (ch >= 32 && ch < 127) out += ch;
  return out;
}

/// The rectangles stb_easy_font draws `text` with, in font units from its top-left corner: x0, y0, x1, y1.
std::vector<std::array<float, 4>> glyph_rects(const std::string& text) {
  std::string t = ascii(text);
  std::vector<char> buffer(300 * (t.size() + 1));
  const int quads = stb_easy_font_print(0, 0, t.data(), nullptr, buffer.data(), static_cast<int>(buffer.size()));
  std::vector<std::array<float, 4>> rects;
  for (int q = 0; q < quads; ++q) {
    float v[2][2];  // vertices 0 and 2 of the quad: opposite corners (16 bytes each: x, y, z, colour)
    std::memcpy(v[0], buffer.data() + (4 * q) * 16, 2 * sizeof(float));
    std::memcpy(v[1], buffer.data() + (4 * q + 2) * 16, 2 * sizeof(float));
    rects.push_back({std::min(v[0][0], v[1][0]), std::min(v[0][1], v[1][1]), std::max(v[0][0], v[1][0]),
                     std::max(v[0][1], v[1][1])});
  }
  return rects;
}

constexpr int kTextHeight = 7;  // the font's capital letters and digits, in font units

/// The width of `text` in pixels at `scale`.
long text_width(const std::string& text, int scale) {
  std::string t = ascii(text);
  return t.empty() ? 0 : long(stb_easy_font_width(t.data())) * scale;
}

/// Draws `text` with its top-left corner at (x, y), each font unit `scale` pixels; vertical: read from
/// bottom to top, (x, y) then its bottom-left corner.
void draw_text(Canvas& c, long x, long y, const std::string& text, int scale, const Rgb& colour,
               bool vertical = false) {
  for (const auto& r : glyph_rects(text)) {
    const long x0 = std::lround(r[0] * scale), y0 = std::lround(r[1] * scale), x1 = std::lround(r[2] * scale),
               y1 = std::lround(r[3] * scale);
    if (vertical)
      c.fill(x + y0, y - x1, x + y1, y - x0, colour);
    else
      c.fill(x + x0, y + y0, x + x1, y + y1, colour);
  }
}

/// A tick's number with as many decimals as the step between ticks needs.
std::string tick_label(double v, double step) {
  const int decimals = std::max(0, int(-std::floor(std::log10(step) + 1e-9)));
  if (std::abs(v) < step * 1e-6) v = 0;  // not "-0.0"
  return fmt::format("{:.{}f}", v, decimals);
}
}  // namespace

void write_png_grid(const std::string& path, const Array<float>& images, std::size_t rows, std::size_t cols,
                    std::size_t grid_cols, std::size_t pad, std::size_t zoom) {
  write_png_grid(path, images, rows, cols, grid_cols, pad, zoom, GridGaps{});
}

void write_png_grid(const std::string& path, const Array<float>& images, std::size_t rows, std::size_t cols,
                    std::size_t grid_cols, std::size_t pad, std::size_t zoom, const GridGaps& gaps) {
  if (images.dimension() != 2 || images.shape()[1] != rows * cols)
    throw ShapeError(fmt::format("write_png_grid: images have shape {}, expected (N, {}×{})", shape_str(images.shape()),
                                 rows, cols));
  const std::size_t n = images.shape()[0];
  if (n == 0 || grid_cols == 0 || zoom == 0) throw Error("write_png_grid: nothing to draw");
  grid_cols = std::min(grid_cols, n);
  const std::size_t grid_rows = (n + grid_cols - 1) / grid_cols;
  const std::size_t cell_w = cols * zoom + pad, cell_h = rows * zoom + pad;
  // Where line l and column k begin: the cells before them, and the wider gaps.
  std::vector<std::size_t> line_y(grid_rows), col_x(grid_cols);
  for (std::size_t l = 0, y = pad; l < grid_rows; ++l) {
    line_y[l] = y;
    y += cell_h + (gaps.rows_per_group > 0 && (l + 1) % gaps.rows_per_group == 0 ? gaps.gap : 0);
  }
  for (std::size_t k = 0, x = pad; k < grid_cols; ++k) {
    col_x[k] = x;
    x += cell_w + (std::count(gaps.after_columns.begin(), gaps.after_columns.end(), k) > 0 ? gaps.gap : 0);
  }
  const std::size_t width = col_x.back() + cell_w, height = line_y.back() + cell_h;
  std::vector<unsigned char> pixels(width * height, 255);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t x0 = col_x[i % grid_cols], y0 = line_y[i / grid_cols];
    for (std::size_t r = 0; r < rows * zoom; ++r)
      for (std::size_t c = 0; c < cols * zoom; ++c) {
        const float v = images(i, (r / zoom) * cols + c / zoom);
        const float clamped = std::isfinite(v) ? std::clamp(v, 0.0f, 1.0f) : 0.0f;
        pixels[(y0 + r) * width + x0 + c] = static_cast<unsigned char>(std::lround(clamped * 255.0f));
      }
  }
  write_png(path, width, height, 1, pixels);
}

std::array<unsigned char, 3> palette_colour(std::size_t g) {
  static constexpr std::array<unsigned char, 3> tab10[10] = {
      {{31, 119, 180}}, {{255, 127, 14}},  {{44, 160, 44}},   {{214, 39, 40}},  {{148, 103, 189}},
      {{140, 86, 75}},  {{227, 119, 194}}, {{127, 127, 127}}, {{188, 189, 34}}, {{23, 190, 207}}};
  return tab10[g % 10];
}

std::vector<double> nice_ticks(double lo, double hi, std::size_t target) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi) || target == 0) return {};
  const double raw = (hi - lo) / double(target), magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / magnitude;
  const double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
  std::vector<double> ticks;
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9 && ticks.size() < 1000; ++k)
    ticks.push_back(k * step);
  return ticks;
}

void write_png_scatter(const std::string& path, const Array<float>& points, const std::vector<std::size_t>& group,
                       const ScatterStyle& s) {
  if (points.dimension() != 2 || points.shape()[1] != 2 || group.size() != points.shape()[0])
    throw ShapeError(
        fmt::format("write_png_scatter: points {} with {} group labels", shape_str(points.shape()), group.size()));
  if (s.width < 200 || s.height < 150 || s.width > 10000 || s.height > 10000)
    throw Error(fmt::format("write_png_scatter: a {}×{} picture (200×150 to 10000×10000)", s.width, s.height));
  const std::size_t n = points.shape()[0];
  const auto finite = [&](std::size_t i) { return std::isfinite(points(i, 0)) && std::isfinite(points(i, 1)); };
  // The limits: given, or the points' range with a 5 % margin.
  double x_min = s.x_min, x_max = s.x_max, y_min = s.y_min, y_max = s.y_max;
  if (x_min == x_max && y_min == y_max) {
    x_min = y_min = std::numeric_limits<double>::infinity();
    x_max = y_max = -x_min;
    for (std::size_t i = 0; i < n; ++i)
      if (finite(i)) {
        x_min = std::min(x_min, double(points(i, 0))), x_max = std::max(x_max, double(points(i, 0)));
        y_min = std::min(y_min, double(points(i, 1))), y_max = std::max(y_max, double(points(i, 1)));
      }
    if (!(x_min <= x_max)) x_min = y_min = -1, x_max = y_max = 1;  // no finite point
    const auto widen = [](double& lo, double& hi) {
      const double margin = hi > lo ? 0.05 * (hi - lo) : 1.0;
      lo -= margin, hi += margin;
    };
    widen(x_min, x_max);
    widen(y_min, y_max);
  }
  if (!std::isfinite(x_min) || !std::isfinite(x_max) || !std::isfinite(y_min) || !std::isfinite(y_max) ||
      !(x_min < x_max) || !(y_min < y_max))
    throw Error(fmt::format("write_png_scatter: limits [{}, {}] × [{}, {}] are not two finite ranges", x_min, x_max,
                            y_min, y_max));

  constexpr int kScale = 2;                      // font units to pixels
  const long line = (kTextHeight + 5) * kScale;  // a line of text and its spacing
  const std::vector<double> xt = nice_ticks(x_min, x_max), yt = nice_ticks(y_min, y_max);
  const double x_step = xt.size() > 1 ? xt[1] - xt[0] : x_max - x_min,
               y_step = yt.size() > 1 ? yt[1] - yt[0] : y_max - y_min;
  long y_tick_w = 0;
  for (double v : yt) y_tick_w = std::max(y_tick_w, text_width(tick_label(v, y_step), kScale));
  long key_w = 0;
  for (const auto& k : s.key) key_w = std::max(key_w, text_width(k, kScale) + line + 12);
  if (!s.key.empty()) key_w = std::max(key_w, text_width(s.key_title, kScale)) + 30;
  const long below = 18 + (s.x_label.empty() ? 0 : line) + line + 6;  // tick numbers and the x label
  const long left = 14 + (s.y_label.empty() ? 0 : line) + y_tick_w + 10, top = s.title.empty() ? 16 : 16 + line + 6;
  long right = long(s.width) - 20 - key_w, bottom = long(s.height) - below;
  if (right - left < 50 || bottom - top < 50) throw Error("write_png_scatter: the picture is too small for its text");
  std::size_t width = s.width, height = s.height;
  const double ratio = (x_max - x_min) / (y_max - y_min);
  if (s.equal_aspect && ratio > 0.25 && ratio < 4) {  // pixels per unit: the smaller of the two, on both axes
    const double unit = std::min(double(right - left) / (x_max - x_min), double(bottom - top) / (y_max - y_min));
    right = left + std::lround(unit * (x_max - x_min));
    bottom = top + std::lround(unit * (y_max - y_min));
    width =
        std::size_t(std::max(right + 20 + key_w, text_width(s.title, kScale) + 8));  // never narrower than the title
    height = std::size_t(bottom + below);
  }
  const auto px = [&](double v) { return left + (v - x_min) / (x_max - x_min) * double(right - left - 1); };
  const auto py = [&](double v) { return bottom - 1 - (v - y_min) / (y_max - y_min) * double(bottom - top - 1); };

  Canvas c(width, height);
  for (double v : xt) c.fill(std::lround(px(v)), top, std::lround(px(v)) + 1, bottom, kGridLine);
  for (double v : yt) c.fill(left, std::lround(py(v)), right, std::lround(py(v)) + 1, kGridLine);
  // Points in a fixed pseudo-random order (an LCG's permutation) so that no group is drawn over all others.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;
  for (std::size_t i = n; i > 1; --i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    std::swap(order[i - 1], order[(state >> 33) % i]);
  }
  for (std::size_t i : order) {
    if (!finite(i)) continue;
    const double x = points(i, 0), y = points(i, 1);
    if (x < x_min || x > x_max || y < y_min || y > y_max) continue;
    c.disc(px(x), py(y), s.radius, palette_colour(group[i]), s.opacity);
  }
  // The frame, ticks and their numbers.
  c.fill(left - 1, top - 1, right + 1, top, kBlack);
  c.fill(left - 1, bottom, right + 1, bottom + 1, kBlack);
  c.fill(left - 1, top - 1, left, bottom + 1, kBlack);
  c.fill(right, top - 1, right + 1, bottom + 1, kBlack);
  for (double v : xt) {
    const long x = std::lround(px(v));
    c.fill(x, bottom, x + 1, bottom + 6, kBlack);
    const std::string t = tick_label(v, x_step);
    draw_text(c, x - text_width(t, kScale) / 2, bottom + 10, t, kScale, kBlack);
  }
  for (double v : yt) {
    const long y = std::lround(py(v));
    c.fill(left - 6, y, left, y + 1, kBlack);
    const std::string t = tick_label(v, y_step);
    draw_text(c, left - 10 - text_width(t, kScale), y - kTextHeight * kScale / 2, t, kScale, kBlack);
  }
  // Labels and the title.
  if (!s.x_label.empty())
    draw_text(c, (left + right - text_width(s.x_label, kScale)) / 2, bottom + 12 + line, s.x_label, kScale, kBlack);
  if (!s.y_label.empty())
    draw_text(c, 12, (top + bottom + text_width(s.y_label, kScale)) / 2, s.y_label, kScale, kBlack, true);
  if (!s.title.empty()) {  // centred over the plot, moved left or right as far as needed to fit the picture
    const long tw = text_width(s.title, kScale);
    draw_text(c, std::max(4L, std::min((left + right - tw) / 2, long(width) - tw - 4)), 14, s.title, kScale, kBlack);
  }
  // The key: a swatch and a name per group.
  if (!s.key.empty()) {
    long y = top;
    const long x = right + 24;
    if (!s.key_title.empty()) {
      draw_text(c, x, y, s.key_title, kScale, kGrey);
      y += line + 4;
    }
    for (std::size_t g = 0; g < s.key.size(); ++g, y += line + 6) {
      c.fill(x, y - 2, x + line - 4, y + line - 6, palette_colour(g));
      draw_text(c, x + line + 4, y, s.key[g], kScale, kBlack);
    }
  }
  write_png(path, width, height, 3, c.px);
}

}  // namespace tapir::models::data
