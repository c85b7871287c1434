// tapir/autodiff/tape.hpp — the tape (a Wengert list), the Var handle and Parameters.
//
// Ownership and lifetimes:
// - A Tape<T> owns every node pushed on it: the node's value, its gradient buffer and its backward
//   closure. Nodes are pushed in creation order, so that order is already topological: backward is one
//   reverse loop over the nodes (Stan Math's design), never a recursion through the graph.
// - Tape::clear() ends a step: all Vars of the step become invalid (using one throws), but the node
//   slots and their buffers stay allocated. The next step's i-th op writes into the i-th slot, so a
//   training loop with fixed shapes allocates its buffers once (see Tape::stats()).
// - A Var<T> is a small handle (tape pointer, node index, step generation). Copy it freely; it owns
//   nothing. The tape must outlive the Vars that refer to it.
// - A Parameter<T> lives outside any tape and outlives steps: Tape::param(p) puts a leaf on the tape
//   that reads p.value() and accumulates into p.grad() in place. A Parameter must not move while a
//   tape step refers to it; gradients accumulate across backward calls until zero_grad().
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

#include "autodiff/array.hpp"

namespace tapir {

template <class T>
class Tape;
template <class T>
class Var;

/// A persistent trainable array with its accumulated gradient.
template <class T>
class Parameter {
 public:
  Parameter() = default;
  explicit Parameter(Array<T> value, std::string name = {})
      : value_(std::move(value)), grad_(xt::zeros<T>(value_.shape())), name_(std::move(name)) {}

  const Array<T>& value() const { return value_; }
  /// Mutable access for optimizers and initialisers. Keep the shape: reshape with set_value().
  Array<T>& value() { return value_; }
  const Array<T>& grad() const {
    materialize();
    return grad_;
  }
  Array<T>& grad() {
    materialize();
    return grad_;
  }
  /// Replaces the value (any shape) and resets the gradient to zeros of the new shape.
  void set_value(Array<T> value) {
    value_ = std::move(value);
    grad_ = xt::zeros<T>(value_.shape());
    zeroed_ = false;
  }
  const Shape& shape() const { return value_.shape(); }
  std::size_t size() const { return value_.size(); }
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  bool requires_grad() const { return requires_grad_; }
  void set_requires_grad(bool on) { requires_grad_ = on; }
  /// Whether optimizers' weight decay applies to it (default: yes; their decay_matrices_only also skips
  /// vectors). Off for parameters that are not weights: a prior's pseudo-inputs or its mixture's means
  /// and variances, which an L2 penalty on the weights is not about (Adam would turn it into full-size steps
  /// towards 0 wherever their own gradient is small).
  bool decays() const { return decays_; }
  void set_decays(bool on) { decays_ = on; }
  /// grad := 0. Lazy: the buffer is only marked, so the next backward writes its first contribution
  /// (a gemm with beta = 0) instead of adding to a cleared buffer; reading grad() clears it for real.
  void zero_grad() { zeroed_ = true; }

  /// For the tape: the gradient buffer (resized to the value's shape) and whether it logically holds
  /// zeros — then the caller must overwrite, not add. The mark is consumed.
  Array<T>& grad_for_accumulate(bool& overwrite) {
    if (grad_.shape() != value_.shape()) {
      grad_.resize(value_.shape());
      zeroed_ = true;
    }
    overwrite = zeroed_;
    zeroed_ = false;
    return grad_;
  }

 private:
  Array<T> value_;
  void materialize() const {
    if (grad_.shape() != value_.shape()) {
      grad_.resize(value_.shape());
      zeroed_ = true;
    }
    if (zeroed_) std::fill(grad_.begin(), grad_.end(), T(0));
    zeroed_ = false;
  }

  mutable Array<T> grad_;
  mutable bool zeroed_ = false;
  std::string name_;
  bool requires_grad_ = true;
  bool decays_ = true;
};

namespace detail {

/// A `void()` callable, stored inside the object when it fits (an op's backward closure captures a few
/// Vars and scalars: it does) and on the heap otherwise. Node slots are reused across steps, so a
/// training step's closures allocate nothing (std::function would allocate for most of them).
class Closure {
 public:
  Closure() = default;
  Closure(const Closure&) = delete;
  Closure& operator=(const Closure&) = delete;
  Closure(Closure&& o) noexcept { take(o); }
  Closure& operator=(Closure&& o) noexcept {
    if (this != &o) {
      reset();
      take(o);
    }
    return *this;
  }
  ~Closure() { reset(); }
  Closure& operator=(std::nullptr_t) {
    reset();
    return *this;
  }
  template <class F, class D = std::decay_t<F>,
            class = std::enable_if_t<!std::is_same_v<D, Closure> && !std::is_same_v<D, std::nullptr_t>>>
  Closure& operator=(F&& f) {
    reset();
    if constexpr (fits<D>) {
      new (static_cast<void*>(buf_)) D(std::forward<F>(f));
      ops_ = &kInlineOps<D>;
    } else {
      *reinterpret_cast<D**>(buf_) = new D(std::forward<F>(f));
      ops_ = &kHeapOps<D>;
    }
    return *this;
  }
  explicit operator bool() const { return ops_ != nullptr; }
  void operator()() { ops_->call(buf_); }

