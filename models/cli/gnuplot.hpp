// tapir/models/cli/gnuplot.hpp — learning curves as figures: the curves of run directories as a CSV, and
// (when gnuplot is installed) a PNG drawn from it, test solid and train dashed per run. What `tapir plot`
// and the reproductions draw with.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "models/train/run.hpp"

namespace tapir::cli {

/// One run's curve and the legend it goes by.
struct Series {
  std::string label;
  std::vector<models::CurvePoint> curve;
};

/// The curves of run directories, labelled "METHOD N_z = Z" from their configs (the directory name
/// when a config cannot be read); two runs with one label are told apart by their directory names.
std::vector<Series> load_series(const std::vector<std::string>& dirs);

/// Where a figure's axes go: y range (unset: gnuplot's choice), log-scaled x, x from `xmin` (when the
/// curves reach 10 × beyond it; 0: from the data).
struct PlotAxes {
  std::optional<double> ymin, ymax;
  std::string ylabel = "average lower bound per data point";
  bool log_x = true;
  double xmin = 0;
};

/// Writes the CSV beside `out` (OUT.csv) and, with gnuplot, the PNG `out` (its script OUT.gp beside it),
/// saying "tapir: wrote ..." on stderr for each. Returns false when gnuplot is missing; throws with
/// gnuplot's last line of complaint when it fails.
bool plot_curves(const std::vector<Series>& series, const std::string& out, const std::string& title,
                 const PlotAxes& axes = {});

}  // namespace tapir::cli
