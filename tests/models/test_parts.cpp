// Models as parts: priors (N(0, I), a learnable mixture, the VampPrior, a user's own), the estimator
// each one gets, the two-stochastic-layer VAE scored by quadrature, IWAE and AIS through the
// LatentVariableModel interface, and the trainer with a model and a method it has never seen.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <xtensor/xview.hpp>

#include "autodiff/check.hpp"
#include "cli/synthetic_data.hpp"
#include "models/inference/latent_inference.hpp"
#include "models/priors/mixture.hpp"
#include "models/priors/vamp.hpp"
#include "models/train/run.hpp"
#include "nn/checkpoint.hpp"
#include "nn/optim/optim.hpp"
#include "temp_dir.hpp"

using namespace tapir;
using namespace tapir::models;
using test::check_throws_with;
using test::TempDir;
namespace fs = std::filesystem;

namespace {
VaeConfig tiny(const std::string& prior = "normal") {
  VaeConfig c;
  c.x_dim = 6;
  c.z_dim = 2;
  c.hidden = {5};
  c.init_std = 0.3;
  c.prior = prior;
  return c;
}
Array<double> binary_data(std::size_t n, std::size_t d, std::uint64_t seed) {
  Rng rng(seed);
  return bernoulli<double>(rng, {n, d}, 0.4);
}

/// ∂f/∂θ from the tape against central differences of f in every element of every parameter.
void check_parameter_gradients(nn::Module<double>& m, const std::function<Var<double>(Tape<double>&)>& f,
                               const std::string& what) {
  m.zero_grad();
  {
    Tape<double> tape;
    f(tape).backward();
  }
  for (auto& [name, p] : m.named_parameters()) {
    for (std::size_t i = 0; i < p->value().size(); ++i) {
      const double v = p->value().data()[i], h = 1e-6;
      const auto at = [&](double x) {
        p->value().data()[i] = x;
        Tape<double> tape;
        NoGradGuard<double> ng(tape);
        return f(tape).item();
      };
      const double fd = (at(v + h) - at(v - h)) / (2 * h);
      p->value().data()[i] = v;
      INFO(what << ": " << name << "[" << i << "]: tape " << p->grad().data()[i] << " vs " << fd);
      CHECK(std::abs(p->grad().data()[i] - fd) <= 1e-5 + 1e-4 * std::abs(fd));
    }
  }
}

double log_normal(double z, double m, double log_var) {
  return -0.5 * ((z - m) * (z - m) / std::exp(log_var) + log_var + std::log(2 * M_PI));
}

/// A prior tapir does not ship: independent Laplace(0, b) with a learnable log b.
class LaplacePrior : public Prior<double> {
 public:
  explicit LaplacePrior(std::size_t dim) : Prior<double>(dim) {
    log_b_ = &register_parameter("log_b", Array<double>(Shape{dim}, 0.0));
  }
  std::string name() const override { return "laplace"; }
  std::unique_ptr<dist::Distribution<double>> distribution(Tape<double>& tape) const override {
    return std::make_unique<dist::Independent<double>>(
        dist::Laplace<double>(tape.constant(Array<double>(Shape{dim()}, 0.0)), exp(tape.param(*log_b_))), 1);
  }

 private:
  Parameter<double>* log_b_;
};
}  // namespace

