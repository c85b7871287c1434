// tapir/nn/dist/kl.cpp — the KL registry, its built-in analytic pairs, and the Monte Carlo estimate.
#include "nn/dist/kl.hpp"

#include <fmt/format.h>

#include <limits>
#include <map>
#include <mutex>

#include "nn/dist/bernoulli.hpp"
#include "nn/dist/categorical.hpp"
#include "nn/dist/continuous_bernoulli.hpp"
#include "nn/dist/independent.hpp"
#include "nn/dist/laplace.hpp"
#include "nn/dist/normal.hpp"
#include "nn/dist/uniform.hpp"

namespace tapir::dist {

namespace {

constexpr double kLog2Pi = 1.8378770664093454836;  // log 2π
constexpr double kLog2 = 0.69314718055994530942;   // log 2

/// KL(N(μ₁, σ₁²) ‖ N(μ₂, σ₂²)) = log σ₂ − log σ₁ + ½ [(σ₁/σ₂)² + ((μ₁ − μ₂)/σ₂)² − 1].
template <class T>
Var<T> kl_normal_normal(const Normal<T>& p, const Normal<T>& q) {
  Var<T> var_ratio = square(p.scale() / q.scale());
  Var<T> t1 = square((p.loc() - q.loc()) / q.scale());
  return (var_ratio + t1 - T(1)) * T(0.5) + q.log_scale() - p.log_scale();
}

/// KL(Bern(σ(a)) ‖ Bern(σ(b))) = σ(a) [log σ(a) − log σ(b)] + σ(−a) [log σ(−a) − log σ(−b)],
/// every term from logits (log σ(·) = log_sigmoid), so it stays finite at |logits| = 100.
template <class T>
Var<T> kl_bernoulli_bernoulli(const Bernoulli<T>& p, const Bernoulli<T>& q) {
  const Var<T>& a = p.logits();
  const Var<T>& b = q.logits();
  return sigmoid(a) * (log_sigmoid(a) - log_sigmoid(b)) + sigmoid(-a) * (log_sigmoid(-a) - log_sigmoid(-b));
}

/// KL(Cat(p) ‖ Cat(q)) = Σ_k p_k (log p_k − log q_k) (log-probabilities clamped to finite values, so a
/// class with p_k = 0 contributes 0).
template <class T>
Var<T> kl_categorical_categorical(const Categorical<T>& p, const Categorical<T>& q) {
  if (p.num_categories() != q.num_categories())
    throw ShapeError(fmt::format("kl_divergence(Categorical, Categorical): {} vs {} categories (logits {} and {})",
                                 p.num_categories(), q.num_categories(), shape_str(p.logits().shape()),
                                 shape_str(q.logits().shape())));
  const T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
  return sum(p.probs() * (clamp(p.log_probs(), lo, hi) - clamp(q.log_probs(), lo, hi)), -1);
}

/// KL(Laplace(μ₁, b₁) ‖ Laplace(μ₂, b₂)) = log(b₂/b₁) + |μ₁ − μ₂|/b₂ + (b₁/b₂) e^(−|μ₁ − μ₂|/b₁) − 1.
template <class T>
Var<T> kl_laplace_laplace(const Laplace<T>& p, const Laplace<T>& q) {
  Var<T> ratio = p.scale() / q.scale();
  Var<T> diff = abs(p.loc() - q.loc());
  return diff / q.scale() + ratio * exp(-diff / p.scale()) - log(ratio) - T(1);
}

/// KL(CB(a) ‖ CB(b)) = E_p[log p − log q] with log p(x) = x l − softplus(l) + log C(l), linear in x:
///   = E_p[x] (a − b) − softplus(a) + log C(a) + softplus(b) − log C(b)   (PyTorch's form, in logits).
template <class T>
Var<T> kl_cb_cb(const ContinuousBernoulli<T>& p, const ContinuousBernoulli<T>& q) {
  const Var<T>& a = p.logits();
  const Var<T>& b = q.logits();
  return p.mean() * (a - b) - softplus(a) + p.log_normalizer() + softplus(b) - q.log_normalizer();
}

/// KL(N(μ, σ²) ‖ Laplace(m, b)) = −H_p − E_p[log q] = log 2b − log σ − ½ log 2πe + E|x − m|/b, with
///   E|x − m| = σ √(2/π) e^(−δ²/(2σ²)) + δ erf(δ/(√2 σ)),  δ = μ − m   (the folded-normal mean).
template <class T>
Var<T> kl_normal_laplace(const Normal<T>& p, const Laplace<T>& q) {
  Var<T> delta = p.loc() - q.loc();
  Var<T> abs_mean = p.scale() * exp(square(delta / p.scale()) * T(-0.5)) * T(0.79788456080286535588) /* √(2/π) */ +
                    delta * erf(delta / p.scale() * T(1 / std::sqrt(2.0)));
  return log(q.scale()) - p.log_scale() + abs_mean / q.scale() + T(kLog2 - 0.5 * (1 + kLog2Pi));
}

/// KL(Laplace(m, b) ‖ N(μ, σ²)) = −H_p − E_p[log q] = log σ + ½ log 2π − 1 − log 2b + (2b² + (m − μ)²)/(2σ²).
template <class T>
Var<T> kl_laplace_normal(const Laplace<T>& p, const Normal<T>& q) {
  Var<T> second_moment = square(p.scale()) * T(2) + square(p.loc() - q.loc());  // E_p[(x − μ)²]
  return q.log_scale() - log(p.scale()) + second_moment / (square(q.scale()) * T(2)) + T(0.5 * kLog2Pi - 1 - kLog2);
}

/// KL(U[l, h) ‖ N(μ, σ²)) = −log(h − l) + log σ + ½ log 2π + ((h − l)²/12 + ((l + h)/2 − μ)²)/(2σ²).
template <class T>
Var<T> kl_uniform_normal(const Uniform<T>& p, const Normal<T>& q) {
  Var<T> width = p.high() - p.low();
  Var<T> second_moment = square(width) / T(12) + square(p.mean() - q.loc());  // E_p[(x − μ)²]
  return q.log_scale() - log(width) + second_moment / (square(q.scale()) * T(2)) + T(0.5 * kLog2Pi);
}

/// KL(U[l, h) ‖ Laplace(m, b)) = −log(h − l) + log 2b + E|x − m|/b, with
///   E|x − m| = (s(h − m) − s(l − m)) / (2(h − l)),  s(t) = t|t|   (one expression for m below, inside
///   or above [l, h)).
template <class T>
Var<T> kl_uniform_laplace(const Uniform<T>& p, const Laplace<T>& q) {
  Var<T> width = p.high() - p.low();
  Var<T> a = p.high() - q.loc(), c = p.low() - q.loc();
  Var<T> abs_mean = (a * abs(a) - c * abs(c)) / (width * T(2));
  return log(q.scale()) - log(width) + abs_mean / q.scale() + T(kLog2);
}

/// KL(U[l₁, h₁) ‖ U[l₂, h₂)) = log((h₂ − l₂)/(h₁ − l₁)) when [l₁, h₁) ⊆ [l₂, h₂), +∞ otherwise (gradient 0).
template <class T>
Var<T> kl_uniform_uniform(const Uniform<T>& p, const Uniform<T>& q) {
  Var<T> kl = log(q.high() - q.low()) - log(p.high() - p.low());
  xt::xarray<bool> inside = (q.low().value() <= p.low().value()) && (p.high().value() <= q.high().value());
  inside = xt::broadcast(inside, kl.shape());
  return tapir::where(inside, kl, p.tape().scalar(std::numeric_limits<T>::infinity()));
}

/// KL(p ‖ U[l, h)) = +∞ for p with support ℝ (Normal, Laplace), as PyTorch; shape batch_shape of the
/// broadcast pair, no gradient.
template <class T>
Var<T> kl_infinite(const Distribution<T>& p, const Distribution<T>& q) {
  const Shape shape = broadcast_params("kl_divergence", "p", p.batch_shape(), "q", q.batch_shape());
  return p.tape().constant(Array<T>(Array<T>::from_shape(shape) * T(0) + std::numeric_limits<T>::infinity()));
}

/// KL(CB(a) ‖ U[l, h)) = −H_p + log(h − l) when [0, 1] ⊆ [l, h] (the edge h = 1 has measure 0), else +∞.
template <class T>
Var<T> kl_cb_uniform(const ContinuousBernoulli<T>& p, const Uniform<T>& q) {
  Var<T> kl = log(q.high() - q.low()) - p.entropy();
  xt::xarray<bool> inside = (q.low().value() <= T(0)) && (q.high().value() >= T(1));
  inside = xt::broadcast(inside, kl.shape());
  return tapir::where(inside, kl, p.tape().scalar(std::numeric_limits<T>::infinity()));
}

/// KL(U[l, h) ‖ CB(b)) = −log(h − l) − E_p[log q] with log q linear in x:
///   = −log(h − l) − (l + h)/2 · b + softplus(b) − log C(b)  when [l, h) ⊆ [0, 1], else +∞.
template <class T>
Var<T> kl_uniform_cb(const Uniform<T>& p, const ContinuousBernoulli<T>& q) {
  Var<T> kl = softplus(q.logits()) - q.log_normalizer() - p.mean() * q.logits() - log(p.high() - p.low());
  xt::xarray<bool> inside = (p.low().value() >= T(0)) && (p.high().value() <= T(1));
  inside = xt::broadcast(inside, kl.shape());
  return tapir::where(inside, kl, p.tape().scalar(std::numeric_limits<T>::infinity()));
}

/// KL(CB(a) ‖ N(μ, σ²)) = −H_p + log σ + ½ log 2π + (Var_p + (E_p − μ)²)/(2σ²).
template <class T>
Var<T> kl_cb_normal(const ContinuousBernoulli<T>& p, const Normal<T>& q) {
  Var<T> second_moment = p.variance() + square(p.mean() - q.loc());
  return q.log_scale() - p.entropy() + second_moment / (square(q.scale()) * T(2)) + T(0.5 * kLog2Pi);
}

/// KL of independent parts adds: Σ over the reinterpreted dims of KL(base_p ‖ base_q).
template <class T>
Var<T> kl_independent_independent(const Independent<T>& p, const Independent<T>& q) {
  if (p.reinterpreted_batch_ndims() != q.reinterpreted_batch_ndims())
    throw Error(fmt::format("kl_divergence({}, {}): the two reinterpret different numbers of batch dims ({} vs {})",
                            p.type_name(), q.type_name(), p.reinterpreted_batch_ndims(),
                            q.reinterpreted_batch_ndims()));
  return sum_rightmost(kl_divergence(p.base(), q.base()), p.reinterpreted_batch_ndims());
}

template <class T>
struct Registry {
  std::mutex mutex;
  std::map<std::pair<std::type_index, std::type_index>, KlFn<T>> table;
};

template <class P, class Q, class T, class F>
void add_builtin(Registry<T>& r, F fn) {
  r.table[{typeid(P), typeid(Q)}] = [fn](const Distribution<T>& p, const Distribution<T>& q) {
    return fn(static_cast<const P&>(p), static_cast<const Q&>(q));
  };
}

/// The one place the built-in pairs are listed; runs once, on first use.
template <class T>
Registry<T>& registry() {
  static Registry<T>* r = [] {
    auto* reg = new Registry<T>;  // never destroyed: safe to use from other static destructors
    add_builtin<Normal<T>, Normal<T>>(*reg, kl_normal_normal<T>);
    add_builtin<Bernoulli<T>, Bernoulli<T>>(*reg, kl_bernoulli_bernoulli<T>);
    add_builtin<Categorical<T>, Categorical<T>>(*reg, kl_categorical_categorical<T>);
    add_builtin<Laplace<T>, Laplace<T>>(*reg, kl_laplace_laplace<T>);
    add_builtin<Independent<T>, Independent<T>>(*reg, kl_independent_independent<T>);
    add_builtin<ContinuousBernoulli<T>, ContinuousBernoulli<T>>(*reg, kl_cb_cb<T>);
    add_builtin<ContinuousBernoulli<T>, Normal<T>>(*reg, kl_cb_normal<T>);
    add_builtin<ContinuousBernoulli<T>, Uniform<T>>(*reg, kl_cb_uniform<T>);
    add_builtin<Uniform<T>, ContinuousBernoulli<T>>(*reg, kl_uniform_cb<T>);
    add_builtin<Normal<T>, Laplace<T>>(*reg, kl_normal_laplace<T>);
    add_builtin<Laplace<T>, Normal<T>>(*reg, kl_laplace_normal<T>);
    add_builtin<Uniform<T>, Normal<T>>(*reg, kl_uniform_normal<T>);
    add_builtin<Uniform<T>, Laplace<T>>(*reg, kl_uniform_laplace<T>);
    add_builtin<Uniform<T>, Uniform<T>>(*reg, kl_uniform_uniform<T>);
    add_builtin<Normal<T>, Uniform<T>>(*reg, kl_infinite<T>);
    add_builtin<Laplace<T>, Uniform<T>>(*reg, kl_infinite<T>);
    return reg;
  }();
  return *r;
}

}  // namespace

template <class T>
Var<T> kl_divergence(const Distribution<T>& p, const Distribution<T>& q) {
  KlFn<T> fn;
  {
    Registry<T>& r = registry<T>();
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.table.find({typeid(p), typeid(q)});
    if (it != r.table.end()) fn = it->second;
  }
  // Called outside the lock: Independent's KL looks up its bases' pair.
  if (!fn)
    throw Error(fmt::format(
        "kl_divergence: no analytic KL is registered for ({}, {}); register one with "
        "tapir::dist::register_kl<P, Q>(fn), or estimate it with tapir::dist::kl_divergence_mc(p, q, rng, n_samples)",
        p.type_name(), q.type_name()));
  return fn(p, q);
}

template <class T>
bool has_kl(const Distribution<T>& p, const Distribution<T>& q) {
  bool found;
  {
    Registry<T>& r = registry<T>();
    std::lock_guard<std::mutex> lock(r.mutex);
    found = r.table.count({typeid(p), typeid(q)}) > 0;
  }
  // Independent/Independent is registered generically: it exists only when the bases' pair does.
  const auto* ip = dynamic_cast<const Independent<T>*>(&p);
  const auto* iq = dynamic_cast<const Independent<T>*>(&q);
  if (found && ip && iq && typeid(p) == typeid(Independent<T>) && typeid(q) == typeid(Independent<T>))
    return ip->reinterpreted_batch_ndims() == iq->reinterpreted_batch_ndims() && has_kl(ip->base(), iq->base());
  return found;
}

template <class T>
Var<T> kl_divergence_mc(const Distribution<T>& p, const Distribution<T>& q, Rng& rng, std::size_t n_samples) {
  if (n_samples == 0) throw Error("kl_divergence_mc: n_samples must be at least 1");
  const Shape s{n_samples};
  Var<T> x = p.has_rsample() ? p.rsample(rng, s) : p.sample(rng, s);  // (N,) + batch + event
  return mean(p.log_prob(x) - q.log_prob(x), 0);
}

namespace detail {
template <class T>
void register_kl_erased(std::type_index p, std::type_index q, KlFn<T> fn) {
  Registry<T>& r = registry<T>();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.table[{p, q}] = std::move(fn);
}
template <class T>
bool unregister_kl_erased(std::type_index p, std::type_index q) {
  Registry<T>& r = registry<T>();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.table.erase({p, q}) > 0;
}
}  // namespace detail

#define TAPIR_DIST_KL(T)                                                                                  \
  template Var<T> kl_divergence<T>(const Distribution<T>&, const Distribution<T>&);                       \
  template bool has_kl<T>(const Distribution<T>&, const Distribution<T>&);                                \
  template Var<T> kl_divergence_mc<T>(const Distribution<T>&, const Distribution<T>&, Rng&, std::size_t); \
  template void detail::register_kl_erased<T>(std::type_index, std::type_index, KlFn<T>);                 \
  template bool detail::unregister_kl_erased<T>(std::type_index, std::type_index);

TAPIR_DIST_KL(float)
TAPIR_DIST_KL(double)

}  // namespace tapir::dist
