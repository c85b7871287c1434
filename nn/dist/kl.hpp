// tapir/nn/dist/kl.hpp — KL(p ‖ q) = E_p[log p(x) − log q(x)]: analytic pairs from a registry, and a
// Monte Carlo estimate for the rest.
//
// The registry is keyed on the exact dynamic types (std::type_index of p and q, as torch.distributions
// does) and is filled with the built-in pairs by one function on first use — not by static registrar
// objects, which the linker may drop from a static library. It is process-wide, one table per T, and
// guarded by a mutex; register_kl may add or replace pairs at any time, unregister_kl removes one.
//
// Built-in pairs (each returns batch_shape; the formulas are in kl.cpp): Normal/Normal,
// Bernoulli/Bernoulli, Categorical/Categorical, Laplace/Laplace, ContinuousBernoulli/ContinuousBernoulli,
// Normal/Laplace, Laplace/Normal, Uniform/Normal, Uniform/Laplace, Uniform/Uniform,
// ContinuousBernoulli/Normal, ContinuousBernoulli/Uniform, Uniform/ContinuousBernoulli, Normal/Uniform and
// Laplace/Uniform (+∞: the support of p is not inside q's), and Independent/Independent whenever the
// bases' pair is registered (the base KL summed over the reinterpreted dims). Pairs whose supports do
// not nest (a Uniform q not covering p, a Uniform p outside [0, 1] against a ContinuousBernoulli) give
// +∞ with gradient 0, as PyTorch. Parameters are assumed finite (Bernoulli/Bernoulli at logits ±∞ is NaN).
#pragma once

#include <functional>
#include <type_traits>
#include <typeindex>
#include <typeinfo>
#include <utility>

#include "nn/dist/distribution.hpp"

namespace tapir::dist {

/// A type-erased KL function; p and q are guaranteed to have the registered dynamic types.
template <class T>
using KlFn = std::function<Var<T>(const Distribution<T>&, const Distribution<T>&)>;

/// KL(p ‖ q) from the registry, shape batch_shape. Throws Error naming both families (and suggesting
/// register_kl or kl_divergence_mc) when the exact pair has no entry.
template <class T>
Var<T> kl_divergence(const Distribution<T>& p, const Distribution<T>& q);

/// Whether kl_divergence(p, q) has an analytic entry for these dynamic types (for Independent pairs:
/// whether their bases have one and both reinterpret the same number of dims). A VAE uses it to choose
/// between the analytic and the Monte Carlo form of its bound.
template <class T>
bool has_kl(const Distribution<T>& p, const Distribution<T>& q);

/// Monte Carlo KL(p ‖ q) ≈ (1/N) Σ_n [log p(x_n) − log q(x_n)], x_n ~ p, shape batch_shape.
/// Uses rsample when p has one (so the estimate is differentiable in p's parameters) and sample
/// otherwise. Unbiased; its standard error falls as 1/√N.
template <class T>
Var<T> kl_divergence_mc(const Distribution<T>& p, const Distribution<T>& q, Rng& rng, std::size_t n_samples);

namespace detail {
template <class T>
void register_kl_erased(std::type_index p, std::type_index q, KlFn<T> fn);
template <class T>
bool unregister_kl_erased(std::type_index p, std::type_index q);
}  // namespace detail

/// Registers fn(const P&, const Q&) -> Var<T> as KL(P ‖ Q), replacing any earlier entry (built-ins too).
/// P and Q are the exact concrete types: a subclass of Normal is a different key.
template <class P, class Q, class F>
void register_kl(F fn) {
  using T = typename P::value_type;
  static_assert(std::is_base_of_v<Distribution<T>, P> && std::is_base_of_v<Distribution<T>, Q>,
                "register_kl<P, Q>: P and Q must derive from tapir::dist::Distribution<T> with the same T");
  detail::register_kl_erased<T>(typeid(P), typeid(Q),
                                [fn = std::move(fn)](const Distribution<T>& p, const Distribution<T>& q) {
                                  return fn(static_cast<const P&>(p), static_cast<const Q&>(q));
                                });
}

/// Removes the (P, Q) entry; returns whether there was one. For tests that register temporary pairs.
template <class P, class Q>
bool unregister_kl() {
  using T = typename P::value_type;
  return detail::unregister_kl_erased<T>(typeid(P), typeid(Q));
}

}  // namespace tapir::dist
