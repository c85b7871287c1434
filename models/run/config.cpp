// tapir/models/run/config.cpp — the run configuration as JSON, its checks, and the paper's setups.
#include "models/run/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "models/core/json_fields.hpp"
#include "models/priors/make_prior.hpp"

namespace tapir::models {

nlohmann::json VaeTrainConfig::to_json() const {
  nlohmann::json j = {{"method", method},
                      {"dataset", dataset},
                      {"data_dir", data_dir},
                      {"frey_split", frey_split},
                      {"binarize", binarize},
                      {"batch", batch},
                      {"samples", samples},
                      {"optimizer", optimizer},
                      {"lr", lr},
                      {"weight_decay", weight_decay},
                      {"adagrad_accumulator", adagrad_accumulator},
                      {"objective", objective},
                      {"iwae_k", iwae_k},
                      {"beta", beta},
                      {"warmup", warmup},
                      {"eval_every", eval_every},
                      {"train_eval_size", train_eval_size},
                      {"seed", seed},
                      {"ais_eval_size", ais_eval_size},
                      {"ais_steps", ais_steps},
                      {"ais_chains", ais_chains},
                      {"curve_metric", curve_metric},
                      {"train_size", train_size}};
  if (method == "avb") j["avb"] = avb.to_json();
  return j;
}

VaeTrainConfig VaeTrainConfig::from_json(const nlohmann::json& j) {
  VaeTrainConfig c;
  c.frey_split = "contiguous";  // runs written before the key existed used the contiguous split
  try {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      if (k == "method")
        c.method = it->get<std::string>();
      else if (k == "dataset")
        c.dataset = it->get<std::string>();
      else if (k == "data_dir")
        c.data_dir = it->get<std::string>();
      else if (k == "frey_split")
        c.frey_split = it->get<std::string>();
      else if (k == "binarize")
        c.binarize = it->get<std::string>();
      else if (k == "batch")
        c.batch = json_fields::count(*it, k);
      else if (k == "samples")
        c.samples = json_fields::signed_count(*it, k);
      else if (k == "optimizer")
        c.optimizer = it->get<std::string>();
      else if (k == "lr")
        c.lr = json_fields::real(*it, k);
      else if (k == "weight_decay")
        c.weight_decay = json_fields::real(*it, k);
      else if (k == "adagrad_accumulator")
        c.adagrad_accumulator = json_fields::real(*it, k);
      else if (k == "objective")
        c.objective = it->get<std::string>();
      else if (k == "iwae_k")
        c.iwae_k = json_fields::count(*it, k);
      else if (k == "beta")
        c.beta = json_fields::real(*it, k);
      else if (k == "warmup")
        c.warmup = json_fields::signed_count(*it, k);
      else if (k == "eval_every")
        c.eval_every = json_fields::signed_count(*it, k);
      else if (k == "train_eval_size")
        c.train_eval_size = json_fields::count(*it, k);
      else if (k == "ais_eval_size")
        c.ais_eval_size = json_fields::count(*it, k);
      else if (k == "ais_steps")
        c.ais_steps = json_fields::count(*it, k);
      else if (k == "ais_chains")
        c.ais_chains = json_fields::count(*it, k);
      else if (k == "curve_metric")
        c.curve_metric = it->get<std::string>();
      else if (k == "train_size")
        c.train_size = json_fields::count(*it, k);
      else if (k == "avb")
        c.avb = AvbOptions::from_json(*it);
      else if (k == "seed")
        c.seed = json_fields::count(*it, k);
      else
        throw Error(fmt::format("unknown key '{}'", k));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("training config: {}", e.what()));
  } catch (const Error& e) {
    throw Error(fmt::format("training config: {}", e.what()));
  }
  return c;
}

