// `tapir eval RUN_DIR`: a run's average bound (with its reconstruction and KL terms and the active units
// where the model gives them) and estimates of log p(x) (importance sampling, AIS, the App. D estimator)
// on a split, printed as one JSON object. A result that is not finite is printed as a
// string ("-inf", "nan") and the command exits 1 with a one-line error naming it.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "autodiff/version.hpp"
#include "models/cli/commands.hpp"
#include "models/inference/latent_inference.hpp"
#include "models/train/run.hpp"

namespace tapir::cli {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

struct EvalArgs {
  std::string run_dir, split = "test", which = "last";
  std::size_t k = 5000, limit = 0;
  std::uint64_t seed = 1;
  std::size_t ais_steps = 0, ais_chains = 16;
  std::size_t harmonic_samples = 0, harmonic_burn_in = 200, harmonic_chains = 1;
};

int run_eval(EvalArgs a, bool k_given) {
  const auto config = models::load_vae_run_config(a.run_dir);
  const auto model = models::load_run_model(a.run_dir, a.which);
  const auto& vae = *model;
  auto d = models::load_vae_split(config.train, models::data::split_from_string(a.split));
  const Array<float> x = a.limit > 0 ? d.first(a.limit) : d.x();
  Rng rng(a.seed);
  const bool avb_run = config.train.method == "avb";
  if (avb_run && a.k > 0 && k_given)
    throw Error("an AVB encoder has no density: -k has no importance-sampled estimate; use --ais-steps");
  if (avb_run) a.k = 0;
  auto e = avb_run ? models::ModelEvaluation{}
                   : models::evaluate_model(vae, x, a.k, rng, models::kEvaluationBatch, nullptr,
                                            models::evaluation_rows(config.model));
  if (avb_run) {  // the bound with T in place of log q − log p (the Vae's own Gaussian encoder is unused)
    const auto start = Clock::now();
    const auto avb = models::load_avb_run_networks(a.run_dir, a.which);
    const auto b = models::evaluate_avb_terms(*avb, dynamic_cast<const models::Vae<float>&>(vae), x, rng);
    e.elbo = b.elbo;
    e.reconstruction = b.reconstruction;
    e.kl = b.kl;
    e.n = x.shape()[0];
    e.seconds = seconds_since(start);
  }
  nlohmann::json j = {
      {"run", a.run_dir}, {"checkpoint", a.which},     {"split", a.split},     {"n", e.n},
      {"elbo", e.elbo},   {"importance_samples", a.k}, {"seconds", e.seconds}, {"binarization", d.binarization}};
  j["log_likelihood"] = a.k > 0 ? nlohmann::json(e.log_likelihood) : nlohmann::json(nullptr);
  j["tapir"] = tapir::version_string();  // the code that measured it (a run's config.json names the one that trained)
  // The bound's terms (elbo = reconstruction − kl) and the split's active units; null: not available.
  const auto or_null = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  j["reconstruction"] = or_null(e.reconstruction);
  j["kl"] = or_null(e.kl);
  j["active_units"] = or_null(e.active_units);
  if (avb_run) j["elbo_estimator"] = config.train.avb.adaptive_contrast ? "AVB T (adaptive contrast)" : "AVB T";
  if (a.ais_steps > 0) {  // the decoder's marginal likelihood by AIS, with HMC transitions (no encoder)
    models::AisOptions ao;
    ao.steps = a.ais_steps;
    ao.chains = a.ais_chains;
    const auto start = Clock::now();
    Rng ais_rng(a.seed + 1);
    const auto r = models::vae_ais(vae, x, ao, ais_rng);
    j["ais_log_likelihood"] = xt::mean(r.log_marginal)();
    j["ais_steps"] = a.ais_steps;
    j["ais_chains"] = a.ais_chains;
    j["ais_acceptance"] = r.acceptance;
    j["ais_seconds"] = seconds_since(start);
  }
  if (a.harmonic_samples > 0) {  // App. D: HMC posterior samples, a fitted Gaussian, the harmonic-mean average
    if (a.harmonic_samples < 2) throw Error("--hmc-harmonic needs at least 2 samples per point");
    if (config.model.z_dim >= 5)
      std::fprintf(stderr, "tapir: warning: the App. D estimator is meant for N_z < 5 (this run has %zu)\n",
                   config.model.z_dim);
    models::HarmonicOptions ho;
    ho.samples = a.harmonic_samples;
    ho.burn_in = a.harmonic_burn_in;
    const auto start = Clock::now();
    Rng h_rng(a.seed + 2);
    const auto r = models::vae_harmonic(vae, x, ho, h_rng, a.harmonic_chains);
    j["hmc_harmonic_log_likelihood"] = xt::mean(r.log_marginal)();
    j["hmc_harmonic_samples"] = r.log_ratios.shape()[0];
    j["hmc_harmonic_chains"] = a.harmonic_chains;
    j["hmc_harmonic_burn_in"] = a.harmonic_burn_in;
    j["hmc_harmonic_acceptance"] = r.acceptance;
    j["hmc_harmonic_seconds"] = seconds_since(start);
  }
  // JSON has no -inf or nan (nlohmann would print null): such a result is printed as the string "-inf",
  // "inf" or "nan", and the command fails, so no script takes a diverged model's numbers for results.
  // (The bound's terms are not named: when one is not finite, so is the bound they split.)
  std::vector<std::string> not_finite;
  for (auto& [key, value] : j.items())
    if (value.is_number_float() && !std::isfinite(value.get<double>())) {
      const double v = value.get<double>();
      value = std::isnan(v) ? "nan" : v < 0 ? "-inf" : "inf";
      if (key != "reconstruction" && key != "kl")
        not_finite.push_back(fmt::format("{} = {}", key, value.get<std::string>()));
    }
  std::printf("%s\n", j.dump().c_str());
  if (!not_finite.empty())
    throw Error(fmt::format("'{}' ({} checkpoint, {} split): {} is not finite: the model diverged (see its curve.csv)",
                            a.run_dir, a.which, a.split, fmt::join(not_finite, ", ")));
  return 0;
}

}  // namespace

