// tapir/models/run/method.hpp — Method: how a model learns from a minibatch. The trainer (train/trainer.hpp)
// owns the loop, the schedule, evaluation, the curve, checkpoints, resume, Ctrl-C and progress, and
// calls a Method for everything that differs between AEVB, IWAE, wake-sleep, MCEM and AVB — without
// asking which one it runs.
//
// A method holds a reference to the model it trains (it must not outlive it), owns its optimizers and
// whatever else it must save (MCEM's chains, AVB's networks), and does its whole step: objective,
// backward, optimizer updates. A new method is one new file: derive, implement step() and optimizer(),
// and (if it keeps state besides the model and its main optimizer) save()/restore().
#pragma once

#include <string>
#include <vector>

#include "models/core/latent_model.hpp"
#include "models/run/evaluate.hpp"
#include "nn/checkpoint.hpp"
#include "nn/optim/optimizer.hpp"

namespace tapir::models {

class Method {
 public:
  virtual ~Method() = default;
  /// As config.json's "method" names it.
  virtual std::string name() const = 0;

  /// One update on the minibatch x (rows `idx` of the training set, in that order), with `tape` empty
  /// on entry (the trainer clears it after). Returns the batch's mean training objective — the bound
  /// for AEVB/IWAE/wake-sleep/AVB, the mean log p(x, z) for MCEM — which the progress line shows.
  /// `beta` is the KL weight the schedule asks for (1 but during warm-up).
  virtual double step(const Array<float>& x, const std::vector<std::size_t>& idx, double beta, Rng& rng,
                      Tape<float>& tape) = 0;

  /// Whether evaluate() is a lower bound the curve can report. MCEM's is not (it has no q): the
  /// trainer then reports log p(x) by AIS, as it does for any method with curve_metric "ais".
  virtual bool has_bound() const { return true; }
  /// The average bound over the rows of x (binarised by `binarize` when given), with its reconstruction
  /// and KL terms and the active units where available (curve.csv's columns). The default is the
  /// model's own elbo_terms() (evaluate_bound); AVB overrides it with its discriminator's estimate. A
  /// method that knows only its bound returns it: a double converts to a BoundEvaluation without terms.
  virtual BoundEvaluation evaluate(const Array<float>& x, Rng& rng, Rng* binarize);

  /// The optimizer whose state is saved with the model's parameters in checkpoint_last (and whose
  /// step size the curve logs).
  virtual optim::Optimizer<float>& optimizer() = 0;

  /// State besides the model and optimizer(), written into `dir` before checkpoint_last (so a crash in
  /// between must leave the previous version findable: see write_companion), and read back for the
  /// checkpoint at `step` samples. save_best writes what "best" needs besides the model.
  virtual void save(const std::string& dir, const nn::CheckpointInfo& info) { (void)dir, (void)info; }
  virtual void restore(const std::string& dir, long long step) { (void)dir, (void)step; }
  virtual void save_best(const std::string& dir, const nn::CheckpointInfo& info) { (void)dir, (void)info; }

 protected:
  explicit Method(LatentVariableModel<float>& model) : model_(model) {}
  LatentVariableModel<float>& model_;
};

/// Companion files of checkpoint_last: "x.safetensors" is moved to "x.prev.safetensors" before the new
/// one is written, so a crash between writing it and checkpoint_last leaves the pair findable.
std::string previous_companion(const std::string& path);
void write_companion(const std::string& path, const std::function<void(const std::string&)>& write);

}  // namespace tapir::models
