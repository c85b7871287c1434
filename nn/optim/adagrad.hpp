// tapir/nn/optim/adagrad.hpp — Adagrad (Duchi, Hazan & Singer 2011).
//
// Adagrad holds non-owning pointers to its Parameters (they must outlive it and keep their shapes) and one
// accumulator of squared gradients per parameter, made at construction.
#pragma once

#include <vector>

#include "nn/optim/optimizer.hpp"

namespace tapir::optim {

/// Options of Adagrad, with PyTorch's defaults (torch.optim.Adagrad).
struct AdagradOptions {
  double lr = 1e-2;                      // γ
  double lr_decay = 0;                   // η ≥ 0
  double weight_decay = 0;               // λ ≥ 0 (L2 penalty added to the gradient)
  double initial_accumulator_value = 0;  // s₀ ≥ 0 (the AEVB experiments start from 0.01)
  double eps = 1e-10;                    // ε ≥ 0
  bool decay_matrices_only = false;  // λ only for dim ≥ 2 (a ParamGroup's own λ overrides); never for !p.decays()
};

/// Adagrad: per-coordinate step sizes from the sum of squared gradients. Duchi, Hazan & Singer,
/// "Adaptive subgradient methods for online learning and stochastic optimization", JMLR 2011 (the
/// diagonal variant), in the form of torch.optim.Adagrad. At step t:
///
///   γ̃ ← γ / (1 + (t − 1) η)
///   g ← ∇f(θ) + λ θ
///   s ← s + g²                           (s starts at initial_accumulator_value)
///   θ ← θ − γ̃ g / (√s + ε)
///
/// Computed in T, elementwise; parameters with requires_grad() false are skipped. State: "sum.<i>".
template <class T>
class Adagrad : public Optimizer<T> {
 public:
  using StateDict = typename Optimizer<T>::StateDict;

  /// Throws tapir::Error naming the option and its value when an option is invalid.
  /// `params`: a list of parameters, or param groups (ParamGroup) with their own lr_scale and weight_decay.
  explicit Adagrad(ParamGroups<T> params, const AdagradOptions& options = {});

  /// One update of every trainable parameter from its gradient, by the equations above.
  void step() override;
  /// "adagrad".
  const char* name() const override { return "adagrad"; }
  /// "step", "lr" and "sum.<i>".
  StateDict state_dict() const override;
  /// Restores state_dict(); on error (missing, unknown or mis-shaped entry) nothing changes.
  void load_state_dict(const StateDict& state) override;
  /// The options given at construction.
  const AdagradOptions& options() const { return options_; }

 private:
  AdagradOptions options_;
  std::vector<Array<T>> sum_;  // s, one per parameter
};

}  // namespace tapir::optim
