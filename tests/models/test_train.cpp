// VAE runs on synthetic data: the run directory, exact resume (after an interruption mid-interval and
// after raising the budget), evaluation (chunked importance sampling equals one pass), schedules, errors.
#include <doctest/doctest.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "autodiff/check.hpp"
#include "autodiff/version.hpp"
#include "cli/synthetic_data.hpp"
#include "models/methods/methods.hpp"
#include "models/train/run.hpp"
#include "models/train/run_lock.hpp"
#include "nn/checkpoint.hpp"
#include "nn/optim/adagrad.hpp"
#include "temp_dir.hpp"

using namespace tapir;
using namespace tapir::models;
using test::check_throws_with;
using test::TempDir;
namespace fs = std::filesystem;

namespace {
VaeRunConfig small_run(const std::string& data, const std::string& dataset = "mnist") {
  VaeRunConfig c = paper_vae_setup(dataset, 3);
  c.model.hidden = {16};
  c.train.data_dir = data;
  c.train.samples = 1500;
  c.train.eval_every = 500;
  c.train.seed = 7;
  return c;
}

void check_same_parameters(const std::string& a, const std::string& b) {
  const auto ta = nn::read_safetensors(a), tb = nn::read_safetensors(b);
  REQUIRE(ta.f32.size() == tb.f32.size());
  for (const auto& [name, v] : ta.f32) {
    INFO(name);
    REQUIRE(tb.f32.count(name) == 1);
    CHECK(v == tb.f32.at(name));  // bitwise: the same arithmetic in the same order
  }
}

/// A curve row without the bound's terms.
CurvePoint row(long long samples, long long epoch, double seconds, double train, double test, double beta, double lr) {
  CurvePoint p;
  p.samples = samples;
  p.epoch = epoch;
  p.seconds = seconds;
  p.train_elbo = train;
  p.test_elbo = test;
  p.beta = beta;
  p.lr = lr;
  return p;
}

/// The first n comma-separated fields of a line.
std::string first_fields(const std::string& line, int n) {
  std::size_t end = 0;
  for (int i = 0; i < n; ++i) {
    end = line.find(',', end);
    if (end == std::string::npos) return line;
    ++end;
  }
  return line.substr(0, end - 1);
}

void check_same_curve(const std::vector<CurvePoint>& a, const std::vector<CurvePoint>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].samples == b[i].samples);
    CHECK(a[i].epoch == b[i].epoch);
    CHECK(a[i].train_elbo == b[i].train_elbo);
    CHECK(a[i].test_elbo == b[i].test_elbo);
  }
}
}  // namespace

TEST_CASE("eval_schedule: log-spaced from ten batches, or every N samples; whole batches; ends at the budget") {
  const auto log = eval_schedule(1'000'000, 0, 100);
  REQUIRE(log.size() > 20);
  CHECK(log.front() == 1000);
  CHECK(log.back() == 1'000'000);
  for (std::size_t i = 1; i < log.size(); ++i) {
    CHECK(log[i] > log[i - 1]);
    CHECK(log[i] % 100 == 0);
  }
  CHECK(eval_schedule(1000, 300, 100) == std::vector<long long>{300, 600, 900, 1000});
  CHECK(eval_schedule(50, 0, 100) == std::vector<long long>{50});
}

namespace {
/// The schedule as tapir built it before evaluation points were computed one at a time.
std::vector<long long> reference_schedule(long long total, long long eval_every, std::size_t batch) {
  std::vector<long long> points;
  const long long b = static_cast<long long>(batch);
  const auto push = [&](long long s) {
    s = std::min(total, (s + b - 1) / b * b);
    if (points.empty() || s > points.back()) points.push_back(s);
  };
  if (eval_every > 0) {
    for (long long s = eval_every; s < total; s += eval_every) push(s);
  } else {
    for (int i = 0;; ++i) {
      const double s = 10.0 * double(b) * std::pow(10.0, i / 8.0);
      if (s >= double(total)) break;
      push(static_cast<long long>(std::llround(s)));
    }
  }
  push(total);
  return points;
}
}  // namespace

TEST_CASE("next_eval_point: the same points as the whole schedule, one at a time, in O(1) for any budget") {
  for (long long total : {1LL, 50LL, 999LL, 1000LL, 1001LL, 12345LL, 1'000'000LL})
    for (long long every : {0LL, 1LL, 30LL, 100LL, 250LL, 7919LL})
      for (std::size_t batch : {1u, 7u, 100u, 128u}) {
        CAPTURE(total);
        CAPTURE(every);
        CAPTURE(batch);
        const auto want = reference_schedule(total, every, batch);
        CHECK(eval_schedule(total, every, batch) == want);
        // From any position (a resume after Ctrl-C stops between points): the first point after it.
        for (long long after : {0LL, 1LL, total / 3, total / 2 + 1, total - 1}) {
          const auto it = std::upper_bound(want.begin(), want.end(), after);
          CHECK(next_eval_point(total, every, batch, after) == (it == want.end() ? total + 1 : *it));
        }
      }
  // `--samples 1e13 --eval-every 100` once built a 10^11-point schedule up front.
  const long long huge = 10'000'000'000'000LL;
  CHECK(next_eval_point(huge, 100, 100, 0) == 100);
  CHECK(next_eval_point(huge, 100, 100, 5'000'000'000'050LL) == 5'000'000'000'100LL);
  CHECK(next_eval_point(huge, 100, 100, huge - 1) == huge);
  CHECK(next_eval_point(huge, 0, 100, huge / 2) > huge / 2);
  CHECK(next_eval_point(huge, 0, 100, huge - 1) == huge);
}

