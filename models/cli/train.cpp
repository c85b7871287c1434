// `tapir train vae | wake-sleep | mcem | avb ...` and `tapir train --resume RUN_DIR`: the flags become a
// VaeRunConfig (models/vae/train.hpp), which trains into a run directory.
#include <fmt/format.h>

#include <array>
#include <filesystem>

#include "models/cli/commands.hpp"
#include "models/cli/progress.hpp"
#include "models/experiments/report.hpp"
#include "models/priors/make_prior.hpp"
#include "models/train/run.hpp"

namespace tapir::cli {

namespace {

namespace fs = std::filesystem;

struct TrainVaeArgs {
  std::string dataset = "mnist", data, out, binarize, optimizer, activation, likelihood, estimator, objective;
  std::string prior = "normal";
  std::size_t latent = 20, latent2 = 0, batch = 0, mc_samples = 0, iwae_k = 0, train_eval_size = 0;
  std::vector<std::size_t> hidden, hidden2;
  long long samples = 0, eval_every = 0, warmup = 0;
  double lr = 0, beta = 1, weight_decay = -1, init_std = 0.01, adagrad_accumulator = -1;
  std::string frey_split = "random";
  std::size_t ais_points = 200, ais_steps = 100, ais_chains = 4;
  std::uint64_t seed = 1;
};

void add_train_vae_options(CLI::App* c, TrainVaeArgs& a) {
  c->add_option("--dataset", a.dataset, "mnist | fashion-mnist | frey | binarized-mnist")
      ->check(CLI::IsMember({"mnist", "fashion-mnist", "frey", "binarized-mnist"}))
      ->capture_default_str();
  c->add_option("--data", a.data, "directory with the dataset's files under their usual names")->required();
  c->add_option("--out", a.out, "run directory to create")->required();
  c->add_option("--latent", a.latent, "N_z, the latent dimension (at most 65536)")
      ->transform(kPositiveCount)
      ->capture_default_str();
  c->add_option("--hidden", a.hidden,
                "hidden layer sizes, e.g. 500 or 400,400 (default: 500 MNIST, 200 Frey; each at most 65536)")
      ->delimiter(',')
      ->transform(kPositiveCount);
  c->add_option("--prior", a.prior, "p(z): normal | mog:K (learnable mixture of K Gaussians) | vamp:K (VampPrior)")
      ->check([](const std::string& v) {
        try {
          models::check_prior_spec(v);
          return std::string();
        } catch (const Error& e) {
          return std::string(e.what());
        }
      })
      ->capture_default_str();
  c->add_option("--latent2", a.latent2, "a second stochastic layer of this size (IWAE paper: 50; default: none)")
      ->transform(kPositiveCount);
  c->add_option("--hidden2", a.hidden2, "hidden layers between the two stochastic layers (default 100,100)")
      ->delimiter(',')
      ->transform(kPositiveCount);
  c->add_option("--batch", a.batch, "minibatch size M (default 100; at most 10^6)")->transform(kPositiveCount);
  c->add_option("--samples", a.samples, "training samples to process in all (default 10^7; at most 10^15)")
      ->transform(kPositiveCount);
  c->add_option("--optimizer", a.optimizer, "adagrad (default) | adam")->check(CLI::IsMember({"adagrad", "adam"}));
  c->add_option("--lr", a.lr, "step size (default: Adagrad 0.02, Adam 1e-3)")->check(kPositive);
  c->add_option("--binarize", a.binarize, "none | threshold | dynamic (default: dynamic MNIST, none Frey)")
      ->check(CLI::IsMember({"none", "threshold", "dynamic", "static"}));
  c->add_option("--eval-every", a.eval_every, "samples between evaluations (default: 8 per decade, log spaced)")
      ->transform(kPositiveCount);
  c->add_option("--train-eval-size", a.train_eval_size, "training points in the train bound (default: all)")
      ->transform(kCount);
  c->add_option("--seed", a.seed, "seed of every generator of the run")->transform(kCount)->capture_default_str();
  c->add_option("--activation", a.activation, "tanh (default) | relu | softplus | sigmoid | elu | leaky_relu");
  c->add_option("--likelihood", a.likelihood, "bernoulli | gaussian | continuous-bernoulli (default by dataset)")
      ->check(CLI::IsMember({"bernoulli", "gaussian", "continuous-bernoulli"}));
  c->add_option("--estimator", a.estimator,
                "SGVB estimator: auto (default: B where the KL has a closed form, else A) | B (analytic KL) | A (Monte "
                "Carlo)")
      ->check(CLI::IsMember({"auto", "A", "B"}));
  c->add_option("--mc-samples", a.mc_samples, "L, samples of z per data point (default 1; at most 10^5)")
      ->transform(kPositiveCount);
  c->add_option("--objective", a.objective, "elbo (default) | iwae")->check(CLI::IsMember({"elbo", "iwae"}));
  c->add_option("--iwae-k", a.iwae_k, "K of the IWAE objective (default 5; at most 10^5)")->transform(kPositiveCount);
  c->add_option("--beta", a.beta, "weight of the KL term (1: the bound)")->check(kNonNegative)->capture_default_str();
  c->add_option("--warmup", a.warmup, "samples over which beta ramps up from 0 (KL warm-up)")->transform(kCount);
  c->add_option("--weight-decay", a.weight_decay, "L2 on weight matrices (default: the paper's N(0,I) prior, 1/N)")
      ->check(kNonNegative);
  c->add_option("--frey-split", a.frey_split,
                "Frey Face's 1765/200 split: random (default; a fixed shuffle, as the authors' code) | contiguous "
                "(the last 200 frames)")
      ->check(CLI::IsMember({"random", "contiguous"}));
  c->add_option("--adagrad-accumulator", a.adagrad_accumulator,
                "Adagrad's starting accumulator for the batch-averaged loss (default: 0.01/M^2, the authors' 0.01 "
                "on their batch-summed gradient)")
      ->check(kNonNegative);
  c->add_option("--ais-points", a.ais_points, "MCEM's curve: AIS log p(x) on this many points of each split")
      ->transform(kPositiveCount)
      ->capture_default_str();
  c->add_option("--ais-steps", a.ais_steps, "MCEM's curve: AIS temperatures")
      ->transform(kPositiveCount)
      ->capture_default_str();
  c->add_option("--ais-chains", a.ais_chains, "MCEM's curve: AIS chains per point")
      ->transform(kPositiveCount)
      ->capture_default_str();
  c->add_option("--init-std", a.init_std, "initial weights ~ N(0, std^2) (0: PyTorch's default init; at most 10)")
      ->check(kNonNegative)
      ->capture_default_str();
}

void add_avb_options(CLI::App* c, models::AvbOptions& o) {
  c->add_flag("--adaptive-contrast", o.adaptive_contrast,
              "T tells (z - mu(x))/sigma(x) from N(0, I) instead of z from the prior (AVB 3.3)");
  c->add_option("--noise-dim", o.noise_dim, "dimension of the encoder's noise eps")
      ->transform(kPositiveCount)
      ->capture_default_str();
  c->add_option("--disc-steps", o.disc_steps, "T updates per encoder/decoder update")
      ->transform(kPositiveCount)
      ->capture_default_str();
  c->add_option("--disc-lr", o.disc_lr, "T's step size (default: 5 x --lr)")->check(kPositive);
  c->add_option("--disc-hidden", o.disc_hidden, "T's hidden layers (default: --hidden)")
      ->delimiter(',')
      ->transform(kPositiveCount);
  c->add_option("--disc-activation", o.disc_activation, "T's nonlinearity")
      ->check(CLI::IsMember({"tanh", "relu", "softplus", "elu", "leaky_relu"}))
      ->capture_default_str();
  c->add_option("--contrast-samples", o.contrast_samples,
                "with --adaptive-contrast: samples of z per x for mu(x) and sigma(x)")
      ->transform(kPositiveCount)
      ->capture_default_str();
}

/// The paper's setup for the dataset and N_z, with every flag given on the line in place of its default.
models::VaeRunConfig run_config_from(const CLI::App* c, const TrainVaeArgs& a) {
  models::VaeRunConfig r = models::paper_vae_setup(a.dataset, a.latent);
  const auto given = [&](const char* name) { return c->get_option(name)->count() > 0; };
  auto& t = r.train;
  t.data_dir = a.data;
  if (given("--hidden")) r.model.hidden = a.hidden;
  if (given("--batch")) t.batch = a.batch;
  if (given("--samples")) t.samples = a.samples;
  if (given("--optimizer")) {
    t.optimizer = a.optimizer;
    if (a.optimizer == "adam") t.lr = 1e-3;
  }
  if (given("--lr")) t.lr = a.lr;
  if (given("--binarize")) t.binarize = a.binarize;
  if (given("--eval-every")) t.eval_every = a.eval_every;
  if (given("--train-eval-size")) t.train_eval_size = a.train_eval_size;
  t.seed = a.seed;
  if (given("--activation")) r.model.activation = nn::activation_from_string(a.activation);
  if (given("--likelihood")) r.model.likelihood = models::likelihood_from_string(a.likelihood);
  if (given("--estimator"))
    r.model.estimator = a.estimator == "B"   ? models::Estimator::analytic_kl
                        : a.estimator == "A" ? models::Estimator::monte_carlo
                                             : models::Estimator::automatic;
  if (given("--prior")) r.model.prior = a.prior;
  if (given("--latent2")) r.model.z2_dim = a.latent2;
  if (given("--hidden2")) r.model.hidden2 = a.hidden2;
  if (given("--mc-samples")) r.model.samples = a.mc_samples;
  if (given("--objective")) t.objective = a.objective;
  if (given("--iwae-k")) t.iwae_k = a.iwae_k;
  t.beta = a.beta;
  t.warmup = a.warmup;
  t.weight_decay = a.weight_decay;
  t.adagrad_accumulator = a.adagrad_accumulator;
  t.frey_split = a.frey_split;
  r.model.init_std = a.init_std;
  t.ais_eval_size = a.ais_points;
  t.ais_steps = a.ais_steps;
  t.ais_chains = a.ais_chains;
  return r;
}

/// Trains with a progress display; after Ctrl-C says how to resume, else prints where the run ended.
int run_training(const std::function<bool(const models::ProgressFn&)>& train, const std::string& progress_mode,
                 const std::string& run_dir) {
  Progress progress(Progress::mode_from(progress_mode), "");
  const bool finished = train([&](const models::TrainProgress& p) { progress(p); });
  progress.done();
  if (!finished) return interrupted("tapir train --resume " + run_dir);
  const auto curve = models::read_curve((fs::path(run_dir) / "curve.csv").string());
  if (!curve.empty())
    std::printf("%s: %lld samples, train bound %.2f, test bound %.2f, %s of training\n", run_dir.c_str(),
                curve.back().samples, curve.back().train_elbo, curve.back().test_elbo,
                models::experiments::format_duration(curve.back().seconds).c_str());
  return 0;
}

/// One model `tapir train` knows: its subcommand, the method its runs train with, and its flags.
struct Model {
  const char* name;
  const char* method;  // VaeTrainConfig::method
  const char* description;
  TrainVaeArgs args;
  CLI::App* app = nullptr;
};

/// The flags of `tapir train`: --resume's, and one set per model.
struct TrainArgs {
  std::string resume_dir, resume_data;
  long long resume_samples = 0;
  std::array<Model, 4> models = {{
      {"vae", "aevb", "the Kingma–Welling VAE (defaults: the paper's setup)", {}},
      {"wake-sleep", "wake-sleep", "the paper's baseline: wake-sleep with the VAE's networks", {}},
      {"mcem",
       "mcem",
       "Monte Carlo EM (App. E): HMC posterior samples, no encoder; its curve holds AIS log p(x) estimates",
       {}},
      {"avb",
       "avb",
       "Adversarial Variational Bayes: an implicit encoder z = f(x, eps) and a discriminator T(x, z)",
       {}},
  }};
  models::AvbOptions avb_options;
};

/// The run `tapir train MODEL ...` starts: the model's flags over the paper's setup; AVB's options, and
/// Adam unless another optimizer was asked for (T is a GAN-style discriminator, trained with Adam as the
/// authors do).
models::VaeRunConfig model_run_config(const Model& m, const models::AvbOptions& avb_options) {
  auto config = run_config_from(m.app, m.args);
  config.train.method = m.method;
  if (config.train.method == "avb") {
    config.train.avb = avb_options;
    if (!m.app->get_option("--optimizer")->count()) {
      config.train.optimizer = "adam";
      if (!m.app->get_option("--lr")->count()) config.train.lr = 1e-3;
    }
  }
  return config;
}

}  // namespace

Command add_train_commands(CLI::App& app, const Globals& globals) {
  auto a = std::make_shared<TrainArgs>();
  auto* train = app.add_subcommand("train", "train a model into a run directory, or resume one");
  train->add_option("--resume", a->resume_dir, "continue the run in this directory from its last checkpoint");
  train->add_option("--samples", a->resume_samples, "with --resume: raise the run's sample budget")
      ->transform(kPositiveCount);
  train->add_option("--data", a->resume_data, "with --resume: where the data is now");
  for (auto& m : a->models) {
    m.app = train->add_subcommand(m.name, m.description);
    add_train_vae_options(m.app, m.args);
    if (std::string(m.method) == "avb") add_avb_options(m.app, a->avb_options);
  }
  train->require_subcommand(0, 1);

  const auto run = [a, &globals, train]() -> int {
    const Model* chosen = nullptr;
    for (const auto& m : a->models)
      if (m.app->parsed()) chosen = &m;
    if (!a->resume_dir.empty()) {
      if (chosen) throw Error("--resume takes its settings from the run: give no model after it");
      return run_training(
          [&](const models::ProgressFn& fn) {
            return models::resume_vae(a->resume_dir, a->resume_samples, a->resume_data, fn, &g_stop);
          },
          globals.progress, a->resume_dir);
    }
    if (!chosen) throw Error("train: name a model (tapir train vae|wake-sleep|mcem|avb ...) or give --resume RUN_DIR");
    if (train->get_option("--samples")->count() || train->get_option("--data")->count())
      throw Error("train: put --samples and --data after the model name (tapir train vae --data DIR ...)");
    const auto config = model_run_config(*chosen, a->avb_options);
    return run_training(
        [&](const models::ProgressFn& fn) { return models::train_vae(config, chosen->args.out, fn, &g_stop); },
        globals.progress, chosen->args.out);
  };
  return {train, run, true};
}

}  // namespace tapir::cli
