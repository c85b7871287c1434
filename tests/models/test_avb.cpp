// Adversarial Variational Bayes: the adaptive-contrast algebra, the discriminator's density ratio, the
// four-point toy problem, and AVB runs (exact resume, evaluation) on synthetic data.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <xtensor/xview.hpp>

#include "autodiff/check.hpp"
#include "cli/synthetic_data.hpp"
#include "models/avb/avb.hpp"
#include "models/data/dataset.hpp"
#include "models/run/evaluate.hpp"
#include "models/train/run.hpp"
#include "nn/checkpoint.hpp"
#include "nn/optim/adam.hpp"
#include "temp_dir.hpp"

using namespace tapir;
using namespace tapir::models;
using test::check_throws_with;
using test::TempDir;

namespace {
VaeConfig tiny_model(std::size_t x_dim, std::size_t z_dim) {
  VaeConfig m;
  m.x_dim = x_dim;
  m.z_dim = z_dim;
  m.hidden = {16};
  m.init_std = 0;
  return m;
}
}  // namespace

TEST_CASE("adaptive contrast: ẑ is standardised by the K samples' mean and std, log r = log N(z; μ, σ²)") {
  Rng rng(3);
  AvbOptions o;
  o.adaptive_contrast = true;
  o.contrast_samples = 400;
  o.noise_dim = 4;
  const Avb<double> avb(tiny_model(3, 2), o, rng);
  Tape<double> tape;
  const Array<double> x = normal<double>(rng, {2, 3});
  const auto s = avb.sample(tape.constant(x), rng);
  REQUIRE(s.z.shape() == Shape{2, 2});
  // ẑ of the first sample, against μ and σ re-estimated from fresh draws of the same encoder
  Array<double> draws = Array<double>::from_shape({4000, 2, 2});
  for (std::size_t k = 0; k < 4000; ++k) {
    const Array<double> z = avb.encode(tape.constant(x), rng).value();
    xt::view(draws, k) = z;
  }
  const Array<double> mu = xt::mean(draws, {0}), sd = xt::sqrt(xt::variance(draws, {0}) + 1e-4);
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 2; ++j) {
      const double expected = (s.z.value()(i, j) - mu(i, j)) / sd(i, j);
      CHECK(s.z_hat.value()(i, j) == doctest::Approx(expected).epsilon(0.1).scale(1));
    }
  // log r = −½ Σ ẑ² − log 2π − Σ log σ (d = 2), from the sample's own μ, σ: check the identity itself
  for (std::size_t i = 0; i < 2; ++i) {
    const double zh0 = s.z_hat.value()(i, 0), zh1 = s.z_hat.value()(i, 1);
    const double log_r = s.log_r.value()(i);
    // log r + ½ Σ ẑ² + log 2π = −Σ log σ must equal −Σ log of the empirical std within sampling error
    CHECK(log_r + 0.5 * (zh0 * zh0 + zh1 * zh1) + std::log(2 * M_PI) ==
          doctest::Approx(-std::log(sd(i, 0)) - std::log(sd(i, 1))).epsilon(0.1).scale(1));
  }
  check_throws_with(
      [&] {
        AvbOptions bad = o;
        bad.contrast_samples = 1;
        Avb<double> a(tiny_model(3, 2), bad, rng);
      },
      {"--contrast-samples"});
}

