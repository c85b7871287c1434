// The latent-space tools (models/experiments/latent.hpp) and the scatter plot (models/data/image.hpp):
// PCA recovers known directions and variance fractions; interpolation ends at the two codes and its
// decoded ends are the decoder's means there; the codes CSV holds one row per point with encode_mean's
// values; the scatter writer writes a PNG and refuses bad shapes.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <xtensor/xview.hpp>

#include "autodiff/check.hpp"
#include "models/data/image.hpp"
#include "models/experiments/latent.hpp"
#include "models/experiments/pictures.hpp"
#include "temp_dir.hpp"

using namespace tapir;
using namespace tapir::models;
using namespace tapir::models::experiments;

namespace {

VaeConfig small_vae(std::size_t z_dim) {
  VaeConfig c;
  c.x_dim = 12;
  c.z_dim = z_dim;
  c.hidden = {8};
  c.init_std = 0.3;  // large enough that codes and images differ between inputs
  return c;
}

Array<float> uniform_data(std::size_t n, std::size_t d, std::uint64_t seed) {
  Rng rng(seed);
  Array<float> x = Array<float>::from_shape({n, d});
  for (auto& v : x) v = static_cast<float>(rng.uniform());
  return x;
}

}  // namespace

TEST_CASE("PCA of points on a line recovers the line, and all the variance is on it") {
  // z_i = c + t_i d in R^3 with d = (1, 2, 2)/3.
  const double d[3] = {1.0 / 3, 2.0 / 3, 2.0 / 3}, c[3] = {5, -1, 2};
  Array<float> z = Array<float>::from_shape({50, 3});
  for (std::size_t i = 0; i < 50; ++i)
    for (std::size_t a = 0; a < 3; ++a) z(i, a) = static_cast<float>(c[a] + (double(i) - 20) * 0.1 * d[a]);
  const PrincipalComponents pc = principal_components(z, 2);
  for (std::size_t a = 0; a < 3; ++a) CHECK(pc.directions[0][a] == doctest::Approx(d[a]).epsilon(1e-5));
  CHECK(pc.variance[0] / pc.total_variance == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(pc.variance[1] / pc.total_variance == doctest::Approx(0.0).epsilon(1e-6));
  for (std::size_t i = 0; i < 50; ++i)  // the projection is t_i − t̄ (t̄ = 0.45)
    CHECK(pc.projected(i, 0) == doctest::Approx((double(i) - 20) * 0.1 - 0.45).epsilon(1e-4));
}

TEST_CASE("PCA's variance fractions: 9 : 1 along two known orthogonal directions in R^4") {
  // z = 3 s u + t v with s, t ∈ {±1} in all four combinations (uncorrelated), u ⊥ v unit vectors:
  // variances 9 and 1 of a total 10.
  const double u[4] = {0.5, 0.5, 0.5, 0.5}, v[4] = {0.5, -0.5, 0.5, -0.5};
  Array<float> z = Array<float>::from_shape({40, 4});
  for (std::size_t i = 0; i < 40; ++i) {
    const double s = (i % 2) ? 1 : -1, t = ((i / 2) % 2) ? 1 : -1;
    for (std::size_t a = 0; a < 4; ++a) z(i, a) = static_cast<float>(3 * s * u[a] + t * v[a] + 0.25 * double(a));
  }
  const PrincipalComponents pc = principal_components(z, 2);
  CHECK(pc.total_variance == doctest::Approx(10.0).epsilon(1e-6));
  CHECK(pc.variance[0] / pc.total_variance == doctest::Approx(0.9).epsilon(1e-6));
  CHECK(pc.variance[1] / pc.total_variance == doctest::Approx(0.1).epsilon(1e-6));
  for (std::size_t a = 0; a < 4; ++a) {
    CHECK(pc.directions[0][a] == doctest::Approx(u[a]).epsilon(1e-5));  // the sign rule: largest entry > 0
    CHECK(std::abs(pc.directions[1][a]) == doctest::Approx(0.5).epsilon(1e-5));
  }
  const LatentPlane plane = latent_plane(z);
  CHECK(plane.pca);
  CHECK(plane.x_label == "PC1 (90.0 % of variance)");
  CHECK(plane.y_label == "PC2 (10.0 % of variance)");
  test::check_throws_with([&] { principal_components(z, 5); }, {"5 components"});
  test::check_throws_with([] { latent_plane(Array<float>::from_shape({3, 1})); }, {"N_z = 1"});
}

TEST_CASE("interpolation: the path's ends are the codes, its decoded ends the decoder's means there") {
  Rng rng(3);
  const auto model = make_model(small_vae(3), rng);
  const Array<float> x = uniform_data(2, 12, 7);
  const Array<float> z = encode_means(*model, x);
  const Array<float> path = interpolate_linear(xt::view(z, 0, xt::all()), xt::view(z, 1, xt::all()), 5);
  REQUIRE(path.shape() == std::vector<std::size_t>{5, 3});
  for (std::size_t a = 0; a < 3; ++a) {
    CHECK(path(0, a) == z(0, a));
    CHECK(path(4, a) == z(1, a));
    CHECK(path(2, a) == doctest::Approx(0.5 * (z(0, a) + z(1, a))).epsilon(1e-6));  // linear
  }
  const Array<float> row = interpolation_row(*model, x, z, 5);
  REQUIRE(row.shape() == std::vector<std::size_t>{7, 12});
  const Array<float> ends = decode_mean(*model, z);
  for (std::size_t p = 0; p < 12; ++p) {
    CHECK(row(0, p) == x(0, p));  // the inputs at the ends of the row
    CHECK(row(6, p) == x(1, p));
    CHECK(row(1, p) == doctest::Approx(ends(0, p)).epsilon(1e-6));  // decode(μ(x_a)), decode(μ(x_b))
    CHECK(row(5, p) == doctest::Approx(ends(1, p)).epsilon(1e-6));
  }
  CHECK(std::abs(row(1, 0) - row(5, 0)) + std::abs(row(1, 1) - row(5, 1)) > 1e-4);  // the ends differ
  test::check_throws_with([&] { interpolate_linear(z, z, 1); }, {"steps"});
}

TEST_CASE("the codes CSV: a header, one row per point, encode_mean's values, labels or an empty column") {
  Rng rng(5);
  const auto model = make_model(small_vae(3), rng);
  const Array<float> x = uniform_data(2503, 12, 11);  // more than one batch of 1000, and a ragged last one
  const Array<float> codes = encode_means(*model, x);
  Array<float> direct;
  {
    Tape<float> tape;
    NoGradGuard<float> no_grad(tape);
    direct = model->encode_mean(tape.constant(x)).value();
  }
  REQUIRE(codes.shape() == direct.shape());
  for (std::size_t i = 0; i < codes.size(); ++i)
    REQUIRE(codes.data()[i] == doctest::Approx(direct.data()[i]).epsilon(1e-6));
  std::vector<int> labels(2503);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = int(i % 10);
  std::istringstream csv(codes_csv(codes, labels));
  std::string line;
  std::getline(csv, line);
  CHECK(line == "index,label,mu_1,mu_2,mu_3");
  std::size_t rows = 0;
  while (std::getline(csv, line)) {
    std::istringstream fields(line);
    std::string f;
    std::vector<std::string> v;
    while (std::getline(fields, f, ',')) v.push_back(f);
    REQUIRE(v.size() == 5);
    CHECK(std::stoul(v[0]) == rows);
    CHECK(std::stoi(v[1]) == labels[rows]);
    for (std::size_t a = 0; a < 3; ++a) CHECK(std::stod(v[2 + a]) == doctest::Approx(direct(rows, a)).epsilon(1e-6));
    ++rows;
  }
  CHECK(rows == 2503);
  const std::string unlabelled = codes_csv(xt::view(codes, xt::range(0, 2), xt::all()), {});
  CHECK(unlabelled.substr(unlabelled.find('\n') + 1, 3) == "0,,");
  CHECK(plane_csv(xt::view(codes, xt::range(0, 2), xt::range(0, 2)), {4, 2}).rfind("index,label,x,y\n0,4,", 0) == 0);
}

TEST_CASE("the scatter plot: a PNG with axes and a key; nice ticks; bad input refused") {
  const auto ticks = data::nice_ticks(-2.7, 3.1);
  REQUIRE(ticks.size() >= 4);
  CHECK(ticks.front() == doctest::Approx(-2));
  CHECK(ticks.back() == doctest::Approx(3));
  CHECK(ticks[1] - ticks[0] == doctest::Approx(1));
  CHECK(data::nice_ticks(0, 0.37).at(1) == doctest::Approx(0.05));
  CHECK(data::nice_ticks(1, 1).empty());
  test::TempDir dir;
  Array<float> points = {{0.f, 0.f}, {1.f, 2.f}, {-1.f, 0.5f}, {NAN, 1.f}};
  data::ScatterStyle style;
  style.title = "title";
  style.x_label = "z1";
  style.y_label = "z2";
  style.key = {"a", "b"};
  data::write_png_scatter(dir / "s.png", points, {0, 1, 1, 0}, style);
  std::ifstream in(dir / "s.png", std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  CHECK(std::string(magic + 1, 3) == "PNG");
  test::check_throws_with([&] { data::write_png_scatter(dir / "t.png", points, {0, 1}, style); }, {"2 group labels"});
  style.x_min = 1, style.x_max = 1, style.y_min = 0, style.y_max = 1;
  test::check_throws_with([&] { data::write_png_scatter(dir / "t.png", points, {0, 1, 1, 0}, style); }, {"limits"});
}
