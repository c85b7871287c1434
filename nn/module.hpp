// tapir/nn/module.hpp — Module: named parameters and submodules (tapir::nn).
//
// Ownership: a Module owns the Parameters it registers (stored so their addresses never change) and
// the submodules registered by unique_ptr; a submodule registered by reference is a member of the
// parent and lives with it. Modules are neither copyable nor movable, because tapes and optimizers
// hold pointers to their Parameters: build them in place (or in a unique_ptr) and keep them there.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autodiff/tape.hpp"

namespace tapir::nn {

template <class T>
class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// Every parameter with its hierarchical name ("encoder.hidden.weight"), depth-first in
  /// registration order: the order checkpoints and optimizers see.
  std::vector<std::pair<std::string, Parameter<T>*>> named_parameters() const;
  /// The same parameters without names.
  std::vector<Parameter<T>*> parameters() const;
  /// The direct submodules with their names.
  const std::vector<std::pair<std::string, Module<T>*>>& children() const { return children_; }
  /// grad := 0 for every parameter.
  void zero_grad();
  /// Total number of scalar parameters.
  std::size_t parameter_count() const;
  /// Looks a parameter up by its hierarchical name; throws naming it if absent.
  Parameter<T>& parameter(const std::string& name) const;

 protected:
  /// Registers (and owns) a parameter named `name` holding `value`.
  Parameter<T>& register_parameter(const std::string& name, Array<T> value);
  /// Registers a submodule that is a member of this module (not owned).
  template <class M>
  M& register_module(const std::string& name, M& module) {
    check_name(name);
    children_.emplace_back(name, &module);
    return module;
  }
  /// Registers and owns a submodule.
  template <class M>
  M& register_module(const std::string& name, std::unique_ptr<M> module) {
    M& ref = *module;
    owned_modules_.push_back(std::move(module));
    return register_module(name, ref);
  }

 private:
  void check_name(const std::string& name) const;
  void collect(const std::string& prefix, std::vector<std::pair<std::string, Parameter<T>*>>& out) const;

  std::deque<Parameter<T>> owned_params_;  // deque: addresses stay valid as parameters are added
  std::vector<std::pair<std::string, Parameter<T>*>> params_;
  std::vector<std::pair<std::string, Module<T>*>> children_;
  std::vector<std::unique_ptr<Module<T>>> owned_modules_;
};

}  // namespace tapir::nn