 private:
  static constexpr std::size_t kSize = 112;
  template <class D>
  static constexpr bool fits = sizeof(D) <= kSize &&
                               alignof(D) <= alignof(std::max_align_t) && std::is_nothrow_move_constructible_v<D>;
  struct Ops {
    void (*call)(void*);
    void (*destroy)(void*);
    void (*move)(void* from, void* to);  // move-constructs at `to`, destroys `from`
  };
  template <class D>
  static constexpr Ops kInlineOps = {[](void* p) { (*static_cast<D*>(p))(); },
                                     [](void* p) { static_cast<D*>(p)->~D(); },
                                     [](void* from, void* to) {
                                       new (to) D(std::move(*static_cast<D*>(from)));
                                       static_cast<D*>(from)->~D();
                                     }};
  template <class D>
  static constexpr Ops kHeapOps = {[](void* p) { (**static_cast<D**>(p))(); },
                                   [](void* p) { delete *static_cast<D**>(p); },
                                   [](void* from, void* to) { *static_cast<D**>(to) = *static_cast<D**>(from); }};
  void reset() {
    if (ops_) ops_->destroy(buf_);
    ops_ = nullptr;
  }
  void take(Closure& o) {
    if (!o.ops_) return;
    o.ops_->move(o.buf_, buf_);
    ops_ = o.ops_;
    o.ops_ = nullptr;
  }
  alignas(std::max_align_t) unsigned char buf_[kSize];
  const Ops* ops_ = nullptr;
};

template <class T>
struct Node {
  Array<T> value;  // the op's output (unused for parameter leaves)
  Array<T> grad;   // d(root)/d(value); valid this backward pass when has_grad
  Parameter<T>* param = nullptr;
  const Array<T>* view = nullptr;  // a constant_view's array, read in place (value unused)
  Closure backward;
  const char* op = "";
  std::string label;
  bool requires_grad = false;
  bool has_grad = false;
};

}  // namespace detail

/// Counters that show whether a training loop reuses the tape's buffers.
struct TapeStats {
  std::size_t nodes = 0;               // nodes in the current step
  std::size_t slots = 0;               // node slots ever created (kept across clear())
  std::size_t buffer_allocations = 0;  // value/grad buffers (re)allocated since construction
  std::size_t bytes_reserved = 0;      // bytes held by all slot buffers
};

/// A handle to one node of a tape: value, gradient, and the hooks op authors use.
template <class T>
class Var {
 public:
  using value_type = T;

  /// An empty handle; any use throws.
  Var() = default;

  bool defined() const { return tape_ != nullptr; }
  Tape<T>& tape() const;
  /// The node's value. Valid until the tape is cleared.
  const Array<T>& value() const;
  /// d(loss)/d(this) after backward(); zeros if the loss does not depend on this Var.
  const Array<T>& grad() const;
  const Shape& shape() const { return value().shape(); }
  std::size_t size() const { return value().size(); }
  std::size_t dim() const { return value().dimension(); }
  /// The single element of a one-element Var; throws otherwise.
  T item() const;
  bool requires_grad() const { return node().requires_grad; }
  const char* op() const { return node().op; }
  const std::string& label() const { return node().label; }
  /// Names this node in anomaly and error messages ("mu", "decoder.logits", ...).
  const Var& set_label(std::string label) const;

  /// Reverse pass from this scalar (seed 1). Throws if it has more than one element.
  void backward() const;
  /// Reverse pass with an explicit seed gradient of this Var's shape.
  void backward(const Array<T>& seed) const;

  // ---- For op authors (see docs/design.md, "Adding an op") -------------------------------------
  /// The output buffer of a node being built (already sized by Tape::push).
  Array<T>& out() const;
  /// Finishes an op: checks the output in anomaly mode and, if this node requires grad, stores the
  /// backward closure. Capture Vars by value and evaluated arrays only, never lazy expressions.
  template <class F>
  void on_backward(F&& fn) const;
  /// grad += g, where g (an array or xtensor expression) has exactly this Var's shape.
  /// Does nothing if this Var does not require grad, so callers need no check.
  template <class E>
  void add_grad(const E& g) const;
  /// grad += g summed back to this Var's shape (g has the broadcast shape of a binary op).
  template <class E>
  void add_grad_unbroadcast(const E& g) const;
  /// Low-level accumulate: fn(buffer, accumulate) must write (accumulate=false) or add
  /// (accumulate=true) its gradient into buffer, which already has this Var's shape. Used by matmul to
  /// let BLAS accumulate with beta = 1.
  template <class F>
  void accumulate_grad(F&& fn) const;

