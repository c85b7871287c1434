// `tapir plot RUN_DIR... -o FIG.png`: the runs' learning curves in one figure (gnuplot.hpp, styled by
// models/experiments/plot_script.hpp).
#include <optional>

#include "models/cli/commands.hpp"
#include "models/cli/gnuplot.hpp"

namespace tapir::cli {

namespace {

struct PlotArgs {
  std::vector<std::string> dirs;
  std::string out, title = "AEVB lower bound";
  double ymin = 0, ymax = 0;
};

}  // namespace

Command add_plot_command(CLI::App& app) {
  auto a = std::make_shared<PlotArgs>();
  auto* plot = app.add_subcommand(
      "plot",
      "lower bound vs training samples (log x), test (thick) and train (thin) per run: one colour per N_z and one "
      "dash pattern per method when the runs differ in those, else a colour per run; the legend says when a "
      "curve lies outside --ymin/--ymax");
  plot->add_option("runs", a->dirs, "run directories")->required();
  plot->add_option("-o,--output", a->out, "PNG file (the CSV plotted is written beside it)")
      ->required()
      ->check(kPngPath);
  plot->add_option("--title", a->title, "figure title");
  auto* ymin = plot->add_option("--ymin", a->ymin, "lower end of the y axis");
  auto* ymax = plot->add_option("--ymax", a->ymax, "upper end of the y axis");
  return {plot, [a, ymin, ymax] {
            PlotAxes axes;
            if (ymin->count()) axes.ymin = a->ymin;
            if (ymax->count()) axes.ymax = a->ymax;
            plot_curves(load_series(a->dirs), a->out, a->title, axes);
            return 0;
          }};
}

}  // namespace tapir::cli
