// tapir/models/methods/mcem.cpp — Monte Carlo EM with HMC (models/mcem/mcem.hpp) as a training method:
// it keeps one persistent posterior sample per training point (saved beside checkpoint_last as
// mcem_chains.safetensors) and, having no q, no bound: its curve is log p(x) by AIS.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "models/mcem/mcem.hpp"
#include "models/methods/methods.hpp"

namespace tapir::models {

namespace {

constexpr const char* kChains = "mcem_chains.safetensors";

class McemMethod : public Method {
 public:
  McemMethod(LatentVariableModel<float>& model, const VaeTrainConfig& config, std::size_t n_train, Rng& rng)
      : Method(model),
        optimizer_(make_optimizer(config, model.parameters(), n_train)),
        mcem_(model, n_train, McemOptions{}, rng) {}
  std::string name() const override { return "mcem"; }

  /// The E-step by HMC and the M-steps, which step the optimizer themselves.
  double step(const Array<float>& x, const std::vector<std::size_t>& idx, double, Rng& rng, Tape<float>&) override {
    return mcem_.step(x, idx, *optimizer_, rng);
  }
  bool has_bound() const override { return false; }
  optim::Optimizer<float>& optimizer() override { return *optimizer_; }

  void save(const std::string& dir, const nn::CheckpointInfo& info) override {
    write_companion(path(dir), [&](const std::string& p) {
      nn::NamedTensors t;
      t.f32["chains"] = mcem_.chains();
      t.metadata = {{"step", std::to_string(info.step)}, {"step_size", fmt::format("{:.9g}", mcem_.step_size())}};
      nn::write_safetensors(p, t);
    });
  }

  void restore(const std::string& dir, long long step) override {
    // The chains written with this checkpoint: the latest, or the one before it when a crash came
    // between writing them and the checkpoint.
    for (const std::string& p : {path(dir), previous_companion(path(dir))}) {
      if (!std::filesystem::exists(p)) continue;
      const auto t = nn::read_safetensors(p);
      const auto it = t.f32.find("chains");
      const auto at = t.metadata.find("step"), size = t.metadata.find("step_size");
      if (it == t.f32.end() || at == t.metadata.end() || size == t.metadata.end() || at->second != std::to_string(step))
        continue;
      // Validated before anything changes: the step size a positive finite number, the chains finite.
      char* end = nullptr;
      const double step_size = std::strtod(size->second.c_str(), &end);
      if (size->second.empty() || *end != '\0' || !std::isfinite(step_size) || !(step_size > 0))
        throw Error(fmt::format("'{}': step_size '{}' is not a positive finite number", p, size->second));
      const Array<float>& chains = it->second;
      if (!std::all_of(chains.begin(), chains.end(), [](float v) { return std::isfinite(v); }))
        throw Error(fmt::format("'{}': the chains hold values that are not finite", p));
      try {
        mcem_.set_chains(chains);
      } catch (const Error& e) {
        throw Error(fmt::format("'{}': {}", p, e.what()));
      }
      mcem_.set_step_size(step_size);
      return;
    }
    throw Error(
        fmt::format("'{}' (nor its .prev) does not hold the chains of the checkpoint at {} samples", path(dir), step));
  }

 private:
  static std::string path(const std::string& dir) { return (std::filesystem::path(dir) / kChains).string(); }
  std::unique_ptr<optim::Optimizer<float>> optimizer_;
  Mcem<float> mcem_;
};

}  // namespace

std::unique_ptr<Method> make_mcem(LatentVariableModel<float>& model, const VaeTrainConfig& config, std::size_t n_train,
                                  Rng& rng) {
  return std::make_unique<McemMethod>(model, config, n_train, rng);
}

}  // namespace tapir::models
