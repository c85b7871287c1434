// tapir/models/methods/avb.cpp — Adversarial Variational Bayes (models/avb/avb.hpp) as a training
// method: the VAE's decoder with an implicit encoder f_φ and a discriminator T_ψ, which it owns and
// saves beside the checkpoints (avb_last / avb_best.safetensors, with T's optimizer). Its bound is T's.
#include <fmt/format.h>

#include <filesystem>

#include "models/avb/avb.hpp"
#include "models/methods/methods.hpp"
#include "models/run/evaluate.hpp"

namespace tapir::models {

namespace {

constexpr const char* kAvbLast = "avb_last.safetensors";  // f_φ and T_ψ (+ T's optimizer)
constexpr const char* kAvbBest = "avb_best.safetensors";

std::string in(const std::string& dir, const char* name) { return (std::filesystem::path(dir) / name).string(); }

class AvbMethod : public Method {
 public:
  AvbMethod(Vae<float>& vae, const VaeTrainConfig& config, std::size_t n_train, Rng& init_rng)
      : Method(vae), vae_(vae), avb_(vae.config(), config.avb, init_rng) {
    // The encoder/decoder step updates f_φ and θ; T has its own optimizer, without the weight prior.
    auto params = decoder_parameters(vae_);
    for (auto* p : avb_.encoder_parameters()) params.push_back(p);
    optimizer_ = make_optimizer(config, params, n_train);
    const double disc_lr = config.avb.disc_lr > 0 ? config.avb.disc_lr : 5 * config.lr;
    disc_optimizer_ = make_optimizer(config, avb_.discriminator_parameters(), n_train, disc_lr, false);
  }
  std::string name() const override { return "avb"; }

  /// T's steps, then the encoder's and decoder's: both optimizers step inside.
  double step(const Array<float>& x, const std::vector<std::size_t>&, double, Rng& rng, Tape<float>& tape) override {
    return avb_step(avb_, vae_, x, *optimizer_, *disc_optimizer_, rng, tape);
  }
  /// T's bound, its reconstruction and KL estimate; no active units (f_φ has no tractable mean).
  BoundEvaluation evaluate(const Array<float>& x, Rng& rng, Rng* binarize) override {
    return mean_terms_over_rows(x, 1000, binarize,
                                [&](const Var<float>& xv) { return avb_.elbo_terms(vae_, xv, rng); });
  }
  optim::Optimizer<float>& optimizer() override { return *optimizer_; }

  void save(const std::string& dir, const nn::CheckpointInfo& info) override {
    write_companion(in(dir, kAvbLast),
                    [&](const std::string& p) { nn::save_checkpoint<float>(p, avb_, info, disc_optimizer_.get()); });
  }
  void save_best(const std::string& dir, const nn::CheckpointInfo& info) override {
    nn::save_checkpoint<float>(in(dir, kAvbBest), avb_, info, nullptr);
  }
  void restore(const std::string& dir, long long step) override {
    for (const std::string& p : {in(dir, kAvbLast), previous_companion(in(dir, kAvbLast))})
      if (std::filesystem::exists(p) && nn::load_checkpoint<float>(p, avb_, disc_optimizer_.get()).step == step) return;
    throw Error(fmt::format("'{}' (nor its .prev) does not hold the networks of the checkpoint at {} samples",
                            in(dir, kAvbLast), step));
  }

 private:
  Vae<float>& vae_;
  Avb<float> avb_;
  std::unique_ptr<optim::Optimizer<float>> optimizer_, disc_optimizer_;
};

}  // namespace

std::unique_ptr<Method> make_avb(LatentVariableModel<float>& model, const VaeTrainConfig& config, std::size_t n_train,
                                 Rng& init_rng) {
  auto* vae = dynamic_cast<Vae<float>*>(&model);
  if (!vae) throw Error(fmt::format("AVB needs a one-layer VAE's decoder, not model '{}'", model.name()));
  return std::make_unique<AvbMethod>(*vae, config, n_train, init_rng);
}

}  // namespace tapir::models
