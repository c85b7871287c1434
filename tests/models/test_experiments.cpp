// The experiments behind `tapir reproduce` and the pictures, at tiny budgets on synthetic data: the runs
// they make, resuming, their tables (the right rows, finite numbers) and files; the normal quantile of
// the manifold against reference values; the picture layouts; the report helpers.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>

#include "autodiff/check.hpp"
#include "cli/synthetic_data.hpp"
#include "models/experiments/avb_mnist.hpp"
#include "models/experiments/avb_toy.hpp"
#include "models/experiments/fig2.hpp"
#include "models/experiments/fig3.hpp"
#include "models/experiments/jobs.hpp"
#include "models/experiments/manifold.hpp"
#include "models/experiments/pictures.hpp"
#include "models/experiments/report.hpp"
#include "temp_dir.hpp"

using namespace tapir;
using namespace tapir::models;
using namespace tapir::models::experiments;
using test::check_throws_with;
using test::TempDir;
namespace fs = std::filesystem;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The table's body rows ("| ... |" lines after the header and its |---| line).
std::vector<std::string> table_rows(const std::string& md) {
  std::vector<std::string> rows;
  std::istringstream in(md);
  std::string line;
  int seen = 0;
  while (std::getline(in, line)) {
    if (line.rfind("|", 0) != 0) continue;
    if (++seen > 2) rows.push_back(line);
  }
  return rows;
}

/// The numbers in a table row's cells (cells that are not numbers are skipped).
std::vector<double> numbers_in(const std::string& row) {
  std::vector<double> v;
  std::istringstream in(row);
  std::string cell;
  while (std::getline(in, cell, '|')) {
    const auto b = cell.find_first_not_of(' '), e = cell.find_last_not_of(' ');
    if (b == std::string::npos) continue;
    const std::string t = cell.substr(b, e - b + 1);
    char* end = nullptr;
    const double x = std::strtod(t.c_str(), &end);
    if (end != t.c_str() && *end == '\0') v.push_back(x);
  }
  return v;
}

void check_finite_row(const std::string& row, std::size_t at_least) {
  INFO(row);
  const auto v = numbers_in(row);
  CHECK(v.size() >= at_least);
  for (double x : v) CHECK(std::isfinite(x));
}

/// Counts an observer's calls (runs may train on several threads).
struct Counter {
  std::mutex mutex;
  std::vector<std::string> started, notes;
  std::set<std::size_t> finished;
  long long steps = 0;
  Observer observer() {
    Observer o;
    o.start = [this](std::size_t, const std::string& label) -> ProgressFn {
      std::lock_guard<std::mutex> lock(mutex);
      started.push_back(label);
      return [this](const TrainProgress&) {
        std::lock_guard<std::mutex> lock(mutex);
        ++steps;
      };
    };
    o.finish = [this](std::size_t i) {
      std::lock_guard<std::mutex> lock(mutex);
      finished.insert(i);
    };
    o.note = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mutex);
      notes.push_back(line);
    };
    return o;
  }
};

RunJob tiny_job(const std::string& label, const std::string& dir, const std::string& data, long long samples) {
  VaeRunConfig c = paper_vae_setup("mnist", 2);
  c.model.hidden = {16};
  c.train.data_dir = data;
  c.train.samples = samples;
  c.train.eval_every = 200;
  c.train.seed = 5;
  return {label, dir, c};
}

}  // namespace

