// tapir/nn/init.hpp — parameter initialisers, all drawing from an explicit generator.
//
// Weights of a Linear layer have shape (fan_in, fan_out) (y = x W + b); for other shapes fan_in is
// the product of all dimensions but the last, fan_out the last dimension.
#pragma once

#include "autodiff/random.hpp"
#include "autodiff/tape.hpp"

namespace tapir::nn::init {

/// w ~ N(mean, std²) elementwise. The AEVB paper draws every parameter from N(0, 0.01).
template <class T>
void normal_(Parameter<T>& p, Rng& rng, double mean, double std);
/// w ~ U[lo, hi).
template <class T>
void uniform_(Parameter<T>& p, Rng& rng, double lo, double hi);
/// w = 0.
template <class T>
void zeros_(Parameter<T>& p);
/// w = value.
template <class T>
void constant_(Parameter<T>& p, double value);
/// Glorot & Bengio (2010): w ~ U[−a, a], a = gain · √(6 / (fan_in + fan_out)).
template <class T>
void xavier_uniform_(Parameter<T>& p, Rng& rng, double gain = 1.0);
/// Glorot & Bengio (2010): w ~ N(0, gain² · 2 / (fan_in + fan_out)).
template <class T>
void xavier_normal_(Parameter<T>& p, Rng& rng, double gain = 1.0);
/// He et al. (2015): w ~ N(0, 2 / fan_in), for ReLU layers.
template <class T>
void kaiming_normal_(Parameter<T>& p, Rng& rng);
/// He et al. (2015): w ~ U[−a, a], a = √(6 / fan_in).
template <class T>
void kaiming_uniform_(Parameter<T>& p, Rng& rng);

/// (fan_in, fan_out) of a parameter shape as described above; throws for a 0-d shape.
std::pair<std::size_t, std::size_t> fans(const Shape& shape);

}  // namespace tapir::nn::init
