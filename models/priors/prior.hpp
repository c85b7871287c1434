// tapir/models/priors/prior.hpp — Prior: p(z) as a part of a latent-variable model (tapir::models).
//
// A prior is a Module (a learnable prior owns its parameters; N(0, I) has none) that gives p(z) as a
// distribution on the current tape: batch shape (), event shape (dim,), so that log_prob(z) takes z of
// any leading shape (..., dim) and returns (...). A VAE asks kl_divergence(q(z|x), p) for the analytic
// KL when the pair is registered (dist::has_kl) and uses the Monte Carlo form otherwise.
//
// Writing a new prior: derive, register its parameters in the constructor, implement name() and
// distribution() (and sample() when distribution()->sample is not what you want). See
// docs/tutorial_new_model.md and examples/laplace_prior/.
#pragma once

#include <memory>
#include <string>

#include "nn/dist/dist.hpp"
#include "nn/module.hpp"

namespace tapir::models {

template <class T>
class Prior : public nn::Module<T> {
 public:
  explicit Prior(std::size_t dim) : dim_(dim) {}
  /// The prior as the command names it ("normal", "mog:10", "vamp:500").
  virtual std::string name() const = 0;
  /// p(z) on `tape`, batch shape (), event shape (dim,). Valid until tape.clear().
  virtual std::unique_ptr<dist::Distribution<T>> distribution(Tape<T>& tape) const = 0;
  /// log p(z) for z (..., dim) → (...). Everything but the analytic KL uses this (the Monte Carlo bound,
  /// IWAE, AIS, HMC): override it (and sample()) when a faster form exists, consistently with
  /// distribution().
  virtual Var<T> log_prob(const Var<T>& z) const { return distribution(z.tape())->log_prob(z); }
  /// n draws z ~ p(z), (n, dim), no gradient.
  virtual Array<T> sample(Rng& rng, std::size_t n) const {
    Tape<T> tape;
    NoGradGuard<T> no_grad(tape);
    return distribution(tape)->sample(rng, {n}).value();
  }
  std::size_t dim() const { return dim_; }

 private:
  std::size_t dim_;
};

}  // namespace tapir::models
