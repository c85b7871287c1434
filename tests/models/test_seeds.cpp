// Several seeds per configuration: the seeds, mean ± sample sd and min–max over runs and along curves, the
// Figure 2 runs and table with seeds, and the plan of shell lines for a cluster (no training here: the
// plan's lines are run end to end in tests/cli/test_plan.sh).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <set>
#include <sstream>

#include "autodiff/check.hpp"
#include "models/experiments/fig2.hpp"
#include "models/experiments/fig3.hpp"
#include "models/experiments/plan.hpp"
#include "models/experiments/seeds.hpp"

using namespace tapir;
using namespace tapir::models;
using namespace tapir::models::experiments;
using test::check_throws_with;

namespace {

CurvePoint point(long long samples, double train, double test, double seconds = 1) {
  CurvePoint p;
  p.samples = samples;
  p.train_elbo = train;
  p.test_elbo = test;
  p.seconds = seconds;
  return p;
}

RunOutcome outcome(std::size_t z, const std::string& method, std::uint64_t seed, double train, double test,
                   double seconds) {
  RunOutcome r;
  r.job.config = paper_vae_setup("mnist", z);
  r.job.config.train.method = method;
  r.job.config.train.seed = seed;
  r.last = point(1000, train, test, seconds);
  return r;
}

}  // namespace

TEST_CASE("run_seed: base, base + 2, base + 4, …; overflow refused") {
  CHECK(run_seed(1, 0) == 1);
  CHECK(run_seed(1, 1) == 3);
  CHECK(run_seed(1, 2) == 5);
  CHECK(run_seed(0, 3) == 6);
  const auto top = std::numeric_limits<std::uint64_t>::max();
  CHECK(run_seed(top - 1, 0) == top - 1);  // s + 1 still fits
  check_throws_with([&] { run_seed(top, 0); }, {"--seed"});
  check_throws_with([&] { run_seed(top - 4, 2); }, {"--seed"});
}

TEST_CASE("spread: mean, sample sd (n − 1), min, max; one value has no sd; NaN is not averaged away") {
  const Spread s = spread({1, 2, 3, 4});
  CHECK(s.n == 4);
  CHECK(s.mean == doctest::Approx(2.5));
  CHECK(s.sd == doctest::Approx(std::sqrt(5.0 / 3.0)));  // Σ(x − 2.5)² = 5, over n − 1 = 3
  CHECK(s.min == 1);
  CHECK(s.max == 4);
  CHECK(format_spread(s) == "2.50 ± 1.29");
  CHECK(format_spread(s, 1) == "2.5 ± 1.3");

  const Spread near = spread({-100.1, -100.2, -100.3});  // bounds close together: no cancellation
  CHECK(near.mean == doctest::Approx(-100.2));
  CHECK(near.sd == doctest::Approx(0.1).epsilon(1e-9));
  CHECK(format_spread(near) == "-100.20 ± 0.10");

  const Spread one = spread({-94.123});
  CHECK(one.n == 1);
  CHECK(std::isnan(one.sd));
  CHECK(format_spread(one) == "-94.12");  // as a one-seed table shows it

  const Spread bad = spread({1, std::nan(""), 3});
  CHECK(std::isnan(bad.mean));
  CHECK(std::isnan(bad.min));
  check_throws_with([] { spread({}); }, {"no values"});
}

TEST_CASE("curve_spread: the points every curve reached, with their spread; one curve as it is") {
  const std::vector<CurvePoint> a = {point(100, -200, -210, 1), point(1000, -150, -160, 2), point(5000, -120, -130, 4)};
  const std::vector<CurvePoint> b = {point(100, -220, -230, 3), point(1000, -140, -150, 4)};  // stopped earlier
  const auto s = curve_spread({a, b});
  REQUIRE(s.size() == 2);
  CHECK(s[0].samples == 100);
  CHECK(s[0].train.mean == doctest::Approx(-210));
  CHECK(s[0].test.min == -230);
  CHECK(s[0].test.max == -210);
  CHECK(s[0].seconds == doctest::Approx(2));
  CHECK(s[1].samples == 1000);
  CHECK(s[1].test.mean == doctest::Approx(-155));
  CHECK(s[1].test.sd == doctest::Approx(std::sqrt(50.0)));  // (±5)² · 2 / (2 − 1)
  CHECK(curve_spread({a}).size() == 3);
  CHECK(curve_spread({}).empty());
  CHECK(curve_spread({a, {}}).empty());
}