TEST_CASE("eval_points_after: how many evaluations are left, exact up to its cap, then extrapolated") {
  for (long long total : {1LL, 999LL, 1000LL, 12345LL, 1'000'000LL})
    for (long long every : {0LL, 1LL, 30LL, 7919LL})
      for (std::size_t batch : {1u, 7u, 100u}) {
        CAPTURE(total);
        CAPTURE(every);
        CAPTURE(batch);
        const auto want = eval_schedule(total, every, batch);
        for (long long after : {0LL, 1LL, total / 3, total - 1, total, total + 5}) {
          CAPTURE(after);
          const long long left = want.end() - std::upper_bound(want.begin(), want.end(), after);
          if (left <= 4096) CHECK(eval_points_after(total, every, batch, after) == left);
          // a small cap: the first 10 counted, the rest extrapolated from them (even spacing: exact to a point)
          if (every > 0 && batch == 1 && left > 10)
            CHECK(std::llabs(eval_points_after(total, every, batch, after, 10) - left) <= 1);
        }
      }
  // 10^11 points of --eval-every 100 on 10^13 samples: answered from the first 4096, not by walking them
  const long long huge = 10'000'000'000'000LL;
  CHECK(eval_points_after(huge, 100, 100, 0) == huge / 100);
  CHECK(eval_points_after(huge, 0, 100, 0) < 200);  // log-spaced: 8 a decade
}

TEST_CASE("curve.csv: bounds that are not finite are written readably and read back; bad fields are named") {
  TempDir tmp;
  std::vector<CurvePoint> curve(3);
  curve[0] = row(100, 1, 0.5, -120.25, -121.5, 1, 0.02);
  curve[1] = row(200, 1, 1.0, -INFINITY, -INFINITY, 1, 0.02);
  curve[2] = row(300, 2, 1.5, std::nan(""), INFINITY, 1, 0.02);
  write_curve(tmp / "curve.csv", curve);
  const auto back = read_curve(tmp / "curve.csv");
  REQUIRE(back.size() == 3);
  CHECK(back[0].train_elbo == -120.25);
  CHECK(back[1].train_elbo == -INFINITY);
  CHECK(back[1].test_elbo == -INFINITY);
  CHECK(std::isnan(back[2].train_elbo));
  CHECK(back[2].test_elbo == INFINITY);
  const auto bad_row = [&](const std::string& row, std::initializer_list<std::string> parts) {
    std::ofstream(tmp / "bad.csv") << "samples,epoch,seconds,train_elbo,test_elbo,beta,lr\n" << row << "\n";
    check_throws_with([&] { read_curve(tmp / "bad.csv"); }, parts);
  };
  bad_row("0x10,1,0,-1,-1,1,0.02", {"bad.csv", "line 2", "samples", "0x10"});
  bad_row("-5,1,0,-1,-1,1,0.02", {"samples", "'-5'"});
  bad_row("100,1,0,-1x,-1,1,0.02", {"train_elbo", "'-1x'"});
  bad_row("100,1,0,-1,-1,1", {"6 fields", "expected 7 or 12"});
  bad_row("100,1,0,-1,-1,1,0.02,-1x,1,-1,1,3", {"train_recon", "'-1x'"});
  bad_row("100,1,0,-1,-1,1,0.02,-1,1,-1,1,-3", {"active_units", "'-3'"});
  bad_row("100,1,0,-1,-1,1,0.02,-1,1,-1,1", {"11 fields"});
}

TEST_CASE("curve.csv: the bound's terms and active units; empty is not available; older 7-column files read") {
  TempDir tmp;
  std::vector<CurvePoint> curve(2);
  curve[0] = row(100, 1, 0.5, -120.25, -121.5, 1, 0.02);  // no terms (e.g. MCEM's AIS curve)
  curve[1] = row(200, 1, 1.0, -110.5, -111.25, 0.5, 0.02);
  curve[1].train_recon = -90.5;
  curve[1].train_kl = 20.0;
  curve[1].test_recon = -91.0;
  curve[1].test_kl = -INFINITY;  // not finite: written readably
  curve[1].active_units = 7;
  write_curve(tmp / "curve.csv", curve);
  std::ifstream in(tmp / "curve.csv");
  std::string header, row1, row2;
  std::getline(in, header);
  std::getline(in, row1);
  std::getline(in, row2);
  CHECK(header ==
        "samples,epoch,seconds,train_elbo,test_elbo,beta,lr,train_recon,train_kl,test_recon,test_kl,active_units");
  CHECK(row1 == "100,1,0.500,-120.2500,-121.5000,1,0.02,,,,,");
  CHECK(row2 == "200,1,1.000,-110.5000,-111.2500,0.5,0.02,-90.5000,20.0000,-91.0000,-inf,7");
  const auto back = read_curve(tmp / "curve.csv");
  REQUIRE(back.size() == 2);
  CHECK_FALSE(back[0].train_recon);
  CHECK_FALSE(back[0].test_kl);
  CHECK_FALSE(back[0].active_units);
  CHECK(back[1].train_recon == -90.5);
  CHECK(back[1].train_kl == 20.0);
  CHECK(back[1].test_recon == -91.0);
  CHECK(back[1].test_kl == -INFINITY);
  CHECK(back[1].active_units == 7);
  // A file older tapir wrote: 7 columns, its rows read with the terms not available; and a 7-field row
  // appended to a new file (a hand edit) reads the same way.
  std::ofstream(tmp / "old.csv")
      << "samples,epoch,seconds,train_elbo,test_elbo,beta,lr\n100,1,0.500,-120.25,-121.5,1,0.02\n";
  const auto old = read_curve(tmp / "old.csv");
  REQUIRE(old.size() == 1);
  CHECK(old[0].test_elbo == -121.5);
  CHECK(old[0].lr == 0.02);
  CHECK_FALSE(old[0].test_recon);
  CHECK_FALSE(old[0].active_units);
  std::ofstream(tmp / "curve.csv", std::ios::app) << "300,2,1.5,-100,-101,1,0.02\n";
  const auto mixed = read_curve(tmp / "curve.csv");
  REQUIRE(mixed.size() == 3);
  CHECK_FALSE(mixed[2].test_kl);
}

