// tapir/nn/optim/optimizers.cpp — Sgd, Adagrad, Adam/AdamW, Rmsprop and clip_grad_norm.
//
// Every step() follows the equations in its class comment line by line. Each update is written once as a
// generic lambda of the gradient expression g, called with either ∇f(θ) or the lazy ∇f(θ) + λθ, so the
// weight-decayed gradient is never materialised and p.grad() is never modified. Scalar factors are
// computed in double from the learning rate rounded to T (so an lr restored from a T-precision state
// dict gives the same bits) and the parameter's group factor (Optimizer::lr_of), then rounded to T; the arrays are
// updated in T with xt::noalias.
#include <fmt/format.h>

#include <cmath>
#include <initializer_list>
#include <set>

#include <xsimd/xsimd.hpp>

#include "autodiff/parallel.hpp"
#include "nn/optim/adagrad.hpp"
#include "nn/optim/adam.hpp"
#include "nn/optim/clip.hpp"
#include "nn/optim/rmsprop.hpp"
#include "nn/optim/sgd.hpp"

namespace tapir::optim {

namespace {

/// Throws unless `value` lies in [lo, hi] (or [lo, hi) when !hi_closed); NaN always fails.
void require_in(const char* optimizer, const char* option, double value, double lo, double hi, bool hi_closed = true) {
  const bool ok = value >= lo && (hi_closed ? value <= hi : value < hi);
  if (!ok)
    throw Error(fmt::format("{}: option {} must be in [{}, {}{}, got {}", optimizer, option, lo,
                            std::isinf(hi) ? "inf" : fmt::format("{}", hi), hi_closed && !std::isinf(hi) ? "]" : ")",
                            value));
}

/// Throws unless value ≥ 0 (and finite).
void require_nonnegative(const char* optimizer, const char* option, double value) {
  if (!(value >= 0) || std::isinf(value))
    throw Error(fmt::format("{}: option {} must be a finite number ≥ 0, got {}", optimizer, option, value));
}

/// One zero array of each parameter's shape.
template <class T>
std::vector<Array<T>> zeros_like(const std::vector<Parameter<T>*>& params, T fill = T(0)) {
  std::vector<Array<T>> out;
  out.reserve(params.size());
  for (const Parameter<T>* p : params) {
    Array<T> a = Array<T>::from_shape(p->shape());
    a.fill(fill);
    out.push_back(std::move(a));
  }
  return out;
}

/// Throws if `state` holds a key the optimizer does not know: a state dict from another optimizer, or
/// from one with other options (momentum, amsgrad, centered) or more parameters.
template <class T>
void check_keys(const char* optimizer, const std::map<std::string, Array<T>>& state,
                const std::vector<std::string>& kinds, std::size_t n_params) {
  std::set<std::string> known = {"step", "lr"};
  for (const auto& kind : kinds)
    for (std::size_t i = 0; i < n_params; ++i) known.insert(kind + "." + std::to_string(i));
  for (const auto& [key, value] : state)
    if (known.count(key) == 0)
      throw Error(
          fmt::format("{}: unexpected state entry '{}' (a state dict from another optimizer, other "
                      "options, or more than {} parameters?)",
                      optimizer, key, n_params));
}

/// Throws if a parameter changed shape since the optimizer was built (its state would not fit).
template <class T>
void check_shape(const char* optimizer, std::size_t i, const Parameter<T>& p, const Array<T>& state) {
  if (p.shape() != state.shape())
    throw ShapeError(
        fmt::format("{}: parameter {} ('{}') has shape {} but its optimizer state has shape {}; "
                    "build a new optimizer after reshaping parameters",
                    optimizer, i, p.name(), shape_str(p.shape()), shape_str(state.shape())));
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Sgd

namespace {
SgdOptions checked(const SgdOptions& o) {
  require_nonnegative("sgd", "lr", o.lr);
  require_nonnegative("sgd", "momentum", o.momentum);
  require_in("sgd", "dampening", o.dampening, 0, 1);
  require_nonnegative("sgd", "weight_decay", o.weight_decay);
  if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
    throw Error(
        fmt::format("sgd: option nesterov needs momentum > 0 and dampening = 0, got momentum {} and "
                    "dampening {}",
                    o.momentum, o.dampening));
  return o;
}
}  // namespace

template <class T>
Sgd<T>::Sgd(ParamGroups<T> params, const SgdOptions& options)
    : Optimizer<T>(std::move(params), checked(options).lr), options_(options) {
  if (options_.momentum != 0) momentum_buffer_ = zeros_like(this->params_);
}

template <class T>
void Sgd<T>::step() {
  const long t = ++this->steps_;
  const T mu = static_cast<T>(options_.momentum);                  // μ
  const T one_minus_tau = static_cast<T>(1 - options_.dampening);  // 1 − τ
  for (std::size_t i = 0; i < this->params_.size(); ++i) {
    Parameter<T>& p = *this->params_[i];
    if (!p.requires_grad()) continue;
    Array<T>& theta = p.value();
    const Array<T>& grad = p.grad();
    const T lr = static_cast<T>(this->lr_of(i));  // γ
    auto update = [&](const auto& g) {
      if (options_.momentum == 0) {
        xt::noalias(theta) = theta - lr * g;  // θ ← θ − γ g
        return;
      }
      Array<T>& b = momentum_buffer_[i];
      check_shape("sgd", i, p, b);
      if (t == 1)
        xt::noalias(b) = g;  // b ← g
      else
        xt::noalias(b) = mu * b + one_minus_tau * g;  // b ← μ b + (1 − τ) g
      if (options_.nesterov)
        xt::noalias(theta) = theta - lr * (g + mu * b);  // θ ← θ − γ (g + μ b)
      else
        xt::noalias(theta) = theta - lr * b;  // θ ← θ − γ b
    };
    const T lambda = this->weight_decay_of(i, options_.weight_decay, options_.decay_matrices_only);
    if (lambda != 0)
      update(grad + lambda * theta);  // g = ∇f(θ) + λ θ
    else
      update(grad);  // g = ∇f(θ)
  }
}

template <class T>
typename Sgd<T>::StateDict Sgd<T>::state_dict() const {
  StateDict s = Optimizer<T>::state_dict();
  if (options_.momentum != 0) this->put(s, "momentum_buffer", momentum_buffer_);
  return s;
}

template <class T>
void Sgd<T>::load_state_dict(const StateDict& state) {
  check_keys<T>("sgd", state,
                options_.momentum != 0 ? std::vector<std::string>{"momentum_buffer"} : std::vector<std::string>{},
                this->params_.size());
  auto b = momentum_buffer_;
  if (options_.momentum != 0) this->get(state, "momentum_buffer", b);
  Optimizer<T>::load_state_dict(state);
  momentum_buffer_ = std::move(b);
}

// ---------------------------------------------------------------------------------------------------
// Adagrad

namespace {
AdagradOptions checked(const AdagradOptions& o) {
  require_nonnegative("adagrad", "lr", o.lr);
  require_nonnegative("adagrad", "lr_decay", o.lr_decay);
  require_nonnegative("adagrad", "weight_decay", o.weight_decay);
  require_nonnegative("adagrad", "initial_accumulator_value", o.initial_accumulator_value);
  require_nonnegative("adagrad", "eps", o.eps);
  return o;
}
}  // namespace

template <class T>
Adagrad<T>::Adagrad(ParamGroups<T> params, const AdagradOptions& options)
    : Optimizer<T>(std::move(params), checked(options).lr), options_(options) {
  sum_ = zeros_like(this->params_, static_cast<T>(options_.initial_accumulator_value));
}

template <class T>
void Adagrad<T>::step() {
  const long t = ++this->steps_;
  const double decay = 1 + static_cast<double>(t - 1) * options_.lr_decay;  // 1 + (t − 1) η
  const T eps = static_cast<T>(options_.eps);
  for (std::size_t i = 0; i < this->params_.size(); ++i) {
    Parameter<T>& p = *this->params_[i];
    if (!p.requires_grad()) continue;
    const T clr = static_cast<T>(this->lr_of(i) / decay);  // γ̃ = γ / (1 + (t − 1) η)
    Array<T>& theta = p.value();
    const Array<T>& grad = p.grad();
    Array<T>& s = sum_[i];
    check_shape("adagrad", i, p, s);
    // One pass over θ, ∇ and s (the hot loop of every AEVB step: 0.8 M parameters in the paper's MNIST
    // model) in SIMD batches (std::sqrt's errno keeps the compiler from vectorising a plain loop), the
    // same operations in the same order as the equations: the same bits as xtensor's two passes.
    const T lambda = this->weight_decay_of(i, options_.weight_decay, options_.decay_matrices_only);
    T* th = theta.data();
    T* acc = s.data();
    const T* gr = grad.data();
    // In chunks of 16384 elements on tapir's threads (autodiff/parallel.hpp): a multiple of the batch
    // width, so every element takes the same path as in one pass, whatever the thread count.
    const auto chunk = [&](std::size_t lo, std::size_t hi) {
      using B = xsimd::batch<T>;
      const B vclr(clr), veps(eps), vlambda(lambda);
      std::size_t j = lo;
      for (; j + B::size <= hi; j += B::size) {
        const B tv = B::load_unaligned(th + j);
        B g = B::load_unaligned(gr + j);
        if (lambda != 0) g = g + vlambda * tv;           // g = ∇f(θ) + λ θ
        const B a = B::load_unaligned(acc + j) + g * g;  // s ← s + g²
        a.store_unaligned(acc + j);
        (tv - vclr * g / (xsimd::sqrt(a) + veps)).store_unaligned(th + j);  // θ ← θ − γ̃ g / (√s + ε)
      }
      for (; j < hi; ++j) {
        const T g = lambda != 0 ? gr[j] + lambda * th[j] : gr[j];
        acc[j] = acc[j] + g * g;
        th[j] = th[j] - clr * g / (std::sqrt(acc[j]) + eps);
      }
    };
    parallel_chunks(theta.size(), 16384, chunk);
  }
}

template <class T>
typename Adagrad<T>::StateDict Adagrad<T>::state_dict() const {
  StateDict s = Optimizer<T>::state_dict();
  this->put(s, "sum", sum_);
  return s;
}

template <class T>
void Adagrad<T>::load_state_dict(const StateDict& state) {
  check_keys<T>("adagrad", state, {"sum"}, this->params_.size());
  auto s = sum_;
  this->get(state, "sum", s);
  Optimizer<T>::load_state_dict(state);
  sum_ = std::move(s);
}

// ---------------------------------------------------------------------------------------------------
// Adam, AdamW

namespace {
AdamOptions checked(const AdamOptions& o, const char* name) {
  require_nonnegative(name, "lr", o.lr);
  require_in(name, "beta1", o.beta1, 0, 1, false);
  require_in(name, "beta2", o.beta2, 0, 1, false);
  require_nonnegative(name, "eps", o.eps);
  require_nonnegative(name, "weight_decay", o.weight_decay);
  return o;
}
AdamOptions as_adam(const AdamWOptions& o) {
  AdamOptions a;
  a.lr = o.lr;
  a.beta1 = o.beta1;
  a.beta2 = o.beta2;
  a.eps = o.eps;
  a.weight_decay = o.weight_decay;
  a.amsgrad = o.amsgrad;
  a.decay_matrices_only = o.decay_matrices_only;
  return a;
}
}  // namespace

template <class T>
Adam<T>::Adam(ParamGroups<T> params, const AdamOptions& options) : Adam(std::move(params), options, false) {}

template <class T>
Adam<T>::Adam(ParamGroups<T> params, const AdamOptions& options, bool decoupled)
    : Optimizer<T>(std::move(params), checked(options, decoupled ? "adamw" : "adam").lr),
      options_(options),
      decoupled_(decoupled) {
  exp_avg_ = zeros_like(this->params_);
  exp_avg_sq_ = zeros_like(this->params_);
  if (options_.amsgrad) max_exp_avg_sq_ = zeros_like(this->params_);
}

template <class T>
void Adam<T>::step() {
  const long t = ++this->steps_;
  const double beta1 = options_.beta1, beta2 = options_.beta2;
  const T b1 = static_cast<T>(beta1), one_minus_b1 = static_cast<T>(1 - beta1);
  const T b2 = static_cast<T>(beta2), one_minus_b2 = static_cast<T>(1 - beta2);
  const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(t));  // 1 − β₁ᵗ
  const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(t));  // 1 − β₂ᵗ
  const T bias_correction2_sqrt = static_cast<T>(std::sqrt(bias_correction2));  // √(1 − β₂ᵗ)
  const T eps = static_cast<T>(options_.eps);
  const char* opt = name();
  for (std::size_t i = 0; i < this->params_.size(); ++i) {
    Parameter<T>& p = *this->params_[i];
    if (!p.requires_grad()) continue;
    Array<T>& theta = p.value();
    const Array<T>& grad = p.grad();
    Array<T>& m = exp_avg_[i];
    Array<T>& v = exp_avg_sq_[i];
    check_shape(opt, i, p, m);
    const double lr = this->lr_of(i);                           // γ
    const T step_size = static_cast<T>(lr / bias_correction1);  // γ / (1 − β₁ᵗ)
    const T lambda = this->weight_decay_of(i, options_.weight_decay, options_.decay_matrices_only);
    if (decoupled_ && lambda != 0) {
      const T shrink = static_cast<T>(1 - lr * static_cast<double>(lambda));
      xt::noalias(theta) = theta * shrink;  // AdamW: θ ← θ − γ λ θ
    }
    auto update = [&](const auto& g) {
      xt::noalias(m) = b1 * m + one_minus_b1 * g;        // m ← β₁ m + (1 − β₁) g
      xt::noalias(v) = b2 * v + one_minus_b2 * (g * g);  // v ← β₂ v + (1 − β₂) g²
    };
    if (!decoupled_ && lambda != 0)
      update(grad + lambda * theta);  // Adam: g = ∇f(θ) + λ θ
    else
      update(grad);  // g = ∇f(θ)
    const Array<T>* v_hat = &v;
    if (options_.amsgrad) {
      Array<T>& v_max = max_exp_avg_sq_[i];
      xt::noalias(v_max) = xt::maximum(v_max, v);  // v_max ← max(v_max, v)
      v_hat = &v_max;
    }
    // θ ← θ − (γ / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
    xt::noalias(theta) = theta - step_size * m / (xt::sqrt(*v_hat) / bias_correction2_sqrt + eps);
  }
}

template <class T>
typename Adam<T>::StateDict Adam<T>::state_dict() const {
  StateDict s = Optimizer<T>::state_dict();
  this->put(s, "exp_avg", exp_avg_);
  this->put(s, "exp_avg_sq", exp_avg_sq_);
  if (options_.amsgrad) this->put(s, "max_exp_avg_sq", max_exp_avg_sq_);
  return s;
}

template <class T>
void Adam<T>::load_state_dict(const StateDict& state) {
  std::vector<std::string> kinds = {"exp_avg", "exp_avg_sq"};
  if (options_.amsgrad) kinds.push_back("max_exp_avg_sq");
  check_keys<T>(name(), state, kinds, this->params_.size());
  auto m = exp_avg_, v = exp_avg_sq_, v_max = max_exp_avg_sq_;
  this->get(state, "exp_avg", m);
  this->get(state, "exp_avg_sq", v);
  if (options_.amsgrad) this->get(state, "max_exp_avg_sq", v_max);
  Optimizer<T>::load_state_dict(state);
  exp_avg_ = std::move(m);
  exp_avg_sq_ = std::move(v);
  max_exp_avg_sq_ = std::move(v_max);
}

template <class T>
AdamW<T>::AdamW(ParamGroups<T> params, const AdamWOptions& options)
    : Adam<T>(std::move(params), as_adam(options), true) {}

// ---------------------------------------------------------------------------------------------------
// Rmsprop

namespace {
RmspropOptions checked(const RmspropOptions& o) {
  require_nonnegative("rmsprop", "lr", o.lr);
  require_in("rmsprop", "alpha", o.alpha, 0, 1);
  require_nonnegative("rmsprop", "eps", o.eps);
  require_nonnegative("rmsprop", "weight_decay", o.weight_decay);
  require_nonnegative("rmsprop", "momentum", o.momentum);
  return o;
}
}  // namespace

template <class T>
Rmsprop<T>::Rmsprop(ParamGroups<T> params, const RmspropOptions& options)
    : Optimizer<T>(std::move(params), checked(options).lr), options_(options) {
  square_avg_ = zeros_like(this->params_);
  if (options_.centered) grad_avg_ = zeros_like(this->params_);
  if (options_.momentum > 0) momentum_buffer_ = zeros_like(this->params_);
}

template <class T>
void Rmsprop<T>::step() {
  ++this->steps_;
  const T alpha = static_cast<T>(options_.alpha), one_minus_alpha = static_cast<T>(1 - options_.alpha);
  const T eps = static_cast<T>(options_.eps);
  const T mu = static_cast<T>(options_.momentum);
  for (std::size_t i = 0; i < this->params_.size(); ++i) {
    Parameter<T>& p = *this->params_[i];
    if (!p.requires_grad()) continue;
    Array<T>& theta = p.value();
    const Array<T>& grad = p.grad();
    Array<T>& v = square_avg_[i];
    check_shape("rmsprop", i, p, v);
    const T lr = static_cast<T>(this->lr_of(i));  // γ
    // The last two lines of the update, for a denominator expression d.
    auto apply = [&](const auto& g, const auto& d) {
      if (options_.momentum > 0) {
        Array<T>& b = momentum_buffer_[i];
        xt::noalias(b) = mu * b + g / d;      // b ← μ b + g / d
        xt::noalias(theta) = theta - lr * b;  // θ ← θ − γ b
      } else {
        xt::noalias(theta) = theta - lr * g / d;  // θ ← θ − γ g / d
      }
    };
    auto update = [&](const auto& g) {
      xt::noalias(v) = alpha * v + one_minus_alpha * (g * g);  // v ← α v + (1 − α) g²
      if (options_.centered) {
        Array<T>& g_avg = grad_avg_[i];
        xt::noalias(g_avg) = alpha * g_avg + one_minus_alpha * g;  // ḡ ← α ḡ + (1 − α) g
        apply(g, xt::sqrt(v - g_avg * g_avg) + eps);               // d = √(v − ḡ²) + ε
      } else {
        apply(g, xt::sqrt(v) + eps);  // d = √v + ε
      }
    };
    const T lambda = this->weight_decay_of(i, options_.weight_decay, options_.decay_matrices_only);
    if (lambda != 0)
      update(grad + lambda * theta);  // g = ∇f(θ) + λ θ
    else
      update(grad);
  }
}

template <class T>
typename Rmsprop<T>::StateDict Rmsprop<T>::state_dict() const {
  StateDict s = Optimizer<T>::state_dict();
  this->put(s, "square_avg", square_avg_);
  if (options_.centered) this->put(s, "grad_avg", grad_avg_);
  if (options_.momentum > 0) this->put(s, "momentum_buffer", momentum_buffer_);
  return s;
}

template <class T>
void Rmsprop<T>::load_state_dict(const StateDict& state) {
  std::vector<std::string> kinds = {"square_avg"};
  if (options_.centered) kinds.push_back("grad_avg");
  if (options_.momentum > 0) kinds.push_back("momentum_buffer");
  check_keys<T>("rmsprop", state, kinds, this->params_.size());
  auto v = square_avg_, g_avg = grad_avg_, b = momentum_buffer_;
  this->get(state, "square_avg", v);
  if (options_.centered) this->get(state, "grad_avg", g_avg);
  if (options_.momentum > 0) this->get(state, "momentum_buffer", b);
  Optimizer<T>::load_state_dict(state);
  square_avg_ = std::move(v);
  grad_avg_ = std::move(g_avg);
  momentum_buffer_ = std::move(b);
}

// ---------------------------------------------------------------------------------------------------
// clip_grad_norm

template <class T>
double clip_grad_norm(const std::vector<Parameter<T>*>& params, double max_norm, bool error_if_nonfinite) {
  if (!(max_norm >= 0)) throw Error(fmt::format("clip_grad_norm: max_norm must be ≥ 0, got {}", max_norm));
  double sum_sq = 0;  // Σ g², in double whatever T is
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (params[i] == nullptr) throw Error(fmt::format("clip_grad_norm: parameter {} is a null pointer", i));
    if (!params[i]->requires_grad()) continue;
    const Array<T>& g = params[i]->grad();
    const T* d = g.data();
    for (std::size_t k = 0, n = g.size(); k < n; ++k) sum_sq += static_cast<double>(d[k]) * static_cast<double>(d[k]);
  }
  const double total = std::sqrt(sum_sq);  // ‖g‖
  if (!std::isfinite(total)) {
    if (error_if_nonfinite)
      throw Error(fmt::format("clip_grad_norm: the total gradient norm is {}; a gradient holds NaN or Inf", total));
    return total;
  }
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1) {
    const T c = static_cast<T>(coef);
    for (Parameter<T>* p : params)
      if (p->requires_grad()) {
        Array<T>& g = p->grad();
        xt::noalias(g) = g * c;  // g ← g · max_norm / (‖g‖ + 10⁻⁶)
      }
  }
  return total;
}

// ---------------------------------------------------------------------------------------------------

template class Sgd<float>;
template class Sgd<double>;
template class Adagrad<float>;
template class Adagrad<double>;
template class Adam<float>;
template class Adam<double>;
template class AdamW<float>;
template class AdamW<double>;
template class Rmsprop<float>;
template class Rmsprop<double>;
template double clip_grad_norm(const std::vector<Parameter<float>*>&, double, bool);
template double clip_grad_norm(const std::vector<Parameter<double>*>&, double, bool);

}  // namespace tapir::optim