TEST_CASE("Figure 2 with seeds: N runs per configuration in their own directories; one seed as before") {
  Fig2Options o;
  o.out = "/runs/f2";
  o.data_dir = "/data";
  o.latents = {20, 3};
  o.wake_sleep = true;
  o.seed = 7;
  o.seeds = 3;
  const auto jobs = fig2_jobs(o);
  REQUIRE(jobs.size() == 2 * 2 * 3);
  std::set<std::string> dirs;
  std::multiset<std::uint64_t> seeds;
  for (const auto& j : jobs) {
    dirs.insert(j.dir);
    seeds.insert(j.config.train.seed);
  }
  CHECK(dirs.size() == jobs.size());
  CHECK(seeds == std::multiset<std::uint64_t>{7, 7, 7, 7, 9, 9, 9, 9, 11, 11, 11, 11});
  CHECK(jobs[0].dir == "/runs/f2/nz3-seed7");
  CHECK(jobs[2].dir == "/runs/f2/nz3-seed11");
  CHECK(jobs[3].dir == "/runs/f2/ws-nz3-seed7");
  CHECK(jobs[3].config.train.method == "wake-sleep");
  CHECK(jobs[11].dir == "/runs/f2/ws-nz20-seed11");
  CHECK(jobs[11].label == "[wake-sleep N_z=20 seed=11]");

  o.seeds = 1;  // one seed: the layout every earlier reproduction wrote (so those directories resume)
  const auto one = fig2_jobs(o);
  REQUIRE(one.size() == 4);
  CHECK(one[0].dir == "/runs/f2/nz3");
  CHECK(one[1].dir == "/runs/f2/ws-nz3");
  CHECK(one[0].config.train.seed == 7);
  CHECK(one[0].label == "[aevb N_z=3]");
  o.seeds = 0;
  check_throws_with([&] { fig2_jobs(o); }, {"--seeds 0"});
  o.seeds = kMaxSeeds + 1;
  check_throws_with([&] { fig2_jobs(o); }, {"--seeds"});
}

TEST_CASE("Figure 2's table: mean ± sample sd over each configuration's seeds; one seed as before") {
  const std::vector<RunOutcome> runs = {
      outcome(3, "aevb", 1, -140, -141, 60),       outcome(3, "aevb", 3, -142, -145, 62),
      outcome(3, "aevb", 5, -141, -143, 64),       outcome(3, "wake-sleep", 1, -160, -161, 30),
      outcome(3, "wake-sleep", 3, -162, -163, 30), outcome(3, "wake-sleep", 5, -164, -165, 30),
  };
  const auto configs = fig2_configs(runs);
  REQUIRE(configs.size() == 2);
  CHECK(configs[0].runs.size() == 3);
  CHECK(configs[1].method == "wake-sleep");
  const std::string md = fig2_table("mnist", runs);
  INFO(md);
  CHECK(md.find("| mnist N_z | method | seeds | training samples | train bound | test bound | training time |") == 0);
  // AEVB test: −141, −145, −143: mean −143, sd √((4 + 4 + 0)/2) = 2
  CHECK(md.find("| 3 | AEVB | 3 | 1e+03 | -141.00 ± 1.00 | -143.00 ± 2.00 | 1m02s |") != std::string::npos);
  CHECK(md.find("| 3 | wake-sleep | 3 | 1e+03 | -162.00 ± 2.00 | -163.00 ± 2.00 | 30s |") != std::string::npos);
  CHECK(md.find("sample standard deviation (n − 1") != std::string::npos);
  CHECK(md.find("seeds 1, 3, 5") != std::string::npos);

  const std::string one = fig2_table("mnist", {runs[0], runs[3]});
  CHECK(one ==
        "| mnist N_z | method | training samples | train bound | test bound | training time |\n"
        "|---:|---|---:|---:|---:|---:|\n"
        "| 3 | AEVB | 1e+03 | -140.00 | -141.00 | 1m00s |\n"
        "| 3 | wake-sleep | 1e+03 | -160.00 | -161.00 | 30s |\n");
}