TEST_CASE("the mixture prior: its density in closed form, its gradients, the Monte Carlo bound") {
  Rng rng(2);
  MixturePrior<double> prior(2, 3, rng);
  prior.parameter("logits").value() = test::arr({3}, {0.1, -0.4, 0.7});
  prior.parameter("log_var").value() = test::rand({3, 2}, 5, -0.5, 0.5);
  const Array<double> z = test::rand({4, 2}, 3, -2, 2);
  Tape<double> tape;
  const Array<double> lp = prior.log_prob(tape.constant(z)).value();
  REQUIRE(lp.shape() == Shape{4});
  const Array<double>& a = prior.parameter("logits").value();
  const double log_norm = std::log(std::exp(a(0)) + std::exp(a(1)) + std::exp(a(2)));
  for (std::size_t i = 0; i < 4; ++i) {
    double s = 0;
    for (std::size_t k = 0; k < 3; ++k) {
      double l = a(k) - log_norm;
      for (std::size_t d = 0; d < 2; ++d)
        l += log_normal(z(i, d), prior.parameter("means").value()(k, d), prior.parameter("log_var").value()(k, d));
      s += std::exp(l);
    }
    CHECK(lp(i) == doctest::Approx(std::log(s)).epsilon(1e-12));
  }
  check_parameter_gradients(
      prior, [&](Tape<double>& t) { return sum(prior.log_prob(t.constant(z))); }, "mixture");

  // In a VAE: no analytic KL against a mixture, so `auto` is estimator A, and B is refused.
  Vae<double> vae(tiny("mog:3"), rng);
  CHECK_FALSE(vae.analytic_kl());
  // p(z)'s parameters are not weights: no weight decay on them (eq. 8's N(0, I) is a prior on θ's weights).
  for (const char* name : {"prior.means", "prior.log_var"}) CHECK_FALSE(vae.parameter(name).decays());
  CHECK(vae.parameter("encoder.trunk.0.weight").decays());
  CHECK(Vae<double>(tiny(), rng).analytic_kl());
  VaeConfig b = tiny("mog:3");
  b.estimator = Estimator::analytic_kl;
  check_throws_with([&] { Vae<double> v(b, rng); }, {"estimator B", "MixtureSameFamily", "mog:3"});
  check_throws_with([&] { Vae<double> v(tiny("mog:0"), rng); }, {"mog:0", "normal, mog:K or vamp:K"});
  // β (KL warm-up) weighs the Monte Carlo KL term, so the bound is linear in β at fixed ε.
  {
    Tape<double> t;
    const Array<double> xb = binary_data(3, 6, 8);
    Rng r0(4), r1(4), rh(4);
    const Array<double> b0 = vae.elbo(t.constant(xb), r0, 0.0).value(), b1 = vae.elbo(t.constant(xb), r1, 1.0).value();
    test::check_close(vae.elbo(t.constant(xb), rh, 0.5).value(), Array<double>(0.5 * (b0 + b1)), 1e-12);
  }
  // The bound's gradient reaches the prior's parameters (fixed ε: the same generator state each time).
  const Array<double> x = binary_data(3, 6, 4);
  check_parameter_gradients(
      vae,
      [&](Tape<double>& t) {
        Rng r(9);
        return sum(vae.elbo(t.constant(x), r));
      },
      "VAE with a mixture prior");
}

TEST_CASE("the VampPrior is the mixture of the encoder's posteriors at its pseudo-inputs") {
  Rng rng(3);
  Vae<double> vae(tiny("vamp:4"), rng);
  const auto& prior = dynamic_cast<const VampPrior<double>&>(vae.prior());
  CHECK(prior.components() == 4);
  // Pseudo-inputs live in the data's units, from the paper's N(0.05, 0.01²), and take no weight decay.
  const Parameter<double>& pseudo = vae.parameter("prior.pseudo_x");
  CHECK(pseudo.shape() == Shape{4, 6});
  CHECK_FALSE(pseudo.decays());
  const double mean = std::accumulate(pseudo.value().begin(), pseudo.value().end(), 0.0) / 24;
  double ss = 0;
  for (double v : pseudo.value()) ss += (v - mean) * (v - mean);
  CHECK(std::abs(mean - 0.05) < 0.006);  // 24 draws: the mean's sd is 0.002
  CHECK(std::sqrt(ss / 23) == doctest::Approx(0.01).epsilon(0.4));
  Tape<double> tape;
  const Array<double> u = clamp(tape.constant(vae.parameter("prior.pseudo_x").value()), 0.0, 1.0).value();
  const auto q_u = vae.encode(tape.constant(u));
  const Array<double> mu = q_u.mean().value(), var = q_u.variance().value();
  const Array<double> z = test::rand({5, 2}, 4, -2, 2);
  const Array<double> lp = vae.log_prior(tape.constant(z)).value();
  for (std::size_t i = 0; i < 5; ++i) {
    double s = 0;
    for (std::size_t k = 0; k < 4; ++k)
      s += 0.25 * std::exp(log_normal(z(i, 0), mu(k, 0), std::log(var(k, 0))) +
                           log_normal(z(i, 1), mu(k, 1), std::log(var(k, 1))));
    CHECK(lp(i) == doctest::Approx(std::log(s)).epsilon(1e-10));
  }
  CHECK_FALSE(vae.analytic_kl());
  const Array<double> x = binary_data(3, 6, 5);
  check_parameter_gradients(
      vae,
      [&](Tape<double>& t) {
        Rng r(9);
        return sum(vae.elbo(t.constant(x), r));
      },
      "VAE with a VampPrior");
}