namespace {
/// Parameters (W, b) of y = tanh(x W + b), trained on a fixed batch by `steps` Adagrad steps on either the
/// minibatch-summed or the minibatch-averaged loss Σ_rows ‖y − t‖² (times 1/M when averaged).
std::pair<Array<double>, Array<double>> adagrad_steps(const optim::AdagradOptions& o, bool summed, int steps) {
  Rng rng(3);
  const Array<double> x = normal<double>(rng, {8, 5}), target = normal<double>(rng, {8, 3}) * 0.5;
  Parameter<double> w(normal<double>(rng, {5, 3}) * 0.3), b(normal<double>(rng, {3}) * 0.3);
  optim::Adagrad<double> opt({&w, &b}, o);
  for (int i = 0; i < steps; ++i) {
    Tape<double> tape;
    w.zero_grad();
    b.zero_grad();
    const Var<double> y = tanh(linear(tape.constant(x), tape.param(w), tape.param(b)));
    const Var<double> per_row = sum(square(y - tape.constant(target)), 1);
    (summed ? sum(per_row) : mean(per_row)).backward();
    opt.step();
  }
  return {w.value(), b.value()};
}
}  // namespace

TEST_CASE("the paper's Adagrad: the authors' summed-minibatch update, step for step, on tapir's averaged loss") {
  // The authors: Adagrad(s₀ = 0.01, ε) on the bound summed over M = 8 rows, prior weight M/N on matrices.
  const std::size_t m = 8, n_train = 400;
  optim::AdagradOptions summed;
  summed.lr = 0.05;
  summed.initial_accumulator_value = 0.01;
  summed.weight_decay = double(m) / double(n_train);
  summed.decay_matrices_only = true;
  const optim::AdagradOptions averaged = aevb_adagrad_options(0.05, m, 1.0 / double(n_train));
  CHECK(averaged.initial_accumulator_value == doctest::Approx(0.01 / 64).epsilon(1e-15));
  CHECK(averaged.decay_matrices_only);
  const auto [w_sum, b_sum] = adagrad_steps(summed, true, 30);
  const auto [w_avg, b_avg] = adagrad_steps(averaged, false, 30);
  for (std::size_t i = 0; i < w_sum.size(); ++i)
    CHECK(w_avg.data()[i] == doctest::Approx(w_sum.data()[i]).epsilon(1e-12));
  for (std::size_t i = 0; i < b_sum.size(); ++i)
    CHECK(b_avg.data()[i] == doctest::Approx(b_sum.data()[i]).epsilon(1e-12));
  // The old start (0.01 on the averaged loss) takes other, smaller first steps: the check above can fail.
  const auto [w_old, b_old] = adagrad_steps(aevb_adagrad_options(0.05, m, 1.0 / double(n_train), 0.01), false, 30);
  double diff = 0;
  for (std::size_t i = 0; i < w_sum.size(); ++i) diff = std::max(diff, std::abs(w_old.data()[i] - w_sum.data()[i]));
  CHECK(diff > 1e-3);
  // Decay on the summed side without M/N (i.e. the averaged side's 1/N used on the sum) also breaks it.
  optim::AdagradOptions wrong_decay = summed;
  wrong_decay.weight_decay = 1.0 / double(n_train);
  const auto [w_wd, b_wd] = adagrad_steps(wrong_decay, true, 30);
  diff = 0;
  for (std::size_t i = 0; i < w_sum.size(); ++i) diff = std::max(diff, std::abs(w_wd.data()[i] - w_sum.data()[i]));
  CHECK(diff > 1e-6);
}

