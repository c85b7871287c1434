#include "models/experiments/fig3.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "models/experiments/report.hpp"

namespace tapir::models::experiments {

namespace fs = std::filesystem;

std::vector<RunJob> fig3_jobs(const Fig3Options& o) {
  std::vector<RunJob> jobs;
  for (const auto& method : o.methods) {
    auto c = paper_vae_setup("mnist", 3);  // N_z = 3, 100 hidden units (PAPERS.md, Fig. 3)
    c.model.hidden = {100};
    c.train.method = method;
    c.train.data_dir = o.data_dir;
    c.train.samples = o.samples;
    c.train.seed = o.seed;
    c.train.train_size = o.ntrain;
    c.train.curve_metric = "ais";                                   // one estimator of log p(x) for all three methods
    c.train.eval_every = std::max<long long>(100, o.samples / 12);  // a linear x axis, as in the paper
    c.train.ais_eval_size = o.ais_points;
    c.train.ais_steps = o.ais_steps;
    c.train.ais_chains = o.ais_chains;
    jobs.push_back({fmt::format("[{} N_train={}]", method, o.ntrain),
                    (fs::path(o.out) / fmt::format("{}-n{}", method, o.ntrain)).string(), c});
  }
  return jobs;
}

Fig3Report reproduce_fig3(const Fig3Options& o, const Observer& observer, std::atomic<bool>* stop) {
  fs::create_directories(o.out);
  const auto jobs = fig3_jobs(o);
  Fig3Report report;
  // MCEM's run first (8 times AEVB's cost per sample), so that with --jobs 2 the others share the other slot
  report.finished = run_jobs(longest_first(not_recorded(jobs)), o.jobs, observer, stop);
  report.runs = read_outcomes(jobs);
  if (!report.finished) return report;
  report.table = fig3_table(o, report.runs);
  report.table_path = (fs::path(o.out) / fmt::format("fig3_n{}.md", o.ntrain)).string();
  write_text(report.table_path, report.table);
  return report;
}

std::string fig3_table(const Fig3Options& o, const std::vector<RunOutcome>& runs) {
  std::string md = fmt::format(
      "| N_train = {} | training samples | train log p(x) | test log p(x) | training time "
      "|\n|---|---:|---:|---:|---:|\n",
      o.ntrain);
  for (const auto& r : runs) {
    if (!r.last) continue;
    const auto& p = *r.last;
    md += fmt::format("| {} | {:.3g} | {:.2f} | {:.2f} | {} |\n", r.job.config.train.method, double(p.samples),
                      p.train_elbo, p.test_elbo, format_duration(p.seconds));
  }
  md += fmt::format(
      "\nlog p(x) by AIS ({} temperatures, {} chains, 10 leapfrog steps) on the first {} points of "
      "the training and test sets; N_z = 3, 100 hidden units.\n",
      o.ais_steps, o.ais_chains, o.ais_points);
  return md;
}

}  // namespace tapir::models::experiments
