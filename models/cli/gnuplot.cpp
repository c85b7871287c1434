#include "models/cli/gnuplot.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "models/experiments/report.hpp"

namespace tapir::cli {

namespace fs = std::filesystem;
using models::experiments::write_text;

namespace {

/// 'text' for the shell (a ' inside becomes '\'').
std::string shell_quote(const std::string& text) {
  std::string q = "'";
  for (char c : text) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// 'text' for gnuplot (a ' inside becomes '').
std::string gnuplot_quote(const std::string& text) {
  std::string q = "'";
  for (char c : text) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

std::string run_label(const std::string& dir) {
  try {
    const auto c = models::load_vae_run_config(dir);
    const std::string& m = c.train.method;
    const std::string name = m == "aevb"                                   ? "AEVB"
                             : m == "mcem"                                 ? "MCEM"
                             : m == "avb" && c.train.avb.adaptive_contrast ? "AVB + AC"
                             : m == "avb"                                  ? "AVB"
                                                                           : m;
    return fmt::format("{} N_z = {}", name, c.model.z_dim);
  } catch (const Error&) {
    return fs::path(dir).filename().string();
  }
}

/// The gnuplot script that draws `csv` (written by plot_curves) into `out`.
std::string gnuplot_script(const std::vector<Series>& series, const std::string& csv, const std::string& out,
                           const std::string& title, const PlotAxes& axes) {
  std::string g = "set terminal pngcairo size 900,680 noenhanced font 'sans,11'\n";
  g += fmt::format("set output {}\nset title {}\n", gnuplot_quote(out), gnuplot_quote(title));
  g += axes.log_x ? "set logscale x\nset format x '1e%L'\n" : "set format x '%.0s%c'\n";
  g += fmt::format("set xlabel '# training samples evaluated'\nset ylabel {}\n", gnuplot_quote(axes.ylabel));
  g += "set key below maxrows 4\nset grid\n";
  long long reach = 0;  // the paper's x range only when the curves get there (else gnuplot has no points)
  for (const auto& se : series)
    for (const auto& p : se.curve) reach = std::max(reach, p.samples);
  if (axes.xmin > 0 && double(reach) > 10 * axes.xmin) g += fmt::format("set xrange [{}:*]\n", axes.xmin);
  g += "set datafile separator ','\n";
  if (axes.ymin || axes.ymax)
    g += fmt::format("set yrange [{}:{}]\n", axes.ymin ? fmt::format("{}", *axes.ymin) : "*",
                     axes.ymax ? fmt::format("{}", *axes.ymax) : "*");
  g += "plot ";
  for (std::size_t i = 0; i < series.size(); ++i) {
    const std::string where = fmt::format("{} every ::1 using ($0>=0 && strcol(1) eq {} ? $2 : 1/0)",
                                          gnuplot_quote(csv), gnuplot_quote(series[i].label));
    if (i) g += ", \\\n     ";
    g += fmt::format("{}:4 with lines lw 2 lc {} dt 1 title {}, ", where, i + 1,
                     gnuplot_quote(series[i].label + " test"));
    g += fmt::format("{}:3 with lines lw 1 lc {} dt 2 title {}", where, i + 1,
                     gnuplot_quote(series[i].label + " train"));
  }
  return g + "\n";
}

}  // namespace

std::vector<Series> load_series(const std::vector<std::string>& dirs) {
  std::vector<Series> s;
  for (const auto& d : dirs) s.push_back({run_label(d), models::read_curve((fs::path(d) / "curve.csv").string())});
  for (std::size_t i = 0; i < s.size(); ++i)  // two runs with one label: name both by their directories
    for (std::size_t j = i + 1; j < s.size(); ++j)
      if (s[i].label == s[j].label)
        for (std::size_t k : {i, j}) {
          fs::path p = fs::path(dirs[k]).lexically_normal();
          if (p.filename().empty()) p = p.parent_path();  // "runs/a/"
          s[k].label += " (" + p.filename().string() + ")";
        }
  return s;
}

bool plot_curves(const std::vector<Series>& series, const std::string& out, const std::string& title,
                 const PlotAxes& axes) {
  const std::string csv = fs::path(out).replace_extension(".csv").string();
  std::string rows = "run,samples,train_elbo,test_elbo\n";
  for (const auto& s : series)
    for (const auto& p : s.curve)
      rows += fmt::format("\"{}\",{},{},{}\n", s.label, p.samples, p.train_elbo, p.test_elbo);
  write_text(csv, rows);
  std::fprintf(stderr, "tapir: wrote %s\n", csv.c_str());
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    std::fprintf(stderr, "tapir: gnuplot is not installed (apt-get install gnuplot-nox): the CSV holds the curves\n");
    return false;
  }
  const std::string script = fs::path(out).replace_extension(".gp").string();
  write_text(script, gnuplot_script(series, csv, out, title, axes));
  const std::string log = script + ".log";
  const int rc = std::system(fmt::format("gnuplot {} 2> {}", shell_quote(script), shell_quote(log)).c_str());
  if (rc != 0) {
    std::ifstream in(log);
    std::string line, last;  // gnuplot ends its report with the line that says what is wrong
    while (std::getline(in, line))
      if (line.find_first_not_of(" \t^") != std::string::npos) last = line;
    throw Error(fmt::format("gnuplot failed on '{}': {}", script, last.empty() ? "(no message)" : last));
  }
  std::remove(log.c_str());
  std::fprintf(stderr, "tapir: wrote %s\n", out.c_str());
  return true;
}

}  // namespace tapir::cli
