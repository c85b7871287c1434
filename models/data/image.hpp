// tapir/models/data/image.hpp — pictures as PNG files: image grids (the pictures of `tapir sample`,
// `reconstruct`, `interpolate` and `manifold`) and scatter plots with axes, ticks and a colour key (the
// pictures of `tapir latent` and the AVB toy), drawn by tapir itself: no gnuplot needed. Text is
// stb_easy_font's bitmap font (ASCII only; other characters are skipped).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "autodiff/array.hpp"

namespace tapir::models::data {

/// Writes the rows of `images` (N, rows·cols), values in [0, 1] (clamped), as a grey PNG grid of
/// `grid_cols` images per line with a `pad`-pixel border, each image scaled up by `zoom`.
/// Written atomically; throws tapir::Error naming the path on failure.
void write_png_grid(const std::string& path, const Array<float>& images, std::size_t rows, std::size_t cols,
                    std::size_t grid_cols, std::size_t pad = 1, std::size_t zoom = 1);

/// Where a grid leaves wider (white) gaps, so that its groups read at a glance.
struct GridGaps {
  std::size_t rows_per_group = 0;          // > 0: a gap of `gap` pixels after every that many lines
  std::vector<std::size_t> after_columns;  // a gap of `gap` pixels after each of these columns (0-based)
  std::size_t gap = 8;
};

/// write_png_grid with wider gaps between groups of lines and after chosen columns.
void write_png_grid(const std::string& path, const Array<float>& images, std::size_t rows, std::size_t cols,
                    std::size_t grid_cols, std::size_t pad, std::size_t zoom, const GridGaps& gaps);

/// The colour of group g in scatter plots (10 distinct colours, matplotlib's "tab10", then repeating).
std::array<unsigned char, 3> palette_colour(std::size_t g);

/// How a scatter plot is drawn. Limits equal (both 0): taken from the points, with a 5 % margin.
struct ScatterStyle {
  std::string title, x_label, y_label;
  std::vector<std::string> key;  // key[g] names group g; empty: no key
  std::string key_title;         // a line above the key ("digit", ...)
  double x_min = 0, x_max = 0, y_min = 0, y_max = 0;
  std::size_t width = 900, height = 720;  // pixels, key and labels included
  int radius = 2;                         // a point is a disc of this radius (pixels)
  double opacity = 0.6;                   // of each point over what is below it
  // One unit as long on both axes (the picture shrinks to fit, never grows); ignored when one range is
  // more than 4 times the other (the plot would be a sliver).
  bool equal_aspect = false;
};

/// A scatter plot of 2-D points (N, 2) as an RGB PNG with axes, ticks and numbers, axis labels, a title
/// and a colour key: point n is drawn in palette_colour(group[n]), in an order that interleaves the
/// groups (a pseudo-random permutation, the same every time) so no group hides the others. Points off
/// the limits or not finite are left out. Written atomically; throws tapir::Error naming the path on
/// failure, or when the shapes disagree or a limit is not finite.
void write_png_scatter(const std::string& path, const Array<float>& points, const std::vector<std::size_t>& group,
                       const ScatterStyle& style);

/// "Nice" tick values covering [lo, hi]: multiples of 1, 2 or 5 × 10^k, about `target` of them, all
/// inside [lo, hi]. Empty when lo ≥ hi or either is not finite.
std::vector<double> nice_ticks(double lo, double hi, std::size_t target = 6);

}  // namespace tapir::models::data
