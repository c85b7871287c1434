// tapir/nn/optim/sgd.hpp — stochastic gradient descent with momentum, dampening, Nesterov and weight decay.
//
// Sgd holds non-owning pointers to its Parameters (they must outlive it and keep their shapes) and one
// momentum buffer per parameter, made at construction when momentum != 0.
#pragma once

#include <vector>

#include "nn/optim/optimizer.hpp"

namespace tapir::optim {

/// Options of Sgd, with PyTorch's defaults (torch.optim.SGD).
struct SgdOptions {
  double lr = 1e-3;                  // γ, the initial learning rate (a scheduler may change it later)
  double momentum = 0;               // μ ≥ 0
  double dampening = 0;              // τ: the momentum buffer takes (1 − τ) of each new gradient
  double weight_decay = 0;           // λ ≥ 0: L2 penalty (λ/2)‖θ‖² added to the objective
  bool nesterov = false;             // needs μ > 0 and τ = 0
  bool decay_matrices_only = false;  // λ only for dim ≥ 2 (weights, not biases); never for !p.decays()
};

/// Stochastic gradient descent, as documented for torch.optim.SGD (Sutskever et al. 2013 for Nesterov).
/// At step t, for every parameter θ with gradient ∇f(θ):
///
///   g ← ∇f(θ) + λ θ                      (λ = 0 for vectors when decay_matrices_only, and for !θ.decays())
///   if μ ≠ 0:
///     b ← g                              if t = 1
///     b ← μ b + (1 − τ) g                otherwise
///     g ← g + μ b                        if nesterov
///     g ← b                              otherwise
///   θ ← θ − γ g
///
/// Computed in T, elementwise; g is never stored (p.grad() is left untouched). Parameters with
/// requires_grad() false are skipped. State: "momentum_buffer.<i>" (when μ ≠ 0).
template <class T>
class Sgd : public Optimizer<T> {
 public:
  using StateDict = typename Optimizer<T>::StateDict;

  /// Throws tapir::Error naming the option and its value when an option is invalid.
  /// `params`: a list of parameters, or param groups (ParamGroup) with their own lr_scale and weight_decay.
  explicit Sgd(ParamGroups<T> params, const SgdOptions& options = {});

  /// One update of every trainable parameter from its gradient, by the equations above.
  void step() override;
  /// "sgd".
  const char* name() const override { return "sgd"; }
  /// "step", "lr" and "momentum_buffer.<i>" (when momentum ≠ 0).
  StateDict state_dict() const override;
  /// Restores state_dict(); on error (missing, unknown or mis-shaped entry) nothing changes.
  void load_state_dict(const StateDict& state) override;
  /// The options given at construction.
  const SgdOptions& options() const { return options_; }

 private:
  SgdOptions options_;
  std::vector<Array<T>> momentum_buffer_;  // b, one per parameter (empty when μ = 0)
};

}  // namespace tapir::optim
