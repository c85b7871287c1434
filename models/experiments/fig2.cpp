#include "models/experiments/fig2.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "models/experiments/report.hpp"

namespace tapir::models::experiments {

namespace fs = std::filesystem;

std::vector<std::size_t> fig2_latents(const std::string& dataset) {
  return dataset == "frey" ? std::vector<std::size_t>{2, 5, 10, 20} : std::vector<std::size_t>{3, 5, 10, 20, 200};
}

std::vector<RunJob> fig2_jobs(const Fig2Options& o) {
  if (o.out.empty()) throw Error("fig2: name a directory for the runs (Fig2Options::out)");
  std::vector<std::size_t> latents = o.latents.empty() ? fig2_latents(o.dataset) : o.latents;
  std::sort(latents.begin(), latents.end());
  latents.erase(std::unique(latents.begin(), latents.end()), latents.end());  // one run directory each
  std::vector<RunJob> jobs;
  for (auto z : latents)
    for (const std::string method : {"aevb", "wake-sleep"}) {
      if (method == "wake-sleep" && !o.wake_sleep) continue;
      auto c = paper_vae_setup(o.dataset, z);
      c.train.method = method;
      c.train.data_dir = o.data_dir;
      c.train.samples = o.samples;
      c.train.seed = o.seed;
      c.train.train_eval_size = o.train_eval_size;
      const std::string dir = (fs::path(o.out) / fmt::format("{}nz{}", method == "aevb" ? "" : "ws-", z)).string();
      jobs.push_back({fmt::format("[{} N_z={}]", method, z), dir, c});
    }
  return jobs;
}

Fig2Report reproduce_fig2(const Fig2Options& o, const Observer& observer, std::atomic<bool>* stop) {
  const auto jobs = fig2_jobs(o);
  fs::create_directories(o.out);
  Fig2Report report;
  report.finished = run_jobs(jobs, o.jobs, observer, stop);
  report.runs = read_outcomes(jobs);
  if (!report.finished) return report;
  report.table = fig2_table(o.dataset, report.runs);
  report.table_path = (fs::path(o.out) / fmt::format("fig2_{}.md", o.dataset)).string();
  write_text(report.table_path, report.table);
  return report;
}

std::string fig2_table(const std::string& dataset, const std::vector<RunOutcome>& runs) {
  std::string md =
      fmt::format("| {} N_z | method | training samples | train bound | test bound | training time |\n", dataset);
  md += "|---:|---|---:|---:|---:|---:|\n";
  for (const auto& r : runs) {
    if (!r.last) continue;
    const auto& p = *r.last;
    const std::string& method = r.job.config.train.method;
    md += fmt::format("| {} | {} | {:.3g} | {:.2f} | {:.2f} | {} |\n", r.job.config.model.z_dim,
                      method == "aevb" ? "AEVB" : method, double(p.samples), p.train_elbo, p.test_elbo,
                      format_duration(p.seconds));
  }
  return md;
}

}  // namespace tapir::models::experiments
