// models/experiments/avb_mnist.hpp's record of AIS estimates (OUT/ais.csv) and the window of its
// figure, on hand-made numbers: no training here (test_experiments.cpp runs the reproduction itself).
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>

#include "autodiff/check.hpp"
#include "models/experiments/avb_mnist.hpp"
#include "temp_dir.hpp"

using namespace tapir;
using namespace tapir::models;
using namespace tapir::models::experiments;
using test::check_throws_with;
using test::TempDir;

namespace {

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

CurvePoint at(long long samples, double test_elbo) {
  CurvePoint p;
  p.samples = samples;
  p.test_elbo = test_elbo;
  p.train_elbo = test_elbo + 1;
  return p;
}

}  // namespace

TEST_CASE("AIS record: a missing file is empty; rows read back in run and sample order; same budget replaced") {
  TempDir tmp;
  const std::string path = tmp / "ais.csv";
  CHECK(read_ais_points(path).empty());  // an OUT written before tapir kept the record

  std::vector<AisPoint> points;
  points = with_ais_point(points, {"avb-ac", 100000, -140.5, 100, 200, 4});
  points = with_ais_point(points, {"vae", 300000, -110.25, 100, 200, 4});
  points = with_ais_point(points, {"avb", 100000, -150.0, 100, 200, 4});
  points = with_ais_point(points, {"vae", 100000, -120.0, 1, 1, 1});
  points = with_ais_point(points, {"vae", 100000, -119.5, 100, 200, 4});  // the same budget, scored again
  REQUIRE(points.size() == 4);
  write_ais_points(path, points);

  const auto back = read_ais_points(path);
  REQUIRE(back.size() == 4);
  CHECK(back[0].run == "vae");
  CHECK(back[0].samples == 100000);
  CHECK(back[0].log_likelihood == doctest::Approx(-119.5));
  CHECK(back[0].points == 100);
  CHECK(back[0].steps == 200);
  CHECK(back[0].chains == 4);
  CHECK(back[1].run == "vae");
  CHECK(back[1].samples == 300000);
  CHECK(back[2].run == "avb");
  CHECK(back[3].run == "avb-ac");
  CHECK(back[3].log_likelihood == doctest::Approx(-140.5));
}

TEST_CASE("AIS record: a malformed file is named with its line, not misread") {
  TempDir tmp;
  const std::string path = tmp / "ais.csv";
  write(path, "samples,epoch\n");
  check_throws_with([&] { read_ais_points(path); }, {path, "not tapir's AIS record"});
  write(path, "run,samples,ais_log_px,points,steps,chains\nvae,100000,-110.5,100,200,4\nvae,1e5,-110.5,100,200,4\n");
  check_throws_with([&] { read_ais_points(path); }, {path, "line 3", "1e5"});
  write(path, "run,samples,ais_log_px,points,steps,chains\nvae,100000,-110.5x,100,200,4\n");
  check_throws_with([&] { read_ais_points(path); }, {"line 2"});
  write(path, "run,samples,ais_log_px,points,steps,chains\nvae,100000,-110.5,100,200\n");
  check_throws_with([&] { read_ais_points(path); }, {"line 2"});
}

TEST_CASE("the figure's window: the last 1.5 decades of every curve and every AIS point, padded") {
  // Curves climb from −540 at 10^3 samples; from 10^6 / 30 on they lie in [−112, −95].
  const std::vector<std::vector<CurvePoint>> curves = {
      {at(1000, -540), at(10000, -200), at(40000, -112), at(1000000, -100)},
      {at(1000, -530), at(30000, -300), at(100000, -105), at(1000000, -95)},
  };
  SUBCASE("curves only") {
    const auto w = avb_mnist_window(curves, {});
    REQUIRE(w);
    CHECK(w->xmax == 1e6);
    CHECK(w->xmin == doctest::Approx(1e6 / 30));
    CHECK(w->ymin == doctest::Approx(-112 - 0.08 * 17));  // −300 at 3·10^4 < 10^6/30 stays outside
    CHECK(w->ymax == doctest::Approx(-95 + 0.08 * 17));
  }
  SUBCASE("an AIS point below the curves and one earlier widen the window to show them") {
    const std::vector<AisPoint> ais = {{"avb", 1000000, -116, 100, 200, 4}, {"vae", 20000, -108, 100, 200, 4}};
    const auto w = avb_mnist_window(curves, ais);
    REQUIRE(w);
    CHECK(w->xmin == doctest::Approx(20000 / 1.5));
    // Now 10^4·(4/3) ≤ 3·10^4: the curve's −300 there is in the window too.
    CHECK(w->ymin == doctest::Approx(-300 - 0.08 * 205));
    CHECK(w->ymax == doctest::Approx(-95 + 0.08 * 205));
  }
  SUBCASE("a diverged value is left out; a flat curve gets half a nat each side") {
    const std::vector<std::vector<CurvePoint>> flat = {{at(100, -100), at(200, -INFINITY), at(300, NAN)}};
    const auto w = avb_mnist_window(flat, {});
    REQUIRE(w);
    CHECK(w->ymin == doctest::Approx(-100.5));
    CHECK(w->ymax == doctest::Approx(-99.5));
  }
  SUBCASE("nothing to show") {
    CHECK(!avb_mnist_window({}, {}));
    CHECK(!avb_mnist_window({{at(100, NAN)}}, {}));
  }
}
