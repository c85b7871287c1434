// tapir/models/methods/aevb.cpp — AEVB: stochastic gradient ascent on the SGVB bound (AEVB §2.3, Alg. 1),
// or on the importance-weighted bound (Burda et al. 2015) with objective "iwae". Any model with a
// proposal: the VAE with any prior, two stochastic layers, a user's model.
#include <fmt/format.h>

#include "models/methods/methods.hpp"

namespace tapir::models {

namespace {

class Aevb : public Method {
 public:
  Aevb(LatentVariableModel<float>& model, const VaeTrainConfig& config, std::size_t n_train)
      : Method(model), config_(config), optimizer_(make_optimizer(config, model.parameters(), n_train)) {
    if (!model.has_proposal())
      throw Error(
          fmt::format("AEVB trains an encoder q(z|x), and model '{}' has none (try --method mcem)", model.name()));
  }
  std::string name() const override { return "aevb"; }

  double step(const Array<float>& x, const std::vector<std::size_t>&, double beta, Rng& rng,
              Tape<float>& tape) override {
    const Var<float> xv = tape.constant_view(x);  // the batch stays put until the trainer clears the tape
    // eq. 8 divided by N: the minibatch average of the per-point bound (the prior's share is the decay).
    const Var<float> bound =
        config_.objective == "iwae" ? mean(model_.iwae(xv, rng, config_.iwae_k)) : mean(model_.elbo(xv, rng, beta));
    (-bound).backward();
    optimizer_->step();
    optimizer_->zero_grad();
    return bound.item();
  }

  optim::Optimizer<float>& optimizer() override { return *optimizer_; }

 private:
  VaeTrainConfig config_;
  std::unique_ptr<optim::Optimizer<float>> optimizer_;
};

}  // namespace

std::unique_ptr<Method> make_aevb(LatentVariableModel<float>& model, const VaeTrainConfig& config,
                                  std::size_t n_train) {
  return std::make_unique<Aevb>(model, config, n_train);
}

}  // namespace tapir::models