TEST_CASE("a run's optimizer: Adagrad from 0.01/M², prior 1/N on the weight matrices only, not on biases") {
  VaeRunConfig c = paper_vae_setup("mnist", 3);
  c.train.batch = 50;
  Parameter<float> w(xt::ones<float>({4, 3})), bias(xt::ones<float>({3}));
  const auto opt = make_optimizer(c.train, {&w, &bias}, 1000);
  const auto* adagrad = dynamic_cast<const optim::Adagrad<float>*>(opt.get());
  REQUIRE(adagrad != nullptr);
  CHECK(adagrad->options().initial_accumulator_value == doctest::Approx(0.01 / 2500).epsilon(1e-12));
  CHECK(adagrad->options().weight_decay == doctest::Approx(1e-3).epsilon(1e-12));
  CHECK(adagrad->options().lr == doctest::Approx(0.02));
  // With a zero loss gradient only the prior acts: g = θ/N on W, nothing on the bias.
  w.zero_grad();
  bias.zero_grad();
  opt->step();
  const double g = 1e-3, s0 = 0.01 / 2500;
  const double expected = 1.0 - 0.02 * g / (std::sqrt(s0 + g * g) + 1e-10 / 50);
  CHECK(double(w.value()(0, 0)) == doctest::Approx(expected).epsilon(1e-6));
  CHECK(bias.value()(0) == 1.0f);
  c.train.adagrad_accumulator = 0.01;
  const auto old = make_optimizer(c.train, {&w, &bias}, 1000);
  CHECK(dynamic_cast<const optim::Adagrad<float>*>(old.get())->options().initial_accumulator_value == 0.01);
}

TEST_CASE("train_vae writes config, curve and checkpoints; the bound improves") {
  TempDir tmp;
  REQUIRE(test::write_synthetic_data(tmp / "data"));
  const auto c = small_run(tmp / "data");
  CHECK(train_vae(c, tmp / "run"));
  const auto curve = read_curve(tmp / "run/curve.csv");
  REQUIRE(curve.size() == 3);
  CHECK(curve[0].samples == 500);
  CHECK(curve[2].samples == 1500);
  CHECK(curve[2].epoch == 3);  // 600 training images: 1500 samples end in the third epoch
  CHECK(curve[2].test_elbo > curve[0].test_elbo);
  for (const auto& p : curve) {  // the bounds' terms (written with 4 decimals) and the active units
    REQUIRE(p.train_recon);
    REQUIRE(p.train_kl);
    REQUIRE(p.test_recon);
    REQUIRE(p.test_kl);
    REQUIRE(p.active_units);
    CHECK(*p.train_recon - *p.train_kl == doctest::Approx(p.train_elbo).epsilon(1e-5).scale(1));
    CHECK(*p.test_recon - *p.test_kl == doctest::Approx(p.test_elbo).epsilon(1e-5).scale(1));
    CHECK(*p.test_kl >= 0);
    CHECK(*p.active_units <= 3);
  }
  CHECK(fs::exists(tmp / "run/checkpoint_last.safetensors"));
  CHECK(fs::exists(tmp / "run/checkpoint_best.safetensors"));
  const auto back = load_vae_run_config(tmp / "run");
  CHECK(VaeRunConfig::from_json(back.to_json()).to_json() == back.to_json());
  CHECK(back.model.z_dim == 3);
  CHECK(fs::path(back.train.data_dir).is_absolute());

  // The best checkpoint's model scores the test bound the curve recorded for it.
  const auto vae = load_vae_run_model(tmp / "run", "best");
  const auto test_split = load_vae_split(back.train, data::Split::test);
  Rng rng(1);
  const auto e = evaluate_vae(*vae, test_split.x(), 0, rng);
  CHECK(e.n == 200);
  REQUIRE(e.reconstruction);
  REQUIRE(e.kl);
  CHECK(*e.reconstruction - *e.kl == doctest::Approx(e.elbo).epsilon(1e-5));
  REQUIRE(e.active_units);
  CHECK(*e.active_units <= 3);
  double best = -1e300;
  for (const auto& p : curve) best = std::max(best, p.test_elbo);
  CHECK(e.elbo == doctest::Approx(best).epsilon(0.02));  // other ε draws: close, not equal

  check_throws_with([&] { train_vae(c, tmp / "run"); }, {"already holds a run"});
}

TEST_CASE("progress: every call says how many evaluations are still to come (for the ETA)") {
  TempDir tmp;
  REQUIRE(test::write_synthetic_data(tmp / "data"));
  const auto c = small_run(tmp / "data");
  const auto schedule = eval_schedule(c.train.samples, c.train.eval_every, c.train.batch);
  REQUIRE(schedule.size() >= 2);
  long long calls = 0, points = 0, last_left = -1;
  const ProgressFn watch = [&](const TrainProgress& p) {
    ++calls;
    if (p.point) ++points;
    const long long want = schedule.end() - std::upper_bound(schedule.begin(), schedule.end(), p.samples);
    CHECK(p.evaluations_left == want);
    last_left = p.evaluations_left;
  };
  REQUIRE(train_vae(c, tmp / "run", watch));
  CHECK(calls > points);
  CHECK(points == static_cast<long long>(schedule.size()));
  CHECK(last_left == 0);
}

