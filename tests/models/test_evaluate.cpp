// evaluate_model and evaluate_bound on several threads: the same numbers on any thread count and for
// any memory budget (latent_rows), and log p(x) that agrees with the model's own iwae(); AIS and the
// App. D estimator in groups of points, the same on any thread count; training steps, the same too.
#include <doctest/doctest.h>

#include <xtensor/xview.hpp>

#include "autodiff/parallel.hpp"
#include "models/inference/latent_inference.hpp"
#include "models/run/evaluate.hpp"
#include "models/vae/vae.hpp"
#include "nn/optim/adagrad.hpp"

using namespace tapir;
using namespace tapir::models;

namespace {
VaeConfig tiny(const std::string& prior) {
  VaeConfig c;
  c.x_dim = 6;
  c.z_dim = 2;
  c.hidden = {5};
  c.init_std = 0.5;
  c.prior = prior;
  return c;
}

/// Restores the default thread count when a test ends, passed or not.
struct ThreadsReset {
  ~ThreadsReset() { set_num_threads(0); }
};

void check_same(const ModelEvaluation& a, const ModelEvaluation& b) {
  CHECK(a.elbo == b.elbo);
  CHECK(a.log_likelihood == b.log_likelihood);
  CHECK(a.reconstruction == b.reconstruction);
  CHECK(a.kl == b.kl);
  CHECK(a.active_units == b.active_units);
}
}  // namespace

TEST_CASE("evaluate_model: the same numbers on 1, 2 and 3 threads, for every prior, with on-the-fly binarisation") {
  ThreadsReset reset;
  Rng init(3);
  const Array<float> grey = uniform<float>(init, {37, 6});
  for (const std::string prior : {"normal", "mog:3", "vamp:4"}) {
    Vae<float> vae(tiny(prior), init);
    for (std::size_t k : {std::size_t(30), std::size_t(1200)}) {  // groups of 33 rows; of one row
      INFO(prior << ", K = " << k);
      std::vector<ModelEvaluation> e;
      for (std::size_t threads : {1, 2, 3}) {
        set_num_threads(threads);
        Rng rng(11), pixels(5);
        e.push_back(evaluate_model(vae, grey, k, rng, 10, &pixels, 500));  // 4 batches for the bound
      }
      REQUIRE(std::isfinite(e[0].log_likelihood));
      CHECK(e[0].log_likelihood > e[0].elbo);
      check_same(e[0], e[1]);
      check_same(e[0], e[2]);
    }
  }
}

TEST_CASE("evaluate_model: the memory budget (latent_rows) does not change the numbers") {
  ThreadsReset reset;
  set_num_threads(2);
  Rng init(4);
  Vae<float> vae(tiny("normal"), init);
  const Array<float> x = bernoulli<float>(init, {23, 6}, 0.5);
  for (std::size_t k : {std::size_t(40), std::size_t(1500)}) {
    INFO("K = " << k);
    std::vector<ModelEvaluation> e;
    for (std::size_t latent_rows : {1, 7, 100, 1000, 100000}) {  // chunks of 1 sample … all K in one call
      Rng rng(9);
      e.push_back(evaluate_model(vae, x, k, rng, 1000, nullptr, latent_rows));
    }
    for (std::size_t i = 1; i < e.size(); ++i) {
      CHECK(e[i].log_likelihood == doctest::Approx(e[0].log_likelihood).epsilon(1e-6));
      CHECK(e[i].elbo == e[0].elbo);
    }
  }
}