TEST_CASE("normal_quantile: reference values, symmetry, tails, edges and Φ(Φ⁻¹(p)) = p") {
  // Reference values: Python's statistics.NormalDist().inv_cdf (Wichura's AS241, ~1e-16).
  CHECK(normal_quantile(0.975) == doctest::Approx(1.959963984540054).epsilon(1e-14));
  CHECK(normal_quantile(0.025) == doctest::Approx(-1.959963984540054).epsilon(1e-14));
  CHECK(normal_quantile(0.8413447460685429) == doctest::Approx(1.0).epsilon(1e-14));
  CHECK(normal_quantile(0.9) == doctest::Approx(1.2815515655446008).epsilon(1e-14));
  CHECK(normal_quantile(0.001) == doctest::Approx(-3.090232306167813).epsilon(1e-14));
  CHECK(normal_quantile(0.02425) == doctest::Approx(-1.9729610513118845).epsilon(1e-14));  // a region boundary
  CHECK(normal_quantile(1e-10) == doctest::Approx(-6.361340902404056).epsilon(1e-13));
  CHECK(normal_quantile(1e-300) == doctest::Approx(-37.0470962993612).epsilon(1e-12));
  CHECK(std::abs(normal_quantile(0.5)) < 1e-15);
  for (double p : {0.001, 0.01, 0.02425, 0.1, 0.3, 0.45}) {
    INFO("p = " << p);
    CHECK(normal_quantile(1 - p) == doctest::Approx(-normal_quantile(p)).epsilon(1e-11));
  }
  // Far in the upper tail 1 − p is rounded (by ~1e-16, here a relative 1e-8 of p): symmetric to that.
  CHECK(normal_quantile(1 - 1e-8) == doctest::Approx(-normal_quantile(1e-8)).epsilon(1e-7));
  double previous = -std::numeric_limits<double>::infinity();
  for (int i = 1; i < 2000; ++i) {  // strictly increasing across the three regions, and inverts Φ
    const double p = i / 2000.0;
    const double x = normal_quantile(p);
    INFO("p = " << p);
    CHECK(x > previous);
    CHECK(0.5 * std::erfc(-x / std::sqrt(2.0)) == doctest::Approx(p).epsilon(1e-13));
    previous = x;
  }
  CHECK(normal_quantile(0) == -std::numeric_limits<double>::infinity());
  CHECK(normal_quantile(1) == std::numeric_limits<double>::infinity());
  CHECK(std::isnan(normal_quantile(-0.1)));
  CHECK(std::isnan(normal_quantile(1.5)));
  CHECK(std::isnan(normal_quantile(std::numeric_limits<double>::quiet_NaN())));
}

TEST_CASE("manifold: a grid of equal prior mass in two latents, the others 0; the decoder's images over it") {
  const Array<float> z = manifold_latents(3, 4, 2, 0);
  REQUIRE(z.shape() == Shape{9, 4});
  const float q = static_cast<float>(normal_quantile(2.5 / 3));  // Φ⁻¹(5/6)
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 3; ++j) {
      INFO("cell " << i << ", " << j);
      CHECK(z(i * 3 + j, 2) == doctest::Approx((double(j) - 1) * q));  // columns: low to high
      CHECK(z(i * 3 + j, 0) == doctest::Approx((1 - double(i)) * q));  // rows: top = high
      CHECK(z(i * 3 + j, 1) == 0);
      CHECK(z(i * 3 + j, 3) == 0);
    }
  check_throws_with([] { manifold_latents(3, 2, 0, 2); }, {"below N_z = 2"});
  check_throws_with([] { manifold_latents(3, 2, 1, 1); }, {"two different"});
  check_throws_with([] { manifold_latents(1, 2, 0, 1); }, {"at least 2"});

  VaeConfig c;
  c.x_dim = 12;
  c.z_dim = 3;
  c.hidden = {5};
  Rng rng(3);
  const Vae<float> vae(c, rng);
  const Array<float> images = manifold_images(vae, 4, 0, 2);
  REQUIRE(images.shape() == Shape{16, 12});
  for (float v : images) CHECK((v >= 0 && v <= 1));  // Bernoulli means
  CHECK(images == decode_mean(vae, manifold_latents(4, 3, 0, 2)));
}

TEST_CASE("pictures: image shapes, and data above their reconstructions, padded to whole lines") {
  CHECK(image_shape(paper_vae_setup("frey", 2)) == std::pair<std::size_t, std::size_t>{28, 20});
  CHECK(image_shape(paper_vae_setup("mnist", 2)) == std::pair<std::size_t, std::size_t>{28, 28});
  auto odd = paper_vae_setup("mnist", 2);
  odd.model.x_dim = 10;
  check_throws_with([&] { image_shape(odd); }, {"10 pixels"});

  const Array<float> x = {{1, 1}, {2, 2}, {3, 3}}, r = {{-1, -1}, {-2, -2}, {-3, -3}};
  const Array<float> grid = reconstruction_grid(x, r, 2);
  const Array<float> expected = {{1, 1}, {2, 2}, {-1, -1}, {-2, -2}, {3, 3}, {0, 0}, {-3, -3}, {0, 0}};
  CHECK(grid == expected);
  check_throws_with([&] { reconstruction_grid(x, Array<float>(xt::zeros<float>({2, 2})), 2); }, {"one shape"});
}

