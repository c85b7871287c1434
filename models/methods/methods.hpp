// tapir/models/methods/methods.hpp — the built-in training methods (one file each) and the one place
// that maps config.json's "method" to them.
//
//   aevb        SGVB on model.elbo() (AEVB §2.3), or model.iwae() with objective "iwae"      aevb.cpp
//   wake-sleep  wake and sleep phases with the VAE's recognition model (needs a Vae)          wake_sleep.cpp
//   mcem        Monte Carlo EM with HMC (AEVB App. E); its curve is AIS                       mcem.cpp
//   avb         Adversarial Variational Bayes (needs a Vae: its decoder)                      avb.cpp
#pragma once

#include <memory>

#include "models/run/config.hpp"
#include "models/run/method.hpp"
#include "nn/optim/adagrad.hpp"
#include "nn/optim/optimizer.hpp"

namespace tapir::models {

/// Adagrad as the AEVB authors ran it, for tapir's minibatch-averaged loss: their accumulator start 0.01
/// and ε belong to the minibatch-*summed* gradient M g, so here s₀ = 0.01/M² and ε = 10⁻¹⁰/M give the
/// same parameters step for step (tests/models/test_train.cpp checks it). `accumulator` ≥ 0 overrides s₀.
/// Weight decay on weight matrices only (the prior's gradient, as the authors' code applied it).
optim::AdagradOptions aevb_adagrad_options(double lr, std::size_t batch, double weight_decay, double accumulator = -1);

/// The optimizer of a run (config.optimizer, config.lr unless `lr` > 0) over `params`. With `decay`,
/// the paper's N(0, I) prior on the weights as weight decay 1/N_train (config.weight_decay < 0) — on
/// weight matrices only.
std::unique_ptr<optim::Optimizer<float>> make_optimizer(const VaeTrainConfig& config,
                                                        const std::vector<Parameter<float>*>& params,
                                                        std::size_t n_train, double lr = 0, bool decay = true);

std::unique_ptr<Method> make_aevb(LatentVariableModel<float>& model, const VaeTrainConfig& config, std::size_t n_train);
std::unique_ptr<Method> make_wake_sleep(LatentVariableModel<float>& model, const VaeTrainConfig& config,
                                        std::size_t n_train);
/// `rng` starts the persistent chains (one per training point) from the prior.
std::unique_ptr<Method> make_mcem(LatentVariableModel<float>& model, const VaeTrainConfig& config, std::size_t n_train,
                                  Rng& rng);
/// `init_rng` initialises AVB's encoder and discriminator.
std::unique_ptr<Method> make_avb(LatentVariableModel<float>& model, const VaeTrainConfig& config, std::size_t n_train,
                                 Rng& init_rng);

/// config.method's method for `model`. `init_rng` initialises networks a method owns (AVB's); `rng`
/// is the run's generator (MCEM's chains start from it).
std::unique_ptr<Method> make_method(LatentVariableModel<float>& model, const VaeTrainConfig& config,
                                    std::size_t n_train, Rng& init_rng, Rng& rng);

}  // namespace tapir::models
