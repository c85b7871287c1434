// tapir/nn/module.cpp — Module bookkeeping, initialisers, Linear and Mlp.
#include <fmt/format.h>

#include <cmath>

#include "autodiff/ops/activation.hpp"
#include "autodiff/ops/linalg.hpp"
#include "autodiff/ops/shape.hpp"
#include "nn/init.hpp"
#include "nn/layers.hpp"
#include "nn/module.hpp"

namespace tapir::nn {

// ---- Module ----------------------------------------------------------------------------------------

template <class T>
void Module<T>::check_name(const std::string& name) const {
  if (name.empty() || name.find('.') != std::string::npos)
    throw Error(fmt::format("module: invalid name '{}' (must be non-empty and contain no '.')", name));
  for (const auto& [n, p] : params_)
    if (n == name) throw Error(fmt::format("module: the name '{}' is already a parameter", name));
  for (const auto& [n, m] : children_)
    if (n == name) throw Error(fmt::format("module: the name '{}' is already a submodule", name));
}

template <class T>
Parameter<T>& Module<T>::register_parameter(const std::string& name, Array<T> value) {
  check_name(name);
  Parameter<T>& p = owned_params_.emplace_back(std::move(value), name);
  params_.emplace_back(name, &p);
  return p;
}

template <class T>
void Module<T>::collect(const std::string& prefix, std::vector<std::pair<std::string, Parameter<T>*>>& out) const {
  for (const auto& [n, p] : params_) out.emplace_back(prefix + n, p);
  for (const auto& [n, m] : children_) m->collect(prefix + n + ".", out);
}

template <class T>
std::vector<std::pair<std::string, Parameter<T>*>> Module<T>::named_parameters() const {
  std::vector<std::pair<std::string, Parameter<T>*>> out;
  collect("", out);
  return out;
}

template <class T>
std::vector<Parameter<T>*> Module<T>::parameters() const {
  std::vector<Parameter<T>*> out;
  for (const auto& [n, p] : named_parameters()) out.push_back(p);
  return out;
}

template <class T>
void Module<T>::zero_grad() {
  for (Parameter<T>* p : parameters()) p->zero_grad();
}

template <class T>
std::size_t Module<T>::parameter_count() const {
  std::size_t n = 0;
  for (Parameter<T>* p : parameters()) n += p->size();
  return n;
}

template <class T>
Parameter<T>& Module<T>::parameter(const std::string& name) const {
  for (const auto& [n, p] : named_parameters())
    if (n == name) return *p;
  throw Error(fmt::format("module: no parameter named '{}'", name));
}

// ---- init --------------------------------------------------------------------------------------------

namespace init {

std::pair<std::size_t, std::size_t> fans(const Shape& shape) {
  if (shape.empty()) throw ShapeError("init: fan_in/fan_out are undefined for a 0-d parameter");
  if (shape.size() == 1) return {shape[0], shape[0]};
  const std::size_t fan_out = shape.back();
  return {shape_size(shape) / std::max<std::size_t>(fan_out, 1), fan_out};
}

template <class T>
void normal_(Parameter<T>& p, Rng& rng, double mean, double std) {
  if (!(std >= 0)) throw Error(fmt::format("init::normal_: std must be ≥ 0, got {}", std));
  fill_normal(rng, p.value(), static_cast<T>(mean), static_cast<T>(std));
}

template <class T>
void uniform_(Parameter<T>& p, Rng& rng, double lo, double hi) {
  if (!(lo <= hi)) throw Error(fmt::format("init::uniform_: lo = {} is greater than hi = {}", lo, hi));
  fill_uniform(rng, p.value(), static_cast<T>(lo), static_cast<T>(hi));
}

template <class T>
void zeros_(Parameter<T>& p) {
  constant_(p, 0.0);
}

template <class T>
void constant_(Parameter<T>& p, double value) {
  std::fill(p.value().begin(), p.value().end(), static_cast<T>(value));
}

template <class T>
void xavier_uniform_(Parameter<T>& p, Rng& rng, double gain) {
  const auto [fan_in, fan_out] = fans(p.shape());
  const double a = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  uniform_(p, rng, -a, a);
}

template <class T>
void xavier_normal_(Parameter<T>& p, Rng& rng, double gain) {
  const auto [fan_in, fan_out] = fans(p.shape());
  normal_(p, rng, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)));
}

template <class T>
void kaiming_normal_(Parameter<T>& p, Rng& rng) {
  normal_(p, rng, 0.0, std::sqrt(2.0 / static_cast<double>(fans(p.shape()).first)));
}

template <class T>
void kaiming_uniform_(Parameter<T>& p, Rng& rng) {
  const double a = std::sqrt(6.0 / static_cast<double>(fans(p.shape()).first));
  uniform_(p, rng, -a, a);
}

}  // namespace init