TEST_CASE("an interrupted run resumes to exactly the numbers of an uninterrupted one") {
  TempDir tmp;
  REQUIRE(test::write_synthetic_data(tmp / "data"));
  const auto c = small_run(tmp / "data");
  REQUIRE(train_vae(c, tmp / "straight"));

  std::atomic<bool> stop{false};
  const ProgressFn stop_at_700 = [&](const TrainProgress& p) {
    if (p.samples >= 700) stop = true;  // between two evaluations, mid-epoch
  };
  CHECK_FALSE(train_vae(c, tmp / "interrupted", stop_at_700, &stop));
  CHECK(read_curve(tmp / "interrupted/curve.csv").size() == 1);
  CHECK(resume_vae(tmp / "interrupted"));
  check_same_curve(read_curve(tmp / "straight/curve.csv"), read_curve(tmp / "interrupted/curve.csv"));
  check_same_parameters(tmp / "straight/checkpoint_last.safetensors", tmp / "interrupted/checkpoint_last.safetensors");

  SUBCASE(
      "raising the budget of a finished run continues it, and an older run's 7-column curve.csv gains the columns") {
    auto shorter = c;
    shorter.train.samples = 1000;
    REQUIRE(train_vae(shorter, tmp / "extended"));
    {  // as tapir wrote it before the bound's terms: samples,epoch,seconds,train_elbo,test_elbo,beta,lr
      std::ifstream in(tmp / "extended/curve.csv");
      std::string text, line;
      while (std::getline(in, line)) text += first_fields(line, 7) + "\n";
      in.close();
      std::ofstream(tmp / "extended/curve.csv") << text;
      REQUIRE(read_curve(tmp / "extended/curve.csv").size() == 2);
      REQUIRE_FALSE(read_curve(tmp / "extended/curve.csv")[0].test_kl);
    }
    CHECK(resume_vae(tmp / "extended", 1500));
    const auto straight = read_curve(tmp / "straight/curve.csv"), extended = read_curve(tmp / "extended/curve.csv");
    check_same_curve(straight, extended);
    std::ifstream in(tmp / "extended/curve.csv");
    std::string header;
    std::getline(in, header);
    CHECK(header.find(",test_kl,active_units") != std::string::npos);  // rewritten with the new columns
    CHECK_FALSE(extended[0].test_kl);                                  // the old rows' new fields are empty
    CHECK_FALSE(extended[1].active_units);
    CHECK(extended[2].test_kl == straight[2].test_kl);  // the new row has them
    CHECK(extended[2].active_units == straight[2].active_units);
    check_same_parameters(tmp / "straight/checkpoint_last.safetensors", tmp / "extended/checkpoint_last.safetensors");
    CHECK(load_vae_run_config(tmp / "extended").train.samples == 1500);
  }
}

TEST_CASE("Frey-shaped data, a Gaussian decoder, Adam, IWAE objective, wake-sleep, MCEM and KL warm-up all train") {
  TempDir tmp;
  REQUIRE(test::write_synthetic_data(tmp / "data"));
  auto c = small_run(tmp / "data", "frey");
  c.train.samples = 2000;
  c.train.eval_every = 1000;
  CHECK(c.model.likelihood == Likelihood::gaussian);
  CHECK(train_vae(c, tmp / "frey"));
  CHECK(std::isfinite(read_curve(tmp / "frey/curve.csv").back().test_elbo));

  auto m = small_run(tmp / "data");
  m.train.optimizer = "adam";
  m.train.lr = 1e-3;
  m.train.objective = "iwae";
  m.train.iwae_k = 3;
  CHECK(train_vae(m, tmp / "iwae"));

  auto ws = small_run(tmp / "data");
  ws.train.method = "wake-sleep";
  CHECK(train_vae(ws, tmp / "wake-sleep"));
  const auto ws_curve = read_curve(tmp / "wake-sleep/curve.csv");
  CHECK(ws_curve.back().test_elbo > ws_curve.front().test_elbo);  // the recognition model's bound improves
  CHECK(ws_curve.back().test_kl);                                 // the VAE's bound, split
  CHECK(ws_curve.back().active_units);
  ws.train.beta = 0.5;
  check_throws_with([&] { train_vae(ws, tmp / "ws2"); }, {"wake-sleep has no"});

  auto mc = small_run(tmp / "data");  // MCEM: an interrupted run resumes exactly, chains included
  mc.train.method = "mcem";
  mc.train.samples = 900;
  mc.train.eval_every = 300;
  mc.train.ais_eval_size = 20;
  mc.train.ais_steps = 20;
  REQUIRE(train_vae(mc, tmp / "mcem"));
  std::atomic<bool> stop{false};
  CHECK_FALSE(train_vae(
      mc, tmp / "mcem-cut", [&](const TrainProgress& p) { stop = p.samples >= 400; }, &stop));
  CHECK(resume_vae(tmp / "mcem-cut"));
  check_same_curve(read_curve(tmp / "mcem/curve.csv"), read_curve(tmp / "mcem-cut/curve.csv"));
  check_same_parameters(tmp / "mcem/checkpoint_last.safetensors", tmp / "mcem-cut/checkpoint_last.safetensors");
  const auto mc_curve = read_curve(tmp / "mcem/curve.csv");
  CHECK(mc_curve.back().train_elbo > mc_curve.front().train_elbo);  // AIS log p(x) rises
  CHECK_FALSE(mc_curve.back().train_recon);  // log p(x), not a bound: no terms; its q is untrained: no units
  CHECK_FALSE(mc_curve.back().test_kl);
  CHECK_FALSE(mc_curve.back().active_units);

  auto w = small_run(tmp / "data");
  w.train.warmup = 1000;
  CHECK(train_vae(w, tmp / "warmup"));
  const auto curve = read_curve(tmp / "warmup/curve.csv");
  CHECK(curve[0].beta == doctest::Approx(0.4).epsilon(0.01));  // β at the evaluation's last step: 400/1000
  CHECK(curve[2].beta == 1.0);
}