TEST_CASE("report: durations as a reader writes them; text files whole or not at all") {
  CHECK(format_duration(0) == "0s");
  CHECK(format_duration(42.4) == "42s");
  CHECK(format_duration(187) == "3m07s");
  CHECK(format_duration(7500) == "2h05m");
  CHECK(format_duration(-1) == "?");
  CHECK(format_duration(std::numeric_limits<double>::quiet_NaN()) == "?");
  CHECK(format_duration(std::numeric_limits<double>::infinity()) == "?");
  TempDir tmp;
  write_text(tmp / "a.md", "one\n");
  write_text(tmp / "a.md", "two\n");
  CHECK(read_file(tmp / "a.md") == "two\n");
  CHECK(!fs::exists(tmp / "a.md.tmp"));
  check_throws_with([&] { write_text(tmp / "no/such/dir/a.md", "x"); }, {"no/such/dir/a.md"});
}

TEST_CASE("run_jobs: runs in parallel, keeps finished runs, resumes to a raised budget, stops, names a failing run") {
  TempDir tmp;
  REQUIRE(test::write_synthetic_data(tmp / "data"));
  std::vector<RunJob> jobs = {tiny_job("[a]", tmp / "a", tmp / "data", 400),
                              tiny_job("[b]", tmp / "b", tmp / "data", 200)};
  Counter counter;
  CHECK(run_jobs(jobs, 2, counter.observer()));
  CHECK(std::set<std::string>(counter.started.begin(), counter.started.end()) == std::set<std::string>{"[a]", "[b]"});
  CHECK(counter.finished == std::set<std::size_t>{0, 1});
  CHECK(counter.steps > 0);
  auto outcomes = read_outcomes(jobs);
  REQUIRE(outcomes.size() == 2);
  REQUIRE(outcomes[0].last);
  REQUIRE(outcomes[1].last);
  CHECK(outcomes[0].last->samples == 400);
  CHECK(outcomes[1].last->samples == 200);
  CHECK(std::isfinite(outcomes[0].last->test_elbo));
  const std::string curve_a = read_file(tmp / "a/curve.csv");

  Counter again;  // finished runs are kept as they are
  CHECK(run_jobs(jobs, 1, again.observer()));
  CHECK(again.steps == 0);
  CHECK(read_file(tmp / "a/curve.csv") == curve_a);

  jobs[1].config.train.samples = 400;  // a raised budget resumes from the checkpoint
  CHECK(run_jobs(jobs, 1));
  CHECK(read_outcomes(jobs)[1].last->samples == 400);

  std::atomic<bool> stop{true};  // stopped before it begins: no new run starts
  CHECK_FALSE(run_jobs({tiny_job("[c]", tmp / "c", tmp / "data", 200)}, 1, {}, &stop));
  CHECK(!fs::exists(tmp / "c/curve.csv"));
  CHECK(read_outcomes({tiny_job("[c]", tmp / "c", tmp / "data", 200)})[0].last == std::nullopt);

  check_throws_with([&] { run_jobs({tiny_job("[bad]", tmp / "d", tmp / "nowhere", 200)}, 1); }, {"[bad]: ", "nowhere"});
  check_throws_with([&] { run_jobs(jobs, 0); }, {"jobs = 0"});
}