TEST_CASE("a user's prior plugs into the VAE; its bound is the Monte Carlo form, or B where a KL pair exists") {
  {
    // Normal‖Laplace has a closed form (nn/dist/kl.cpp), so "auto" picks estimator B for this prior.
    Rng rng(4);
    Vae<double> with_kl(tiny(), rng, std::make_unique<LaplacePrior>(2));
    CHECK(with_kl.analytic_kl());
    VaeConfig many = tiny();
    many.samples = 20000;
    Rng ra(4), rb(4);
    many.estimator = Estimator::monte_carlo;
    Vae<double> a(many, ra, std::make_unique<LaplacePrior>(2));
    many.estimator = Estimator::analytic_kl;
    Vae<double> b(many, rb, std::make_unique<LaplacePrior>(2));
    Tape<double> tape;
    const Array<double> x = binary_data(3, 6, 6);
    Rng r(5);
    test::check_close(a.elbo(tape.constant(x), r).value(), b.elbo(tape.constant(x), r).value(), 0.01);
  }
  VaeConfig mc = tiny();
  mc.estimator = Estimator::monte_carlo;
  Rng rng(4);
  Vae<double> vae(mc, rng, std::make_unique<LaplacePrior>(2));
  CHECK(vae.prior().name() == "laplace");
  CHECK_FALSE(vae.analytic_kl());
  const Array<double> x = binary_data(3, 6, 6);
  Tape<double> tape;
  // elbo = log p(x|z) + log p(z) − log q(z|x) at the same ε as the importance weights with K = 1.
  Rng r1(5), r2(5);
  test::check_close(vae.elbo(tape.constant(x), r1).value(),
                    xt::eval(xt::view(vae.log_importance_weights(tape.constant(x), r2, 1).value(), 0, xt::all())),
                    1e-12);
  check_parameter_gradients(
      vae,
      [&](Tape<double>& t) {
        Rng r(9);
        return sum(vae.elbo(t.constant(x), r));
      },
      "VAE with a Laplace prior");
  check_throws_with([&] { Vae<double> v(tiny(), rng, std::make_unique<LaplacePrior>(3)); },
                    {"3 dimensions", "z_dim is 2"});
}

TEST_CASE("two stochastic layers: log p(x) by quadrature, by IWAE and by AIS agree") {
  VaeConfig c = tiny();
  c.x_dim = 4;
  c.z_dim = 1;
  c.z2_dim = 1;
  c.hidden = {3};
  c.hidden2 = {3};
  c.init_std = 0.5;
  Rng rng(5);
  TwoLayerVae<double> model(c, rng);
  CHECK(model.z_dim() == 2);
  const Array<double> x = binary_data(3, 4, 7);
  Tape<double> tape;
  CHECK(model.log_importance_weights(tape.constant(x), rng, 7).shape() == Shape{7, 3});
  CHECK(model.sample_prior(rng, 5).shape() == Shape{5, 2});
  CHECK(model.encode_mean(tape.constant(x)).shape() == Shape{3, 2});
  // log p(x) = log ∫∫ p(x, z₁, z₂) dz₁ dz₂ on a grid over [−7, 7]².
  const std::size_t g = 281;
  const double lo = -7, h = 14.0 / double(g - 1);
  Array<double> z = Array<double>::from_shape({g * g, 2});
  for (std::size_t i = 0; i < g * g; ++i) {
    z(i, 0) = lo + h * double(i / g);
    z(i, 1) = lo + h * double(i % g);
  }
  Array<double> exact = Array<double>::from_shape({3});
  for (std::size_t b = 0; b < 3; ++b) {
    Array<double> xb = Array<double>::from_shape({g * g, 4});
    for (std::size_t i = 0; i < g * g; ++i)
      for (std::size_t d = 0; d < 4; ++d) xb(i, d) = x(b, d);
    Tape<double> t;
    const Array<double> lj = model.log_joint(t.constant(xb), t.constant(z)).value();
    const double m = xt::amax(lj)();
    double s = 0;
    for (double v : lj) s += std::exp(v - m);
    exact(b) = m + std::log(s) + 2 * std::log(h);
  }
  Rng r(11);
  // IWAE is a lower bound in expectation that tightens with K; this q is untrained, so the gap stays
  // visible at K = 20000 but is small, and K = 10 is clearly worse.
  const Array<double> iwae = model.iwae(tape.constant(x), r, 20000).value();
  const Array<double> iwae10 = model.iwae(tape.constant(x), r, 10).value();
  for (std::size_t b = 0; b < 3; ++b) {
    INFO("point " << b << ": exact " << exact(b) << ", IWAE-20000 " << iwae(b) << ", IWAE-10 " << iwae10(b));
    CHECK(iwae(b) <= exact(b) + 0.01);
    CHECK(iwae(b) >= exact(b) - 0.2);
    CHECK(iwae(b) > iwae10(b));
  }
  AisOptions o;
  o.steps = 300;
  o.chains = 16;
  const Array<double> ais = model_ais(model, x, o, r).log_marginal;
  test::check_close(ais, exact, 0.02);
  // The bound's gradients, every parameter, at fixed ε.
  check_parameter_gradients(
      model,
      [&](Tape<double>& t) {
        Rng q(9);
        return sum(model.elbo(t.constant(x), q));
      },
      "two-layer VAE");
}