TEST_CASE("evaluate_vae: chunked importance sampling equals one pass; log p(x) estimate ≥ the bound") {
  Rng init(3);
  VaeConfig cfg;
  cfg.x_dim = 6;
  cfg.z_dim = 2;
  cfg.hidden = {5};
  cfg.init_std = 0.5;
  Vae<float> vae(cfg, init);
  const Array<float> x = bernoulli<float>(init, {7, 6}, 0.5);
  Rng a(11), b(11);
  const auto e = evaluate_model(vae, x, 1500, a, 1000, nullptr, 1000);  // two chunks of K: 1000 and 500
  const auto one = evaluate_model(vae, x, 1500, b, 1000, nullptr, 1500);
  CHECK(e.elbo == one.elbo);
  CHECK(e.log_likelihood == doctest::Approx(one.log_likelihood).epsilon(1e-6));
  CHECK(e.log_likelihood > e.elbo);
  CHECK(e.n == 7);

  // On-the-fly binarisation scores the same draws as a binarised copy, for the bound and for log p(x).
  const Array<float> grey = uniform<float>(init, {7, 6});
  Array<float> drawn;
  Rng pixels_a(5), pixels_b(5), pixels_c(5), c(12), d(12), f(12);
  data::binarize_dynamic(grey, pixels_a, drawn);
  const auto copy = evaluate_vae(vae, drawn, 1500, c);
  const auto fly = evaluate_vae(vae, grey, 1500, d, 1000, &pixels_b);
  CHECK(fly.elbo == doctest::Approx(copy.elbo).epsilon(1e-6));
  CHECK(fly.log_likelihood == doctest::Approx(copy.log_likelihood).epsilon(1e-6));
  // Batches of 3 for the bound: other partitions of the pixel draws (and other streams for the bound's
  // draws); log p(x)'s groups do not depend on the batch.
  const auto batches = evaluate_vae(vae, grey, 1500, f, 3, &pixels_c);
  CHECK(batches.log_likelihood == doctest::Approx(copy.log_likelihood).epsilon(1e-6));
}

TEST_CASE("run errors name what is wrong") {
  TempDir tmp;
  REQUIRE(test::write_synthetic_data(tmp / "data"));
  auto c = small_run(tmp / "data");
  c.train.optimizer = "sgd";
  check_throws_with([&] { train_vae(c, tmp / "r"); }, {"--optimizer 'sgd'"});
  c = small_run(tmp / "missing");
  check_throws_with([&] { train_vae(c, tmp / "r"); }, {"not found"});
  CHECK_FALSE(fs::exists(tmp / "r/config.json"));  // nothing written before the data loads
  check_throws_with([&] { resume_vae(tmp / "nowhere"); }, {"not a run directory"});
  c = small_run(tmp / "data");
  c.model.x_dim = 100;
  check_throws_with([&] { train_vae(c, tmp / "r"); }, {"x_dim is 100"});
  c = small_run(tmp / "data");
  REQUIRE(train_vae(c, tmp / "ok"));
  {  // a truncated checkpoint is refused with its path, not read
    const auto p = tmp / "ok/checkpoint_last.safetensors";
    fs::resize_file(p, fs::file_size(p) / 2);
  }
  check_throws_with([&] { resume_vae(tmp / "ok"); }, {"checkpoint_last.safetensors"});
}

namespace {
/// AEVB whose evaluation returns -inf on its `at`-th call (two calls per evaluation: train, then test).
class DivergingEvaluation : public Method {
 public:
  DivergingEvaluation(LatentVariableModel<float>& m, std::unique_ptr<Method> inner, int at)
      : Method(m), inner_(std::move(inner)), at_(at) {}
  std::string name() const override { return inner_->name(); }
  double step(const Array<float>& x, const std::vector<std::size_t>& idx, double beta, Rng& rng,
              Tape<float>& tape) override {
    return inner_->step(x, idx, beta, rng, tape);
  }
  BoundEvaluation evaluate(const Array<float>& x, Rng& rng, Rng* binarize) override {
    BoundEvaluation v = inner_->evaluate(x, rng, binarize);
    if (++calls_ == at_) v.elbo = -INFINITY;
    return v;
  }
  optim::Optimizer<float>& optimizer() override { return inner_->optimizer(); }

 private:
  std::unique_ptr<Method> inner_;
  int at_, calls_ = 0;
};

std::string metadata_of(const std::string& path, const std::string& key) {
  return nn::read_safetensors(path).metadata.at(key);
}
}  // namespace

