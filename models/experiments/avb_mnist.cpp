#include "models/experiments/avb_mnist.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <xtensor/xview.hpp>

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

}  // namespace

AvbMnistReport reproduce_avb_mnist(const AvbMnistOptions& o, const Observer& observer, std::atomic<bool>* stop) {
  fs::create_directories(o.out);
  const auto jobs = avb_mnist_jobs(o);
  AvbMnistReport report;
  report.trained = run_jobs(jobs, o.jobs, observer, stop);
  if (!report.trained) return report;
  // log p(x) of the decoder by AIS on the first test points: it needs no q, so it scores all three alike.
  const auto test = load_vae_split(jobs.front().config.train, data::Split::test);
  const std::size_t n = std::min(o.ais_points, test.size());
  const Array<float> x = xt::view(test.x, xt::range(0, n), xt::all());
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
