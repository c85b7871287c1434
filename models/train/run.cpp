// tapir/models/train/run.cpp — tapir's own runs: models from their configuration, train / resume, loading.
#include "models/train/run.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "models/methods/methods.hpp"
#include "nn/checkpoint.hpp"
#include "nn/io/read_file.hpp"

namespace tapir::models {

namespace fs = std::filesystem;

namespace {
std::string path_in(const std::string& dir, const char* name) { return (fs::path(dir) / name).string(); }

/// Whether the curve at `path` has a line after its header (its header's length changed with its columns).
bool curve_has_rows(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return false;
  while (std::getline(in, line))
    if (!line.empty()) return true;
  return false;
}

/// Checkpoints of one-layer VAE runs written before the parts refactor use the old parameter names.
nn::ParameterRename rename_for(const VaeConfig& c) {
  if (c.z2_dim > 0) return {};
  return [l = c.likelihood](const std::string& name) { return legacy_vae_parameter_name(name, l); };
}

/// A trainer for `config` over `model`, whose networks were drawn from `init_rng` (the method's
/// networks continue from it, as they always have).
std::unique_ptr<Trainer> make_trainer(const VaeRunConfig& config, LatentVariableModel<float>& model,
                                      const std::string& run_dir, Rng& init_rng) {
  auto trainer = std::make_unique<Trainer>(
      config.train, model, run_dir, config.to_json(),
      [&](std::size_t n, Rng& rng) { return make_method(model, config.train, n, init_rng, rng); });
  trainer->set_checkpoint_rename(rename_for(config.model));
  return trainer;
}
/// The configuration `checkpoint` was written with must be the run's: checkpoints can be copied between
/// runs and config.json edited by hand. Every key both record must agree, except the budget and the
/// data's place (what --resume --samples and --data change).
void check_same_run(const std::string& checkpoint, const std::string& run_dir) {
  const auto file = nn::read_safetensors(checkpoint);
  if (file.f32.count("prior.pseudo_inputs") || file.f64.count("prior.pseudo_inputs"))
    throw Error(
        fmt::format("'{}' holds a VampPrior of tapir before 2026-11-29 (pseudo-inputs through σ, weight "
                    "decay on them), which this tapir does not run: train the run again",
                    checkpoint));
  const auto& meta = file.metadata;
  const auto it = meta.find("config");
  if (it == meta.end()) return;  // a checkpoint without a recorded configuration: nothing to compare
  nlohmann::json stored, current;
  try {
    stored = nlohmann::json::parse(it->second);
    std::ifstream in(path_in(run_dir, "config.json"));
    current = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("'{}': its recorded configuration is not JSON: {}", checkpoint, e.what()));
  }
  for (const char* part : {"vae", "train"}) {
    if (!stored.contains(part) || !current.contains(part) || !stored[part].is_object() || !current[part].is_object())
      continue;
    for (auto kv = stored[part].begin(); kv != stored[part].end(); ++kv) {
      if (std::string(part) == "train" && (kv.key() == "samples" || kv.key() == "data_dir")) continue;
      const auto other = current[part].find(kv.key());
      if (other == current[part].end() || *other == kv.value()) continue;
      throw Error(
          fmt::format("'{}' was written with {}.{} = {}, but config.json says {}: the checkpoint belongs to "
                      "another run, or config.json was edited",
                      checkpoint, part, kv.key(), kv.value().dump(), other->dump()));
    }
  }
}
}  // namespace

std::unique_ptr<LatentVariableModel<float>> make_model(const VaeConfig& config, Rng& rng) {
  if (config.z2_dim > 0) return std::make_unique<TwoLayerVae<float>>(config, rng);
  return std::make_unique<Vae<float>>(config, rng);
}

VaeRunConfig load_vae_run_config(const std::string& run_dir) {
  const std::string path = path_in(run_dir, "config.json");
  if (!fs::exists(path)) throw Error(fmt::format("'{}' is not a run directory (no config.json)", run_dir));
  check_regular_file(path);  // a directory or a FIFO is named as one
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("cannot open '{}'", path));
  try {
    return VaeRunConfig::from_json(nlohmann::json::parse(in));
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("'{}': {}", path, e.what()));
  } catch (const Error& e) {
    throw Error(fmt::format("'{}': {}", path, e.what()));
  }
}

std::unique_ptr<LatentVariableModel<float>> load_run_model(const std::string& run_dir, const std::string& which) {
  if (which != "best" && which != "last") throw Error(fmt::format("checkpoint '{}': expected best or last", which));
  const VaeRunConfig config = load_vae_run_config(run_dir);
  Rng rng(0);
  auto model = make_model(config.model, rng);
  const std::string path =
      path_in(run_dir, which == "best" ? "checkpoint_best.safetensors" : "checkpoint_last.safetensors");
  if (!fs::exists(path))
    throw Error(fmt::format("'{}' does not exist yet: the run has not reached its first evaluation", path));
  check_same_run(path, run_dir);
  nn::load_checkpoint<float>(path, *model, nullptr, rename_for(config.model));
  return model;
}

