// tapir/nn/optim/optimizer.hpp — the optimizer interface (tapir::optim).
//
// An optimizer holds non-owning pointers to Parameters (which must outlive it) and per-parameter
// state made at construction. step() updates parameter values in place from their accumulated
// gradients; it works on plain arrays and records nothing on any tape.
//
// State for checkpoints: state_dict() returns every state array under a stable name
// ("<kind>.<param index>", e.g. "exp_avg.3") plus "lr" (0-d) and "step" (two elements: step div 2^20
// and step mod 2^20, exact in float);
// load_state_dict() restores them, checking names and shapes, so a resumed run continues exactly.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "autodiff/tape.hpp"

namespace tapir::optim {

template <class T>
class Optimizer {
 public:
  using StateDict = std::map<std::string, Array<T>>;

  explicit Optimizer(std::vector<Parameter<T>*> params, double lr);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One update of every parameter from its current gradient.
  virtual void step() = 0;
  /// Sets every parameter's gradient to zero.
  void zero_grad();

  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  /// Number of step() calls so far.
  long steps() const { return steps_; }
  const std::vector<Parameter<T>*>& parameters() const { return params_; }
  /// A short name ("adam", "sgd", ...) for configs and messages.
  virtual const char* name() const = 0;

  /// All state: the base puts "step" and "lr"; subclasses add their per-parameter arrays.
  virtual StateDict state_dict() const;
  /// Restores state_dict(); throws tapir::Error naming the missing key or the mismatched shapes.
  virtual void load_state_dict(const StateDict& state);

 protected:
  /// Subclass helpers: store/load a per-parameter array list under "<kind>.<i>".
  static void put(StateDict& out, const std::string& kind, const std::vector<Array<T>>& arrays);
  static void get(const StateDict& in, const std::string& kind, std::vector<Array<T>>& arrays);

  std::vector<Parameter<T>*> params_;
  double lr_;
  long steps_ = 0;
};

}  // namespace tapir::optim
