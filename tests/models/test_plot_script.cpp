// The figures' text: one colour per N_z (the same in the combined plot and its panels), one dash pattern
// per method, bands for several seeds, legend remarks for curves outside the y window, and the CSV the
// script reads. gnuplot itself is not run here (tests/cli draws with it when it is installed).
#include <doctest/doctest.h>

#include <regex>
#include <set>
#include <sstream>

#include "models/experiments/plot_script.hpp"

using namespace tapir::models;
using namespace tapir::models::experiments;

namespace {

CurvePoint point(long long samples, double train, double test) {
  CurvePoint p;
  p.samples = samples;
  p.train_elbo = train;
  p.test_elbo = test;
  return p;
}

Series series(const std::string& method, std::size_t z, double level) {
  Series s;
  s.method = method;
  s.z_dim = z;
  s.label = method + " N_z = " + std::to_string(z);
  s.curve = {point(1000, level - 10, level - 12), point(1'000'000, level, level - 2)};
  return s;
}

/// The plot clauses of a script (the text after "plot ", split at ", \\\n").
std::vector<std::string> clauses(const std::string& script) {
  const auto at = script.find("\nplot ");
  REQUIRE(at != std::string::npos);
  std::vector<std::string> out;
  std::string rest = script.substr(at + 6);
  for (std::size_t cut; (cut = rest.find(", \\\n     ")) != std::string::npos; rest = rest.substr(cut + 9))
    out.push_back(rest.substr(0, cut));
  out.push_back(rest.substr(0, rest.find('\n')));
  return out;
}

/// The colour of the clause whose title is `title` ("" when none).
std::string colour_of(const std::string& script, const std::string& title) {
  for (const auto& c : clauses(script))
    if (c.find("title '" + title + "'") != std::string::npos) {
      std::smatch m;
      if (std::regex_search(c, m, std::regex("lc rgb '(#[0-9A-Fa-f]{6})'"))) return m[1];
    }
  return "";
}

}  // namespace

TEST_CASE("assign_styles: one colour per N_z, one dash per method; a colour per series when those repeat") {
  std::vector<Series> s;
  for (std::size_t z : {3, 5, 10, 20, 200})
    for (const char* m : {"AEVB", "wake-sleep"}) s.push_back(series(m, z, -100));
  assign_styles(s);
  std::set<std::string> colours;
  for (std::size_t i = 0; i < s.size(); i += 2) {
    CHECK(s[i].colour == s[i + 1].colour);  // AEVB and wake-sleep of one N_z
    CHECK(s[i].dash == 1);
    CHECK(s[i + 1].dash == 2);
    colours.insert(s[i].colour);
  }
  CHECK(colours.size() == 5);  // N_z = 3 and N_z = 200 are not one colour
  CHECK(s[0].colour == plot_palette()[0]);
  CHECK(s[9].colour == plot_palette()[4]);

  std::vector<Series> one_nz = {series("AEVB", 3, -100), series("wake-sleep", 3, -110), series("MCEM", 3, -105)};
  assign_styles(one_nz);  // one N_z (Figure 3): the methods get colours of their own as well as dashes
  CHECK(std::set<std::string>{one_nz[0].colour, one_nz[1].colour, one_nz[2].colour}.size() == 3);
  CHECK(one_nz[2].dash == method_dash("MCEM"));

  std::vector<Series> many;  // 12 runs of one method and N_z (say, a learning-rate sweep): none look alike
  for (int i = 0; i < 12; ++i) many.push_back(series("AEVB", 20, -100 - i));
  assign_styles(many);
  std::set<std::pair<std::string, int>> looks;
  for (const auto& m : many) looks.insert({m.colour, m.dash});
  CHECK(looks.size() == 12);
}

