// tapir/models/run/config.cpp — the run configuration as JSON, its checks, and the paper's setups.
#include "models/run/config.hpp"

#include <fmt/format.h>

#include <cmath>

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
        c.batch = it->get<std::size_t>();
      else if (k == "samples")
        c.samples = it->get<long long>();
      else if (k == "optimizer")
        c.optimizer = it->get<std::string>();
      else if (k == "lr")
        c.lr = it->get<double>();
      else if (k == "weight_decay")
        c.weight_decay = it->get<double>();
      else if (k == "adagrad_accumulator")
        c.adagrad_accumulator = it->get<double>();
      else if (k == "objective")
        c.objective = it->get<std::string>();
      else if (k == "iwae_k")
        c.iwae_k = it->get<std::size_t>();
      else if (k == "beta")
        c.beta = it->get<double>();
      else if (k == "warmup")
        c.warmup = it->get<long long>();
      else if (k == "eval_every")
        c.eval_every = it->get<long long>();
      else if (k == "train_eval_size")
        c.train_eval_size = it->get<std::size_t>();
      else if (k == "ais_eval_size")
        c.ais_eval_size = it->get<std::size_t>();
      else if (k == "ais_steps")
        c.ais_steps = it->get<std::size_t>();
      else if (k == "ais_chains")
        c.ais_chains = it->get<std::size_t>();
      else if (k == "curve_metric")
        c.curve_metric = it->get<std::string>();
      else if (k == "train_size")
        c.train_size = it->get<std::size_t>();
      else if (k == "avb")
        c.avb = AvbOptions::from_json(*it);
      else if (k == "seed")
        c.seed = it->get<std::uint64_t>();
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

void VaeTrainConfig::validate() const {
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
  if (dataset != "mnist" && dataset != "fashion-mnist" && dataset != "frey" && dataset != "binarized-mnist")
    fail(fmt::format("--dataset '{}': expected mnist, fashion-mnist, frey or binarized-mnist", dataset));
  if (frey_split != "random" && frey_split != "contiguous")
    fail(fmt::format("--frey-split '{}': expected random or contiguous", frey_split));
  if (binarize != "none" && binarize != "threshold" && binarize != "dynamic" && binarize != "static")
    fail(fmt::format("--binarize '{}': expected none, threshold or dynamic", binarize));
  if ((binarize == "static") != (dataset == "binarized-mnist"))
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
  if (!j.is_object() || j.value("model", "") != "vae" || !j.contains("vae") || !j.contains("train"))
    throw Error("not a VAE run configuration (expected {\"model\": \"vae\", \"vae\": ..., \"train\": ...})");
  return {VaeConfig::from_json(j.at("vae")), VaeTrainConfig::from_json(j.at("train"))};
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

/// Settings that are each valid but make no sense together.
void check_combination(const VaeRunConfig& c) {
  c.train.validate();
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
