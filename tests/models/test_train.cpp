// VAE runs on synthetic data: the run directory, exact resume (after an interruption mid-interval and
// after raising the budget), evaluation (chunked importance sampling equals one pass), schedules, errors.
#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "autodiff/check.hpp"
#include "cli/synthetic_data.hpp"
#include "models/methods/methods.hpp"
#include "models/train/run.hpp"
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
  const auto e = evaluate_vae(*vae, test_split.x, 0, rng);
  CHECK(e.n == 200);
  double best = -1e300;
  for (const auto& p : curve) best = std::max(best, p.test_elbo);
  CHECK(e.elbo == doctest::Approx(best).epsilon(0.02));  // other ε draws: close, not equal

  check_throws_with([&] { train_vae(c, tmp / "run"); }, {"already holds a run"});
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

  SUBCASE("raising the budget of a finished run continues it") {
    auto shorter = c;
    shorter.train.samples = 1000;
    REQUIRE(train_vae(shorter, tmp / "extended"));
    CHECK(resume_vae(tmp / "extended", 1500));
    check_same_curve(read_curve(tmp / "straight/curve.csv"), read_curve(tmp / "extended/curve.csv"));
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
  Rng a(11);
  const auto e = evaluate_vae(vae, x, 1500, a);  // two chunks of K: 1000 and 500
  Rng b(11);
  Tape<float> tape;
  const double elbo = xt::mean(vae.elbo(tape.constant(x), b).value())();
  const double ll = xt::mean(vae.iwae(tape.constant(x), b, 1500).value())();
  CHECK(e.elbo == doctest::Approx(elbo).epsilon(1e-5));
  CHECK(e.log_likelihood == doctest::Approx(ll).epsilon(1e-4));
  CHECK(e.log_likelihood > e.elbo);
  CHECK(e.n == 7);

  // On-the-fly binarisation scores the same draws as a binarised copy, for the bound and for log p(x).
  const Array<float> grey = uniform<float>(init, {7, 6});
  Array<float> drawn;
  Rng pixels_a(5), pixels_b(5), c(12), d(12);
  data::binarize_dynamic(grey, pixels_a, drawn);
  const auto copy = evaluate_vae(vae, drawn, 1500, c);
  const auto fly = evaluate_vae(vae, grey, 1500, d, 3, &pixels_b);  // batches of 3: other partitions
  CHECK(fly.elbo == doctest::Approx(copy.elbo).epsilon(1e-6));
  CHECK(fly.log_likelihood == doctest::Approx(copy.log_likelihood).epsilon(1e-6));
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