std::unique_ptr<Vae<float>> load_vae_run_model(const std::string& run_dir, const std::string& which) {
  auto model = load_run_model(run_dir, which);
  if (!dynamic_cast<Vae<float>*>(model.get()))
    throw Error(fmt::format("'{}' holds a {} model, not a one-layer VAE", run_dir, model->name()));
  return std::unique_ptr<Vae<float>>(static_cast<Vae<float>*>(model.release()));
}

bool train_vae(const VaeRunConfig& config, const std::string& run_dir, const ProgressFn& progress,
               const std::atomic<bool>* stop) {
  check_combination(config);
  VaeRunConfig c = config;
  if (c.train.data_dir.empty()) throw Error("no data directory given (--data DIR)");
  c.train.data_dir = fs::absolute(c.train.data_dir).lexically_normal().string();
  // Checked again under the run's lock; here, before the data is loaded, to fail fast.
  if (holds_run(run_dir))
    throw Error(fmt::format("'{}' already holds a run: continue it with --resume, or choose another --out", run_dir));
  Rng init_rng(c.train.seed);
  const auto model = make_model(c.model, init_rng);
  const auto trainer = make_trainer(c, *model, run_dir, init_rng);  // loads the data and checks it first
  return trainer->train(progress, stop);
}

bool resume_vae(const std::string& run_dir, long long samples, const std::string& data_dir, const ProgressFn& progress,
                const std::atomic<bool>* stop) {
  load_vae_run_config(run_dir);  // "not a run directory" before anything else
  // One writer per run: the lock comes before the run's files are read, so config.json, the weights
  // and the curve all come from this process.
  auto lock = std::make_unique<RunLock>(run_dir);
  VaeRunConfig c = load_vae_run_config(run_dir);
  const long long budget = c.train.samples;
  bool rewrite = false;
  if (samples > 0 && samples != c.train.samples) {
    c.train.samples = samples;
    rewrite = true;
  }
  if (!data_dir.empty()) {
    c.train.data_dir = fs::absolute(data_dir).lexically_normal().string();
    rewrite = true;
  }
  check_combination(c);
  Rng init_rng(c.train.seed);
  const auto model = make_model(c.model, init_rng);
  const auto trainer = make_trainer(c, *model, run_dir, init_rng);
  trainer->hold(std::move(lock));
  // A config.json without a checkpoint_last (tapir wrote config.json first until it came to follow the
  // first checkpoint): the run starts over from its configuration.
  const std::string last = path_in(run_dir, "checkpoint_last.safetensors");
  if (!fs::exists(last)) {
    // Unless the run had got further: then checkpoint_last was lost, and starting over would overwrite
    // its best checkpoint and its curve.
    const bool has_best = fs::exists(path_in(run_dir, "checkpoint_best.safetensors"));
    const bool has_rows = curve_has_rows(path_in(run_dir, "curve.csv"));
    if (has_best || has_rows)
      throw Error(
          fmt::format("'{}' has {} but no checkpoint_last.safetensors: the run is damaged (restore "
                      "checkpoint_last, or start a new run)",
                      run_dir, has_best ? "a checkpoint_best.safetensors" : "curve.csv rows"));
    return trainer->train(progress, stop);
  }
  check_same_run(last, run_dir);
  trainer->restore();
  // A finished run may have passed its budget by part of a batch: resuming it (to the same budget) is
  // nothing to do, not an error.
  if (trainer->samples() > c.train.samples && c.train.samples != budget)
    throw Error(fmt::format("'{}' has trained on {} samples already: --samples {} would not continue it", run_dir,
                            trainer->samples(), c.train.samples));
  if (rewrite) trainer->write_config();
  return trainer->run(progress, stop);
}

double evaluate_avb(const Avb<float>& avb, const Vae<float>& vae, const Array<float>& x, Rng& rng, std::size_t batch,
                    Rng* binarize) {
  return mean_over_rows(x, batch, binarize, [&](const Var<float>& xv) { return avb.elbo(vae, xv, rng); });
}

BoundEvaluation evaluate_avb_terms(const Avb<float>& avb, const Vae<float>& vae, const Array<float>& x, Rng& rng,
                                   std::size_t batch, Rng* binarize) {
  return mean_terms_over_rows(x, batch, binarize, [&](const Var<float>& xv) { return avb.elbo_terms(vae, xv, rng); });
}

std::unique_ptr<Avb<float>> load_avb_run_networks(const std::string& run_dir, const std::string& which) {
  if (which != "best" && which != "last") throw Error(fmt::format("checkpoint '{}': expected best or last", which));
  const VaeRunConfig config = load_vae_run_config(run_dir);
  if (config.train.method != "avb") throw Error(fmt::format("'{}' is a {} run, not AVB", run_dir, config.train.method));
  Rng rng(0);
  auto avb = std::make_unique<Avb<float>>(config.model, config.train.avb, rng);
  const std::string path = path_in(run_dir, which == "best" ? "avb_best.safetensors" : "avb_last.safetensors");
  if (!fs::exists(path))
    throw Error(fmt::format("'{}' does not exist yet: the run has not reached its first evaluation", path));
  nn::load_checkpoint<float>(path, *avb);
  return avb;
}

}  // namespace tapir::models