TEST_CASE("the adaptive-contrast bound is −T(x, ẑ) − log r_α(z|x) + log p(z) + log p(x|z), recomputed by hand") {
  // AVB §3.3: log p − log q = (log p − log r_α) + (log r_α − log q), and T estimates log q̂(ẑ) − log r₀(ẑ)
  // = log q − log r_α. Every sign of the bound is checked against this independent computation.
  Rng init(5);
  AvbOptions o;
  o.adaptive_contrast = true;
  o.contrast_samples = 6;
  o.noise_dim = 3;
  const VaeConfig mc = tiny_model(4, 2);
  const Avb<double> avb(mc, o, init);
  Vae<double> vae(mc, init);
  Rng data_rng(8);
  const Array<double> x = xt::cast<double>(uniform<double>(data_rng, {3, 4}) > 0.5);
  Rng rng(21), replay(21);
  Tape<double> tape;
  const Array<double> bound = avb.elbo(vae, tape.constant(x), rng).value();
  // Replay the same draws: K encodings of every row (rows k·B + i are point i), z the first of them.
  const std::size_t b = 3, k = 6, d = 2;
  Array<double> tiled = Array<double>::from_shape({k * b, 4});
  for (std::size_t r = 0; r < k * b; ++r) xt::view(tiled, r) = xt::view(x, r % b);
  const Array<double> z_all = avb.encode(tape.constant(tiled), replay).value();
  for (std::size_t i = 0; i < b; ++i) {
    double log_r = 0, log_pz = 0;
    Array<double> z = Array<double>::from_shape({1, d}), z_hat = Array<double>::from_shape({1, d});
    for (std::size_t j = 0; j < d; ++j) {
      double mu = 0, var = 0;
      for (std::size_t s = 0; s < k; ++s) mu += z_all(s * b + i, j) / double(k);
      for (std::size_t s = 0; s < k; ++s) var += std::pow(z_all(s * b + i, j) - mu, 2) / double(k - 1);
      const double sd = std::sqrt(var + o.contrast_eps);
      z(0, j) = z_all(i, j);
      z_hat(0, j) = (z(0, j) - mu) / sd;
      log_r += -0.5 * z_hat(0, j) * z_hat(0, j) - 0.5 * std::log(2 * M_PI) - std::log(sd);  // log N(z; μ, σ²)
      log_pz += -0.5 * z(0, j) * z(0, j) - 0.5 * std::log(2 * M_PI);                        // log N(z; 0, I)
    }
    const Array<double> xi = xt::view(x, xt::range(i, i + 1), xt::all());
    const double t = avb.discriminator(tape.constant(xi), tape.constant(z_hat)).value()(0);
    const double log_px_z = vae.decode(tape.constant(z)).log_prob(tape.constant(xi)).value()(0);
    INFO("row " << i << ": T " << t << ", log r " << log_r << ", log p(z) " << log_pz << ", log p(x|z) " << log_px_z);
    CHECK(bound(i) == doctest::Approx(-t - log_r + log_pz + log_px_z).epsilon(1e-10));
  }
}

TEST_CASE("the trained discriminator approximates log q(z|x) − log p(z): E_q[T] ≈ KL(q‖p), E_p[e^T] ≈ 1") {
  // With the encoder held fixed, logistic regression's optimum is T* = log q − log p, so E_q[T*] is
  // KL(q‖p) and E_{z~p}[e^T*] = ∫ q = 1. (E_q[e^−T*] = 1 too, but q's tails dominate that average.)
  Rng rng(5);
  AvbOptions o;
  o.noise_dim = 2;
  o.disc_hidden = {32, 32};
  auto m = tiny_model(1, 1);
  Avb<double> avb(m, o, rng);
  // Make q narrow and shifted: z = 0.3 ε₀ + 1 (the encoder's last layer set by hand, x = 1).
  auto& enc = avb.parameter("encoder.1.weight");
  auto& bias = avb.parameter("encoder.1.bias");
  enc.value().fill(0);
  bias.value().fill(1);
  avb.parameter("encoder.0.weight").value().fill(0);
  avb.parameter("encoder.0.weight").value()(1, 0) = 0.3;  // ε₀ → hidden unit 0
  avb.parameter("encoder.0.bias").value().fill(0);
  enc.value()(0, 0) = 1.0;  // hidden unit 0 → z (tanh(0.3 ε) ≈ 0.3 ε)
  optim::AdamOptions ao;
  ao.lr = 3e-3;
  optim::Adam<double> adam(avb.discriminator_parameters(), ao);
  Tape<double> tape;
  const Array<double> x = xt::ones<double>({256, 1});
  for (int step = 0; step < 1500; ++step) {
    adam.zero_grad();
    avb.discriminator_loss(tape.constant(x), rng).backward();
    adam.step();
    tape.clear();
  }
  NoGradGuard<double> no_grad(tape);
  const Array<double> xs = xt::ones<double>({20000, 1});
  const Array<double> tq = avb.discriminator(tape.constant(xs), avb.encode(tape.constant(xs), rng)).value();
  const Array<double> tp = avb.discriminator(tape.constant(xs), tape.constant(normal<double>(rng, {20000, 1}))).value();
  const double kl = xt::mean(tq)(), e_p = xt::mean(xt::exp(tp))();
  INFO("E_q[T] " << kl << ", E_p[e^T] " << e_p);
  // KL(N(1, 0.3²) ‖ N(0, 1)) = −log 0.3 + (0.09 + 1)/2 − ½ = 1.249; tanh(0.3 ε) has std 0.29: 1.28
  CHECK(kl == doctest::Approx(1.28).epsilon(0.08));
  CHECK(e_p == doctest::Approx(1.0).epsilon(0.08));
}

