#include "models/experiments/avb_mnist.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "models/experiments/report.hpp"
#include "models/inference/latent_inference.hpp"

namespace tapir::models::experiments {

namespace fs = std::filesystem;

std::vector<RunJob> avb_mnist_jobs(const AvbMnistOptions& o) {
  std::vector<RunJob> jobs;
  for (const std::string method : {"vae", "avb", "avb-ac"}) {
    auto c = paper_vae_setup("mnist", o.latent);  // 500 tanh units, Bernoulli decoder, dynamic binarisation
    c.train.optimizer = "adam";                   // one optimizer for all three (AVB's T needs Adam, as in the paper)
    c.train.lr = 1e-3;
    c.train.method = method == "vae" ? "aevb" : "avb";
    c.train.avb.adaptive_contrast = method == "avb-ac";
    c.train.data_dir = o.data_dir;
    c.train.samples = o.samples;
    c.train.seed = o.seed;
    c.train.train_eval_size = 10000;
    jobs.push_back({fmt::format("[{} N_z={}]", method, o.latent), (fs::path(o.out) / method).string(), c});
  }
  return jobs;
}

namespace {

std::string display_name(const VaeTrainConfig& t) {
  return t.method == "aevb" ? "VAE" : t.avb.adaptive_contrast ? "AVB + adaptive contrast" : "AVB";
}

constexpr const char* kAisHeader = "run,samples,ais_log_px,points,steps,chains";

/// vae, avb, avb-ac first, in avb_mnist_jobs' order; any other run after them.
int run_rank(const std::string& run) { return run == "vae" ? 0 : run == "avb" ? 1 : run == "avb-ac" ? 2 : 3; }

}  // namespace

std::vector<AisPoint> read_ais_points(const std::string& path) {
  std::vector<AisPoint> points;
  if (!fs::exists(path)) return points;
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("cannot open '{}'", path));
  std::string line;
  std::getline(in, line);
  if (line != kAisHeader)
    throw Error(
        fmt::format("'{}': not tapir's AIS record (header '{}', expected '{}'); move it away to start a new record",
                    path, line, kAisHeader));
  for (int row = 2; std::getline(in, line); ++row) {
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) f.push_back(cell);
    AisPoint p;
    long long scored = 0, steps = 0, chains = 0;
    if (f.size() != 6 || f[0].empty() || !parse_count(f[1], p.samples) || !parse_real(f[2], p.log_likelihood) ||
        !parse_count(f[3], scored) || !parse_count(f[4], steps) || !parse_count(f[5], chains))
      throw Error(fmt::format("'{}' line {}: malformed row '{}' (expected {})", path, row, line, kAisHeader));
    p.run = f[0];
    p.points = std::size_t(scored);
    p.steps = std::size_t(steps);
    p.chains = std::size_t(chains);
    points.push_back(p);
  }
  return points;
}

void write_ais_points(const std::string& path, std::vector<AisPoint> points) {
  std::sort(points.begin(), points.end(), [](const AisPoint& a, const AisPoint& b) {
    return std::make_tuple(run_rank(a.run), a.run, a.samples) < std::make_tuple(run_rank(b.run), b.run, b.samples);
  });
  std::string text = std::string(kAisHeader) + "\n";
  for (const auto& p : points)
    text += fmt::format("{},{},{:.4f},{},{},{}\n", p.run, p.samples, p.log_likelihood, p.points, p.steps, p.chains);
  write_text(path, text);
}

std::vector<AisPoint> with_ais_point(std::vector<AisPoint> points, const AisPoint& p) {
  points.erase(std::remove_if(points.begin(), points.end(),
                              [&](const AisPoint& q) { return q.run == p.run && q.samples == p.samples; }),
               points.end());
  points.push_back(p);
  return points;
}

