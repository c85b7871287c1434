// tapir/models/methods/make_method.cpp — the run's optimizer, and config.method → a Method.
#include <fmt/format.h>

#include "models/methods/methods.hpp"
#include "nn/optim/adagrad.hpp"
#include "nn/optim/optim.hpp"

namespace tapir::models {

optim::AdagradOptions aevb_adagrad_options(double lr, std::size_t batch, double weight_decay, double accumulator) {
  // The authors' update is Adagrad on the bound summed over the minibatch, g_sum = M g, with the
  // accumulator from s₀ = 0.01:  θ ← θ + γ g_sum / (√(s₀ + Σ g_sum²) + ε) = θ + γ g / (√(s₀/M² + Σ g²) + ε/M).
  // tapir's loss is the minibatch average (g), so the same steps need s₀/M² and ε/M. Starting from 0.01
  // instead damps the first steps by up to √(0.01 + Σ g²)/√(0.01/M² + Σ g²) — M times at the start.
  const double m = double(batch);
  optim::AdagradOptions o;
  o.lr = lr;
  o.weight_decay = weight_decay;
  o.decay_matrices_only = true;  // the prior's gradient on the weight matrices only, as the authors' code
  o.initial_accumulator_value = accumulator >= 0 ? accumulator : 0.01 / (m * m);
  o.eps = optim::AdagradOptions{}.eps / m;
  return o;
}

std::unique_ptr<optim::Optimizer<float>> make_optimizer(const VaeTrainConfig& c,
                                                        const std::vector<Parameter<float>*>& params,
                                                        std::size_t n_train, double lr, bool decay) {
  // The paper's prior p(θ) = N(0, I): maximise (N/M) Σ_batch L(x) + log p(θ) (eq. 8). tapir's loss is the
  // minibatch *average* of the bound, i.e. that objective divided by N, so the prior's gradient −θ comes
  // in with weight 1/N. (The authors' code sums the bound over the batch and so scales the prior by M/N.)
  const double weight_decay = !decay ? 0.0 : c.weight_decay >= 0 ? c.weight_decay : 1.0 / double(n_train);
  if (lr <= 0) lr = c.lr;
  if (c.optimizer == "adagrad")
    return std::make_unique<optim::Adagrad<float>>(
        params, aevb_adagrad_options(lr, c.batch, weight_decay, c.adagrad_accumulator));
  if (c.optimizer == "adam") {
    optim::AdamOptions o;
    o.lr = lr;
    o.weight_decay = weight_decay;
    o.decay_matrices_only = true;
    return std::make_unique<optim::Adam<float>>(params, o);
  }
  throw Error(fmt::format("unknown optimizer '{}' (expected adagrad or adam)", c.optimizer));
}

std::unique_ptr<Method> make_method(LatentVariableModel<float>& model, const VaeTrainConfig& config,
                                    std::size_t n_train, Rng& init_rng, Rng& rng) {
  if (config.method == "aevb") return make_aevb(model, config, n_train);
  if (config.method == "wake-sleep") return make_wake_sleep(model, config, n_train);
  if (config.method == "mcem") return make_mcem(model, config, n_train, rng);
  if (config.method == "avb") return make_avb(model, config, n_train, init_rng);
  throw Error(fmt::format("method '{}': expected aevb, wake-sleep, mcem or avb", config.method));
}

}  // namespace tapir::models
