// tapir/nn/heads.hpp — layers that return distributions: an MLP trunk followed by the heads of a
// family's parameters (tapir::nn).
//
//   NormalMlp:     x → h = trunk(x) → N(μ = W_μ h + b_μ, log σ² = W_v h + b_v)   (AEVB App. C.2)
//   BernoulliMlp:  x → h = trunk(x) → Bernoulli(logits = W h + b)              (AEVB App. C.1)
// Both act on the last axis of an input of any rank and return Independent(·, 1): one density per row
// (per leading index), summed over the output features. The trunk is an Mlp whose every layer is
// followed by the activation (the heads come after it); with no hidden sizes there is no trunk and the
// heads read the input directly. Parameters are named "trunk.<i>.weight", "mu.weight", "log_var.weight",
// "logits.weight" (and .bias). The distributions hold Vars of the current tape step: valid until
// Tape::clear().
#pragma once

#include <memory>
#include <vector>

#include "nn/dist/dist.hpp"
#include "nn/layers.hpp"

namespace tapir::nn {

/// How the mean head of a NormalMlp is squashed: identity (any real), or sigmoid (means in (0, 1), the
/// AEVB paper's Frey Face decoder).
enum class MeanActivation { identity, sigmoid };

/// A diagonal Gaussian whose mean and log-variance are affine in an MLP's last hidden layer.
template <class T>
class NormalMlp : public Module<T> {
 public:
  /// in → hidden... (each followed by `activation`) → (μ, log σ²) of size `out`.
  NormalMlp(std::size_t in, const std::vector<std::size_t>& hidden, std::size_t out, Rng& rng,
            Activation activation = Activation::tanh, MeanActivation mean = MeanActivation::identity);
  /// Independent(Normal(μ(x), exp(½ log σ²(x))), 1): batch shape x.shape[:-1], event shape (out,).
  dist::Independent<T> forward(const Var<T>& x) const;
  dist::Independent<T> operator()(const Var<T>& x) const { return forward(x); }
  /// The trunk's output h (x itself when there is no trunk).
  Var<T> hidden(const Var<T>& x) const;
  std::size_t in_features() const { return in_; }
  std::size_t out_features() const { return out_; }

 private:
  std::size_t in_, out_;
  std::unique_ptr<Mlp<T>> trunk_;
  std::unique_ptr<Linear<T>> mu_, log_var_;
  MeanActivation mean_;
};

/// Independent Bernoulli pixels (or ContinuousBernoulli densities on [0, 1]) with logits affine in an
/// MLP's last hidden layer.
template <class T>
class BernoulliMlp : public Module<T> {
 public:
  /// in → hidden... (each followed by `activation`) → logits of size `out`. `continuous`: the
  /// continuous Bernoulli (Loaiza-Ganem & Cunningham 2019), a normalised density on [0, 1].
  BernoulliMlp(std::size_t in, const std::vector<std::size_t>& hidden, std::size_t out, Rng& rng,
               Activation activation = Activation::tanh, bool continuous = false);
  /// Independent(Bernoulli(logits(x)), 1): batch shape x.shape[:-1], event shape (out,).
  dist::Independent<T> forward(const Var<T>& x) const;
  dist::Independent<T> operator()(const Var<T>& x) const { return forward(x); }
  /// The logits W h + b.
  Var<T> logits(const Var<T>& x) const;
  std::size_t in_features() const { return in_; }
  std::size_t out_features() const { return out_; }

 private:
  std::size_t in_, out_;
  std::unique_ptr<Mlp<T>> trunk_;
  std::unique_ptr<Linear<T>> logits_;
  bool continuous_;
};

}  // namespace tapir::nn
