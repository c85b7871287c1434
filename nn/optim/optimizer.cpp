// tapir/nn/optim/optimizer.cpp
#include "nn/optim/optimizer.hpp"

#include <fmt/format.h>

#include <cmath>
#include <map>

namespace tapir::optim {

template <class T>
Optimizer<T>::Optimizer(ParamGroups<T> params, double lr) : groups_(params.groups()), lr_(lr) {
  if (!(lr >= 0)) throw Error(fmt::format("optimizer: learning rate must be ≥ 0, got {}", lr));
  std::map<const Parameter<T>*, std::size_t> seen;  // parameter → its index in params_
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup<T>& group = groups_[g];
    if (!(group.lr_scale >= 0) || std::isinf(group.lr_scale))
      throw Error(
          fmt::format("optimizer: param group {}'s lr_scale must be a finite number ≥ 0, got {}", g, group.lr_scale));
    if (group.weight_decay && (!(*group.weight_decay >= 0) || std::isinf(*group.weight_decay)))
      throw Error(fmt::format("optimizer: param group {}'s weight_decay must be a finite number ≥ 0, got {}", g,
                              *group.weight_decay));
    for (Parameter<T>* p : group.params) {
      const std::size_t i = params_.size();
      if (p == nullptr)
        throw Error(groups_.size() == 1
                        ? fmt::format("optimizer: parameter {} is a null pointer", i)
                        : fmt::format("optimizer: parameter {} (in param group {}) is a null pointer", i, g));
      // A parameter listed twice would be updated twice per step (torch.optim refuses it too).
      if (auto [it, fresh] = seen.emplace(p, i); !fresh)
        throw Error(fmt::format(
            "optimizer: parameter '{}' is listed twice (as parameter {} and {}{}); list each once", p->name(),
            it->second, i,
            group_of_[it->second] == g ? "" : fmt::format(", in param groups {} and {}", group_of_[it->second], g)));
      params_.push_back(p);
      group_of_.push_back(g);
    }
  }
}

template <class T>
double Optimizer<T>::lr_of(std::size_t i) const {
  const double lr = static_cast<T>(lr_);
  const double scale = groups_[group_of_[i]].lr_scale;
  return scale == 1 ? lr : lr * scale;
}

template <class T>
T Optimizer<T>::weight_decay_of(std::size_t i, double weight_decay, bool matrices_only) const {
  const Parameter<T>& p = *params_[i];
  if (!p.decays()) return T(0);
  if (const auto& own = groups_[group_of_[i]].weight_decay) return static_cast<T>(*own);
  return matrices_only && p.value().dimension() < 2 ? T(0) : static_cast<T>(weight_decay);
}

template <class T>
void Optimizer<T>::zero_grad() {
  for (Parameter<T>* p : params_) p->zero_grad();
}

template <class T>
typename Optimizer<T>::StateDict Optimizer<T>::state_dict() const {
  StateDict s;
  // step as (step div 2^20, step mod 2^20): both parts are exact in float, so a resumed run counts on
  // exactly past float's 2^24 integer limit.
  s["step"] = Array<T>({static_cast<T>(steps_ >> 20), static_cast<T>(steps_ & ((1L << 20) - 1))});
  s["lr"] = Array<T>(static_cast<T>(lr_));
  return s;
}

template <class T>
void Optimizer<T>::load_state_dict(const StateDict& state) {
  if (state.find("lr") == state.end() || state.at("lr").size() != 1)
    throw Error(fmt::format("optimizer '{}': state has no scalar 'lr'", name()));
  if (state.find("step") == state.end() || state.at("step").size() != 2)
    throw Error(fmt::format("optimizer '{}': state has no 'step' pair (step div 2^20, step mod 2^20)", name()));
  const T* st = state.at("step").data();
  steps_ = (static_cast<long>(st[0]) << 20) + static_cast<long>(st[1]);
  lr_ = static_cast<double>(state.at("lr").data()[0]);
}

template <class T>
void Optimizer<T>::put(StateDict& out, const std::string& kind, const std::vector<Array<T>>& arrays) {
  for (std::size_t i = 0; i < arrays.size(); ++i) out[kind + "." + std::to_string(i)] = arrays[i];
}

template <class T>
void Optimizer<T>::get(const StateDict& in, const std::string& kind, std::vector<Array<T>>& arrays) {
  for (std::size_t i = 0; i < arrays.size(); ++i) {
    const std::string key = kind + "." + std::to_string(i);
    auto it = in.find(key);
    if (it == in.end()) throw Error(fmt::format("optimizer state: missing '{}'", key));
    if (it->second.shape() != arrays[i].shape())
      throw ShapeError(fmt::format("optimizer state: '{}' has shape {}, the parameter needs {}", key,
                                   shape_str(it->second.shape()), shape_str(arrays[i].shape())));
    arrays[i] = it->second;
  }
}

template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace tapir::optim