Command add_eval_command(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  auto* eval = app.add_subcommand("eval", "average bound and importance-sampled log p(x) of a run, as JSON");
  eval->add_option("run", a->run_dir, "run directory")->required();
  eval->add_option("--split", a->split, "train | test")->check(CLI::IsMember({"train", "test"}))->capture_default_str();
  auto* k = eval->add_option("--importance-samples,-k", a->k, "K of the IWAE estimate of log p(x) (0: bound only)")
                ->transform(kCount)
                ->check(at_most(10'000'000, "-k"))
                ->capture_default_str();
  eval->add_option("--checkpoint", a->which, "best | last")
      ->check(CLI::IsMember({"best", "last"}))
      ->capture_default_str();
  eval->add_option("--limit", a->limit, "only the first N points of the split (0: all)")->transform(kCount);
  eval->add_option("--seed", a->seed, "seed of the evaluation's draws")->transform(kCount)->capture_default_str();
  eval->add_option("--ais-steps", a->ais_steps, "also estimate log p(x) by AIS with this many temperatures (0: no)")
      ->transform(kCount)
      ->check(at_most(1'000'000, "--ais-steps"));
  eval->add_option("--ais-chains", a->ais_chains, "AIS chains per data point")
      ->transform(kPositiveCount)
      ->check(at_most(10'000, "--ais-chains"))
      ->capture_default_str();
  eval->add_option("--hmc-harmonic", a->harmonic_samples,
                   "also estimate log p(x) by the AEVB paper's App. D estimator with this many HMC posterior "
                   "samples per point (the paper: 50; meant for N_z < 5; 0: no)")
      ->transform(kCount)
      ->check(at_most(10'000'000, "--hmc-harmonic"));
  eval->add_option("--hmc-burn-in", a->harmonic_burn_in, "--hmc-harmonic: HMC transitions before the first sample")
      ->transform(kCount)
      ->check(at_most(10'000'000, "--hmc-burn-in"))
      ->capture_default_str();
  eval->add_option("--hmc-chains", a->harmonic_chains, "--hmc-harmonic: chains per point, their samples pooled")
      ->transform(kPositiveCount)
      ->check(at_most(10'000, "--hmc-chains"))
      ->capture_default_str();
  return {eval, [a, k] { return run_eval(*a, k->count() > 0); }};
}

}  // namespace tapir::cli