TEST_CASE("longest_first: the most work left first (samples left × network size × method), stable") {
  TempDir tmp;
  const auto job = [&](const std::string& name, const std::string& method, std::size_t z, std::size_t hidden) {
    RunJob j{name, (tmp.path / name).string(), paper_vae_setup("mnist", z)};
    j.config.model.hidden = {hidden};
    j.config.train.method = method;
    j.config.train.samples = 1000;
    return j;
  };
  const auto names = [](const std::vector<RunJob>& jobs) {
    std::vector<std::string> out;
    for (const auto& j : jobs) out.push_back(j.label);
    return out;
  };
  // Figure 2's MNIST runs in fig2_jobs' order: wake-sleep at N_z = 200 is the longest, AEVB at N_z = 3 the shortest
  CHECK(names(longest_first({job("nz3", "aevb", 3, 500), job("ws-nz3", "wake-sleep", 3, 500),
                             job("nz200", "aevb", 200, 500), job("ws-nz200", "wake-sleep", 200, 500)})) ==
        std::vector<std::string>{"ws-nz200", "ws-nz3", "nz200", "nz3"});
  // Figure 3's: MCEM first, then the methods' order
  CHECK(names(longest_first({job("aevb", "aevb", 3, 100), job("ws", "wake-sleep", 3, 100),
                             job("mcem", "mcem", 3, 100)})) == std::vector<std::string>{"mcem", "ws", "aevb"});
  // equal work keeps the given order
  CHECK(names(longest_first({job("b", "aevb", 20, 500), job("a", "aevb", 20, 500)})) ==
        std::vector<std::string>{"b", "a"});
  // samples left, not the budget: a run nine tenths done goes after a fresh one of a smaller network
  REQUIRE(test::write_synthetic_data(tmp / "data"));
  auto part = tiny_job("part", tmp / "part", tmp / "data", 200);
  REQUIRE(run_jobs({part}, 1));
  part.config.train.samples = 2000;  // 1800 left
  auto fresh = tiny_job("fresh", tmp / "fresh", tmp / "data", 2000);
  fresh.config.model.hidden = {12};  // 2000 left, on a network 3/4 the size
  CHECK(names(longest_first({fresh, part})) == std::vector<std::string>{"part", "fresh"});
  fresh.config.model.hidden = {16};
  CHECK(names(longest_first({part, fresh})) == std::vector<std::string>{"fresh", "part"});
  CHECK(longest_first({}).empty());
}

TEST_CASE("Figure 2: an AEVB and a wake-sleep run per N_z, a table of where each ended; a second call keeps them") {
  TempDir tmp;
  REQUIRE(test::write_synthetic_data(tmp / "data"));
  CHECK(fig2_latents("frey") == std::vector<std::size_t>{2, 5, 10, 20});
  CHECK(fig2_latents("mnist") == std::vector<std::size_t>{3, 5, 10, 20, 200});
  Fig2Options o;
  o.dataset = "frey";
  o.data_dir = tmp / "data";
  o.out = tmp / "fig2";
  o.samples = 300;
  o.latents = {3, 2, 3};
  o.wake_sleep = true;
  o.jobs = 2;
  o.train_eval_size = 100;
  const auto jobs = fig2_jobs(o);
  REQUIRE(jobs.size() == 4);
  CHECK(jobs[0].dir == tmp / "fig2/nz2");
  CHECK(jobs[1].dir == tmp / "fig2/ws-nz2");
  CHECK(jobs[3].config.train.method == "wake-sleep");
  CHECK(jobs[3].config.model.z_dim == 3);
  CHECK(jobs[3].config.model.hidden == std::vector<std::size_t>{200});  // the paper's Frey setup

  Counter counter;
  const auto r = reproduce_fig2(o, counter.observer());
  CHECK(r.finished);
  REQUIRE(r.runs.size() == 4);
  CHECK(counter.started.size() == 4);
  for (const auto& run : r.runs) {
    INFO(run.job.dir);
    REQUIRE(run.last);
    CHECK(run.last->samples == 300);
    CHECK(std::isfinite(run.last->train_elbo));
    CHECK(fs::exists(fs::path(run.job.dir) / "checkpoint_last.safetensors"));
  }
  CHECK(r.table_path == tmp / "fig2/fig2_frey.md");
  CHECK(read_file(r.table_path) == r.table);
  const auto rows = table_rows(r.table);
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].rfind("| 2 | AEVB | 300 |", 0) == 0);
  CHECK(rows[3].rfind("| 3 | wake-sleep | 300 |", 0) == 0);
  for (const auto& row : rows) check_finite_row(row, 4);  // N_z, samples, train and test bound

  Counter again;
  const auto r2 = reproduce_fig2(o, again.observer());
  CHECK(r2.finished);
  CHECK(again.steps == 0);
  CHECK(r2.table == r.table);

  // A run on record only (config.json and curve.csv, no checkpoints: what docs/results/runs keeps) is
  // finished: neither trained again nor refused by --collect, and its row is the same.
  for (const char* f : {"checkpoint_last.safetensors", "checkpoint_best.safetensors"})
    fs::remove(fs::path(jobs[1].dir) / f);
  CHECK(!job_finished(jobs[1]));
  CHECK(job_recorded(jobs[1]));
  CHECK(!job_recorded(jobs[0]));  // it has its checkpoints: a run, not a record
  CHECK(job_state(jobs[1]).find("on record") != std::string::npos);
  Counter kept;
  const auto r3 = reproduce_fig2(o, kept.observer());
  CHECK(r3.finished);
  CHECK(kept.steps == 0);
  CHECK(r3.table == r.table);
  CHECK(!fs::exists(fs::path(jobs[1].dir) / "checkpoint_last.safetensors"));
  o.collect = true;
  CHECK(reproduce_fig2(o).table == r.table);
  // ... but not a record of another configuration, nor one short of the budget.
  RunJob other = jobs[1];
  other.config.train.seed = 7;
  check_throws_with([&] { job_recorded(other); }, {jobs[1].dir + "/config.json", "train.seed: 1 here, 7 expected"});
  RunJob damped = jobs[1];  // --adagrad-accumulator 0.01 into the same --out: refused, not mixed in
  damped.config.train.adagrad_accumulator = 0.01;
  check_throws_with([&] { job_recorded(damped); }, {"records another configuration", "train.adagrad_accumulator"});
  // ... and so is a run (with its checkpoints) of another configuration: not kept, not resumed.
  Fig2Options o_damped = o;
  o_damped.adagrad_accumulator = 0.01;
  const auto damped_jobs = fig2_jobs(o_damped);
  check_throws_with([&] { job_finished(damped_jobs[0]); },
                    {jobs[0].dir + "/config.json", "holds a run of another configuration",
                     "train.adagrad_accumulator: -1.0 here, 0.01 expected"});
  check_throws_with([&] { reproduce_fig2(o_damped); }, {"train.adagrad_accumulator"});
  RunJob longer = jobs[1];
  longer.config.train.samples = 600;
  longer.config.train.data_dir = "/elsewhere";  // where the data is does not matter
  CHECK(!job_recorded(longer));
  longer.config.train.samples = 200;
  CHECK(job_recorded(longer));
  o.collect = false;

  o.out.clear();
  check_throws_with([&] { fig2_jobs(o); }, {"Fig2Options::out"});
}