void VaeTrainConfig::validate(bool named_dataset) const {
  const auto fail = [](const std::string& m) { throw Error(m); };
  if (method != "aevb" && method != "wake-sleep" && method != "mcem" && method != "avb")
    fail(fmt::format("method '{}': expected aevb, wake-sleep, mcem or avb", method));
  if (method == "avb") avb.validate();
  if (method != "aevb" && (objective != "elbo" || warmup > 0 || beta != 1.0))
    fail(fmt::format("{} has no --objective, --warmup or --beta: those shape the AEVB bound", method));
  if (curve_metric != "bound" && curve_metric != "ais")
    fail(fmt::format("curve metric '{}': expected bound or ais", curve_metric));
  if ((method == "mcem" || curve_metric == "ais") && (ais_eval_size == 0 || ais_steps == 0 || ais_chains == 0))
    fail("an AIS curve needs positive ais_eval_size, ais_steps and ais_chains");
  if (named_dataset && dataset != "mnist" && dataset != "fashion-mnist" && dataset != "frey" &&
      dataset != "binarized-mnist")
    fail(fmt::format("--dataset '{}': expected mnist, fashion-mnist, frey or binarized-mnist", dataset));
  if (frey_split != "random" && frey_split != "contiguous")
    fail(fmt::format("--frey-split '{}': expected random or contiguous", frey_split));
  if (binarize != "none" && binarize != "threshold" && binarize != "dynamic" && binarize != "static")
    fail(fmt::format("--binarize '{}': expected none, threshold or dynamic", binarize));
  if (named_dataset && (binarize == "static") != (dataset == "binarized-mnist"))
    fail(dataset == "binarized-mnist" ? "binarized-mnist is binarised already: use --binarize static"
                                      : "--binarize static is only for --dataset binarized-mnist");
  if (batch == 0) fail("--batch must be positive");
  if (samples <= 0) fail(fmt::format("--samples {} must be positive", samples));
  if (optimizer != "adagrad" && optimizer != "adam")
    fail(fmt::format("--optimizer '{}': expected adagrad or adam", optimizer));
  if (!(lr > 0) || !std::isfinite(lr)) fail(fmt::format("--lr {} must be a positive number", lr));
  if (std::isnan(adagrad_accumulator) || std::isinf(adagrad_accumulator))
    fail(fmt::format("--adagrad-accumulator {} must be a finite number (negative: the paper's 0.01/M²)",
                     adagrad_accumulator));
  if (objective != "elbo" && objective != "iwae")
    fail(fmt::format("--objective '{}': expected elbo or iwae", objective));
  if (objective == "iwae" && iwae_k == 0) fail("--iwae-k must be at least 1");
  if (objective == "iwae" && (warmup > 0 || beta != 1.0))
    fail("--beta and --warmup weight the ELBO's KL term, not IWAE");
  if (!(beta >= 0)) fail(fmt::format("--beta {} must be non-negative", beta));
  if (warmup < 0) fail("--warmup must be non-negative");
  if (eval_every < 0) fail("--eval-every must be non-negative (0: log-spaced)");
}

nlohmann::json VaeRunConfig::to_json() const {
  return {{"model", "vae"}, {"vae", model.to_json()}, {"train", train.to_json()}};
}

VaeRunConfig VaeRunConfig::from_json(const nlohmann::json& j) {
  const auto model = j.is_object() ? j.find("model") : j.end();
  if (!j.is_object() || model == j.end())
    throw Error("not a run configuration (expected {\"model\": \"vae\", \"vae\": ..., \"train\": ...})");
  if (*model != "vae")
    throw Error(fmt::format("a run of model {}: the tapir command reads its own VAE runs only (\"model\": \"vae\")",
                            model->dump()));
  if (!j.contains("vae"))
    throw Error(
        "no \"vae\" section (the network's layout), so the tapir command cannot rebuild the model: a run that a "
        "program of your own wrote through models::Trainer is read back by that program: build the model as for "
        "training, then nn::load_checkpoint and models::evaluate_model (docs/tutorial_new_model.md, sections 5 and 6)");
  if (!j.contains("train")) throw Error("no \"train\" section (the training configuration)");
  VaeRunConfig c{VaeConfig::from_json(j.at("vae")), VaeTrainConfig::from_json(j.at("train"))};
  check_combination(c);  // the same checks as the flags' (a config.json can be edited by hand)
  return c;
}

VaeRunConfig paper_vae_setup(const std::string& dataset, std::size_t latent) {
  VaeRunConfig r;
  r.train.dataset = dataset;
  r.model.z_dim = latent;
  if (dataset == "frey") {  // App. C.2: Gaussian decoder; 200 hidden units for the small Frey set
    r.model.x_dim = 560;
    r.model.hidden = {200};
    r.model.likelihood = Likelihood::gaussian;
    r.train.binarize = "none";
  } else {  // MNIST-shaped: Bernoulli decoder on binarised pixels, 500 hidden units
    r.model.x_dim = 784;
    r.model.hidden = {500};
    r.model.likelihood = Likelihood::bernoulli;
    r.train.binarize = dataset == "binarized-mnist" ? "static" : "dynamic";
    r.train.lr = 0.02;
  }
  return r;
}

