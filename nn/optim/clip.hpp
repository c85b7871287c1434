// tapir/nn/optim/clip.hpp — gradient clipping by global norm.
//
// Works in place on the Parameters' gradient buffers; owns nothing.
#pragma once

#include <vector>

#include "autodiff/tape.hpp"

namespace tapir::optim {

/// Rescales the gradients of `params` so that their global L2 norm is at most max_norm
/// (torch.nn.utils.clip_grad_norm_):
///
///   ‖g‖ = √(Σ_p Σ_i g_pi²)                (accumulated in double)
///   if ‖g‖ > max_norm:  g ← g · max_norm / (‖g‖ + 10⁻⁶)
///
/// Returns ‖g‖ before clipping. Parameters with requires_grad() false are ignored. When the norm is NaN
/// or ±Inf the gradients are left alone; with error_if_nonfinite it throws tapir::Error instead.
/// Throws tapir::Error when max_norm is negative or NaN, or a pointer is null.
template <class T>
double clip_grad_norm(const std::vector<Parameter<T>*>& params, double max_norm, bool error_if_nonfinite = false);

}  // namespace tapir::optim
