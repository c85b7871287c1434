// tapir/models/inference/hmc.hpp — Hamiltonian Monte Carlo over a batch of independent chains, with
// gradients from the tape (Neal 2011, "MCMC using Hamiltonian dynamics"; AEVB App. E uses it for the
// posterior of z: ∇_z log p(z) + ∇_z log p(x|z)).
//
// Every row of z (chains, d) is its own chain: one transition draws momenta ρ ~ N(0, I), runs L leapfrog
// steps of H(z, ρ) = −log π(z) + ½‖ρ‖², and accepts with probability min(1, exp(H₀ − H_L)). Chains
// share step sizes in groups (row r belongs to group r mod G; G = 1: one ε for all). With adaptation
// on, each group's ε moves towards the target acceptance rate after every transition:
//   log ε ← log ε + κ (ā − target),  ā = the group's mean acceptance probability.
// Adapting on a whole group's mean keeps ε nearly independent of any one chain's state; a chain-by-
// chain rule (G = chains, one chain per group) biases the stationary distribution noticeably (AIS on
// pPCA lost 0.3 nats that way), so use it during warm-up only.
#pragma once

#include <functional>
#include <vector>

#include "autodiff/autodiff.hpp"

namespace tapir::models {

/// log π(z) for each row of z (chains, d) → (chains,). Build it from ops on z's tape (z requires grad).
template <class T>
using LogDensityFn = std::function<Var<T>(const Var<T>& z)>;

struct HmcOptions {
  std::size_t leapfrog_steps = 10;
  double step_size = 0.1;      // initial ε for every chain
  double target_accept = 0.9;  // AEVB App. E: "adapted towards 90% acceptance"
  bool adapt = true;
  double adapt_rate = 0.05;  // κ
  std::size_t groups = 1;    // G: chains r and r + G share a step size
  double min_step = 1e-5, max_step = 10.0;
};

/// log π(z) and ∇_z log π(z) at every row of z, on a tape of its own (parameters reached from the
/// density are not given gradients: their requires_grad is off while it runs).
template <class T>
struct DensityEvaluator {
  LogDensityFn<T> log_density;
  std::vector<Parameter<T>*> frozen;  // parameters the density uses (left untouched)
  Tape<T> tape;
  void operator()(const Array<T>& z, Array<T>& log_p, Array<T>& grad);
};

template <class T>
class Hmc {
 public:
  Hmc(LogDensityFn<T> log_density, std::size_t chains, const HmcOptions& options = {},
      std::vector<Parameter<T>*> frozen = {});

  /// One transition of every chain from z (chains, d); returns the new states.
  Array<T> step(const Array<T>& z, Rng& rng);
  /// `n` transitions; returns the last states.
  Array<T> run(Array<T> z, std::size_t n, Rng& rng);

  /// The step size of each group, (G,).
  const Array<T>& step_sizes() const { return step_; }
  /// Mean acceptance probability of the last transition, and over all transitions so far.
  double last_acceptance() const { return last_accept_; }
  double mean_acceptance() const { return transitions_ ? accept_sum_ / double(transitions_) : 0.0; }
  std::size_t transitions() const { return transitions_; }
  /// Changes the target density (e.g. AIS's next temperature); keeps step sizes and statistics.
  void set_log_density(LogDensityFn<T> f) { eval_.log_density = std::move(f); }
  void set_adapt(bool on) { options_.adapt = on; }
  /// Sets every group's step size (e.g. restored from a checkpoint).
  void set_step_sizes(const Array<T>& s);

 private:
  DensityEvaluator<T> eval_;
  HmcOptions options_;
  std::size_t chains_ = 0;
  Array<T> step_;  // (G,)
  double last_accept_ = 0, accept_sum_ = 0;
  std::size_t transitions_ = 0;
};

}  // namespace tapir::models
