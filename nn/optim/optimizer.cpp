// tapir/nn/optim/optimizer.cpp
#include "nn/optim/optimizer.hpp"

#include <fmt/format.h>

namespace tapir::optim {

template <class T>
Optimizer<T>::Optimizer(std::vector<Parameter<T>*> params, double lr) : params_(std::move(params)), lr_(lr) {
  for (std::size_t i = 0; i < params_.size(); ++i)
    if (params_[i] == nullptr) throw Error(fmt::format("optimizer: parameter {} is a null pointer", i));
  if (!(lr >= 0)) throw Error(fmt::format("optimizer: learning rate must be ≥ 0, got {}", lr));
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