TEST_CASE("gnuplot_script: the combined plot and a panel give an N_z one colour; test thick, train thin") {
  std::vector<Series> all;
  for (std::size_t z : {3, 20, 200})
    for (const char* m : {"AEVB", "wake-sleep"}) all.push_back(series(m, z, -100));
  assign_styles(all);
  PlotLines test_only;
  test_only.train = false;
  const std::string combined = gnuplot_script(all, "f.csv", "f.png", "Figure 2", {}, test_only);
  const std::string panel = gnuplot_script({all[4], all[5]}, "p.csv", "p.png", "N_z = 200");
  INFO(combined);
  INFO(panel);
  CHECK(clauses(combined).size() == 6);  // test curves only
  CHECK(combined.find(" train'") == std::string::npos);
  CHECK(clauses(panel).size() == 4);
  std::set<std::string> combined_colours;
  for (const auto& s : all) combined_colours.insert(colour_of(combined, s.label + " test"));
  CHECK(combined_colours.size() == 3);
  CHECK(colour_of(combined, "AEVB N_z = 3 test") == colour_of(combined, "wake-sleep N_z = 3 test"));
  CHECK(colour_of(combined, "AEVB N_z = 200 test") != colour_of(combined, "AEVB N_z = 3 test"));
  for (const char* title : {"AEVB N_z = 200 test", "AEVB N_z = 200 train", "wake-sleep N_z = 200 train"})
    CHECK(colour_of(panel, title) == colour_of(combined, "AEVB N_z = 200 test"));
  for (const auto& c : clauses(panel)) {
    const bool test = c.find(" test'") != std::string::npos, ws = c.find("wake-sleep") != std::string::npos;
    CHECK(c.find(test ? "lw 2.5" : "lw 1 ") != std::string::npos);
    CHECK(c.find(ws ? "dt 2 " : "dt 1 ") != std::string::npos);
  }
  CHECK(panel.find("set key outside right") != std::string::npos);
  // Each series reads its own rows: the panel's first series is rows 1–2 of its CSV (row 0 the header).
  CHECK(panel.find("'p.csv' every ::1::2 using 2:4") != std::string::npos);
  CHECK(panel.find("'p.csv' every ::3::4 using 2:4") != std::string::npos);
}

TEST_CASE("gnuplot_script: a mean of seeds is shaded min–max; a curve outside the y window says so") {
  Series mean = mean_series("AEVB N_z = 3", {{point(1000, -150, -160), point(1'000'000, -120, -125)},
                                             {point(1000, -154, -162), point(1'000'000, -124, -127)}});
  mean.method = "AEVB";
  mean.z_dim = 3;
  REQUIRE(mean.curve.size() == 2);
  CHECK(mean.curve[1].test_elbo == doctest::Approx(-126));
  Series low = series("wake-sleep", 3, -200);  // entirely below −150
  std::vector<Series> s = {mean, low};
  assign_styles(s);
  PlotAxes axes;
  axes.ymin = -150;
  axes.ymax = -95;
  const std::string g = gnuplot_script(s, "f.csv", "f.png", "two \"lines\"\nof title", axes);
  INFO(g);
  CHECK(g.find("'f.csv' every ::1::2 using 2:7:8 with filledcurves lc rgb '" + s[0].colour + "' notitle") !=
        std::string::npos);
  CHECK(g.find("using 2:5:6 with filledcurves") == std::string::npos);  // no train band over it
  CHECK(g.find("every ::3::4 using 2:7:8") == std::string::npos);       // one run: no band
  CHECK(g.find("title 'wake-sleep N_z = 3 test (below the window)'") != std::string::npos);
  CHECK(g.find("title 'AEVB N_z = 3 test'") != std::string::npos);
  CHECK(g.find("set yrange [-150:-95]") != std::string::npos);
  CHECK(g.find("set title \"two \\\"lines\\\"\\nof title\"\n") != std::string::npos);
  CHECK(g.rfind("filledcurves") < g.find("with lines"));  // bands under the lines

  const std::string csv = plot_csv(s);
  std::istringstream in(csv);
  std::string header, first;
  std::getline(in, header);
  std::getline(in, first);
  CHECK(header == "run,samples,train_elbo,test_elbo,train_lo,train_hi,test_lo,test_hi");
  CHECK(first == "\"AEVB N_z = 3\",1000,-152,-161,-154,-150,-162,-160");

  CHECK(window_note(low.curve, true, axes, 0) == " (below the window)");
  CHECK(window_note({point(1000, -50, -50)}, true, axes, 0) == " (above the window)");
  CHECK(window_note({point(1000, -50, -50), point(2000, -500, -500)}, true, axes, 0) == " (outside the window)");
  CHECK(window_note({point(1000, -120, -120), point(2e6, -500, -500)}, true, axes, 0).empty());
  CHECK(window_note({point(1000, -120, -120), point(2e6, -500, -500)}, true, axes, 1e5) == " (below the window)");
  CHECK(window_note({}, true, axes, 0) == " (no points)");
  CHECK(window_note(low.curve, true, PlotAxes{}, 0).empty());  // no y window: nothing to say
}
