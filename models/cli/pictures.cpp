// `tapir sample | reconstruct | manifold RUN_DIR -o PICTURE.png`: what a run's decoder draws, as a PNG
// grid (models/experiments/pictures.hpp, manifold.hpp).
#include <fmt/format.h>

#include <cstdio>

#include "models/cli/commands.hpp"
#include "models/data/image.hpp"
#include "models/experiments/manifold.hpp"
#include "models/experiments/pictures.hpp"
#include "models/train/run.hpp"

namespace tapir::cli {

namespace {

namespace ex = models::experiments;

enum class Picture { sample, reconstruct, manifold };

struct PictureArgs {
  std::string run_dir, out, which = "last", split = "test";
  std::size_t n_images = 100, grid = 20, cols = 10;
  std::vector<std::size_t> dims = {0, 1};
  std::uint64_t seed = 1;
};

/// The first points of the split (odd lines) above their reconstructions (even lines), up to ten per
/// line; returns the grid's images and how many go on a line.
std::pair<Array<float>, std::size_t> reconstructions(const PictureArgs& a, const models::VaeRunConfig& config,
                                                     const models::LatentVariableModel<float>& vae) {
  const auto d = models::load_vae_split(config.train, models::data::split_from_string(a.split));
  const std::size_t n = std::min(a.n_images, d.size());
  if (n == 0) throw Error(fmt::format("the {} split of {} is empty", a.split, config.train.dataset));
  const Array<float> x = d.first(n);
  Tape<float> tape;
  NoGradGuard<float> no_grad(tape);
  Array<float> mu;
  if (config.train.method == "avb") {  // the implicit encoder: one draw z = f_φ(x, ε) per image
    const auto avb = models::load_avb_run_networks(a.run_dir, a.which);
    Rng draw(a.seed);
    mu = avb->encode(tape.constant(x), draw).value();
  } else {
    mu = vae.encode_mean(tape.constant(x)).value();  // z = μ_φ(x)
  }
  const std::size_t per_row = std::min<std::size_t>(10, n);
  return {ex::reconstruction_grid(x, ex::decode_mean(vae, mu), per_row), per_row};
}

int run_picture(Picture what, const PictureArgs& a) {
  const auto config = models::load_vae_run_config(a.run_dir);
  if (what == Picture::reconstruct && config.train.method == "mcem")  // its Gaussian encoder is never trained
    throw Error(
        fmt::format("'{}' is a Monte Carlo EM run: it trains no encoder q(z|x) to reconstruct with", a.run_dir));
  const auto vae = models::load_run_model(a.run_dir, a.which);
  const auto [rows, cols] = ex::image_shape(config);
  const std::size_t zd = vae->z_dim();
  if (what == Picture::sample) {
    Rng rng(a.seed);
    const Array<float> z = vae->sample_prior(rng, a.n_images);  // z ~ p(z)
    models::data::write_png_grid(a.out, ex::decode_mean(*vae, z), rows, cols, a.cols, 1, 2);
  } else if (what == Picture::reconstruct) {
    const auto [images, per_row] = reconstructions(a, config, *vae);
    models::data::GridGaps gaps;
    gaps.rows_per_group = 2;  // a line of data points and, below, their reconstructions; then a gap
    models::data::write_png_grid(a.out, images, rows, cols, per_row, 1, 2, gaps);
  } else {
    if (a.dims.size() != 2 || a.dims[0] >= zd || a.dims[1] >= zd || a.dims[0] == a.dims[1])
      throw Error(fmt::format("--dims {},{}: need two different latent dimensions below N_z = {}", a.dims.at(0),
                              a.dims.at(1), zd));
    models::data::write_png_grid(a.out, ex::manifold_images(*vae, a.grid, a.dims[0], a.dims[1]), rows, cols, a.grid, 0,
                                 2);
  }
  std::fprintf(stderr, "tapir: wrote %s\n", a.out.c_str());
  return 0;
}

}  // namespace

std::vector<Command> add_picture_commands(CLI::App& app) {
  auto a = std::make_shared<PictureArgs>();
  auto* sample = app.add_subcommand("sample", "images decoded from z ~ p(z), as a PNG grid");
  auto* reconstruct = app.add_subcommand(
      "reconstruct",
      "data points (odd rows) and, below each, its reconstruction (even rows); a gap after each pair of rows");
  auto* manifold = app.add_subcommand("manifold", "the decoder over a grid Φ⁻¹(unit square) of two latents (Fig. 4)");
  for (auto* c : {sample, reconstruct, manifold}) {
    c->add_option("run", a->run_dir, "run directory")->required();
    c->add_option("-o,--output", a->out, "PNG file to write")->required()->check(kPngPath);
    c->add_option("--checkpoint", a->which, "best | last")
        ->check(CLI::IsMember({"best", "last"}))
        ->capture_default_str();
    c->add_option("--seed", a->seed, "seed of the draws")->transform(kCount)->capture_default_str();
  }
  sample->add_option("-n", a->n_images, "number of images")
      ->transform(kPositiveCount)
      ->check(at_most(10'000, "a picture"))
      ->capture_default_str();
  sample->add_option("--cols", a->cols, "images per row")
      ->transform(kPositiveCount)
      ->check(at_most(1'000, "a picture's row"))
      ->capture_default_str();
  reconstruct->add_option("-n", a->n_images, "number of data points")
      ->transform(kPositiveCount)
      ->check(at_most(10'000, "a picture"))
      ->capture_default_str();
  reconstruct->add_option("--split", a->split, "train | test")
      ->check(CLI::IsMember({"train", "test"}))
      ->capture_default_str();
  manifold->add_option("--grid", a->grid, "points per axis")->check(CLI::Range(2, 100))->capture_default_str();
  manifold->add_option("--dims", a->dims, "the two latent dimensions to vary (the others stay 0)")
      ->delimiter(',')
      ->expected(2);
  return {{sample, [a] { return run_picture(Picture::sample, *a); }},
          {reconstruct, [a] { return run_picture(Picture::reconstruct, *a); }},
          {manifold, [a] { return run_picture(Picture::manifold, *a); }}};
}

}  // namespace tapir::cli
