// tapir/nn/dist/distribution.hpp — Distribution<T>: the interface every family implements (tapir::dist).
//
// Ownership and lifetimes: a distribution is a small value that holds Var<T> handles to its parameters
// (loc, scale, logits, ...) on one tape. It owns no arrays, so copying it is cheap, and it is valid only
// as long as those Vars are: until Tape::clear(). Build distributions inside the training step, from
// the Vars the step computes (an encoder's outputs, a parameter leaf, tape.constant(...)).
//
// Shapes follow torch.distributions: one draw has shape batch_shape + event_shape; sample(rng, S) and
// rsample(rng, S) return S + batch_shape + event_shape; log_prob(x) takes x of shape
// S + batch_shape + event_shape (any S, and x may broadcast against the batch) and returns S + batch_shape
// (event dims are summed: one log-density per independent batch element).
//
// Caller-supplied noise. Every reparameterisable family writes its draw as x = g(params, ξ) with ξ from
// a fixed base distribution (base_noise(): ε ~ N(0, 1) or u ~ U[0, 1), elementwise) of shape
// noise_shape(S). rsample(rng, S) is exactly rsample_with_noise(tape.constant(draw_noise(rng, S))), so a
// caller who draws or builds ξ can use common random numbers (the same ξ for two models), antithetic
// pairs (−ε, or 1 − u) or quasi-random points (pushed through Φ⁻¹ for standard_normal):
//   Array<T> eps = q.draw_noise(rng, {n});                          // q.base_noise() == standard_normal
//   Var<T> z1 = q.rsample_with_noise(tape.constant(eps));
//   Var<T> z2 = q.rsample_with_noise(tape.constant(Array<T>(-eps)));  // the antithetic partner
#pragma once

#include <memory>
#include <string>

#include "autodiff/autodiff.hpp"

namespace tapir::dist {

/// The base distribution of a family's reparameterisation noise ξ (see rsample_with_noise).
enum class BaseNoise {
  none,             ///< no reparameterised sampler
  standard_normal,  ///< ξ = ε ~ N(0, 1), independent elements
  standard_uniform  ///< ξ = u ~ U[0, 1), independent elements (0 and 1 are clamped where a family needs it)
};

template <class T>
class Distribution {
 public:
  using value_type = T;

  virtual ~Distribution() = default;

  /// The family's name as it appears in error messages ("Normal", "Independent(Normal, 1)").
  virtual std::string type_name() const = 0;

  /// log p(x) for x of shape S + batch_shape + event_shape; returns S + batch_shape.
  virtual Var<T> log_prob(const Var<T>& value) const = 0;
  /// Σ of log_prob(value) over its last n axes (Independent's log_prob). The default sums log_prob;
  /// a family may fuse the two (Bernoulli: one pass, no full-size temporaries).
  virtual Var<T> log_prob_summed(const Var<T>& value, std::size_t n) const;

  /// x ~ p with shape sample_shape + batch_shape + event_shape, as a constant Var: no gradient flows to
  /// the parameters. The default runs rsample in a no-grad scope and copies its value into a constant.
  virtual Var<T> sample(Rng& rng, const Shape& sample_shape = {}) const;

  /// x = g(params, ε), ε from a fixed base distribution, so dx/dparams exists (the reparameterisation
  /// trick, AEVB §2.4). Families without one (discrete ones) throw an Error naming the family. The
  /// default is rsample_with_noise(tape.constant(draw_noise(rng, sample_shape))).
  virtual Var<T> rsample(Rng& rng, const Shape& sample_shape = {}) const;
  /// Whether rsample is available (kl_divergence_mc and users choose rsample or sample by it).
  virtual bool has_rsample() const { return false; }

  /// The base distribution of the noise rsample transforms (none when has_rsample() is false).
  virtual BaseNoise base_noise() const { return BaseNoise::none; }
  /// Shape of the noise for sample_shape: sample_shape + the family's noise event shape, which is
  /// batch_shape + event_shape for every built-in family except LowRankMultivariateNormal ((R + D,)).
  virtual Shape noise_shape(const Shape& sample_shape = {}) const { return extended_shape(sample_shape); }
  /// ξ drawn from base_noise() with shape noise_shape(sample_shape), in the order rsample draws it.
  /// Throws Error for families without rsample.
  virtual Array<T> draw_noise(Rng& rng, const Shape& sample_shape = {}) const;
  /// x = g(params, ξ) for noise ξ of shape S + noise_shape({}) (returns S + batch_shape + event_shape):
  /// the deterministic half of rsample, differentiable in the parameters (and in ξ). Each family's header
  /// states its g. Throws ShapeError when ξ's trailing dims are not noise_shape({}), and Error for
  /// families without rsample.
  virtual Var<T> rsample_with_noise(const Var<T>& noise) const;

  /// H[p] = −E_p[log p(x)], shape batch_shape. Throws for families without a closed form.
  virtual Var<T> entropy() const;
  /// E[x], shape batch_shape + event_shape. Throws for families where it is undefined.
  virtual Var<T> mean() const;
  /// Var[x] = E[(x − E x)²] (elementwise), shape batch_shape + event_shape.
  virtual Var<T> variance() const;
  /// √Var[x]; the default takes the square root of variance().
  virtual Var<T> stddev() const;

  /// Shape of one independent, non-identical batch of distributions.
  const Shape& batch_shape() const { return batch_shape_; }
  /// Shape of one draw from one member of the batch (() for scalar families).
  const Shape& event_shape() const { return event_shape_; }
  /// sample_shape + batch_shape + event_shape: the shape of sample(rng, sample_shape).
  Shape extended_shape(const Shape& sample_shape = {}) const;
  /// The tape the parameters live on.
  Tape<T>& tape() const { return *tape_; }

 protected:
  Distribution(Tape<T>& tape, Shape batch_shape, Shape event_shape)
      : tape_(&tape), batch_shape_(std::move(batch_shape)), event_shape_(std::move(event_shape)) {}
  Distribution(const Distribution&) = default;
  Distribution& operator=(const Distribution&) = default;

  /// Throws Error "<family>: <what> is not implemented ..." — for the defaults above.
  [[noreturn]] void not_implemented(const char* what) const;
  /// The sample shape S of noise of shape S + noise_shape({}); throws ShapeError naming the family.
  Shape noise_sample_shape(const Var<T>& noise) const;

  Tape<T>* tape_;
  Shape batch_shape_;
  Shape event_shape_;
};

// ---- Helpers shared by the families (public: handy for users writing their own) -------------------

/// Concatenation a + b of two shapes.
Shape concat_shapes(const Shape& a, const Shape& b);

/// x broadcast to `shape` (x + 0); returns x itself when the shapes already agree. The gradient is
/// summed back to x's shape by the add.
template <class T>
Var<T> expand(const Var<T>& x, const Shape& shape);

/// The broadcast shape of two parameters; throws ShapeError naming the family and both shapes.
Shape broadcast_params(const std::string& family, const char* a_name, const Shape& a, const char* b_name,
                       const Shape& b);

/// Sums the rightmost n axes of x: Σ over x's last n dims (used by Independent and event reductions).
template <class T>
Var<T> sum_rightmost(const Var<T>& x, std::size_t n);

}  // namespace tapir::dist
