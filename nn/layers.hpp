// tapir/nn/layers.hpp — Linear, activations (as functions and modules) and an MLP builder.
#pragma once

#include <string>
#include <vector>

#include "autodiff/random.hpp"
#include "nn/module.hpp"

namespace tapir::nn {

/// The nonlinearities an MLP can use between layers.
enum class Activation { identity, tanh, relu, softplus, sigmoid, elu, leaky_relu };

/// Parses "identity" | "tanh" | "relu" | "softplus" | "sigmoid" | "elu" | "leaky_relu"; throws listing
/// the accepted names otherwise.
Activation activation_from_string(const std::string& name);
const char* to_string(Activation a);
/// Applies `a` to x (leaky_relu with slope 0.01, elu with α = 1).
template <class T>
Var<T> activate(Activation a, const Var<T>& x);

/// An activation as a module without parameters, for code that composes modules.
template <class T>
class ActivationModule : public Module<T> {
 public:
  explicit ActivationModule(Activation a) : a_(a) {}
  Var<T> forward(const Var<T>& x) const { return activate(a_, x); }
  Var<T> operator()(const Var<T>& x) const { return forward(x); }

 private:
  Activation a_;
};

/// y = x W + b, W of shape (in_features, out_features), b of shape (out_features).
/// Default initialisation as PyTorch's: W, b ~ U[−1/√in, 1/√in].
template <class T>
class Linear : public Module<T> {
 public:
  Linear(std::size_t in_features, std::size_t out_features, Rng& rng, bool bias = true);
  /// x: (..., in_features) → (..., out_features): any number of leading axes (none: a single vector),
  /// computed as one gemm over the flattened leading axes. Throws naming both shapes on a mismatch.
  Var<T> forward(const Var<T>& x) const;
  Var<T> operator()(const Var<T>& x) const { return forward(x); }
  Parameter<T>& weight() const { return *weight_; }
  Parameter<T>* bias() const { return bias_; }
  std::size_t in_features() const { return in_; }
  std::size_t out_features() const { return out_; }

 private:
  std::size_t in_, out_;
  Parameter<T>* weight_;
  Parameter<T>* bias_ = nullptr;
};

/// Options of an MLP: the nonlinearity between layers and after the last one.
struct MlpOptions {
  Activation activation = Activation::tanh;
  Activation output_activation = Activation::identity;
  bool bias = true;
};

/// sizes = {in, h1, ..., out}: Linear layers named "0", "1", ... with `activation` between them. Like
/// Linear it acts on the last axis of an input of any rank.
template <class T>
class Mlp : public Module<T> {
 public:
  Mlp(const std::vector<std::size_t>& sizes, Rng& rng, MlpOptions options = {});
  Var<T> forward(const Var<T>& x) const;
  Var<T> operator()(const Var<T>& x) const { return forward(x); }
  const std::vector<Linear<T>*>& layers() const { return layers_; }

 private:
  std::vector<Linear<T>*> layers_;
  MlpOptions options_;
};

}  // namespace tapir::nn