TEST_CASE("shell_quote: plain words as they are, anything else in single quotes that survive a quote") {
  CHECK(shell_quote("runs/fig2-mnist") == "runs/fig2-mnist");
  CHECK(shell_quote("/a/b_c@d%e+f=g:h,i.j") == "/a/b_c@d%e+f=g:h,i.j");
  CHECK(shell_quote("") == "''");
  CHECK(shell_quote("my runs") == "'my runs'");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  CHECK(shell_quote("$HOME;rm") == "'$HOME;rm'");
}

TEST_CASE("fig2_plan: one line per run (train, or resume when the directory holds one), then --collect") {
  Fig2Options o;
  o.dataset = "frey";
  o.out = "/runs/my f2";
  o.data_dir = "/data";
  o.latents = {5, 2};
  o.wake_sleep = true;
  o.seeds = 2;
  o.samples = 3000;
  o.train_eval_size = 100;
  const auto lines = fig2_plan(o, "/opt/tapir");
  const auto jobs = longest_first(fig2_jobs(o));  // the plan's order: the most work left first
  REQUIRE(lines.size() == jobs.size() + 1);
  REQUIRE(lines.size() == 2 * 2 * 2 + 1);
  std::set<std::string> lines_seen(lines.begin(), lines.end());
  CHECK(lines_seen.size() == lines.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    INFO(lines[i]);
    const std::string dir = "'" + jobs[i].dir + "'";
    CHECK(lines[i].find("if [ -e '" + jobs[i].dir + "/config.json' ]; then /opt/tapir train --resume " + dir +
                        "; else /opt/tapir train " + (jobs[i].config.train.method == "aevb" ? "vae" : "wake-sleep") +
                        " --dataset frey") == 0);
    CHECK(lines[i].find(" --seed " + std::to_string(jobs[i].config.train.seed) + " ") != std::string::npos);
    CHECK(lines[i].find(" --latent " + std::to_string(jobs[i].config.model.z_dim) + " ") != std::string::npos);
    CHECK(lines[i].find(" --samples 3000 ") != std::string::npos);
    CHECK(lines[i].find(" --train-eval-size 100 ") != std::string::npos);
    CHECK(lines[i].find(" --out " + dir + "; fi") != std::string::npos);
  }
  // nothing is on disk, so the work is the budget × the model's size × the method's cost: wake-sleep at
  // N_z = 5 first (seed 1 before seed 3: the order is stable), AEVB at N_z = 2 last
  CHECK(jobs.front().config.train.method == "wake-sleep");
  CHECK(jobs.front().config.model.z_dim == 5);
  CHECK(jobs.front().config.train.seed == 1);
  CHECK(jobs.back().config.train.method == "aevb");
  CHECK(jobs.back().config.model.z_dim == 2);
  CHECK(lines[jobs.size() - 1].find("'/runs/my f2/nz2-seed3'") != std::string::npos);
  CHECK(lines.back() ==
        "/opt/tapir reproduce fig2 --dataset frey --data /data --out '/runs/my f2' --samples 3000 --latents 2,5 "
        "--seed 1 --seeds 2 --wake-sleep --train-eval-size 100 --collect");

  // Another Adagrad start for every run: in each run's configuration, each train line and the collect line.
  o.adagrad_accumulator = 0.01;
  const auto damped = fig2_plan(o, "/opt/tapir");
  const auto damped_jobs = longest_first(fig2_jobs(o));
  for (std::size_t i = 0; i < damped_jobs.size(); ++i) {
    INFO(damped[i]);
    CHECK(damped_jobs[i].config.train.adagrad_accumulator == 0.01);
    CHECK(damped[i].find(" --adagrad-accumulator 0.01 ") != std::string::npos);
  }
  CHECK(jobs[0].config.train.adagrad_accumulator < 0);  // the default: the setup's start
  CHECK(damped.back().find(" --train-eval-size 100 --adagrad-accumulator 0.01 --collect") != std::string::npos);
  o.adagrad_accumulator = -1;

  // A setting `tapir train` has no flag for (Figure 3's AIS curve) is refused, not silently dropped.
  Fig3Options f3;
  f3.data_dir = "/data";
  f3.out = "/runs/f3";
  const auto f3_jobs = fig3_jobs(f3);
  check_throws_with([&] { train_command(f3_jobs[0], "tapir"); }, {"[aevb N_train=1000]", "curve_metric"});
  RunJob avb = jobs[0];
  avb.config.train.method = "avb";
  check_throws_with([&] { train_command(avb, "tapir"); }, {"method 'avb'"});
}
