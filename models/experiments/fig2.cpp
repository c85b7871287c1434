#include "models/experiments/fig2.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "models/experiments/plan.hpp"
#include "models/experiments/report.hpp"
#include "models/experiments/seeds.hpp"

namespace tapir::models::experiments {

namespace fs = std::filesystem;

namespace {

std::vector<std::size_t> latents_of(const Fig2Options& o) {
  std::vector<std::size_t> latents = o.latents.empty() ? fig2_latents(o.dataset) : o.latents;
  std::sort(latents.begin(), latents.end());
  latents.erase(std::unique(latents.begin(), latents.end()), latents.end());  // one run directory each
  return latents;
}

}  // namespace

std::vector<std::size_t> fig2_latents(const std::string& dataset) {
  return dataset == "frey" ? std::vector<std::size_t>{2, 5, 10, 20} : std::vector<std::size_t>{3, 5, 10, 20, 200};
}

std::vector<RunJob> fig2_jobs(const Fig2Options& o) {
  if (o.out.empty()) throw Error("fig2: name a directory for the runs (Fig2Options::out)");
  if (o.seeds < 1 || o.seeds > kMaxSeeds)
    throw Error(fmt::format("--seeds {}: expected 1 to {} runs per configuration", o.seeds, kMaxSeeds));
  std::vector<RunJob> jobs;
  for (auto z : latents_of(o))
    for (const std::string method : {"aevb", "wake-sleep"}) {
      if (method == "wake-sleep" && !o.wake_sleep) continue;
      for (std::size_t k = 0; k < o.seeds; ++k) {
        auto c = paper_vae_setup(o.dataset, z);
        c.train.method = method;
        c.train.data_dir = o.data_dir;
        c.train.samples = o.samples;
        c.train.seed = run_seed(o.seed, k);
        c.train.train_eval_size = o.train_eval_size;
        if (o.adagrad_accumulator >= 0) c.train.adagrad_accumulator = o.adagrad_accumulator;
        // One seed keeps the layout of the one-seed reproduction (its directories still resume).
        std::string name = fmt::format("{}nz{}", method == "aevb" ? "" : "ws-", z);
        std::string label = fmt::format("[{} N_z={}]", method, z);
        if (o.seeds > 1) {
          name += fmt::format("-seed{}", c.train.seed);
          label = fmt::format("[{} N_z={} seed={}]", method, z, c.train.seed);
        }
        jobs.push_back({label, (fs::path(o.out) / name).string(), c});
      }
    }
  return jobs;
}

std::vector<Fig2Config> fig2_configs(const std::vector<RunOutcome>& runs) {
  std::vector<Fig2Config> configs;
  for (const auto& r : runs) {
    const std::size_t z = r.job.config.model.z_dim;
    const std::string& method = r.job.config.train.method;
    auto it = std::find_if(configs.begin(), configs.end(),
                           [&](const Fig2Config& c) { return c.z_dim == z && c.method == method; });
    if (it == configs.end()) it = configs.insert(configs.end(), Fig2Config{z, method, {}});
    it->runs.push_back(r);
  }
  return configs;
}

std::vector<std::string> fig2_plan(const Fig2Options& options, const std::string& tapir) {
  Fig2Options o = options;
  if (o.out.empty()) throw Error("fig2: name a directory for the runs (Fig2Options::out)");
  o.out = fs::absolute(o.out).lexically_normal().string();
  o.data_dir = fs::absolute(o.data_dir).lexically_normal().string();
  std::vector<std::string> lines;
  // the longest runs first, as reproduce_fig2 trains them: a job array or `parallel` that starts lines in order
  // then starts none of the long ones last
  for (const auto& job : longest_first(fig2_jobs(o))) lines.push_back(train_command(job, tapir));
  std::string collect =
      fmt::format("{} reproduce fig2 --dataset {} --data {} --out {} --samples {} --latents {} --seed {} --seeds {}",
                  shell_quote(tapir), shell_quote(o.dataset), shell_quote(o.data_dir), shell_quote(o.out), o.samples,
                  fmt::join(latents_of(o), ","), o.seed, o.seeds);
  if (o.wake_sleep) collect += " --wake-sleep";
  if (o.train_eval_size) collect += fmt::format(" --train-eval-size {}", o.train_eval_size);
  if (o.adagrad_accumulator >= 0) collect += fmt::format(" --adagrad-accumulator {}", o.adagrad_accumulator);
  lines.push_back(collect + " --collect");
  return lines;
}

Fig2Report reproduce_fig2(const Fig2Options& o, const Observer& observer, std::atomic<bool>* stop) {
  const auto jobs = fig2_jobs(o);
  Fig2Report report;
  if (o.collect) {
    std::vector<std::string> missing;
    for (const auto& job : jobs)
      if (!job_finished(job) && !job_recorded(job)) missing.push_back(fmt::format("{} ({})", job.dir, job_state(job)));
    if (!missing.empty())
      throw Error(
          fmt::format("--collect: {} of {} runs are not finished: {}: run their lines of the plan "
                      "(--plan), or leave out --collect to train them here",
                      missing.size(), jobs.size(), fmt::join(missing, ", ")));
    report.finished = true;
  } else {
    fs::create_directories(o.out);
    // the longest runs first (wake-sleep at N_z = 200 on MNIST), so that none starts last beside an idle slot
    report.finished = run_jobs(longest_first(not_recorded(jobs)), o.jobs, observer, stop);
  }
  report.runs = read_outcomes(jobs);
  if (!report.finished) return report;
  report.table = fig2_table(o.dataset, report.runs);
  report.table_path = (fs::path(o.out) / fmt::format("fig2_{}.md", o.dataset)).string();
  write_text(report.table_path, report.table);
  return report;
}

std::string fig2_table(const std::string& dataset, const std::vector<RunOutcome>& runs) {
  const auto configs = fig2_configs(runs);
  bool several = false;
  for (const auto& c : configs) several = several || c.runs.size() > 1;
  std::string md =
      several ? fmt::format(
                    "| {} N_z | method | seeds | training samples | train bound | test bound | training time |\n"
                    "|---:|---|---:|---:|---:|---:|---:|\n",
                    dataset)
              : fmt::format(
                    "| {} N_z | method | training samples | train bound | test bound | training time |\n"
                    "|---:|---|---:|---:|---:|---:|\n",
                    dataset);
  std::set<std::uint64_t> seeds;
  for (const auto& c : configs) {
    std::vector<double> train, test, seconds;
    long long samples = 0;
    for (const auto& r : c.runs) {
      if (!r.last) continue;
      train.push_back(r.last->train_elbo);
      test.push_back(r.last->test_elbo);
      seconds.push_back(r.last->seconds);
      samples = std::max(samples, r.last->samples);
      seeds.insert(r.job.config.train.seed);
    }
    if (train.empty()) continue;
    const std::string method = c.method == "aevb" ? "AEVB" : c.method;
    const std::string n = several ? fmt::format(" {} |", train.size()) : "";
    md += fmt::format("| {} | {} |{} {:.3g} | {} | {} | {} |\n", c.z_dim, method, n, double(samples),
                      format_spread(spread(train)), format_spread(spread(test)), format_duration(spread(seconds).mean));
  }
  if (several)
    md += fmt::format(
        "\nBounds: mean ± sample standard deviation (n − 1 in the denominator) over the seeds of each row "
        "(seeds {}); training time: their mean.\n",
        fmt::join(seeds, ", "));
  return md;
}

}  // namespace tapir::models::experiments