 private:
  friend class Tape<T>;
  Var(Tape<T>* tape, std::uint32_t index, std::uint32_t generation)
      : tape_(tape), index_(index), generation_(generation) {}
  detail::Node<T>& node() const;
  void check_grad_anomaly(const detail::Node<T>& n) const;

  Tape<T>* tape_ = nullptr;
  std::uint32_t index_ = 0;
  std::uint32_t generation_ = 0;
};

/// The Wengert list. One tape per thread of computation; clear() it after every training step.
template <class T>
class Tape {
 public:
  Tape() = default;
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  /// A leaf holding a copy of `value` that never requires grad (data, targets, noise).
  Var<T> constant(const Array<T>& value);
  /// A constant that reads `value` in place, without constant()'s copy (a training step's data batch):
  /// `value` must stay alive and unchanged until clear().
  Var<T> constant_view(const Array<T>& value);
  /// A 0-d constant.
  Var<T> scalar(T value);
  /// A constant of `shape` with every element `value` (torch.full), written straight into the node's
  /// buffer: unlike constant(Array(shape, value)), no array is allocated once the tape has warmed up.
  Var<T> full(const Shape& shape, T value);
  /// A leaf holding a copy of `value` whose gradient is computed (unless in a no-grad scope).
  Var<T> variable(const Array<T>& value);
  /// A leaf that reads p.value() and accumulates into p.grad() in place.
  Var<T> param(Parameter<T>& p);

  /// One reverse pass from `root` (a one-element Var; seed 1).
  void backward(const Var<T>& root);
  /// One reverse pass from `root` with an explicit seed of root's shape.
  void backward(const Var<T>& root, const Array<T>& seed);

  /// Ends the step: invalidates all Vars, keeps every buffer for reuse by the next step.
  void clear();
  /// Frees all slots and buffers (clear() keeps them).
  void release();

  /// Number of nodes in the current step.
  std::size_t size() const { return size_; }
  /// The step counter that clear() advances; Vars remember theirs.
  std::uint32_t generation() const { return generation_; }
  TapeStats stats() const;

  /// Anomaly mode (off by default): the first op whose output, or whose gradient in backward, holds
  /// NaN or Inf throws AnomalyError naming the op and its label. Costs one scan per array.
  void set_anomaly_detection(bool on) { anomaly_ = on; }
  bool anomaly_detection() const { return anomaly_; }
  /// False inside a NoGradGuard: new nodes then never require grad and store no closure.
  bool grad_enabled() const { return no_grad_depth_ == 0; }

  /// For op authors: a new node named `op`, its value buffer resized to `shape` (reused from the
  /// previous step when possible). requires_grad is forced off in a no-grad scope.
  Var<T> push(const char* op, const Shape& shape, bool requires_grad);

 private:
  friend class Var<T>;
  template <class U>
  friend class NoGradGuard;
  template <class U>
  friend class LabelGuard;

  void resize_buffer(Array<T>& buffer, const Shape& shape);
  void run_backward(const Var<T>& root, const Array<T>* seed);

  std::deque<detail::Node<T>> nodes_;  // deque: references stay valid while nodes are pushed
  std::size_t size_ = 0;
  std::uint32_t generation_ = 1;
  int no_grad_depth_ = 0;
  bool anomaly_ = false;
  std::string label_prefix_;
  std::size_t allocations_ = 0;
  const detail::Node<T>* running_ = nullptr;  // node whose backward is running (for messages)
};

/// RAII: no node created on `tape` in this scope requires grad (evaluation, target networks).
template <class T>
class NoGradGuard {
 public:
  explicit NoGradGuard(Tape<T>& tape) : tape_(tape) { ++tape_.no_grad_depth_; }
  ~NoGradGuard() { --tape_.no_grad_depth_; }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  Tape<T>& tape_;
};

/// RAII: nodes created on `tape` in this scope carry `label` (shown by anomaly mode and errors).
template <class T>
class LabelGuard {
 public:
  LabelGuard(Tape<T>& tape, std::string label) : tape_(tape), saved_(tape.label_prefix_) {
    tape_.label_prefix_ = saved_.empty() ? std::move(label) : saved_ + "." + label;
  }
  ~LabelGuard() { tape_.label_prefix_ = std::move(saved_); }
  LabelGuard(const LabelGuard&) = delete;
  LabelGuard& operator=(const LabelGuard&) = delete;

