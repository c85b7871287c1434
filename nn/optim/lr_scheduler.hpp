// tapir/nn/optim/lr_scheduler.hpp — learning-rate schedules: StepLR, ExponentialLR, CosineAnnealingLR,
// LinearWarmup.
//
// A scheduler refers to its Optimizer (which must outlive it) and writes the learning rate with
// set_lr(); it owns only its counters and, for LinearWarmup, the schedule that follows the warm-up.
// Every schedule is a closed form of the epoch, lr_at(e), so a scheduler restored from state_dict()
// (last_epoch and base_lr) sets exactly the learning rate the original run would have.
//
// Use as in PyTorch: construction sets lr_at(0); after each epoch (or step) call optimizer.step() and
// then scheduler.step(), which advances last_epoch() and sets lr_at(last_epoch()).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "nn/optim/optimizer.hpp"

namespace tapir::optim {

/// The base of every schedule: a closed form lr_at(epoch) written into the optimizer by step().
template <class T>
class LrScheduler {
 public:
  /// Scheduler state: "last_epoch" and "base_lr", plus the inner schedule's under "after." for
  /// LinearWarmup. Values are doubles (epochs are exact up to 2^53).
  using State = std::map<std::string, double>;

  /// base_lr is the optimizer's learning rate now.
  explicit LrScheduler(Optimizer<T>& optimizer);
  virtual ~LrScheduler() = default;
  LrScheduler(const LrScheduler&) = delete;
  LrScheduler& operator=(const LrScheduler&) = delete;

  /// last_epoch ← last_epoch + 1; the optimizer's lr ← lr_at(last_epoch).
  void step();
  /// The number of step() calls since construction (or as restored).
  long last_epoch() const { return last_epoch_; }
  /// The learning rate the schedule starts from.
  double base_lr() const { return base_lr_; }
  /// The learning rate the schedule gives at `epoch` (≥ 0): a closed form, no history.
  virtual double lr_at(long epoch) const = 0;
  /// lr_at(last_epoch()): the rate last written to the optimizer.
  double last_lr() const { return lr_at(last_epoch_); }
  /// A short name ("step_lr", ...) for configs and messages.
  virtual const char* name() const = 0;

  /// {"last_epoch", "base_lr"} (and the inner schedule's state, for LinearWarmup).
  virtual State state_dict() const;
  /// Restores state_dict() and writes lr_at(last_epoch) into the optimizer. Throws tapir::Error naming a
  /// missing or invalid entry; on error nothing changes.
  virtual void load_state_dict(const State& state);

 protected:
  /// Writes lr_at(last_epoch_) into the optimizer; derived constructors call it last.
  void apply();
  /// Reads and checks "<prefix>last_epoch" and "<prefix>base_lr" without changing anything.
  void read_state(const State& state, const std::string& prefix, long& last_epoch, double& base_lr) const;

  Optimizer<T>& optimizer_;
  double base_lr_;
  long last_epoch_ = 0;
};

/// lr_e = base_lr · γ^⌊e / step_size⌋   (torch.optim.lr_scheduler.StepLR, closed form).
template <class T>
class StepLR : public LrScheduler<T> {
 public:
  /// step_size ≥ 1, gamma ≥ 0; throws tapir::Error naming the option otherwise.
  StepLR(Optimizer<T>& optimizer, long step_size, double gamma = 0.1);
  /// base_lr · γ^⌊epoch / step_size⌋.
  double lr_at(long epoch) const override;
  /// "step_lr".
  const char* name() const override { return "step_lr"; }

 private:
  long step_size_;
  double gamma_;
};

/// lr_e = base_lr · γ^e   (torch.optim.lr_scheduler.ExponentialLR, closed form).
template <class T>
class ExponentialLR : public LrScheduler<T> {
 public:
  /// gamma ≥ 0; throws tapir::Error otherwise.
  ExponentialLR(Optimizer<T>& optimizer, double gamma);
  /// base_lr · γ^epoch.
  double lr_at(long epoch) const override;
  /// "exponential_lr".
  const char* name() const override { return "exponential_lr"; }

 private:
  double gamma_;
};

/// lr_e = η_min + (base_lr − η_min) · (1 + cos(π e / T_max)) / 2
/// (Loshchilov & Hutter, "SGDR", ICLR 2017, eq. 5 without restarts; torch's CosineAnnealingLR closed
/// form). Past T_max the cosine continues, so the rate rises again; stop stepping at T_max to hold η_min.
template <class T>
class CosineAnnealingLR : public LrScheduler<T> {
 public:
  /// t_max ≥ 1, eta_min ≥ 0; throws tapir::Error naming the option otherwise.
  CosineAnnealingLR(Optimizer<T>& optimizer, long t_max, double eta_min = 0);
  /// η_min + (base_lr − η_min)(1 + cos(π epoch / T_max)) / 2.
  double lr_at(long epoch) const override;
  /// "cosine_annealing_lr".
  const char* name() const override { return "cosine_annealing_lr"; }

 private:
  long t_max_;
  double eta_min_;
};

/// Linear warm-up over k steps, then constant or another schedule shifted by k:
///
///   lr_e = base_lr · (s + (1 − s) · e / k)     for e < k   (s = start_factor)
///   lr_e = after.lr_at(e − k)                   for e ≥ k   (base_lr without `after`)
///
/// The warm-up part is torch's LinearLR(start_factor = s, end_factor = 1, total_iters = k); the
/// composition is SequentialLR([LinearLR, after], milestones = [k]), written as one closed form.
template <class T>
class LinearWarmup : public LrScheduler<T> {
 public:
  /// warmup_steps ≥ 0, start_factor ∈ [0, 1]. `after`, if given, must be built on the same optimizer
  /// (before this one, so both see the same base_lr); it is owned from here on and never stepped itself.
  LinearWarmup(Optimizer<T>& optimizer, long warmup_steps, double start_factor = 0,
               std::unique_ptr<LrScheduler<T>> after = nullptr);
  /// The warm-up ramp for epoch < k, then after.lr_at(epoch − k) or base_lr.
  double lr_at(long epoch) const override;
  /// "linear_warmup".
  const char* name() const override { return "linear_warmup"; }
  /// The base state plus the inner schedule's under "after.".
  typename LrScheduler<T>::State state_dict() const override;
  /// Restores the base state and the inner schedule's.
  void load_state_dict(const typename LrScheduler<T>::State& state) override;

 private:
  long warmup_steps_;
  double start_factor_;
  std::unique_ptr<LrScheduler<T>> after_;
};

}  // namespace tapir::optim
