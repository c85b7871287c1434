// tapir/models/methods/wake_sleep.cpp — wake-sleep with the VAE's recognition model (Vae::wake_sleep):
// the AEVB paper's baseline. One optimizer over all parameters: the surrogate's gradient is both phases'.
#include <fmt/format.h>

#include "models/methods/methods.hpp"
#include "models/vae/vae.hpp"

namespace tapir::models {

namespace {

class WakeSleep : public Method {
 public:
  WakeSleep(Vae<float>& vae, const VaeTrainConfig& config, std::size_t n_train)
      : Method(vae), vae_(vae), optimizer_(make_optimizer(config, vae.parameters(), n_train)) {}
  std::string name() const override { return "wake-sleep"; }

  double step(const Array<float>& x, const std::vector<std::size_t>&, double, Rng& rng, Tape<float>& tape) override {
    const auto ws = vae_.wake_sleep(tape.constant_view(x), rng);
    ws.loss.backward();
    const Var<float> bound = mean(ws.bound);  // the wake sample's estimate of the ELBO
    optimizer_->step();
    optimizer_->zero_grad();
    return bound.item();
  }

  optim::Optimizer<float>& optimizer() override { return *optimizer_; }

 private:
  Vae<float>& vae_;
  std::unique_ptr<optim::Optimizer<float>> optimizer_;
};

}  // namespace

std::unique_ptr<Method> make_wake_sleep(LatentVariableModel<float>& model, const VaeTrainConfig& config,
                                        std::size_t n_train) {
  auto* vae = dynamic_cast<Vae<float>*>(&model);
  if (!vae)
    throw Error(fmt::format("wake-sleep needs a one-layer VAE's recognition model, not model '{}'", model.name()));
  return std::make_unique<WakeSleep>(*vae, config, n_train);
}

}  // namespace tapir::models