TEST_CASE("the four-point toy: AVB learns the data and its bound estimate sits near log p(x); the VAE trains too") {
  AvbToyConfig c;
  c.steps = 1500;
  c.hidden = {32, 32};
  c.draws = 200;
  c.importance_samples = 20000;
  c.avb.disc_steps = 2;
  const AvbToyResult avb = avb_toy(c);
  INFO("AVB: ELBO " << avb.elbo << ", log p(x) " << avb.log_likelihood);
  CHECK(avb.log_likelihood > -1.6);     // log ¼ = −1.386 is the best possible
  CHECK(avb.log_likelihood < -1.3862);  // and no model beats it
  CHECK(std::abs(avb.elbo - avb.log_likelihood) < 0.3);
  REQUIRE(avb.z.shape() == Shape{4, 200, 2});
  // the four posteriors sit in different places
  const Array<double> centre = xt::mean(xt::cast<double>(avb.z), {1});
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = i + 1; j < 4; ++j)
      CHECK(std::hypot(centre(i, 0) - centre(j, 0), centre(i, 1) - centre(j, 1)) > 0.3);
  c.method = "vae";
  const AvbToyResult vae = avb_toy(c);
  INFO("VAE: ELBO " << vae.elbo << ", log p(x) " << vae.log_likelihood);
  CHECK(vae.log_likelihood > -1.8);
  CHECK(vae.elbo <= vae.log_likelihood + 0.02);  // a true lower bound (up to the estimates' noise)
  c.method = "gan";
  check_throws_with([&] { avb_toy(c); }, {"expected avb or vae"});
}

