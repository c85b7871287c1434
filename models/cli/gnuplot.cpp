#include "models/cli/gnuplot.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "models/experiments/plan.hpp"
#include "models/experiments/report.hpp"

namespace tapir::cli {

namespace fs = std::filesystem;
using models::experiments::shell_quote;
using models::experiments::write_text;

RunName run_name(const std::string& dir) {
  try {
    const auto c = models::load_vae_run_config(dir);
    const std::string& m = c.train.method;
    const std::string name = m == "aevb"                                   ? "AEVB"
                             : m == "mcem"                                 ? "MCEM"
                             : m == "avb" && c.train.avb.adaptive_contrast ? "AVB + AC"
                             : m == "avb"                                  ? "AVB"
                                                                           : m;
    return {name, c.model.z_dim, fmt::format("{} N_z = {}", name, c.model.z_dim)};
  } catch (const Error&) {
    return {"", 0, fs::path(dir).filename().string()};
  }
}

std::vector<Series> load_series(const std::vector<std::string>& dirs) {
  std::vector<Series> s;
  for (const auto& d : dirs) {
    const RunName name = run_name(d);
    Series one;
    one.label = name.label;
    one.method = name.method;
    one.z_dim = name.z_dim;
    one.curve = models::read_curve((fs::path(d) / "curve.csv").string());
    s.push_back(one);
  }
  for (std::size_t i = 0; i < s.size(); ++i)  // two runs with one label: name both by their directories
    for (std::size_t j = i + 1; j < s.size(); ++j)
      if (s[i].label == s[j].label)
        for (std::size_t k : {i, j}) {
          fs::path p = fs::path(dirs[k]).lexically_normal();
          if (p.filename().empty()) p = p.parent_path();  // "runs/a/"
          s[k].label += " (" + p.filename().string() + ")";
        }
  models::experiments::assign_styles(s);
  return s;
}

bool plot_curves(const std::vector<Series>& series, const std::string& out, const std::string& title,
                 const PlotAxes& axes, const PlotLines& lines) {
  const std::string csv = fs::path(out).replace_extension(".csv").string();
  write_text(csv, models::experiments::plot_csv(series));
  std::fprintf(stderr, "tapir: wrote %s\n", csv.c_str());
  return run_gnuplot(fs::path(out).replace_extension(".gp").string(),
                     models::experiments::gnuplot_script(series, csv, out, title, axes, lines), out);
}

bool run_gnuplot(const std::string& script, const std::string& text, const std::string& out) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    std::fprintf(stderr, "tapir: gnuplot is not installed (apt-get install gnuplot-nox): the CSV holds the curves\n");
    return false;
  }
  write_text(script, text);
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