TEST_CASE("Figure 3: one run per method on N_train points, AIS curves on a linear axis, a table") {
  TempDir tmp;
  REQUIRE(test::write_synthetic_data(tmp / "data"));
  Fig3Options o;
  o.data_dir = tmp / "data";
  o.out = tmp / "fig3";
  o.ntrain = 100;
  o.samples = 200;
  o.methods = {"aevb", "mcem"};
  o.ais_steps = 3;
  o.ais_chains = 2;
  o.ais_points = 10;
  const auto jobs = fig3_jobs(o);
  REQUIRE(jobs.size() == 2);
  CHECK(jobs[1].dir == tmp / "fig3/mcem-n100");
  CHECK(jobs[0].config.train.train_size == 100);
  CHECK(jobs[0].config.train.curve_metric == "ais");
  CHECK(jobs[0].config.train.eval_every == 100);  // max(100, samples / 12)
  CHECK(jobs[0].config.model.hidden == std::vector<std::size_t>{100});

  Counter counter;
  const auto r = reproduce_fig3(o, counter.observer());
  CHECK(r.finished);
  // the longest run starts first; the outcomes and the table keep the methods' order
  CHECK(counter.started == std::vector<std::string>{"[mcem N_train=100]", "[aevb N_train=100]"});
  REQUIRE(r.runs.size() == 2);
  CHECK(r.runs[0].job.config.train.method == "aevb");
  for (const auto& run : r.runs) {
    INFO(run.job.dir);
    REQUIRE(run.last);
    CHECK(run.last->samples == 200);
    CHECK(read_curve((fs::path(run.job.dir) / "curve.csv").string()).size() == 2);
    CHECK(run.last->test_elbo < 0);  // a log-likelihood of binary images
  }
  CHECK(r.table_path == tmp / "fig3/fig3_n100.md");
  CHECK(fs::exists(r.table_path));
  const auto rows = table_rows(r.table);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].rfind("| aevb |", 0) == 0);
  CHECK(rows[1].rfind("| mcem |", 0) == 0);
  for (const auto& row : rows) check_finite_row(row, 3);
  CHECK(r.table.find("3 temperatures, 2 chains") != std::string::npos);
}