TEST_CASE("a bound that is not finite stops the run, is recorded, and leaves the last good checkpoints") {
  TempDir tmp;
  REQUIRE(test::write_synthetic_data(tmp / "data"));
  const auto c = small_run(tmp / "data");
  REQUIRE(train_vae(c, tmp / "straight"));

  // The test bound of the second evaluation (1000 samples) is -inf.
  {
    Rng init_rng(c.train.seed);
    const auto model = make_model(c.model, init_rng);
    Trainer trainer(c.train, *model, tmp / "diverged", c.to_json(), [&](std::size_t n, Rng& rng) {
      return std::make_unique<DivergingEvaluation>(*model, make_method(*model, c.train, n, init_rng, rng), 4);
    });
    check_throws_with([&] { trainer.train(); },
                      {"test bound became -inf", "1000 samples", "lower --lr (now 0.02)", "from 500 samples"});
  }
  const auto curve = read_curve(tmp / "diverged/curve.csv");  // the reader accepts what the writer wrote
  REQUIRE(curve.size() == 2);
  CHECK(curve[1].test_elbo == -INFINITY);
  CHECK(std::isfinite(curve[1].train_elbo));
  // Neither checkpoint took the diverged model: both are the 500-sample one.
  CHECK(metadata_of(tmp / "diverged/checkpoint_last.safetensors", "step") == "500");
  CHECK(metadata_of(tmp / "diverged/checkpoint_best.safetensors", "step") == "500");
  // It evaluates, and resumes from there (here without the fault: to the uninterrupted numbers).
  const auto vae = load_vae_run_model(tmp / "diverged", "last");
  Rng rng(1);
  CHECK(std::isfinite(evaluate_vae(*vae, load_vae_split(c.train, data::Split::test).x(), 0, rng).elbo));
  CHECK(resume_vae(tmp / "diverged"));
  check_same_curve(read_curve(tmp / "straight/curve.csv"), read_curve(tmp / "diverged/curve.csv"));
  check_same_parameters(tmp / "straight/checkpoint_last.safetensors", tmp / "diverged/checkpoint_last.safetensors");
}

TEST_CASE("divergence names the likely cause from the configuration; a run without a checkpoint leaves nothing") {
  TempDir tmp;
  REQUIRE(test::write_synthetic_data(tmp / "data"));
  auto c = small_run(tmp / "data");
  c.model.init_std = 10;  // the largest allowed (docs/reliability.md): every tanh saturates, log p(x|z) = −∞
  check_throws_with([&] { train_vae(c, tmp / "init"); },
                    {"training bound became", "on the minibatch at", "--init-std (now 10;", "nothing was saved"});
  CHECK_FALSE(fs::exists(tmp / "init"));  // created complete or not at all
  // Beyond the limits, refused before anything is created.
  c.model.init_std = 1e30;
  check_throws_with([&] { train_vae(c, tmp / "init"); },
                    {"--init-std (init_std) = 1e+30: expected a number in [0, 10]"});
  c = small_run(tmp / "data");
  c.train.weight_decay = 1e300;
  check_throws_with([&] { train_vae(c, tmp / "wd"); }, {"--weight-decay (weight_decay) = 1e+300"});
  CHECK_FALSE(fs::exists(tmp / "wd"));

  // A Gaussian decoder with Adam at lr 3 overflows Adam's second moment in float (to +inf) before its
  // bound does: the run stops later, and its last checkpoint (holding that state) still loads, resumes
  // (to the same divergence) and evaluates.
  c = small_run(tmp / "data", "frey");
  c.model.z_dim = 2;
  c.train.seed = 1;
  c.train.optimizer = "adam";
  c.train.lr = 3;
  c.train.samples = 20000;
  c.train.eval_every = 500;  // checkpoints before it diverges (at 1500–3000 samples, by BLAS thread count)
  check_throws_with([&] { train_vae(c, tmp / "adam"); }, {"training bound became", "lower --lr (now 3)"});
  REQUIRE(holds_run(tmp / "adam"));
  check_throws_with([&] { resume_vae(tmp / "adam"); }, {"training bound became", "lower --lr (now 3)"});
  CHECK(load_run_model(tmp / "adam", "last"));
}

TEST_CASE("a run directory with a config.json but no checkpoint resumes (or restarts) from scratch") {
  TempDir tmp;
  REQUIRE(test::write_synthetic_data(tmp / "data"));
  const auto c = small_run(tmp / "data");
  REQUIRE(train_vae(c, tmp / "straight"));
  for (const std::string dir : {"config-only", "config-only-2"}) {
    fs::create_directories(tmp / dir);
    fs::copy_file(tmp / "straight/config.json", tmp / (dir + "/config.json"));
  }
  CHECK(resume_vae(tmp / "config-only"));
  check_same_curve(read_curve(tmp / "straight/curve.csv"), read_curve(tmp / "config-only/curve.csv"));
  check_same_parameters(tmp / "straight/checkpoint_last.safetensors", tmp / "config-only/checkpoint_last.safetensors");
  CHECK(train_vae(c, tmp / "config-only-2"));
  check_same_curve(read_curve(tmp / "straight/curve.csv"), read_curve(tmp / "config-only-2/curve.csv"));

  // config.json comes with the first checkpoint: a run stopped before it holds none of the two...
  std::atomic<bool> stop{true};
  CHECK_FALSE(train_vae(c, tmp / "stopped", {}, &stop));  // stopped at once: a checkpoint at 0 samples
  CHECK(fs::exists(tmp / "stopped/config.json"));
  CHECK(fs::exists(tmp / "stopped/checkpoint_last.safetensors"));
  CHECK(resume_vae(tmp / "stopped"));
  check_same_curve(read_curve(tmp / "straight/curve.csv"), read_curve(tmp / "stopped/curve.csv"));
}

