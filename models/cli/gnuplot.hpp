// tapir/models/cli/gnuplot.hpp — learning curves as figures: the curves of run directories as a CSV, and
// (when gnuplot is installed) a PNG drawn from it by the script models/experiments/plot_script.hpp
// writes. What `tapir plot` and the reproductions draw with.
#pragma once

#include <string>
#include <vector>

#include "models/experiments/plot_script.hpp"
#include "models/train/run.hpp"

namespace tapir::cli {

using models::experiments::PlotAxes;
using models::experiments::PlotLines;
using models::experiments::Series;

/// How a run goes by in a legend: its method ("AEVB", "wake-sleep", "MCEM", "AVB", "AVB + AC", …) and
/// N_z from its config, or (when the config cannot be read) the directory's name and N_z 0.
struct RunName {
  std::string method;
  std::size_t z_dim = 0;
  std::string label;  // "METHOD N_z = Z"
};
RunName run_name(const std::string& dir);

/// The curves of run directories, labelled "METHOD N_z = Z" from their configs (the directory name
/// when a config cannot be read); two runs with one label are told apart by their directory names.
/// Styled by assign_styles (one colour per N_z when the runs differ in N_z, one dash pattern per method).
std::vector<Series> load_series(const std::vector<std::string>& dirs);

/// Writes the CSV beside `out` (OUT.csv) and, with gnuplot, the PNG `out` (its script OUT.gp beside it),
/// saying "tapir: wrote ..." on stderr for each. The series keep their styles. Returns false when
/// gnuplot is missing; throws with gnuplot's last line of complaint when it fails.
bool plot_curves(const std::vector<Series>& series, const std::string& out, const std::string& title,
                 const PlotAxes& axes = {}, const PlotLines& lines = {});

/// Writes the gnuplot script `text` to `script` and runs it to draw `out`, saying "tapir: wrote OUT" on
/// stderr. Returns false (saying so) when gnuplot is missing; throws with gnuplot's last line of
/// complaint when it fails. What plot_curves and the figures with their own scripts draw with.
bool run_gnuplot(const std::string& script, const std::string& text, const std::string& out);

}  // namespace tapir::cli
