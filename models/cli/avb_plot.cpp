#include "models/cli/avb_plot.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "models/cli/gnuplot.hpp"
#include "models/experiments/plot_script.hpp"
#include "models/experiments/report.hpp"

namespace tapir::cli {

namespace fs = std::filesystem;
namespace ex = models::experiments;

namespace {

/// One method of the figure: its run directory's name, the legend's name, its curve.
struct Method {
  std::string run, name;
  std::vector<models::CurvePoint> curve;
};

std::string csv_rows(const std::vector<Method>& methods, const std::vector<ex::AisPoint>& ais) {
  std::string rows = "run,samples,train_elbo,test_elbo,ais_log_px\n";
  for (const auto& m : methods) {
    for (const auto& p : m.curve)
      rows += fmt::format("\"{}\",{},{},{},\n", m.name, p.samples, p.train_elbo, p.test_elbo);
    for (const auto& a : ais)
      if (a.run == m.run) rows += fmt::format("\"{}\",{},,,{}\n", m.name, a.samples, a.log_likelihood);
  }
  return rows;
}

/// Test ELBO solid, AIS log p(x) as filled points joined by a thin line, one colour per method.
std::string gnuplot_script(const std::vector<Method>& methods, const std::optional<ex::PlotWindow>& window,
                           const std::string& csv, const std::string& out, const std::string& title) {
  std::string g = "set terminal pngcairo size 900,680 noenhanced font 'sans,11'\n";
  g += fmt::format("set output {}\nset title {}\n", ex::gnuplot_quote(out), ex::gnuplot_quote(title));
  g += "set logscale x\nset format x '1e%L'\nset xlabel '# training samples'\n";
  g += "set ylabel 'nats per test image'\nset key below maxrows 3 width 2\nset grid\n";
  g += "set datafile separator ','\n";
  if (window)
    g += fmt::format("set xrange [{:.6g}:{:.6g}]\nset yrange [{:.6g}:{:.6g}]\n", window->xmin, window->xmax * 1.15,
                     window->ymin, window->ymax);
  // Bounds first, then the AIS points: the key's two columns (3 rows each) read bound | log p(x).
  std::vector<std::string> plots;
  const auto rows = [&](const Method& m, int column) {
    return fmt::format("{} every ::1 using 2:(strcol(1) eq {} && strcol({}) ne '' ? ${} : 1/0)", ex::gnuplot_quote(csv),
                       ex::gnuplot_quote(m.name), column, column);
  };
  for (std::size_t i = 0; i < methods.size(); ++i)
    plots.push_back(
        fmt::format("{} with lines lw 2 lc {} dt 1 title {}", rows(methods[i], 4), i + 1,
                    ex::gnuplot_quote(methods[i].name +
                                      (methods[i].run == "vae" ? ": ELBO (a bound)" : ": ELBO estimated with T"))));
  for (std::size_t i = 0; i < methods.size(); ++i)
    plots.push_back(fmt::format("{} with linespoints lw 1 lc {} dt 3 pt 7 ps 1.6 title {}", rows(methods[i], 5), i + 1,
                                ex::gnuplot_quote(methods[i].name + ": AIS log p(x)")));
  g += "plot ";
  for (std::size_t i = 0; i < plots.size(); ++i) g += (i ? ", \\\n     " : "") + plots[i];
  return g + "\n";
}

}  // namespace

bool plot_avb_mnist(const ex::AvbMnistOptions& o, const ex::AvbMnistReport& report) {
  std::vector<Method> methods;
  for (const auto& job : ex::avb_mnist_jobs(o)) {
    const std::string run = fs::path(job.dir).filename().string();
    const std::string name = run == "vae" ? "VAE" : run == "avb" ? "AVB" : "AVB + AC";
    methods.push_back({run, name, models::read_curve((fs::path(job.dir) / "curve.csv").string())});
  }
  std::vector<std::vector<models::CurvePoint>> curves;
  for (const auto& m : methods) curves.push_back(m.curve);
  const auto window = ex::avb_mnist_window(curves, report.ais);

  const fs::path out_dir(o.out);
  const std::string csv = (out_dir / "avb_mnist.csv").string(), out = (out_dir / "avb_mnist.png").string();
  ex::write_text(csv, csv_rows(methods, report.ais));
  std::fprintf(stderr, "tapir: wrote %s\n", csv.c_str());
  const std::string title = fmt::format(
      "MNIST, N_z = {} (tapir): test ELBO (AVB: T's estimate, not a bound) and AIS log p(x) of the decoder", o.latent);
  return run_gnuplot((out_dir / "avb_mnist.gp").string(), gnuplot_script(methods, window, csv, out, title), out);
}

}  // namespace tapir::cli
