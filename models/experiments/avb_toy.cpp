#include "models/experiments/avb_toy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "models/data/image.hpp"
#include "models/experiments/report.hpp"

namespace tapir::models::experiments {

namespace fs = std::filesystem;

AvbToyConfig avb_toy_config(const std::string& method, const AvbToyOptions& o) {
  if (method != "vae" && method != "avb" && method != "avb-ac")
    throw Error(fmt::format("avb-toy: unknown method '{}' (vae | avb | avb-ac)", method));
  AvbToyConfig c;
  c.method = method == "vae" ? "vae" : "avb";
  c.avb.adaptive_contrast = method == "avb-ac";
  c.avb.disc_steps = 2;  // as the authors
  c.steps = o.steps;
  c.lr = o.lr;
  c.seed = o.seed;
  return c;
}

void write_avb_toy_scatter(const AvbToyResult& r, const std::string& csv, const std::string& png,
                           const std::string& title) {
  if (r.z.dimension() != 3 || r.z.shape()[0] != 4 || r.z.shape()[2] != 2)
    throw Error("write_avb_toy_scatter: the draws must be (4, draws, 2)");
  const std::size_t draws = r.z.shape()[1];
  Array<float> points = Array<float>::from_shape({4 * draws, 2});
  std::copy(r.z.begin(), r.z.end(), points.begin());
  std::vector<std::size_t> group;
  std::string text = "point,z1,z2\n";
  for (std::size_t i = 0; i < 4 * draws; ++i) {
    group.push_back(i / draws);
    text += fmt::format("{},{:.5g},{:.5g}\n", i / draws, points(i, 0), points(i, 1));
  }
  write_text(csv, text);
  data::ScatterStyle style;
  style.title = title;
  style.x_label = "z1";
  style.y_label = "z2";
  style.key = {"point 0: x = 1000", "point 1: x = 0100", "point 2: x = 0010", "point 3: x = 0001"};
  style.key_title = "draws of q(z|x)";
  style.x_min = style.y_min = -3;  // the prior's bulk, the same square for every method
  style.x_max = style.y_max = 3;
  style.width = 900;
  style.height = 620;
  style.equal_aspect = true;
  style.radius = 1;
  style.opacity = 0.9;
  data::write_png_scatter(png, points, group, style);
}

std::string avb_toy_title(const std::string& method, const AvbToyResult& r) {
  const std::string name = method == "vae" ? "VAE (Gaussian q)" : method == "avb" ? "AVB" : "AVB + adaptive contrast";
  return fmt::format("{}: ELBO {:.3f}, log p(x) {:.3f} (best: -1.386)", name, r.elbo, r.log_likelihood);
}

AvbToyReport reproduce_avb_toy(const AvbToyOptions& o, const Observer& observer, const std::atomic<bool>* stop) {
  for (const auto& method : o.methods) avb_toy_config(method, o);  // unknown names fail before any training
  fs::create_directories(o.out);
  AvbToyReport report;
  for (std::size_t i = 0; i < o.methods.size(); ++i) {
    if (stop && stop->load()) return report;
    const std::string& method = o.methods[i];
    const auto progress = observer.on_start(i, "[" + method + "]");
    const long long total = static_cast<long long>(o.steps);
    const auto r = avb_toy(avb_toy_config(method, o), [&](std::size_t step, double bound) {
      if (progress) progress(TrainProgress{static_cast<long long>(step), total, 1, 0, bound, nullptr, 0});
    });
    observer.on_finish(i);
    AvbToyRow row{method,
                  o.steps,
                  r.elbo,
                  r.log_likelihood,
                  r.seconds,
                  (fs::path(o.out) / fmt::format("avb_toy_{}.csv", method)).string(),
                  (fs::path(o.out) / fmt::format("avb_toy_{}.png", method)).string()};
    write_avb_toy_scatter(r, row.csv, row.png, avb_toy_title(method, r));
    observer.on_note(fmt::format("wrote {}", row.png));
    report.rows.push_back(row);
  }
  report.finished = true;
  report.table = avb_toy_table(report.rows);
  report.table_path = (fs::path(o.out) / "avb_toy.md").string();
  write_text(report.table_path, report.table);
  return report;
}

std::string avb_toy_table(const std::vector<AvbToyRow>& rows) {
  std::string md = "| method | training steps | ELBO | log p(x) | training time |\n|---|---:|---:|---:|---:|\n";
  for (const auto& r : rows)
    md += fmt::format("| {} | {} | {:.4f} | {:.4f} | {} |\n", r.method, r.steps, r.elbo, r.log_likelihood,
                      format_duration(r.seconds));
  md +=
      "\nFour one-hot points, N_z = 2; ELBO and log p(x) averaged over the points (the best possible log p(x) is "
      "log ¼ = −1.3863). AVB's ELBO is T's estimate; log p(x) is importance-sampled from the prior (K = 10⁵).\n";
  return md;
}

}  // namespace tapir::models::experiments