namespace {
/// a · b, saturating at 2⁶⁴ − 1 (then above every limit).
std::uint64_t times(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r;
  return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}
std::uint64_t plus(std::uint64_t a, std::uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }

/// Floats of an MLP in → hidden… → out, the last layer twice (a Normal head's mean and log-variance).
std::uint64_t mlp_floats(std::uint64_t in, const std::vector<std::size_t>& hidden, std::uint64_t out) {
  std::uint64_t total = 0, prev = in;
  for (const std::size_t h : hidden) {
    total = plus(total, times(plus(prev, 1), h));
    prev = h;
  }
  return plus(total, times(2, times(plus(prev, 1), out)));
}

void at_most(std::uint64_t value, std::uint64_t limit, const char* what) {
  if (value > limit) throw Error(fmt::format("{} = {}: at most {} is allowed", what, value, limit));
}
void real_in(double value, double lo, double hi, const char* what) {
  if (!(value >= lo && value <= hi))
    throw Error(fmt::format("{} = {}: expected a number in [{}, {}]", what, value, lo, hi));
}
void widths(const std::vector<std::size_t>& layers, const char* what) {
  if (layers.size() > limits::kLayers)
    throw Error(fmt::format("{} lists {} layers: at most {} are allowed", what, layers.size(), limits::kLayers));
  for (const std::size_t h : layers) {
    if (h == 0) throw Error(fmt::format("{}: a layer of 0 units", what));
    at_most(h, limits::kWidth, what);
  }
}
}  // namespace

void check_limits(const VaeRunConfig& c) {
  const VaeConfig& m = c.model;
  const VaeTrainConfig& t = c.train;
  if (m.x_dim == 0 || m.z_dim == 0)
    throw Error("the data and latent dimensions (x_dim, --latent z_dim) must be positive");
  at_most(m.x_dim, limits::kWidth, "the data dimension (x_dim)");
  at_most(m.z_dim, limits::kWidth, "--latent (z_dim)");
  at_most(m.z2_dim, limits::kWidth, "--latent2 (z2_dim)");
  if (m.hidden.empty()) throw Error("--hidden (hidden) is empty: the VAE needs at least one hidden layer");
  widths(m.hidden, "--hidden (hidden)");
  if (m.z2_dim > 0 && m.hidden2.empty())
    throw Error("--hidden2 (hidden2) is empty: a second stochastic layer needs one");
  if (m.z2_dim > 0) widths(m.hidden2, "--hidden2 (hidden2)");
  if (m.samples == 0) throw Error("--mc-samples (samples) must be at least 1");
  at_most(m.samples, limits::kDraws, "--mc-samples (samples)");
  at_most(t.iwae_k, limits::kDraws, "--iwae-k (iwae_k)");
  at_most(t.batch, limits::kBatch, "--batch (batch)");
  real_in(m.init_std, 0, limits::kInitStd, "--init-std (init_std)");
  std::size_t components = 0;
  if (const auto colon = m.prior.find(':'); colon != std::string::npos) {
    check_prior_spec(m.prior);
    components = std::stoul(m.prior.substr(colon + 1));
    at_most(components, limits::kComponents, "the prior's K (--prior, prior)");
  }

  // All parameters, and one step's widest array.
  std::size_t widest = std::max(m.x_dim, m.z_dim);
  for (const std::size_t h : m.hidden) widest = std::max(widest, h);
  std::vector<std::size_t> reversed(m.hidden.rbegin(), m.hidden.rend());
  std::uint64_t floats = plus(mlp_floats(m.x_dim, m.hidden, m.z_dim), mlp_floats(m.z_dim, reversed, m.x_dim));
  if (m.z2_dim > 0) {
    for (const std::size_t h : m.hidden2) widest = std::max(widest, h);
    std::vector<std::size_t> reversed2(m.hidden2.rbegin(), m.hidden2.rend());
    floats = plus(floats, plus(mlp_floats(m.z_dim, m.hidden2, m.z2_dim), mlp_floats(m.z2_dim, reversed2, m.z_dim)));
  }
  if (m.prior.rfind("mog", 0) == 0) floats = plus(floats, times(components, plus(times(2, m.z_dim), 1)));
  if (m.prior.rfind("vamp", 0) == 0) floats = plus(floats, times(components, m.x_dim));
  std::uint64_t draws = std::max<std::uint64_t>(m.samples, t.objective == "iwae" ? t.iwae_k : 1);
  if (t.method == "avb") {
    const AvbOptions& a = t.avb;
    at_most(a.noise_dim, limits::kWidth, "--noise-dim (avb.noise_dim)");
    widths(a.encoder_hidden, "AVB's encoder layers (avb.encoder_hidden)");
    widths(a.disc_hidden, "--disc-hidden (avb.disc_hidden)");
    at_most(a.disc_steps, 1000, "--disc-steps (avb.disc_steps)");
    at_most(a.contrast_samples, limits::kDraws, "--contrast-samples (avb.contrast_samples)");
    real_in(a.disc_lr, 0, limits::kLr, "--disc-lr (avb.disc_lr)");
    real_in(a.contrast_eps, 1e-30, 1, "avb.contrast_eps");
    for (const std::size_t h : a.encoder_hidden) widest = std::max(widest, h);
    for (const std::size_t h : a.disc_hidden) widest = std::max(widest, h);
    widest = std::max(widest, m.x_dim + a.noise_dim);
    floats = plus(
        floats, plus(mlp_floats(m.x_dim + a.noise_dim, a.encoder_hidden.empty() ? m.hidden : a.encoder_hidden, m.z_dim),
                     mlp_floats(m.x_dim + m.z_dim, a.disc_hidden.empty() ? m.hidden : a.disc_hidden, 1)));
    if (a.adaptive_contrast) draws = std::max<std::uint64_t>(draws, a.contrast_samples);
  }
  if (floats > limits::kParameters)
    throw Error(fmt::format("the model would have {} parameters: at most {} are allowed (--hidden, --latent, --prior)",
                            floats, limits::kParameters));
  const std::uint64_t step = times(times(t.batch, draws), widest);
  if (step > limits::kStepFloats)
    throw Error(fmt::format(
        "one step would hold {} floats in its widest array (--batch {} × {} draws × {} units): at most {} are allowed",
        step, t.batch, draws, widest, limits::kStepFloats));

  at_most(static_cast<std::uint64_t>(std::max(0LL, t.samples)), limits::kSamples, "--samples (samples)");
  at_most(static_cast<std::uint64_t>(std::max(0LL, t.warmup)), limits::kSamples, "--warmup (warmup)");
  at_most(static_cast<std::uint64_t>(std::max(0LL, t.eval_every)), limits::kSamples, "--eval-every (eval_every)");
  at_most(t.ais_eval_size, limits::kAisPoints, "--ais-points (ais_eval_size)");
  at_most(t.ais_steps, limits::kAisSteps, "--ais-steps (ais_steps)");
  at_most(t.ais_chains, limits::kAisChains, "--ais-chains (ais_chains)");
  if (t.method == "mcem" || t.curve_metric == "ais") {
    const std::uint64_t ais = times(times(t.ais_eval_size, t.ais_chains), widest);
    if (ais > limits::kStepFloats)
      throw Error(fmt::format("AIS would hold {} floats (--ais-points {} × --ais-chains {} × {} units): at most {}",
                              ais, t.ais_eval_size, t.ais_chains, widest, limits::kStepFloats));
  }
  real_in(t.lr, 0, limits::kLr, "--lr (lr)");
  if (t.weight_decay >= 0) real_in(t.weight_decay, 0, limits::kWeightDecay, "--weight-decay (weight_decay)");
  real_in(t.beta, 0, limits::kBeta, "--beta (beta)");
  if (t.adagrad_accumulator >= 0)
    real_in(t.adagrad_accumulator, 0, limits::kAccumulator, "--adagrad-accumulator (adagrad_accumulator)");
}

