#include "models/experiments/plot_script.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

namespace tapir::models::experiments {

std::string gnuplot_quote(const std::string& text) {
  std::string q = "'";
  for (char c : text) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

namespace {

/// "text" for gnuplot, where a line break in `text` starts a new line of the title (\n in double quotes).
std::string gnuplot_lines(const std::string& text) {
  std::string q = "\"";
  for (char c : text)
    q += c == '\n' ? std::string("\\n") : c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
  return q + "\"";
}

/// "text" for the CSV (a " inside becomes "").
std::string csv_quote(const std::string& text) {
  std::string q = "\"";
  for (char c : text) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace

Series mean_series(const std::string& label, const std::vector<std::vector<CurvePoint>>& curves) {
  Series s;
  s.label = label;
  if (curves.size() == 1) {
    s.curve = curves.front();
    return s;
  }
  s.band = curve_spread(curves);
  for (const auto& p : s.band) {
    CurvePoint c;
    c.samples = p.samples;
    c.seconds = p.seconds;
    c.train_elbo = p.train.mean;
    c.test_elbo = p.test.mean;
    s.curve.push_back(c);
  }
  return s;
}

const std::vector<std::string>& plot_palette() {
  static const std::vector<std::string> colours = {
      "#0072B2",  // blue
      "#D55E00",  // vermillion
      "#009E73",  // bluish green
      "#CC79A7",  // reddish purple
      "#E69F00",  // orange
      "#56B4E9",  // sky blue
      "#8C564B",  // brown
      "#7F7F7F",  // grey
      "#000000",  // black
      "#BCBD22",  // olive
  };
  return colours;
}

int method_dash(const std::string& method) {
  if (method == "AEVB") return 1;
  if (method == "wake-sleep") return 2;
  if (method == "MCEM") return 3;
  if (method == "AVB") return 4;
  if (method == "AVB + AC") return 5;
  return 6;
}

void assign_styles(std::vector<Series>& series) {
  const auto& palette = plot_palette();
  std::set<std::pair<std::string, std::size_t>> keys;
  std::set<std::size_t> latents;
  bool known = true;
  for (const auto& s : series) {
    known = known && !s.method.empty() && s.z_dim > 0;
    keys.insert({s.method, s.z_dim});
    latents.insert(s.z_dim);
  }
  if (known && keys.size() == series.size() && latents.size() > 1 && latents.size() <= palette.size()) {
    for (auto& s : series) {
      const auto rank = static_cast<std::size_t>(std::distance(latents.begin(), latents.find(s.z_dim)));
      s.colour = palette[rank];
      s.dash = method_dash(s.method);
    }
    return;
  }
  if (known && keys.size() == series.size() && series.size() <= palette.size()) {  // one N_z: methods differ
    for (std::size_t i = 0; i < series.size(); ++i) {
      series[i].colour = palette[i];
      series[i].dash = method_dash(series[i].method);
    }
    return;
  }
  for (std::size_t i = 0; i < series.size(); ++i) {
    series[i].colour = palette[i % palette.size()];
    series[i].dash = 1 + static_cast<int>(i / palette.size() % 5);
  }
}

std::string window_note(const std::vector<CurvePoint>& curve, bool test, const PlotAxes& axes, double x_from) {
  if (!axes.ymin && !axes.ymax) return "";
  bool any = false, below = false, above = false;
  for (const auto& p : curve) {
    const double y = test ? p.test_elbo : p.train_elbo;
    if (double(p.samples) < x_from || std::isnan(y)) continue;
    any = true;
    if (axes.ymin && y < *axes.ymin)
      below = true;
    else if (axes.ymax && y > *axes.ymax)
      above = true;
    else
      return "";  // a point in the window
  }
  if (!any) return " (no points)";
  return below && above ? " (outside the window)" : below ? " (below the window)" : " (above the window)";
}

std::string plot_csv(const std::vector<Series>& series) {
  std::string rows = "run,samples,train_elbo,test_elbo,train_lo,train_hi,test_lo,test_hi\n";
  for (const auto& s : series)
    for (std::size_t i = 0; i < s.curve.size(); ++i) {
      const auto& p = s.curve[i];
      const bool band = i < s.band.size();
      rows += fmt::format("{},{},{},{},{},{},{},{}\n", csv_quote(s.label), p.samples, p.train_elbo, p.test_elbo,
                          band ? s.band[i].train.min : p.train_elbo, band ? s.band[i].train.max : p.train_elbo,
                          band ? s.band[i].test.min : p.test_elbo, band ? s.band[i].test.max : p.test_elbo);
    }
  return rows;
}

std::string gnuplot_script(const std::vector<Series>& series, const std::string& csv, const std::string& out,
                           const std::string& title, const PlotAxes& axes, const PlotLines& lines) {
  std::string g = "set terminal pngcairo size 1000,620 noenhanced font 'sans,11'\n";
  g += fmt::format("set output {}\nset title {}\n", gnuplot_quote(out), gnuplot_lines(title));
  g += axes.log_x ? "set logscale x\nset format x '1e%L'\n" : "set format x '%.0s%c'\n";
  g += fmt::format("set xlabel '# training samples evaluated'\nset ylabel {}\n", gnuplot_quote(axes.ylabel));
  // The legend beside the plot, not over the curves; samples on its left, as a reader scans them.
  g += "set key outside right top vertical Left reverse samplen 3\nset grid\n";
  long long reach = 0;  // the paper's x range only when the curves get there (else gnuplot has no points)
  for (const auto& se : series)
    for (const auto& p : se.curve) reach = std::max(reach, p.samples);
  double x_from = 0;
  if (axes.xmin > 0 && double(reach) > 10 * axes.xmin) {
    x_from = axes.xmin;
    g += fmt::format("set xrange [{}:*]\n", axes.xmin);
  }
  g += "set datafile separator ','\n";
  if (axes.ymin || axes.ymax)
    g += fmt::format("set yrange [{}:{}]\n", axes.ymin ? fmt::format("{}", *axes.ymin) : "*",
                     axes.ymax ? fmt::format("{}", *axes.ymax) : "*");
  g += "set style fill transparent solid 0.18 noborder\n";

  // Every series' rows are consecutive in the CSV: `every ::FIRST::LAST` picks them (row 0 is the header).
  std::vector<std::string> bands, curves;
  std::size_t row = 1;
  for (const auto& s : series) {
    if (s.curve.empty()) continue;
    const std::string rows = fmt::format("{} every ::{}::{}", gnuplot_quote(csv), row, row + s.curve.size() - 1);
    row += s.curve.size();
    const std::string colour = fmt::format("lc rgb {}", gnuplot_quote(s.colour));
    if (!s.band.empty())  // the test bound's only: a train band over it would hide both
      bands.push_back(fmt::format("{} using 2:7:8 with filledcurves {} notitle", rows, colour));
    curves.push_back(fmt::format("{} using 2:4 with lines lw 2.5 {} dt {} title {}", rows, colour, s.dash,
                                 gnuplot_quote(s.label + " test" + window_note(s.curve, true, axes, x_from))));
    if (lines.train)
      curves.push_back(fmt::format("{} using 2:3 with lines lw 1 {} dt {} title {}", rows, colour, s.dash,
                                   gnuplot_quote(s.label + " train" + window_note(s.curve, false, axes, x_from))));
  }
  std::vector<std::string> all = bands;  // bands first, so that every line is drawn over them
  all.insert(all.end(), curves.begin(), curves.end());
  if (all.empty()) all.push_back("NaN notitle");  // no run has a point yet: an empty frame, not an error
  g += "plot " + all.front();
  for (std::size_t i = 1; i < all.size(); ++i) g += ", \\\n     " + all[i];
  return g + "\n";
}

}  // namespace tapir::models::experiments
