// tapir/models/train/run.hpp — tapir's own runs (`tapir train`, `eval`, `reproduce`) as a library API: a
// model built from a VaeRunConfig, trained by the Trainer with the configured Method, and loaded back
// from its run directory. Includes what a caller of the run API needs.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "models/avb/avb.hpp"
#include "models/core/latent_model.hpp"
#include "models/run/config.hpp"
#include "models/run/curve.hpp"
#include "models/run/evaluate.hpp"
#include "models/train/trainer.hpp"
#include "models/vae/two_layer_vae.hpp"
#include "models/vae/vae.hpp"

namespace tapir::models {

/// The model a VaeConfig describes: a Vae, or a TwoLayerVae when z2_dim > 0.
std::unique_ptr<LatentVariableModel<float>> make_model(const VaeConfig& config, Rng& rng);

/// Trains a new run in `run_dir` (created; it must not already hold a run: see holds_run).
/// The directory is locked while training (models/train/run_lock.hpp).
/// `stop`, when set by another thread or a signal handler, ends training after the current step
/// with a last checkpoint; returns false then, true when the run reached its sample budget.
bool train_vae(const VaeRunConfig& config, const std::string& run_dir, const ProgressFn& progress = {},
               const std::atomic<bool>* stop = nullptr);
/// Continues the run in `run_dir` from its last checkpoint, under the run's lock (another process
/// training it: "'RUN' is in use by process N"); a run with a config.json but no checkpoint yet starts
/// over from its configuration. `samples` > 0 raises the budget;
/// `data_dir` non-empty overrides where the data is. Returns as train_vae does. Runs written before
/// the parts refactor (old parameter names) resume too.
bool resume_vae(const std::string& run_dir, long long samples = 0, const std::string& data_dir = "",
                const ProgressFn& progress = {}, const std::atomic<bool>* stop = nullptr);

/// The run's config.json; throws naming the path when missing or malformed.
VaeRunConfig load_vae_run_config(const std::string& run_dir);
/// The run's model from checkpoint_<which>.safetensors ("best" or "last").
std::unique_ptr<LatentVariableModel<float>> load_run_model(const std::string& run_dir,
                                                           const std::string& which = "best");
/// The same for a one-layer VAE run (throws naming the run otherwise).
std::unique_ptr<Vae<float>> load_vae_run_model(const std::string& run_dir, const std::string& which = "best");

/// AVB's bound estimate (T in place of log q − log p) averaged over the rows of x, as evaluate_model's.
double evaluate_avb(const Avb<float>& avb, const Vae<float>& vae, const Array<float>& x, Rng& rng,
                    std::size_t batch = 1000, Rng* binarize = nullptr);
/// The same with its reconstruction and T's KL estimate (Avb::elbo_terms); no active units.
BoundEvaluation evaluate_avb_terms(const Avb<float>& avb, const Vae<float>& vae, const Array<float>& x, Rng& rng,
                                   std::size_t batch = 1000, Rng* binarize = nullptr);
/// The implicit encoder and discriminator of an AVB run ("last" or "best", saved with that checkpoint).
std::unique_ptr<Avb<float>> load_avb_run_networks(const std::string& run_dir, const std::string& which = "last");

}  // namespace tapir::models
