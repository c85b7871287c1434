// tapir/nn/optim/schedulers.cpp — StepLR, ExponentialLR, CosineAnnealingLR, LinearWarmup.
#include <fmt/format.h>

#include <cmath>

#include "nn/optim/lr_scheduler.hpp"

namespace tapir::optim {

namespace {
constexpr double kPi = 3.14159265358979323846;

/// An epoch stored as a double must be a whole number in [0, 2^53].
bool is_epoch(double e) { return e >= 0 && e <= 9007199254740992.0 && std::floor(e) == e; }
}  // namespace

template <class T>
LrScheduler<T>::LrScheduler(Optimizer<T>& optimizer) : optimizer_(optimizer), base_lr_(optimizer.lr()) {}

template <class T>
void LrScheduler<T>::step() {
  ++last_epoch_;
  apply();
}

template <class T>
void LrScheduler<T>::apply() {
  optimizer_.set_lr(lr_at(last_epoch_));
}

template <class T>
typename LrScheduler<T>::State LrScheduler<T>::state_dict() const {
  return {{"last_epoch", static_cast<double>(last_epoch_)}, {"base_lr", base_lr_}};
}

template <class T>
void LrScheduler<T>::read_state(const State& state, const std::string& prefix, long& last_epoch,
                                double& base_lr) const {
  auto get = [&](const std::string& key) {
    auto it = state.find(prefix + key);
    if (it == state.end()) throw Error(fmt::format("{}: scheduler state has no '{}{}'", name(), prefix, key));
    return it->second;
  };
  const double e = get("last_epoch");
  const double lr = get("base_lr");
  if (!is_epoch(e))
    throw Error(
        fmt::format("{}: scheduler state '{}last_epoch' must be a whole number ≥ 0, got {}", name(), prefix, e));
  if (!(lr >= 0) || std::isinf(lr))
    throw Error(fmt::format("{}: scheduler state '{}base_lr' must be a finite number ≥ 0, got {}", name(), prefix, lr));
  last_epoch = static_cast<long>(e);
  base_lr = lr;
}

template <class T>
void LrScheduler<T>::load_state_dict(const State& state) {
  long last_epoch = 0;
  double base_lr = 0;
  read_state(state, "", last_epoch, base_lr);  // throws before anything changes
  last_epoch_ = last_epoch;
  base_lr_ = base_lr;
  apply();
}

// ---------------------------------------------------------------------------------------------------

template <class T>
StepLR<T>::StepLR(Optimizer<T>& optimizer, long step_size, double gamma)
    : LrScheduler<T>(optimizer), step_size_(step_size), gamma_(gamma) {
  if (step_size < 1) throw Error(fmt::format("step_lr: option step_size must be ≥ 1, got {}", step_size));
  if (!(gamma >= 0) || std::isinf(gamma))
    throw Error(fmt::format("step_lr: option gamma must be a finite number ≥ 0, got {}", gamma));
  this->apply();
}

template <class T>
double StepLR<T>::lr_at(long epoch) const {
  return this->base_lr_ * std::pow(gamma_, static_cast<double>(epoch / step_size_));  // base · γ^⌊e/s⌋
}

template <class T>
ExponentialLR<T>::ExponentialLR(Optimizer<T>& optimizer, double gamma) : LrScheduler<T>(optimizer), gamma_(gamma) {
  if (!(gamma >= 0) || std::isinf(gamma))
    throw Error(fmt::format("exponential_lr: option gamma must be a finite number ≥ 0, got {}", gamma));
  this->apply();
}

template <class T>
double ExponentialLR<T>::lr_at(long epoch) const {
  return this->base_lr_ * std::pow(gamma_, static_cast<double>(epoch));  // base · γ^e
}

template <class T>
CosineAnnealingLR<T>::CosineAnnealingLR(Optimizer<T>& optimizer, long t_max, double eta_min)
    : LrScheduler<T>(optimizer), t_max_(t_max), eta_min_(eta_min) {
  if (t_max < 1) throw Error(fmt::format("cosine_annealing_lr: option t_max must be ≥ 1, got {}", t_max));
  if (!(eta_min >= 0) || std::isinf(eta_min))
    throw Error(fmt::format("cosine_annealing_lr: option eta_min must be a finite number ≥ 0, got {}", eta_min));
  this->apply();
}

template <class T>
double CosineAnnealingLR<T>::lr_at(long epoch) const {
  // η_min + (base − η_min)(1 + cos(π e / T_max)) / 2
  const double c = std::cos(kPi * static_cast<double>(epoch) / static_cast<double>(t_max_));
  return eta_min_ + (this->base_lr_ - eta_min_) * (1 + c) / 2;
}

template <class T>
LinearWarmup<T>::LinearWarmup(Optimizer<T>& optimizer, long warmup_steps, double start_factor,
                              std::unique_ptr<LrScheduler<T>> after)
    : LrScheduler<T>(optimizer), warmup_steps_(warmup_steps), start_factor_(start_factor), after_(std::move(after)) {
  if (warmup_steps < 0)
    throw Error(fmt::format("linear_warmup: option warmup_steps must be ≥ 0, got {}", warmup_steps));
  if (!(start_factor >= 0 && start_factor <= 1))
    throw Error(fmt::format("linear_warmup: option start_factor must be in [0, 1], got {}", start_factor));
  this->apply();
}

template <class T>
double LinearWarmup<T>::lr_at(long epoch) const {
  if (epoch < warmup_steps_) {
    // base · (s + (1 − s) e / k)
    const double ramp = static_cast<double>(epoch) / static_cast<double>(warmup_steps_);
    return this->base_lr_ * (start_factor_ + (1 - start_factor_) * ramp);
  }
  return after_ ? after_->lr_at(epoch - warmup_steps_) : this->base_lr_;
}

template <class T>
typename LrScheduler<T>::State LinearWarmup<T>::state_dict() const {
  auto s = LrScheduler<T>::state_dict();
  if (after_)
    for (const auto& [key, value] : after_->state_dict()) s["after." + key] = value;
  return s;
}

template <class T>
void LinearWarmup<T>::load_state_dict(const typename LrScheduler<T>::State& state) {
  long last_epoch = 0;
  double base_lr = 0;
  this->read_state(state, "", last_epoch, base_lr);  // checks ours before touching anything
  if (after_) {
    typename LrScheduler<T>::State inner;
    for (const auto& [key, value] : state)
      if (key.rfind("after.", 0) == 0) inner.emplace(key.substr(6), value);
    try {
      after_->load_state_dict(inner);  // all-or-nothing; it writes an lr we overwrite just below
    } catch (const Error& e) {
      throw Error(
          fmt::format("{}: in the state of the schedule after the warm-up (keys 'after.*'): {}", name(), e.what()));
    }
  }
  this->last_epoch_ = last_epoch;
  this->base_lr_ = base_lr;
  this->apply();
}

template class LrScheduler<float>;
template class LrScheduler<double>;
template class StepLR<float>;
template class StepLR<double>;
template class ExponentialLR<float>;
template class ExponentialLR<double>;
template class CosineAnnealingLR<float>;
template class CosineAnnealingLR<double>;
template class LinearWarmup<float>;
template class LinearWarmup<double>;

}  // namespace tapir::optim
