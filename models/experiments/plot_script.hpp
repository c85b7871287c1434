// tapir/models/experiments/plot_script.hpp — learning-curve figures as text: the CSV of the curves and
// the gnuplot script that draws it, with a style per series that a reader can decode: one colour per
// latent dimension N_z, one dash pattern per method, test thick and train thin, a shaded band where a
// curve is the mean of several seeds, and a legend entry that says so when a curve lies outside the
// y window. Running gnuplot is the command's (models/cli/gnuplot.hpp); this is what it runs, testable.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "models/experiments/seeds.hpp"
#include "models/run/curve.hpp"

namespace tapir::models::experiments {

/// One curve of a figure: a run's, or the mean of several runs of one configuration (their seeds).
struct Series {
  std::string label;               // the legend's name, e.g. "AEVB N_z = 3"
  std::vector<CurvePoint> curve;   // one run's curve, or the mean curve
  std::vector<CurveSpread> band;   // several runs: per point of `curve`, the spread (min–max shaded)
  std::string method;              // "AEVB", "wake-sleep", …: the dash pattern ("" for an unknown run)
  std::size_t z_dim = 0;           // N_z: the colour (0: unknown)
  std::string colour = "#0072B2";  // set by assign_styles
  int dash = 1;                    // gnuplot dash type, set by assign_styles: 1 solid, 2 dashed, …
};

/// The mean curve of several runs' curves (curve_spread), with their spread as the band; one curve as it is.
Series mean_series(const std::string& label, const std::vector<std::vector<CurvePoint>>& curves);

/// Where a figure's axes go: y range (unset: gnuplot's choice), log-scaled x, x from `xmin` (when the
/// curves reach 10 × beyond it; 0: from the data).
struct PlotAxes {
  std::optional<double> ymin, ymax;
  std::string ylabel = "average lower bound per data point";
  bool log_x = true;
  double xmin = 0;
};

/// What lines each series draws.
struct PlotLines {
  bool train = true;  // the train curve (thin) beside the test curve (thick); false: test only
};

/// The figures' colours: the Okabe–Ito colour-blind-safe set, then four more (black last but one).
const std::vector<std::string>& plot_palette();

/// The dash type of a method: AEVB 1 (solid), wake-sleep 2 (dashed), MCEM 3, AVB 4, AVB + AC 5, else 6.
int method_dash(const std::string& method);

/// Styles every series. When no two series share a method and an N_z (a reproduction's figure, or runs
/// that differ in those), the dash pattern is the method's, and the colour is the N_z's when there are
/// several (the i-th smallest N_z of the figure gets palette colour i, so a colour means one N_z in
/// every panel drawn from the same styled series), else the series' own. Otherwise (e.g. runs that
/// differ in a learning rate): a colour per series, and past the palette's end a new dash pattern, so
/// no two series look alike.
void assign_styles(std::vector<Series>& series);

/// " (below the window)", " (above the window)", " (outside the window)" or " (no points)" when none of
/// the curve's finite points of `which` (train or test bound) within the x window lies in the y window;
/// "" otherwise (or when the axes set no y window). `x_from`: the window's lower x end (0: none).
std::string window_note(const std::vector<CurvePoint>& curve, bool test, const PlotAxes& axes, double x_from);

/// The CSV the script reads: run,samples,train_elbo,test_elbo,train_lo,train_hi,test_lo,test_hi (lo/hi:
/// the band's min and max over seeds; the value itself for one run).
std::string plot_csv(const std::vector<Series>& series);

/// 'text' for a gnuplot script (a ' inside becomes '').
std::string gnuplot_quote(const std::string& text);

/// The gnuplot script that draws `csv` (plot_csv's text, written to that path) into the PNG `out`:
/// legend outside the plot on the right, one entry per line drawn (with window_note's remark), the test
/// bound's band filled lightly in the series' colour and not listed. A line break in `title` starts a
/// second line of it.
std::string gnuplot_script(const std::vector<Series>& series, const std::string& csv, const std::string& out,
                           const std::string& title, const PlotAxes& axes = {}, const PlotLines& lines = {});

}  // namespace tapir::models::experiments