TEST_CASE("one writer per run: a second one is refused naming the holder; stale temporaries are removed") {
  TempDir tmp;
  REQUIRE(test::write_synthetic_data(tmp / "data"));
  auto c = small_run(tmp / "data");
  c.train.samples = 1000;
  REQUIRE(train_vae(c, tmp / "run"));
  {
    RunLock held(tmp / "run");
    const std::string who = fmt::format("is in use by process {}", ::getpid());
    check_throws_with([&] { resume_vae(tmp / "run", 1500); }, {"run'", who});
    fs::create_directories(tmp / "fresh");
    RunLock fresh(tmp / "fresh");
    check_throws_with([&] { train_vae(c, tmp / "fresh"); }, {"fresh'", who});
  }
  CHECK(load_vae_run_config(tmp / "run").train.samples == 1000);  // the refused resume wrote nothing

  // What killed writers leave: removed by the next writer, under the lock. Other files stay.
  for (const char* name : {"checkpoint_last.safetensors.tmp.4242.0", "config.json.tmp", "curve.csv.tmp-a1B2c3",
                           "checkpoint_best.safetensors.tmp-XyZ789", "notes.tmp.txt"})
    std::ofstream(tmp / (std::string("run/") + name)) << "x";
  CHECK(resume_vae(tmp / "run", 1500));
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(tmp.path / "run")) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  INFO(fmt::format("{}", fmt::join(names, " ")));
  CHECK(names == std::vector<std::string>{".lock", "checkpoint_best.safetensors", "checkpoint_last.safetensors",
                                          "config.json", "curve.csv", "notes.tmp.txt"});
}

TEST_CASE("a checkpoint's training position is validated against its step, its data and the curve") {
  TempDir tmp;
  REQUIRE(test::write_synthetic_data(tmp / "data"));
  auto c = small_run(tmp / "data");
  c.train.samples = 1000;
  REQUIRE(train_vae(c, tmp / "run"));
  const std::string last = tmp / "run/checkpoint_last.safetensors";
  const auto good = nn::read_safetensors(last);
  // Edited as a legacy (format /1) file, which has no metadata CRC to catch the edit first.
  const auto edited = [&](const char* key, const char* value) {
    auto t = good;
    t.metadata["format"] = "tapir-checkpoint/1";
    t.metadata.erase("metadata_crc32");
    t.metadata[key] = value;
    nn::write_safetensors(last, t);
  };
  edited("extra.seconds", "nan");
  check_throws_with([&] { resume_vae(tmp / "run", 1500); }, {"checkpoint_last.safetensors", "'extra.seconds'", "nan"});
  edited("extra.seconds", "-3");
  check_throws_with([&] { resume_vae(tmp / "run", 1500); }, {"'extra.seconds'", "'-3'"});
  edited("extra.epoch", "0x1");
  check_throws_with([&] { resume_vae(tmp / "run", 1500); }, {"'extra.epoch'", "'0x1'"});
  edited("step", "900");
  check_throws_with([&] { resume_vae(tmp / "run", 1500); }, {"step 900 disagrees with epoch", "600 training points"});
  edited("format", "tapir-checkpoint/1");  // a legacy file that is whole resumes
  CHECK(resume_vae(tmp / "run", 1500));
}

TEST_CASE("a run names its code: config.json the tapir that started it, each checkpoint the one that wrote it") {
  TempDir tmp;
  REQUIRE(test::write_synthetic_data(tmp / "data"));
  const auto c = small_run(tmp / "data");
  REQUIRE(train_vae(c, tmp / "run"));
  const auto read_json = [](const fs::path& p) { return nlohmann::json::parse(std::ifstream(p)); };
  const auto checkpoint_config = [&] {
    const auto meta = nn::read_safetensors(tmp / "run/checkpoint_last.safetensors").metadata;
    return nlohmann::json::parse(meta.at("config"));
  };
  const std::string now = version_string();
  CHECK(now == fmt::format("tapir {} ({})", version(), build_commit()));
  CHECK(std::string(version()) == "0.1.0");  // CMakeLists.txt's project(VERSION), as the README shows it
  // "unknown", or 12 hexadecimal digits with an optional "-dirty" / "-dirty?"
  const std::string commit = build_commit();
  const std::string hex = commit.substr(0, 12);
  const std::string rest = commit.size() > 12 ? commit.substr(12) : "";
  CHECK((commit == "unknown" || (hex.size() == 12 && hex.find_first_not_of("0123456789abcdef") == std::string::npos &&
                                 (rest.empty() || rest == "-dirty" || rest == "-dirty?"))));
  CHECK(read_json(tmp / "run/config.json").at("tapir") == now);
  CHECK(checkpoint_config().at("tapir") == now);

  // A run started by other code (here: config.json says so) and resumed by this one keeps its origin in
  // config.json; the new checkpoint names the code that wrote it. The stamp is not part of what must match.
  auto j = read_json(tmp / "run/config.json");
  j["tapir"] = "tapir 0.0.1 (0123456789ab)";
  std::ofstream(tmp / "run/config.json") << j.dump(2) << "\n";
  REQUIRE(resume_vae(tmp / "run", 2 * c.train.samples));
  CHECK(read_json(tmp / "run/config.json").at("tapir") == "tapir 0.0.1 (0123456789ab)");
  CHECK(checkpoint_config().at("tapir") == now);
  // ...and a run of older tapir, without the key, resumes as before.
  j.erase("tapir");
  std::ofstream(tmp / "run/config.json") << j.dump(2) << "\n";
  CHECK(resume_vae(tmp / "run", 3 * c.train.samples));
  CHECK_FALSE(read_json(tmp / "run/config.json").contains("tapir"));
}