TEST_CASE("the trainer runs a model and a method it has never seen, and resumes them exactly") {
  TempDir tmp;
  REQUIRE(test::write_synthetic_data(tmp / "data"));
  VaeTrainConfig tc;
  tc.data_dir = tmp / "data";
  tc.samples = 1200;
  tc.eval_every = 400;
  tc.optimizer = "adam";
  tc.lr = 1e-3;
  VaeConfig mc = paper_vae_setup("mnist", 3).model;
  mc.hidden = {16};
  mc.prior = "mog:5";

  /// IWAE with K = 3 written as a user would: its own optimizer, its own step.
  class MyIwae : public Method {
   public:
    explicit MyIwae(LatentVariableModel<float>& m) : Method(m), adam_(m.parameters(), optim::AdamOptions{}) {}
    std::string name() const override { return "my-iwae"; }
    double step(const Array<float>& x, const std::vector<std::size_t>&, double, Rng& rng, Tape<float>& tape) override {
      const Var<float> bound = mean(model_.iwae(tape.constant(x), rng, 3));
      (-bound).backward();
      adam_.step();
      adam_.zero_grad();
      return bound.item();
    }
    optim::Optimizer<float>& optimizer() override { return adam_; }

   private:
    optim::Adam<float> adam_;
  };
  const auto train = [&](const std::string& dir, long long samples, bool resume, nlohmann::json run_config = nullptr) {
    Rng init(3);
    Vae<float> vae(mc, init);
    VaeTrainConfig t = tc;
    t.samples = samples;
    if (run_config.is_object()) run_config["train"]["samples"] = samples;
    Trainer trainer(t, vae, dir, run_config, [&](std::size_t, Rng&) { return std::make_unique<MyIwae>(vae); });
    return resume ? trainer.resume() : trainer.train();
  };
  CHECK(train(tmp / "a", 1200, false));
  // Run b records a section of its own and, as older code did, fewer training keys than this code.
  nlohmann::json recorded = {{"model", "vae"}, {"mine", {{"k", 3}}}, {"train", tc.to_json()}};
  recorded["train"].erase("frey_split");
  CHECK(train(tmp / "b", 800, false, recorded));
  // A resume with another learning rate is refused, naming it (the optimizer state would override it),
  // before anything is loaded; so is one without the run's own section, or with a budget it has passed.
  tc.lr = 0.5;
  nlohmann::json changed = recorded;
  changed["train"]["lr"] = 0.5;
  test::check_throws_with([&] { train(tmp / "b", 1200, true, changed); }, {"train.lr = 0.001", "0.5", "new run"});
  tc.lr = 1e-3;
  nlohmann::json without = recorded;
  without.erase("mine");
  test::check_throws_with([&] { train(tmp / "b", 1200, true, without); }, {"mine = {\"k\":3}", "without it"});
  test::check_throws_with([&] { train(tmp / "b", 400, true, recorded); }, {"800 samples already", "400"});
  const auto read_text = [](const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  const std::string config_before = read_text(tmp / "b/config.json");
  CHECK(train(tmp / "b", 800, true, recorded));  // the same budget: nothing to do, config.json untouched
  CHECK(read_text(tmp / "b/config.json") == config_before);
  // A key older code did not record (frey_split) is no difference: the default configuration resumes it.
  CHECK(train(tmp / "b", 1200, true, {{"model", "vae"}, {"mine", {{"k", 3}}}, {"train", tc.to_json()}}));
  // config.json says what the run became: the new budget.
  const auto config = nlohmann::json::parse(std::ifstream(tmp / "b/config.json"));
  CHECK(config["train"]["samples"] == 1200);
  CHECK(config["mine"]["k"] == 3);
  const auto a = read_curve(tmp / "a/curve.csv"), b = read_curve(tmp / "b/curve.csv");
  REQUIRE(a.size() == 3);
  REQUIRE(b.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) CHECK(a[i].test_elbo == b[i].test_elbo);
  CHECK(a[2].test_elbo > a[0].test_elbo);
}

TEST_CASE("the trainer takes data of the caller's in memory: the same numbers as loading it by name") {
  TempDir tmp;
  REQUIRE(test::write_synthetic_data(tmp / "data"));
  VaeTrainConfig tc = paper_vae_setup("mnist", 3).train;
  tc.data_dir = tmp / "data";
  tc.samples = 1200;
  tc.eval_every = 400;
  tc.binarize = "dynamic";
  VaeConfig mc = paper_vae_setup("mnist", 3).model;
  mc.hidden = {16};
  const auto train = [&](const std::string& dir, VaeTrainConfig t, bool in_memory, bool resume = false) {
    Rng init(3);
    Vae<float> vae(mc, init);
    if (!in_memory) {
      Trainer trainer(t, vae, dir);
      return trainer.train();
    }
    // A data set tapir has no loader for: here the synthetic MNIST, renamed, its labels dropped.
    data::Dataset tr = data::load_mnist(tmp / "data", data::Split::train),
                  te = data::load_mnist(tmp / "data", data::Split::test);
    tr.name = te.name = "blobs";
    tr.labels.clear();
    t.dataset = "";  // named after the data
    t.data_dir = "";
    Trainer trainer(t, vae, dir, std::move(tr), std::move(te));
    return resume ? trainer.resume() : trainer.train();
  };
  CHECK(train(tmp / "by-name", tc, false));
  VaeTrainConfig shorter = tc;
  shorter.samples = 800;
  CHECK(train(tmp / "in-memory", shorter, true));
  CHECK(train(tmp / "in-memory", tc, true, true));  // resumed on the same data
  const auto a = read_curve(tmp / "by-name/curve.csv"), b = read_curve(tmp / "in-memory/curve.csv");
  REQUIRE(a.size() == 3);
  REQUIRE(b.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(a[i].train_elbo == b[i].train_elbo);
    CHECK(a[i].test_elbo == b[i].test_elbo);
  }
  const auto config = nlohmann::json::parse(std::ifstream(tmp / "in-memory/config.json"));
  CHECK(config["train"]["dataset"] == "blobs");
  CHECK(config["train"]["samples"] == 1200);

  // Data that does not fit the model, or train and test that do not fit each other, are refused.
  Rng init(3);
  Vae<float> vae(mc, init);
  data::Dataset tr = data::load_mnist(tmp / "data", data::Split::train);
  data::Dataset narrow = tr;
  narrow.cols = 20;
  narrow.pixels.resize(narrow.size() * narrow.dim());
  check_throws_with([&] { Trainer t(tc, vae, tmp / "x", narrow, narrow); }, {"560", "x_dim is 784"});
  check_throws_with([&] { Trainer t(tc, vae, tmp / "x", tr, narrow); }, {"test data", "560", "784"});
  check_throws_with([&] { Trainer t(tc, vae, tmp / "x", tr, data::Dataset{}); }, {"test data is empty"});
}

TEST_CASE("runs with a mixture prior, a VampPrior and two layers train, resume and load through the command's API") {
  TempDir tmp;
  REQUIRE(test::write_synthetic_data(tmp / "data"));
  for (const std::string variant : {"mog:4", "vamp:6", "two-layer"}) {
    INFO(variant);
    VaeRunConfig c = paper_vae_setup("mnist", 3);
    c.model.hidden = {16};
    c.model.prior = variant == "two-layer" ? "normal" : variant;
    if (variant == "two-layer") {
      c.model.z2_dim = 2;
      c.model.hidden2 = {8};
    }
    c.train.data_dir = tmp / "data";
    c.train.samples = 1000;
    c.train.eval_every = 500;
    c.train.optimizer = "adam";
    c.train.lr = 1e-3;
    const std::string dir = tmp / ("run-" + variant.substr(0, 3));
    CHECK(train_vae(c, dir));
    CHECK(resume_vae(dir, 1500));
    const auto model = load_run_model(dir, "last");
    CHECK(model->z_dim() == (variant == "two-layer" ? 5u : 3u));
    const auto split = load_vae_split(load_vae_run_config(dir).train, data::Split::test);
    Rng rng(1);
    const auto e = evaluate_model(*model, split.x(), 50, rng);
    CHECK(std::isfinite(e.elbo));
    CHECK(e.log_likelihood >= e.elbo - 0.5);
    if (variant == "vamp:6") {
      // A VampPrior run of tapir before 2026-11-29 (its pseudo-inputs named "pseudo_inputs", through σ)
      // is refused by name, not loaded into the new parametrisation.
      const std::string last = dir + "/checkpoint_last.safetensors";
      auto file = nn::read_safetensors(last);
      file.f32["prior.pseudo_inputs"] = file.f32.at("prior.pseudo_x");
      file.f32.erase("prior.pseudo_x");
      nn::write_safetensors(last, file);
      check_throws_with([&] { load_run_model(dir, "last"); }, {last, "before 2026-11-29", "train the run again"});
      check_throws_with([&] { resume_vae(dir, 2000); }, {last, "before 2026-11-29"});
    }
  }
  VaeRunConfig bad = paper_vae_setup("mnist", 3);
  bad.model.prior = "vamp:5";
  bad.train.method = "avb";
  check_throws_with([&] { check_combination(bad); }, {"AVB", "--prior normal"});
  bad.train.method = "aevb";
  bad.model.estimator = Estimator::analytic_kl;
  check_throws_with([&] { check_combination(bad); }, {"estimator B", "vamp:5"});
}

TEST_CASE("a run directory written before the parts refactor (old parameter names) resumes") {
  TempDir tmp;
  REQUIRE(test::write_synthetic_data(tmp / "data"));
  VaeRunConfig c = paper_vae_setup("mnist", 3);
  c.model.hidden = {16};
  c.train.data_dir = tmp / "data";
  c.train.samples = 1000;
  c.train.eval_every = 500;
  CHECK(train_vae(c, tmp / "run"));
  // Rename the tensors as the old Vae named them.
  const std::map<std::string, std::string> old{{"encoder.trunk.", "encoder."},
                                               {"encoder.mu.", "mu."},
                                               {"encoder.log_var.", "log_var."},
                                               {"decoder.trunk.", "decoder."},
                                               {"decoder.logits.", "out."}};
  for (const char* file : {"checkpoint_last.safetensors", "checkpoint_best.safetensors"}) {
    auto t = nn::read_safetensors((fs::path(tmp / "run") / file).string());
    std::map<std::string, Array<float>> renamed;
    for (auto& [name, a] : t.f32) {
      std::string n = name;
      for (const auto& [now, then] : old)
        if (n.rfind(now, 0) == 0) n = then + n.substr(now.size());
      renamed[n] = a;
    }
    CHECK(renamed.count("out.weight") == 1);
    t.f32 = renamed;
    nn::write_safetensors((fs::path(tmp / "run") / file).string(), t);
  }
  CHECK(resume_vae(tmp / "run", 1500));
  CHECK(read_curve(tmp / "run/curve.csv").size() == 3);
  CHECK(load_vae_run_model(tmp / "run", "best")->config().z_dim == 3);
}

// ---- The bound's terms and active units ---------------------------------------------------------------

TEST_CASE(
    "elbo_terms with a mixture prior, a VampPrior, two layers and AVB: the bound's own draws, recon − KL = bound") {
  const Array<double> xa = binary_data(4, 6, 12);
  for (const std::string prior : {"mog:3", "vamp:3"}) {
    INFO(prior);
    VaeConfig c = tiny(prior);
    c.samples = 2;
    Rng init(4);
    Vae<double> vae(c, init);
    REQUIRE_FALSE(vae.analytic_kl());  // the Monte Carlo KL
    Tape<double> tape;
    const Var<double> x = tape.constant(xa);
    Rng r1(7), r2(7);
    const ElboTerms<double> t = vae.elbo_terms(x, r1);
    CHECK(t.elbo.value() == vae.elbo(x, r2).value());  // bitwise
    REQUIRE(t.reconstruction);
    REQUIRE(t.kl);
    test::check_close(Array<double>(t.reconstruction->value() - t.kl->value()), t.elbo.value(), 1e-12);
    // With many draws, KL(q ‖ p) ≥ 0 and agrees with kl_divergence_mc of the two distributions.
    c.samples = 20000;
    Rng init2(4);
    Vae<double> many(c, init2);
    Rng r3(8);
    const Array<double> kl = many.elbo_terms(x, r3).kl->value();
    Rng r4(9);
    const Array<double> reference =
        dist::kl_divergence_mc<double>(many.encode(x), *many.prior().distribution(tape), r4, 20000).value();
    for (std::size_t i = 0; i < 4; ++i) {
      INFO("point " << i << ": " << kl(i) << " vs kl_divergence_mc " << reference(i));
      CHECK(kl(i) > 0);
      CHECK(std::abs(kl(i) - reference(i)) < 0.03 + 0.05 * reference(i));
    }
  }
  {  // Two stochastic layers: KL(q(z₁, z₂|x) ‖ p(z₁, z₂)) by Monte Carlo, and the means are encode_mean's.
    VaeConfig c = tiny();
    c.z2_dim = 2;
    c.hidden2 = {3};
    c.samples = 3;
    Rng init(5);
    TwoLayerVae<double> model(c, init);
    Tape<double> tape;
    const Var<double> x = tape.constant(xa);
    Rng r1(7), r2(7);
    const ElboTerms<double> t = model.elbo_terms(x, r1);
    CHECK(t.elbo.value() == model.elbo(x, r2).value());
    REQUIRE(t.reconstruction);
    REQUIRE(t.kl);
    REQUIRE(t.mean);
    test::check_close(Array<double>(t.reconstruction->value() - t.kl->value()), t.elbo.value(), 1e-12);
    CHECK(t.mean->value() == model.encode_mean(x).value());
    c.samples = 20000;
    Rng init2(5);
    TwoLayerVae<double> many(c, init2);
    Rng r3(8);
    for (double kl : many.elbo_terms(x, r3).kl->value()) CHECK(kl > 0);
  }
  for (const bool adaptive : {false, true}) {  // AVB: T's KL estimate, as its bound is T's; no means
    INFO("adaptive contrast " << adaptive);
    AvbOptions o;
    o.adaptive_contrast = adaptive;
    o.contrast_samples = 4;
    o.noise_dim = 3;
    Rng init(6);
    const VaeConfig c = tiny();
    const Avb<double> avb(c, o, init);
    Vae<double> vae(c, init);
    Tape<double> tape;
    const Var<double> x = tape.constant(xa);
    Rng r1(7), r2(7);
    const ElboTerms<double> t = avb.elbo_terms(vae, x, r1);
    CHECK(t.elbo.value() == avb.elbo(vae, x, r2).value());
    REQUIRE(t.reconstruction);
    REQUIRE(t.kl);
    CHECK_FALSE(t.mean);
    test::check_close(Array<double>(t.reconstruction->value() - t.kl->value()), t.elbo.value(), 1e-12);
  }
}

namespace {
/// A user's model with only the interface's required parts (delegated to a Vae): no elbo_terms of its own.
class PlainModel : public LatentVariableModel<float> {
 public:
  explicit PlainModel(const Vae<float>& v) : v_(v) {}
  std::string name() const override { return "plain"; }
  std::size_t x_dim() const override { return v_.x_dim(); }
  std::size_t z_dim() const override { return v_.z_dim(); }
  Var<float> log_prior(const Var<float>& z) const override { return v_.log_prior(z); }
  Var<float> log_likelihood(const Var<float>& x, const Var<float>& z) const override { return v_.log_likelihood(x, z); }
  Array<float> sample_prior(Rng& rng, std::size_t n) const override { return v_.sample_prior(rng, n); }
  dist::Independent<float> decode(const Var<float>& z) const override { return v_.decode(z); }
  bool has_proposal() const override { return true; }
  Var<float> log_importance_weights(const Var<float>& x, Rng& rng, std::size_t k) const override {
    return v_.log_importance_weights(x, rng, k);
  }

 private:
  const Vae<float>& v_;
};
}  // namespace

TEST_CASE("active units: Var_x(μ_j(x)) > 0.01, counted row by row whatever the batches; a user's model reports none") {
  {  // LatentActivity on numbers: the population variance per unit, the same for any chunking.
    Array<float> mu = Array<float>::from_shape({3, 2});
    mu(0, 0) = 0, mu(1, 0) = 2, mu(2, 0) = 4;  // variance 8/3
    mu(0, 1) = mu(1, 1) = mu(2, 1) = 1;        // variance 0
    LatentActivity a;
    a.add(mu);
    CHECK(a.count() == 3);
    CHECK(a.variance()[0] == doctest::Approx(8.0 / 3).epsilon(1e-14));
    CHECK(a.variance()[1] == 0);
    CHECK(a.active() == 1);
    CHECK(a.active(3.0) == 0);
    check_throws_with([&] { a.add(Array<float>::from_shape({2, 3})); }, {"3 units after 2"});
    Rng rng(2);
    const Array<float> many = normal<float>(rng, {101, 5}) * 0.3f + 7.0f;  // a large mean: Welford's case
    std::vector<std::vector<double>> variances;
    for (std::size_t chunk : {1u, 7u, 101u}) {
      LatentActivity b;
      for (std::size_t i = 0; i < 101; i += chunk)
        b.add(xt::eval(xt::view(many, xt::range(i, std::min<std::size_t>(101, i + chunk)), xt::all())));
      variances.push_back(b.variance());
    }
    CHECK(variances[0] == variances[1]);  // bitwise
    CHECK(variances[0] == variances[2]);
    for (std::size_t j = 0; j < 5; ++j) {  // two passes in double
      double m = 0, v = 0;
      for (std::size_t i = 0; i < 101; ++i) m += many(i, j) / 101.0;
      for (std::size_t i = 0; i < 101; ++i) v += (many(i, j) - m) * (many(i, j) - m) / 101.0;
      CHECK(variances[0][j] == doctest::Approx(v).epsilon(1e-12));
    }
  }
  // A VAE whose encoder mean ignores x in units 2 (weights and bias zero) and 3 (weights 10⁻³ of their
  // size: variance ~10⁻⁷), and depends strongly on x in units 0 and 1.
  VaeConfig c;
  c.x_dim = 6;
  c.z_dim = 4;
  c.hidden = {5};
  c.init_std = 1.0;
  Rng init(3);
  Vae<float> vae(c, init);
  auto& w = vae.parameter("encoder.mu.weight");  // (hidden, z): column j feeds unit j
  auto& b = vae.parameter("encoder.mu.bias");
  for (std::size_t h = 0; h < 5; ++h) {
    w.value()(h, 2) = 0;
    w.value()(h, 3) *= 1e-3f;
  }
  b.value()(2) = 0;
  Rng data(4);
  const Array<float> x = bernoulli<float>(data, {300, 6}, 0.5);
  std::optional<std::size_t> first;
  for (std::size_t batch : {1u, 7u, 300u, 1000u}) {
    INFO("batch " << batch);
    Rng rng(5);
    const BoundEvaluation e = evaluate_bound(vae, x, rng, batch);
    REQUIRE(e.active_units);
    CHECK(*e.active_units == 2);
    REQUIRE(e.reconstruction);
    REQUIRE(e.kl);
    CHECK(*e.reconstruction - *e.kl == doctest::Approx(e.elbo).epsilon(1e-5));
  }
  {  // ... and the same through evaluate_model (tapir eval), which also keeps its bound.
    Rng rng(5);
    const auto e = evaluate_model(vae, x, 0, rng);
    CHECK(e.active_units == std::optional<std::size_t>(2));
    Rng same(5);
    CHECK(e.elbo == evaluate_bound(vae, x, same).elbo);
  }
  // A user's model without elbo_terms: the bound, no terms, no active units ("not available").
  PlainModel plain(vae);
  Tape<float> tape;
  Rng r1(6), r2(6);
  const ElboTerms<float> t = plain.elbo_terms(tape.constant(x), r1);
  CHECK(t.elbo.value() == plain.elbo(tape.constant(x), r2).value());
  CHECK_FALSE(t.reconstruction);
  CHECK_FALSE(t.kl);
  CHECK_FALSE(t.mean);
  Rng r3(6);
  const BoundEvaluation e = evaluate_bound(plain, x, r3);
  CHECK(std::isfinite(e.elbo));
  CHECK_FALSE(e.reconstruction);
  CHECK_FALSE(e.active_units);
}
