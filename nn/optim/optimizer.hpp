// tapir/nn/optim/optimizer.hpp — the optimizer interface (tapir::optim).
//
// An optimizer holds non-owning pointers to Parameters (which must outlive it) and per-parameter
// state made at construction. The parameters come as one list or as param groups (ParamGroup, as
// torch.optim's), each with its own learning-rate factor and weight decay. step() updates parameter
// values in place from their accumulated gradients; it works on plain arrays and records nothing on any
// tape.
//
// State for checkpoints: state_dict() returns every state array under a stable name
// ("<kind>.<param index>", e.g. "exp_avg.3") plus "lr" (0-d) and "step" (two elements: step div 2^20
// and step mod 2^20, exact in float);
// load_state_dict() restores them, checking names and shapes, so a resumed run continues exactly.
#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "autodiff/tape.hpp"

namespace tapir::optim {

/// Parameters that share a learning-rate factor and a weight decay: torch.optim's param groups. E.g. a
/// prior's parameters at a tenth of the learning rate and without weight decay, beside the networks':
///
///   Adam<float> opt({{vae_params}, {prior_params, 0.1, 0.0}}, options);
///
/// A group's learning rate is a factor of the optimizer's (PyTorch's {'lr': 1e-4} next to lr = 1e-3 is
/// lr_scale 0.1), so schedules, warm-ups and a restored lr move every group alike. Its weight_decay, when
/// set, replaces the optimizer's weight_decay and decay_matrices_only for its parameters (vectors
/// included); a parameter with decays() false is never decayed.
template <class T>
struct ParamGroup {
  ParamGroup(std::vector<Parameter<T>*> params, double lr_scale = 1, std::optional<double> weight_decay = {})
      : params(std::move(params)), lr_scale(lr_scale), weight_decay(weight_decay) {}

  std::vector<Parameter<T>*> params;
  double lr_scale;                     // γ of this group = the optimizer's lr() × lr_scale (finite, ≥ 0)
  std::optional<double> weight_decay;  // λ of this group (finite, ≥ 0); unset: the optimizer's rule
};

/// What every optimizer is built from: a plain list of parameters (one group, with the optimizer's own
/// learning rate and weight decay) or param groups. Both convert implicitly, braced lists included:
/// Adam<T>({&w, &b}) is one group, Adam<T>({{net}, {prior, 0.1, 0.0}}) two.
template <class T>
class ParamGroups {
 public:
  ParamGroups() = default;
  ParamGroups(std::initializer_list<Parameter<T>*> params) : groups_{ParamGroup<T>(params)} {}
  ParamGroups(std::vector<Parameter<T>*> params) : groups_{ParamGroup<T>(std::move(params))} {}
  ParamGroups(std::initializer_list<ParamGroup<T>> groups) : groups_(groups) {}
  ParamGroups(std::vector<ParamGroup<T>> groups) : groups_(std::move(groups)) {}

  const std::vector<ParamGroup<T>>& groups() const { return groups_; }

 private:
  std::vector<ParamGroup<T>> groups_;
};

template <class T>
class Optimizer {
 public:
  using StateDict = std::map<std::string, Array<T>>;

  /// parameters() lists the groups' parameters group after group, and the state dict numbers them in that
  /// order. Throws tapir::Error for lr < 0, a null pointer, a parameter listed twice (in one group or
  /// across groups), and naming the group whose lr_scale or weight_decay is invalid.
  Optimizer(ParamGroups<T> params, double lr);
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
  /// Every parameter, group after group.
  const std::vector<Parameter<T>*>& parameters() const { return params_; }
  /// The groups as given (one group of every parameter, lr_scale 1, when built from a list).
  const std::vector<ParamGroup<T>>& param_groups() const { return groups_; }
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

  /// γ for parameters()[i]: lr() rounded to T (so that an lr restored from a T state dict gives the same
  /// bits), times its group's lr_scale, in double.
  double lr_of(std::size_t i) const;
  /// λ for parameters()[i]: 0 when it opted out (Parameter::decays); its group's weight_decay when set;
  /// otherwise `weight_decay`, or 0 for a vector or scalar when `matrices_only`.
  T weight_decay_of(std::size_t i, double weight_decay, bool matrices_only) const;

  std::vector<Parameter<T>*> params_;
  std::vector<ParamGroup<T>> groups_;
  std::vector<std::size_t> group_of_;  // params_[i] belongs to groups_[group_of_[i]]
  double lr_;
  long steps_ = 0;
};

}  // namespace tapir::optim