TEST_CASE("AVB toy: a scatter plot and a CSV of q(z|x) per method, and a table") {
  TempDir tmp;
  AvbToyOptions o;
  o.out = tmp / "toy";
  o.methods = {"vae", "avb-ac"};
  o.steps = 100;
  CHECK(avb_toy_config("avb-ac", o).avb.adaptive_contrast);
  CHECK(avb_toy_config("vae", o).method == "vae");
  CHECK(avb_toy_config("avb", o).avb.disc_steps == 2);
  o.methods = {"vae", "gan"};
  check_throws_with([&] { reproduce_avb_toy(o); }, {"unknown method 'gan'"});
  CHECK(!fs::exists(tmp / "toy"));  // refused before any training

  o.methods = {"vae", "avb"};  // (adaptive contrast draws K = 10 samples per point: slower)
  std::atomic<bool> stop{true};
  CHECK_FALSE(reproduce_avb_toy(o, {}, &stop).finished);

  Counter counter;
  const auto r = reproduce_avb_toy(o, counter.observer());
  CHECK(r.finished);
  REQUIRE(r.rows.size() == 2);
  CHECK(counter.started == std::vector<std::string>{"[vae]", "[avb]"});
  CHECK(counter.notes.size() == 2);
  for (const auto& row : r.rows) {
    INFO(row.method);
    CHECK(std::isfinite(row.elbo));
    CHECK(row.log_likelihood < 0);
    CHECK(row.log_likelihood > -10);
    CHECK(fs::file_size(row.png) > 100);
    const std::string csv = read_file(row.csv);
    CHECK(csv.rfind("point,z1,z2\n", 0) == 0);
    CHECK(std::count(csv.begin(), csv.end(), '\n') == 4 * 1000 + 1);  // four points, 1000 draws each
  }
  const auto rows = table_rows(read_file(tmp / "toy/avb_toy.md"));
  REQUIRE(rows.size() == 2);
  CHECK(rows[1].rfind("| avb | 100 |", 0) == 0);
  for (const auto& row : rows) check_finite_row(row, 3);
}

TEST_CASE("AVB on MNIST: three runs with one decoder, AIS for all, IWAE for the VAE only, a table") {
  TempDir tmp;
  REQUIRE(test::write_synthetic_data(tmp / "data"));
  AvbMnistOptions o;
  o.data_dir = tmp / "data";
  o.out = tmp / "am";
  o.samples = 200;
  o.latent = 2;
  o.ais_points = 5;
  o.ais_steps = 3;
  o.ais_chains = 2;
  const auto jobs = avb_mnist_jobs(o);
  REQUIRE(jobs.size() == 3);
  CHECK(jobs[0].config.train.method == "aevb");
  CHECK(jobs[2].config.train.avb.adaptive_contrast);
  for (const auto& j : jobs) CHECK(j.config.train.optimizer == "adam");

  Counter counter;
  const auto r = reproduce_avb_mnist(o, counter.observer());
  CHECK(r.trained);
  CHECK(r.evaluated);
  CHECK(r.ais_points == 5);
  REQUIRE(r.rows.size() == 3);
  CHECK(r.rows[0].name == "VAE");
  CHECK(r.rows[1].name == "AVB");
  CHECK(r.rows[2].name == "AVB + adaptive contrast");
  CHECK(r.rows[0].iwae);
  CHECK(!r.rows[1].iwae);
  CHECK(counter.notes.size() == 3);  // one before each AIS
  for (const auto& row : r.rows) {
    INFO(row.name);
    CHECK(std::isfinite(row.ais_log_likelihood));
    CHECK(row.ais_log_likelihood < 0);
  }
  CHECK(std::isfinite(*r.rows[0].iwae));
  const auto rows = table_rows(read_file(tmp / "am/avb_mnist.md"));
  REQUIRE(rows.size() == 3);
  for (const auto& row : rows) check_finite_row(row, 4);
  CHECK(rows[1].find("| – |") != std::string::npos);
}
