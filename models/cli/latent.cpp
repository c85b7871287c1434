// `tapir latent | interpolate | encode RUN_DIR`: a run's latent space — the codes of a split as a scatter
// plot coloured by class (with their CSV), interpolations between inputs as a PNG grid, and the codes
// as CSV (models/experiments/latent.hpp).
#include <fmt/format.h>

#include <cstdio>

#include "models/cli/commands.hpp"
#include "models/data/image.hpp"
#include "models/experiments/latent.hpp"
#include "models/experiments/pictures.hpp"
#include "models/experiments/report.hpp"

namespace tapir::cli {

namespace {

namespace ex = models::experiments;
namespace data = models::data;

struct LatentArgs {
  std::string run_dir, out, which = "last", split = "test";
  std::size_t n = 10'000, steps = 10, avb_draws = 100;
  std::vector<std::size_t> from, to;
  std::uint64_t seed = 1;
};

/// A table's name: NAME.csv (so that -o cannot replace a run's files).
const CLI::Validator kCsvPath = file_name_with(".csv", "CSV");

/// The first `n` points of the run's split (all when n ≥ its size), with their labels (none: empty).
data::Dataset first_points(const ex::RunEncoder& r, const std::string& split, std::size_t n) {
  data::Dataset d = models::load_vae_split(r.config.train, data::split_from_string(split));
  if (d.size() == 0) throw Error(fmt::format("the {} split of {} is empty", split, r.config.train.dataset));
  d.truncate(n);
  return d;
}

int run_latent(const LatentArgs& a) {
  const auto r = ex::load_run_encoder(a.run_dir, a.which, a.avb_draws, a.seed);
  const data::Dataset d = first_points(r, a.split, a.n);
  const Array<float> codes = r.encode(d.x());
  const ex::LatentPlane plane = ex::latent_plane(codes);
  const std::string csv = a.out.substr(0, a.out.size() - 4) + ".csv";
  ex::write_text(csv, ex::plane_csv(plane.xy, d.labels));

  data::ScatterStyle style;
  style.x_label = plane.x_label;
  style.y_label = plane.y_label;
  const std::string& set = r.config.train.dataset;
  const std::string name = set == "mnist"           ? "MNIST"
                           : set == "fashion-mnist" ? "Fashion-MNIST"
                           : set == "frey"          ? "Frey Face"
                                                    : set;
  style.equal_aspect = true;  // distances in the latent space read the same along both axes
  style.title = fmt::format("{}: {} of {} {} points, N_z = {}{}", name, r.what(), d.size(), a.split, codes.shape()[1],
                            plane.pca ? ", projected by PCA" : "");
  std::vector<std::size_t> group(d.size(), 0);
  if (!d.labels.empty()) {
    std::vector<std::string> names = ex::class_names(r.config.train.dataset);
    int most = 0;
    for (int l : d.labels) most = std::max(most, l);
    for (std::size_t g = names.size(); g <= std::size_t(most); ++g) names.push_back(std::to_string(g));
    style.key = names;
    style.key_title = r.config.train.dataset == "mnist" ? "digit" : "class";
    for (std::size_t i = 0; i < d.size(); ++i) group[i] = std::size_t(std::max(0, d.labels[i]));
  } else {
    style.key = {"all points"};
    style.key_title = "no labels";
  }
  data::write_png_scatter(a.out, plane.xy, group, style);
  std::fprintf(stderr, "tapir: wrote %s and %s\n", a.out.c_str(), csv.c_str());
  return 0;
}

int run_interpolate(const LatentArgs& a) {
  if (a.from.size() != a.to.size())
    throw Error(
        fmt::format("--from has {} indices but --to has {}: give one --to per --from", a.from.size(), a.to.size()));
  const auto r = ex::load_run_encoder(a.run_dir, a.which, a.avb_draws, a.seed);
  const data::Dataset d = models::load_vae_split(r.config.train, data::split_from_string(a.split));
  for (const auto* list : {&a.from, &a.to})
    for (std::size_t i : *list)
      if (i >= d.size())
        throw Error(fmt::format("{} {}: the {} split of {} has {} points (indices 0 to {})",
                                list == &a.from ? "--from" : "--to", i, a.split, r.config.train.dataset, d.size(),
                                d.size() - 1));
  const auto [rows, cols] = ex::image_shape(r.config);
  const std::size_t per_row = a.steps + 2, dim = d.dim();
  Array<float> grid = Array<float>::from_shape({a.from.size() * per_row, dim});
  for (std::size_t p = 0; p < a.from.size(); ++p) {
    Array<float> ends;
    data::gather_rows(d, {a.from[p], a.to[p]}, ends);
    const Array<float> row = ex::interpolation_row(*r.model, ends, r.encode(ends), a.steps);
    std::copy(row.begin(), row.end(), grid.begin() + static_cast<long>(p * per_row * dim));
  }
  data::GridGaps gaps;
  gaps.after_columns = {0, a.steps};  // the two inputs stand apart from the decoded path
  gaps.gap = 6;
  data::write_png_grid(a.out, grid, rows, cols, per_row, 2, 2, gaps);
  std::fprintf(stderr, "tapir: wrote %s\n", a.out.c_str());
  return 0;
}

int run_encode(const LatentArgs& a) {
  const auto r = ex::load_run_encoder(a.run_dir, a.which, a.avb_draws, a.seed);
  const data::Dataset d = models::load_vae_split(r.config.train, data::split_from_string(a.split));
  ex::write_text(a.out, ex::codes_csv(r.encode(d.x()), d.labels));
  std::fprintf(stderr, "tapir: wrote %s (%zu rows)\n", a.out.c_str(), d.size());
  return 0;
}

}  // namespace

std::vector<Command> add_latent_commands(CLI::App& app) {
  auto a = std::make_shared<LatentArgs>();
  auto* latent = app.add_subcommand(
      "latent",
      "the codes of a split (posterior means) as a scatter plot coloured by label, PCA when N_z > 2; also "
      "writes OUT.csv (index,label,x,y)");
  auto* interpolate = app.add_subcommand(
      "interpolate",
      "decoded images along the straight line between the codes (posterior means) of two inputs: one row "
      "per pair, the inputs at its ends");
  auto* encode = app.add_subcommand(
      "encode",
      "the codes of a split as CSV: index,label,mu_1..mu_k (the posterior means; label empty without labels)");
  for (auto* c : {latent, interpolate, encode}) {
    c->add_option("run", a->run_dir, "run directory")->required();
    c->add_option("--split", a->split, "train | test")->check(CLI::IsMember({"train", "test"}))->capture_default_str();
    c->add_option("--checkpoint", a->which, "best | last")
        ->check(CLI::IsMember({"best", "last"}))
        ->capture_default_str();
    c->add_option("--avb-draws", a->avb_draws, "AVB runs: draws of q(z|x) averaged for a code")
        ->transform(kPositiveCount)
        ->check(at_most(100'000, "--avb-draws"))
        ->capture_default_str();
    c->add_option("--seed", a->seed, "seed of AVB's draws")->transform(kCount)->capture_default_str();
  }
  latent->add_option("-o,--output", a->out, "PNG file to write (and OUT.csv beside it)")->required()->check(kPngPath);
  latent->add_option("--n", a->n, "the first N points of the split (at most its size)")
      ->transform(kPositiveCount)
      ->check(at_most(1'000'000, "--n"))
      ->capture_default_str();
  interpolate->add_option("-o,--output", a->out, "PNG file to write")->required()->check(kPngPath);
  interpolate
      ->add_option("--from", a->from,
                   "index of the first input in the split; several pairs: --from 3,1 --to 7,9 (or repeat the flags)")
      ->required()
      ->delimiter(',')
      ->transform(kCount);
  interpolate->add_option("--to", a->to, "index of the second input, one per --from")
      ->required()
      ->delimiter(',')
      ->transform(kCount);
  interpolate->add_option("--steps", a->steps, "decoded images per row, both ends included")
      ->check(CLI::Range(2, 100))
      ->capture_default_str();
  encode->add_option("-o,--output", a->out, "CSV file to write")->required()->check(kCsvPath);
  return {{latent, [a] { return run_latent(*a); }},
          {interpolate, [a] { return run_interpolate(*a); }},
          {encode, [a] { return run_encode(*a); }}};
}

}  // namespace tapir::cli
