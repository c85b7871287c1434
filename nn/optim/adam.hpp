// tapir/nn/optim/adam.hpp — Adam (Kingma & Ba 2015), its AMSGrad variant, and AdamW (Loshchilov & Hutter 2019).
//
// Adam holds non-owning pointers to its Parameters (they must outlive it and keep their shapes) and the
// moment estimates m, v (and v_max for AMSGrad) per parameter, made at construction.
#pragma once

#include <vector>

#include "nn/optim/optimizer.hpp"

namespace tapir::optim {

/// Options of Adam, with PyTorch's defaults (torch.optim.Adam).
struct AdamOptions {
  double lr = 1e-3;                  // γ
  double beta1 = 0.9;                // β₁ ∈ [0, 1)
  double beta2 = 0.999;              // β₂ ∈ [0, 1)
  double eps = 1e-8;                 // ε ≥ 0
  double weight_decay = 0;           // λ ≥ 0: L2 penalty added to the gradient
  bool amsgrad = false;              // use the running maximum of v (Reddi et al. 2018)
  bool decay_matrices_only = false;  // λ only for dim ≥ 2 (a ParamGroup's own λ overrides); never for !p.decays()
};

/// Options of AdamW: Adam's, but the weight decay is decoupled and defaults to 1e-2 (torch.optim.AdamW).
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;  // λ: θ shrinks by the factor (1 − γλ) every step
  bool amsgrad = false;
  bool decay_matrices_only = false;
};

/// Adam. Kingma & Ba, "Adam: a method for stochastic optimization", ICLR 2015, Algorithm 1, with the
/// efficient ordering of their §2 as in torch.optim.Adam. At step t:
///
///   g ← ∇f(θ) + λ θ                       (Adam; AdamW: g ← ∇f(θ) and first θ ← θ (1 − γλ))
///   m ← β₁ m + (1 − β₁) g
///   v ← β₂ v + (1 − β₂) g²
///   v_max ← max(v_max, v)                  (amsgrad; then v_max replaces v below)
///   θ ← θ − (γ / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// The last line is θ − γ m̂ / (√v̂ + ε) with m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ). The first step
/// therefore moves every coordinate by γ g / (|g| + ε) ≈ γ sign(g). The scalar factors are computed in
/// double, the arrays in T, elementwise; parameters with requires_grad() false are skipped.
/// State: "exp_avg.<i>" (m), "exp_avg_sq.<i>" (v) and, with amsgrad, "max_exp_avg_sq.<i>" (v_max).
template <class T>
class Adam : public Optimizer<T> {
 public:
  using StateDict = typename Optimizer<T>::StateDict;

  /// Throws tapir::Error naming the option and its value when an option is invalid.
  /// `params`: a list of parameters, or param groups (ParamGroup) with their own lr_scale and weight_decay.
  explicit Adam(ParamGroups<T> params, const AdamOptions& options = {});

  /// One update of every trainable parameter from its gradient, by the equations above.
  void step() override;
  /// "adam" ("adamw" for AdamW).
  const char* name() const override { return decoupled_ ? "adamw" : "adam"; }
  /// "step", "lr", "exp_avg.<i>", "exp_avg_sq.<i>" and, with amsgrad, "max_exp_avg_sq.<i>".
  StateDict state_dict() const override;
  /// Restores state_dict(); on error (missing, unknown or mis-shaped entry) nothing changes.
  void load_state_dict(const StateDict& state) override;
  /// The options given at construction (for AdamW, its options with the decoupled decay as weight_decay).
  const AdamOptions& options() const { return options_; }

 protected:
  /// decoupled: weight decay shrinks θ directly (AdamW) instead of entering the gradient (Adam).
  Adam(ParamGroups<T> params, const AdamOptions& options, bool decoupled);

 private:
  AdamOptions options_;
  bool decoupled_;
  std::vector<Array<T>> exp_avg_;         // m
  std::vector<Array<T>> exp_avg_sq_;      // v
  std::vector<Array<T>> max_exp_avg_sq_;  // v_max (amsgrad only)
};

/// AdamW: Adam with decoupled weight decay. Loshchilov & Hutter, "Decoupled weight decay
/// regularization", ICLR 2019, Algorithm 2 (with the schedule multiplier η_t folded into γ, as in
/// torch.optim.AdamW). At step t:
///
///   θ ← θ − γ λ θ
///   then Adam's update with g = ∇f(θ) (see Adam).
///
/// State: as Adam's.
template <class T>
class AdamW : public Adam<T> {
 public:
  /// Throws tapir::Error naming the option and its value when an option is invalid.
  /// `params`: a list of parameters, or param groups (ParamGroup) with their own lr_scale and weight_decay.
  explicit AdamW(ParamGroups<T> params, const AdamWOptions& options = {});
};

}  // namespace tapir::optim