std::optional<PlotWindow> avb_mnist_window(const std::vector<std::vector<CurvePoint>>& curves,
                                           const std::vector<AisPoint>& ais) {
  long long reach = 0;
  for (const auto& c : curves)
    for (const auto& p : c) reach = std::max(reach, p.samples);
  for (const auto& a : ais) reach = std::max(reach, a.samples);
  if (reach <= 0) return std::nullopt;
  PlotWindow w;
  w.xmax = double(reach);
  w.xmin = w.xmax / 30;
  for (const auto& a : ais)
    if (a.samples > 0 && std::isfinite(a.log_likelihood)) w.xmin = std::min(w.xmin, double(a.samples) / 1.5);
  double lo = INFINITY, hi = -INFINITY;
  const auto take = [&](long long samples, double y) {
    if (double(samples) < w.xmin || !std::isfinite(y)) return;
    lo = std::min(lo, y);
    hi = std::max(hi, y);
  };
  for (const auto& c : curves)
    for (const auto& p : c) take(p.samples, p.test_elbo);
  for (const auto& a : ais) take(a.samples, a.log_likelihood);
  if (!(lo <= hi)) return std::nullopt;
  const double pad = std::max(0.08 * (hi - lo), 0.5);
  w.ymin = lo - pad;
  w.ymax = hi + pad;
  return w;
}

AvbMnistReport reproduce_avb_mnist(const AvbMnistOptions& o, const Observer& observer, std::atomic<bool>* stop) {
  fs::create_directories(o.out);
  const auto jobs = avb_mnist_jobs(o);
  AvbMnistReport report;
  report.trained = run_jobs(jobs, o.jobs, observer, stop);
  if (!report.trained) return report;
  // log p(x) of the decoder by AIS on the first test points: it needs no q, so it scores all three alike.
  const auto test = load_vae_split(jobs.front().config.train, data::Split::test);
  const std::size_t n = std::min(o.ais_points, test.size());
  const Array<float> x = test.first(n);
  report.ais_points = n;
  for (const auto& run : read_outcomes(jobs)) {
    if (stop && stop->load()) return report;
    if (!run.last) continue;
    const auto vae = load_vae_run_model(run.job.dir, "last");
    AisOptions ao;
    ao.steps = o.ais_steps;
    ao.chains = o.ais_chains;
    Rng ais_rng(o.seed + 11);
    observer.on_note(fmt::format("AIS on {} test points for {} ...", n, run.job.label));
    AvbMnistRow row{run, display_name(run.job.config.train), xt::mean(vae_ais(*vae, x, ao, ais_rng).log_marginal)(),
                    std::nullopt};
    if (run.job.config.train.method == "aevb") {  // AVB's q has no density to weigh samples with
      Rng iw_rng(o.seed + 12);
      row.iwae = evaluate_vae(*vae, x, 1000, iw_rng).log_likelihood;
    }
    report.rows.push_back(row);
  }
  report.ais_path = (fs::path(o.out) / "ais.csv").string();
  report.ais = read_ais_points(report.ais_path);
  for (const auto& row : report.rows)
    report.ais = with_ais_point(report.ais, {fs::path(row.run.job.dir).filename().string(), row.run.last->samples,
                                             row.ais_log_likelihood, n, o.ais_steps, o.ais_chains});
  write_ais_points(report.ais_path, report.ais);
  report.evaluated = true;
  report.table = avb_mnist_table(o, report.rows, n);
  report.table_path = (fs::path(o.out) / "avb_mnist.md").string();
  write_text(report.table_path, report.table);
  return report;
}

std::string avb_mnist_table(const AvbMnistOptions& o, const std::vector<AvbMnistRow>& rows, std::size_t ais_points) {
  std::string md = fmt::format(
      "| MNIST, N_z = {} | training samples | train ELBO | test ELBO | test log p(x), AIS | test log p(x), IWAE "
      "K=1000 | training time |\n|---|---:|---:|---:|---:|---:|---:|\n",
      o.latent);
  for (const auto& r : rows) {
    const CurvePoint p = r.run.last.value_or(CurvePoint{});
    md += fmt::format("| {} | {:.3g} | {:.2f} | {:.2f} | {:.2f} | {} | {} |\n", r.name, double(p.samples), p.train_elbo,
                      p.test_elbo, r.ais_log_likelihood, r.iwae ? fmt::format("{:.2f}", *r.iwae) : std::string("–"),
                      format_duration(p.seconds));
  }
  md += fmt::format(
      "\nELBO: the bound on 10 000 points of each split (AVB: with T in place of log q − log p, an estimate, not a "
      "bound). AIS: {} temperatures, {} chains, 10 leapfrog steps, on the first {} test points. Adam 1e-3 "
      "(T: 5e-3), batch 100, 500 tanh units, dynamic binarisation.\n",
      o.ais_steps, o.ais_chains, ais_points);
  return md;
}

}  // namespace tapir::models::experiments
