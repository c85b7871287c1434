// tapir/nn/optim/rmsprop.hpp — RMSprop (Hinton, Coursera lecture 6e, 2012), optionally centered
// (Graves 2013) and with momentum.
//
// RMSprop holds non-owning pointers to its Parameters (they must outlive it and keep their shapes) and its
// running averages per parameter, made at construction.
#pragma once

#include <vector>

#include "nn/optim/optimizer.hpp"

namespace tapir::optim {

/// Options of RMSprop, with PyTorch's defaults (torch.optim.RMSprop).
struct RmspropOptions {
  double lr = 1e-2;                  // γ
  double alpha = 0.99;               // α ∈ [0, 1]: smoothing constant of the squared-gradient average
  double eps = 1e-8;                 // ε ≥ 0
  double weight_decay = 0;           // λ ≥ 0: L2 penalty added to the gradient
  double momentum = 0;               // μ ≥ 0
  bool centered = false;             // divide by an estimate of the variance instead of the raw moment
  bool decay_matrices_only = false;  // λ only for dim ≥ 2 (a ParamGroup's own λ overrides); never for !p.decays()
};

/// RMSprop: divide the gradient by a running root mean square of recent gradients. Hinton, Srivastava &
/// Swersky, "Neural networks for machine learning", lecture 6e (2012); the centered form is from Graves,
/// "Generating sequences with recurrent neural networks" (2013), eq. 38–40; as in torch.optim.RMSprop.
/// At step t:
///
///   g ← ∇f(θ) + λ θ
///   v ← α v + (1 − α) g²
///   if centered:  ḡ ← α ḡ + (1 − α) g;   d ← √(v − ḡ²) + ε
///   else:         d ← √v + ε
///   if μ > 0:     b ← μ b + g / d;        θ ← θ − γ b
///   else:         θ ← θ − γ g / d
///
/// Computed in T, elementwise; parameters with requires_grad() false are skipped.
/// State: "square_avg.<i>" (v), "grad_avg.<i>" (ḡ, centered), "momentum_buffer.<i>" (b, μ > 0).
template <class T>
class Rmsprop : public Optimizer<T> {
 public:
  using StateDict = typename Optimizer<T>::StateDict;

  /// Throws tapir::Error naming the option and its value when an option is invalid.
  /// `params`: a list of parameters, or param groups (ParamGroup) with their own lr_scale and weight_decay.
  explicit Rmsprop(ParamGroups<T> params, const RmspropOptions& options = {});

  /// One update of every trainable parameter from its gradient, by the equations above.
  void step() override;
  /// "rmsprop".
  const char* name() const override { return "rmsprop"; }
  /// "step", "lr", "square_avg.<i>", and "grad_avg.<i>" / "momentum_buffer.<i>" when used.
  StateDict state_dict() const override;
  /// Restores state_dict(); on error (missing, unknown or mis-shaped entry) nothing changes.
  void load_state_dict(const StateDict& state) override;
  /// The options given at construction.
  const RmspropOptions& options() const { return options_; }

 private:
  RmspropOptions options_;
  std::vector<Array<T>> square_avg_;       // v
  std::vector<Array<T>> grad_avg_;         // ḡ (centered only)
  std::vector<Array<T>> momentum_buffer_;  // b (μ > 0 only)
};

}  // namespace tapir::optim