 private:
  Tape<T>& tape_;
  std::string saved_;
};

/// A copy of x's value as a constant: gradients stop here.
template <class T>
Var<T> detach(const Var<T>& x) {
  return x.tape().constant(x.value());
}

/// Sums `g` (shape `from`) over broadcast axes into `out` (shape `to`), the adjoint of broadcasting.
template <class T>
void unbroadcast_into(const T* g, const Shape& from, T* out, const Shape& to, bool accumulate);

namespace detail {
[[noreturn]] void throw_stale_var(std::uint32_t var_generation, std::uint32_t tape_generation, std::size_t index,
                                  std::size_t size);
[[noreturn]] void throw_grad_shape(const char* op, const std::string& label, const Shape& grad, const Shape& value);
[[noreturn]] void throw_anomaly(const char* what, const char* op, const std::string& label, const char* consumer_op,
                                const std::string& consumer_label);
}  // namespace detail

// ---------------------------------------------------------------------------------------------------
// Var: inline hot paths.

template <class T>
inline detail::Node<T>& Var<T>::node() const {
  if (tape_ == nullptr) throw Error("tapir: use of an empty Var (default-constructed, never assigned)");
  if (generation_ != tape_->generation_ || index_ >= tape_->size_)
    detail::throw_stale_var(generation_, tape_->generation_, index_, tape_->size_);
  return tape_->nodes_[index_];
}

template <class T>
inline Tape<T>& Var<T>::tape() const {
  node();  // validates
  return *tape_;
}

template <class T>
inline const Array<T>& Var<T>::value() const {
  const detail::Node<T>& n = node();
  return n.param ? n.param->value() : n.view ? *n.view : n.value;
}

template <class T>
inline Array<T>& Var<T>::out() const {
  return node().value;
}

template <class T>
template <class F>
void Var<T>::on_backward(F&& fn) const {
  detail::Node<T>& n = node();
  if (tape_->anomaly_ && !all_finite(n.value)) detail::throw_anomaly("output", n.op, n.label, nullptr, std::string());
  if (n.requires_grad) n.backward = std::forward<F>(fn);
}

template <class T>
template <class F>
void Var<T>::accumulate_grad(F&& fn) const {
  detail::Node<T>& n = node();
  if (!n.requires_grad) return;
  if (n.param) {
    bool overwrite = false;
    Array<T>& g = n.param->grad_for_accumulate(overwrite);
    fn(g, !overwrite);
  } else if (n.has_grad) {
    fn(n.grad, true);
  } else {
    tape_->resize_buffer(n.grad, n.value.shape());
    fn(n.grad, false);
    n.has_grad = true;
  }
  if (tape_->anomaly_) check_grad_anomaly(n);
}

template <class T>
template <class E>
void Var<T>::add_grad(const E& g) const {
  detail::Node<T>& n = node();
  if (!n.requires_grad) return;
  const Shape& target = n.param ? n.param->shape() : n.value.shape();
  const auto& gshape = g.shape();
  if (gshape.size() != target.size() || !std::equal(gshape.begin(), gshape.end(), target.begin()))
    detail::throw_grad_shape(tape_->running_ ? tape_->running_->op : n.op, n.label, Shape(gshape.begin(), gshape.end()),
                             target);
  accumulate_grad([&g](Array<T>& buf, bool accumulate) {
    if (accumulate)
      xt::noalias(buf) += g;
    else
      xt::noalias(buf) = g;
  });
}

template <class T>
template <class E>
void Var<T>::add_grad_unbroadcast(const E& g) const {
  detail::Node<T>& n = node();
  if (!n.requires_grad) return;
  const Shape& target = n.param ? n.param->shape() : n.value.shape();
  const auto& gshape = g.shape();
  if (gshape.size() == target.size() && std::equal(gshape.begin(), gshape.end(), target.begin())) {
    add_grad(g);
    return;
  }
  const Shape gs(gshape.begin(), gshape.end());
  if (!broadcasts_to(target, gs))
    detail::throw_grad_shape(tape_->running_ ? tape_->running_->op : n.op, n.label, gs, target);
  auto reduce = [&](const Array<T>& full) {
    accumulate_grad([&](Array<T>& buf, bool accumulate) {
      unbroadcast_into(full.data(), full.shape(), buf.data(), target, accumulate);
    });
  };
  if constexpr (std::is_same_v<E, Array<T>>)
    reduce(g);  // already evaluated: no copy
  else
    reduce(Array<T>(g));  // the broadcast-shaped gradient, evaluated once
}

}  // namespace tapir