TEST_CASE("evaluate_model: each row's log p(x) is iwae() on its group's generator; the bound is elbo()") {
  Rng init(3);
  Vae<float> vae(tiny("normal"), init);
  const Array<float> x = bernoulli<float>(init, {7, 6}, 0.5);
  REQUIRE(importance_group_rows(3000) == 1);
  Rng a(11);
  const auto e = evaluate_model(vae, x, 3000, a, 1000, nullptr, 500);  // chunks of 500
  Rng b(11);
  const std::uint64_t bound_base = b.next_u64(), base = b.next_u64();
  Tape<float> tape;
  NoGradGuard<float> no_grad(tape);
  Rng first = group_rng(bound_base, 0);  // one batch
  const double elbo = xt::mean(vae.elbo_terms(tape.constant(x), first).elbo.value())();
  double ll = 0;
  for (std::size_t i = 0; i < 7; ++i) {
    Array<float> row = xt::view(x, xt::range(i, i + 1), xt::all());
    Rng r = group_rng(base, i);
    ll += vae.iwae(tape.constant(row), r, 3000).value()(0) / 7.0;
  }
  CHECK(e.log_likelihood == doctest::Approx(ll).epsilon(1e-5));
  CHECK(e.elbo == doctest::Approx(elbo).epsilon(1e-6));
  CHECK(e.log_likelihood > e.elbo);
  CHECK(e.n == 7);
}

TEST_CASE("model_ais and model_harmonic: groups of points, the same numbers on 1 and 2 threads") {
  ThreadsReset reset;
  Rng init(5);
  Vae<float> vae(tiny("normal"), init);
  const Array<float> x = bernoulli<float>(init, {2 * kInferenceGroupPoints + 3, 6}, 0.5);  // 3 groups
  AisOptions o;
  o.steps = 10;
  o.chains = 3;
  HarmonicOptions h;
  h.samples = 4;
  h.burn_in = 5;
  std::vector<AisResult> a;
  std::vector<HarmonicResult> m;
  for (std::size_t threads : {1, 2}) {
    set_num_threads(threads);
    Rng r1(7), r2(8);
    a.push_back(model_ais(vae, x, o, r1));
    m.push_back(model_harmonic(vae, x, h, r2, 2));
  }
  REQUIRE(a[0].log_marginal.size() == x.shape()[0]);
  CHECK(a[0].log_weights.shape() == Shape{3, x.shape()[0]});
  CHECK(a[0].step_sizes.shape() == Shape{10, x.shape()[0]});
  CHECK(std::isfinite(a[0].log_marginal(x.shape()[0] - 1)));
  CHECK(a[0].log_marginal == a[1].log_marginal);
  CHECK(a[0].log_weights == a[1].log_weights);
  CHECK(a[0].step_sizes == a[1].step_sizes);
  CHECK(a[0].acceptance == a[1].acceptance);
  CHECK(a[0].acceptance > 0);
  REQUIRE(m[0].log_marginal.size() == x.shape()[0]);
  CHECK(m[0].log_marginal == m[1].log_marginal);
  CHECK(m[0].log_ratios == m[1].log_ratios);
  CHECK(m[0].acceptance == m[1].acceptance);
  for (const auto& p : vae.parameters()) CHECK(p->requires_grad());  // unfrozen again
}

TEST_CASE("training steps of the paper's MNIST VAE: the same parameters, bit for bit, on 1, 2 and 3 threads") {
  // Sizes where tapir splits the products (784 × 500 × 100) and chunks the elementwise passes.
  ThreadsReset reset;
  VaeConfig c;
  c.x_dim = 784;
  c.z_dim = 20;
  c.hidden = {500};
  Rng data(9);
  const Array<float> x = bernoulli<float>(data, {100, 784}, 0.3);
  std::vector<std::vector<Array<float>>> after;
  for (std::size_t threads : {1, 2, 3}) {
    set_num_threads(threads);
    Rng init(1), rng(2);
    Vae<float> vae(c, init);
    optim::Adagrad<float> opt(vae.parameters(), optim::AdagradOptions{0.02, 0, 1.0 / 60000, 0, 1e-10, true});
    Tape<float> tape;
    for (int step = 0; step < 3; ++step) {
      (-mean(vae.elbo(tape.constant_view(x), rng))).backward();
      opt.step();
      opt.zero_grad();
      tape.clear();
    }
    std::vector<Array<float>> values;
    for (const Parameter<float>* p : vae.parameters()) values.push_back(p->value());
    after.push_back(values);
  }
  for (std::size_t t = 1; t < after.size(); ++t)
    for (std::size_t i = 0; i < after[0].size(); ++i) {
      INFO("thread count #" << t << ", parameter " << i);
      CHECK(std::equal(after[t][i].begin(), after[t][i].end(), after[0][i].begin()));
    }
}