// ---- activations, Linear, Mlp ------------------------------------------------------------------------

namespace {
constexpr std::pair<Activation, const char*> kActivationNames[] = {
    {Activation::identity, "identity"},    {Activation::tanh, "tanh"},       {Activation::relu, "relu"},
    {Activation::softplus, "softplus"},    {Activation::sigmoid, "sigmoid"}, {Activation::elu, "elu"},
    {Activation::leaky_relu, "leaky_relu"}};
}

Activation activation_from_string(const std::string& name) {
  std::string all;
  for (const auto& [a, n] : kActivationNames) {
    if (name == n) return a;
    all += (all.empty() ? "" : ", ") + std::string(n);
  }
  throw Error(fmt::format("unknown activation '{}' (expected one of: {})", name, all));
}

const char* to_string(Activation a) {
  for (const auto& [k, n] : kActivationNames)
    if (k == a) return n;
  return "?";
}

template <class T>
Var<T> activate(Activation a, const Var<T>& x) {
  switch (a) {
    case Activation::identity:
      return x;
    case Activation::tanh:
      return tanh(x);
    case Activation::relu:
      return relu(x);
    case Activation::softplus:
      return softplus(x);
    case Activation::sigmoid:
      return sigmoid(x);
    case Activation::elu:
      return elu(x);
    case Activation::leaky_relu:
      return leaky_relu(x);
  }
  return x;
}

template <class T>
Linear<T>::Linear(std::size_t in_features, std::size_t out_features, Rng& rng, bool bias)
    : in_(in_features), out_(out_features) {
  if (in_features == 0 || out_features == 0)
    throw Error(fmt::format("Linear: sizes must be positive, got in = {}, out = {}", in_features, out_features));
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  weight_ = &this->register_parameter("weight", Array<T>::from_shape({in_features, out_features}));
  init::uniform_(*weight_, rng, -bound, bound);
  if (bias) {
    bias_ = &this->register_parameter("bias", Array<T>::from_shape({out_features}));
    init::uniform_(*bias_, rng, -bound, bound);
  }
}

template <class T>
Var<T> Linear<T>::forward(const Var<T>& x) const {
  if (x.dim() == 0 || x.shape().back() != in_)
    throw ShapeError(
        fmt::format("Linear({}, {}): input of shape {} — expected (..., {}): any leading axes, {} features last", in_,
                    out_, shape_str(x.shape()), in_, in_));
  Tape<T>& tape = x.tape();
  const auto affine = [&](const Var<T>& rows) {
    return bias_ ? tapir::linear(rows, tape.param(*weight_), tape.param(*bias_)) : matmul(rows, tape.param(*weight_));
  };
  if (x.dim() == 2 || (x.dim() > 2 && bias_)) return affine(x);  // linear takes leading axes as rows
  // Any other rank: one gemm over the flattened leading axes, (Π leading, in) → (Π leading, out).
  std::vector<long> rows_shape{-1, static_cast<long>(in_)}, out_shape;
  for (std::size_t i = 0; i + 1 < x.dim(); ++i) out_shape.push_back(static_cast<long>(x.shape()[i]));
  out_shape.push_back(static_cast<long>(out_));
  return reshape(affine(reshape(x, rows_shape)), out_shape);
}

template <class T>
Mlp<T>::Mlp(const std::vector<std::size_t>& sizes, Rng& rng, MlpOptions options) : options_(options) {
  if (sizes.size() < 2) throw Error("Mlp: needs at least two sizes {in, out}");
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i)
    layers_.push_back(&this->register_module(std::to_string(i),
                                             std::make_unique<Linear<T>>(sizes[i], sizes[i + 1], rng, options.bias)));
}

template <class T>
Var<T> Mlp<T>::forward(const Var<T>& x) const {
  Var<T> h = x;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    h = layers_[i]->forward(h);
    h = activate(i + 1 < layers_.size() ? options_.activation : options_.output_activation, h);
  }
  return h;
}

#define TAPIR_INSTANTIATE(T)                                         \
  template class Module<T>;                                          \
  template class Linear<T>;                                          \
  template class Mlp<T>;                                             \
  template Var<T> activate(Activation, const Var<T>&);               \
  template void init::normal_(Parameter<T>&, Rng&, double, double);  \
  template void init::uniform_(Parameter<T>&, Rng&, double, double); \
  template void init::zeros_(Parameter<T>&);                         \
  template void init::constant_(Parameter<T>&, double);              \
  template void init::xavier_uniform_(Parameter<T>&, Rng&, double);  \
  template void init::xavier_normal_(Parameter<T>&, Rng&, double);   \
  template void init::kaiming_normal_(Parameter<T>&, Rng&);          \
  template void init::kaiming_uniform_(Parameter<T>&, Rng&);

TAPIR_INSTANTIATE(float)
TAPIR_INSTANTIATE(double)

}  // namespace tapir::nn