TEST_CASE("AVB runs: curve and checkpoints; an interrupted run resumes to exactly the same numbers") {
  TempDir tmp;
  REQUIRE(test::write_synthetic_data(tmp / "data"));
  VaeRunConfig c = paper_vae_setup("mnist", 3);
  c.model.hidden = {16};
  c.train.method = "avb";
  c.train.optimizer = "adam";
  c.train.lr = 1e-3;
  c.train.data_dir = tmp / "data";
  c.train.samples = 1500;
  c.train.eval_every = 500;
  c.train.seed = 7;
  c.train.avb.adaptive_contrast = true;
  c.train.avb.contrast_samples = 4;
  c.train.avb.noise_dim = 8;
  REQUIRE(train_vae(c, tmp / "straight"));
  const auto curve = read_curve(tmp / "straight/curve.csv");
  REQUIRE(curve.size() == 3);
  CHECK(curve.back().train_elbo > curve.front().train_elbo);
  CHECK(load_vae_run_config(tmp / "straight").train.avb.adaptive_contrast);

  std::atomic<bool> stop{false};
  CHECK_FALSE(train_vae(
      c, tmp / "cut", [&](const TrainProgress& p) { stop = p.samples >= 700; }, &stop));
  CHECK(resume_vae(tmp / "cut"));
  const auto resumed = read_curve(tmp / "cut/curve.csv");
  REQUIRE(resumed.size() == curve.size());
  for (std::size_t i = 0; i < curve.size(); ++i) {
    CHECK(resumed[i].train_elbo == curve[i].train_elbo);
    CHECK(resumed[i].test_elbo == curve[i].test_elbo);
  }
  for (const char* file : {"checkpoint_last.safetensors", "avb_last.safetensors"}) {
    const auto a = nn::read_safetensors(tmp / (std::string("straight/") + file)),
               b = nn::read_safetensors(tmp / (std::string("cut/") + file));
    for (const auto& [name, v] : a.f32) {
      INFO(file << ": " << name);
      CHECK(v == b.f32.at(name));
    }
  }
  // A crash between writing avb_last and checkpoint_last: the checkpoint is one save behind its
  // companion, and the run resumes from the companion's previous version.
  {
    std::atomic<bool> halt{false};
    const ProgressFn crash_at_700 = [&](const TrainProgress& p) {
      if (p.point && p.samples == 500)  // what checkpoint_last held before the save at 700
        std::filesystem::copy_file(tmp / "crash/checkpoint_last.safetensors", tmp / "ckpt_500.safetensors");
      halt = p.samples >= 700;
    };
    CHECK_FALSE(train_vae(c, tmp / "crash", crash_at_700, &halt));
    REQUIRE(std::filesystem::exists(tmp / "crash/avb_last.prev.safetensors"));
    std::filesystem::copy_file(tmp / "ckpt_500.safetensors", tmp / "crash/checkpoint_last.safetensors",
                               std::filesystem::copy_options::overwrite_existing);
    CHECK(resume_vae(tmp / "crash"));
    const auto after = read_curve(tmp / "crash/curve.csv");
    REQUIRE(after.size() == curve.size());
    CHECK(after.back().test_elbo == curve.back().test_elbo);
    // with neither companion at the checkpoint's step, resuming says so
    std::filesystem::remove(tmp / "crash/avb_last.prev.safetensors");
    std::filesystem::copy_file(tmp / "ckpt_500.safetensors", tmp / "crash/checkpoint_last.safetensors",
                               std::filesystem::copy_options::overwrite_existing);
    check_throws_with([&] { resume_vae(tmp / "crash"); }, {"does not hold the networks", "500"});
  }
  // evaluation with the saved networks reproduces the curve's last test point
  const auto vae = load_vae_run_model(tmp / "straight", "last");
  const auto avb = load_avb_run_networks(tmp / "straight", "last");
  CHECK(avb->options().adaptive_contrast);
  {
    // The trainer's evaluation: the grey images, fixed generators (seed ^ 0xE7A1 for ε, seed ^ 0xB1A for
    // the pixels' Bernoulli draws), the training split first, then the test split.
    const auto cfg = load_vae_run_config(tmp / "straight");
    const auto train_split = data::load_dataset(cfg.train.dataset, cfg.train.data_dir, data::Split::train);
    const auto test_split = data::load_dataset(cfg.train.dataset, cfg.train.data_dir, data::Split::test);
    Rng eval_rng(cfg.train.seed ^ 0xE7A1u), pixel_rng(cfg.train.seed ^ 0xB1Au);
    const double train_bound = evaluate_avb(*avb, *vae, train_split.x(), eval_rng, 1000, &pixel_rng);
    const double test_bound = evaluate_avb(*avb, *vae, test_split.x(), eval_rng, 1000, &pixel_rng);
    CHECK(train_bound == doctest::Approx(curve.back().train_elbo).epsilon(1e-6));
    CHECK(test_bound == doctest::Approx(curve.back().test_elbo).epsilon(1e-6));
  }
  check_throws_with(
      [&] {
        VaeRunConfig v = c;
        v.train.method = "aevb";
        REQUIRE(train_vae(v, tmp / "vae"));
        load_avb_run_networks(tmp / "vae");
      },
      {"not AVB"});
}