/// Settings that are each valid but make no sense together.
void check_combination(const VaeRunConfig& c) {
  c.train.validate();
  check_limits(c);
  if (c.train.method == "avb" && (c.model.estimator == Estimator::monte_carlo || c.model.samples != 1))
    throw Error("AVB's bound is −T(x, z) + log p(x|z) from one z: --estimator and --mc-samples do not apply");
  check_prior_spec(c.model.prior);
  const bool two_layers = c.model.z2_dim > 0, normal_prior = c.model.prior == "normal";
  if (c.train.method == "avb" && (!normal_prior || two_layers))
    throw Error("AVB's discriminator contrasts q(z|x) with N(0, I): it needs --prior normal and one stochastic layer");
  if (c.train.method == "wake-sleep" && two_layers)
    throw Error("wake-sleep is implemented for one stochastic layer (drop --latent2)");
  if (c.model.estimator == Estimator::analytic_kl && (!normal_prior || two_layers))
    throw Error(
        fmt::format("estimator B (the analytic KL) needs a prior with a closed-form KL against q; '{}'{} has "
                    "none: use --estimator A or auto",
                    c.model.prior, two_layers ? " with two stochastic layers" : ""));
  const bool weighted_kl = c.train.beta != 1.0 || c.train.warmup > 0;
  if (weighted_kl && two_layers)
    throw Error(
        "--beta and --warmup weight a one-layer VAE's KL term (analytic, or Monte Carlo with estimator A); "
        "the two-layer bound does not split that way");
  if (c.model.likelihood != Likelihood::bernoulli && c.train.binarize != "none")
    throw Error(fmt::format("a {} decoder models grey levels: use --binarize none (its density on 0/1 pixels {})",
                            to_string(c.model.likelihood),
                            c.model.likelihood == Likelihood::gaussian ? "collapses" : "is unbounded"));
}

}  // namespace tapir::models
