// tapir/autodiff/tape.cpp — the tape's bookkeeping: slots, the reverse loop, lifetime checks.
#include "autodiff/tape.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tapir {

std::string shape_str(const Shape& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank, 1);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::size_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const std::size_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      throw ShapeError(fmt::format("{}: shapes {} and {} cannot be broadcast together (dimension {}: {} vs {})", op,
                                   shape_str(a), shape_str(b), i, da, db));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  const std::size_t lead = to.size() - from.size();
  for (std::size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1 && from[i] != to[lead + i]) return false;
  return true;
}

std::size_t shape_size(const Shape& shape) {
  std::size_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::size_t normalize_axis(const char* op, int axis, std::size_t rank) {
  const long r = static_cast<long>(rank);
  const long a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r)
    throw ShapeError(fmt::format("{}: axis {} is out of range for an array of rank {}", op, axis, rank));
  return static_cast<std::size_t>(a);
}

template <class T>
void unbroadcast_into(const T* g, const Shape& from, T* out, const Shape& to, bool accumulate) {
  const std::size_t rank = from.size();
  const std::size_t lead = rank - to.size();
  const std::size_t n_out = shape_size(to);
  if (!accumulate) std::fill(out, out + n_out, T(0));
  // Fast path: `to` is a suffix of `from` (e.g. a bias row): sum the leading rows.
  if (std::equal(to.begin(), to.end(), from.begin() + lead)) {
    const std::size_t rows = shape_size(from) / std::max<std::size_t>(n_out, 1);
    for (std::size_t r = 0; r < rows; ++r) {
      const T* src = g + r * n_out;
      for (std::size_t j = 0; j < n_out; ++j) out[j] += src[j];
    }
    return;
  }
  // General case: walk `from` with a multi-index; the output stride is 0 on broadcast axes.
  std::vector<std::size_t> ostride(rank, 0), idx(rank, 0);
  std::size_t s = 1;
  for (std::size_t i = rank; i-- > lead;) {
    const std::size_t d = to[i - lead];
    ostride[i] = d == 1 ? 0 : s;
    s *= d;
  }
  const std::size_t n = shape_size(from);
  std::size_t o = 0;
  for (std::size_t k = 0; k < n; ++k) {
    out[o] += g[k];
    for (std::size_t i = rank; i-- > 0;) {  // increment the multi-index, last axis fastest
      o += ostride[i];
      if (++idx[i] < from[i]) break;
      o -= ostride[i] * from[i];
      idx[i] = 0;
    }
  }
}

namespace detail {

void throw_stale_var(std::uint32_t var_generation, std::uint32_t tape_generation, std::size_t index, std::size_t size) {
  if (var_generation != tape_generation)
    throw Error(
        fmt::format("tapir: this Var belongs to a cleared tape (Var of step {}, tape now at step {}); Vars are valid "
                    "only until Tape::clear() — copy value() into an Array to keep it",
                    var_generation, tape_generation));
  throw Error(fmt::format("tapir: Var index {} is past the tape's {} nodes", index, size));
}

void throw_grad_shape(const char* op, const std::string& label, const Shape& grad, const Shape& value) {
  throw ShapeError(fmt::format("{}{}: gradient of shape {} does not match the input's shape {}", op,
                               label.empty() ? "" : " [" + label + "]", shape_str(grad), shape_str(value)));
}

void throw_anomaly(const char* what, const char* op, const std::string& label, const char* consumer_op,
                   const std::string& consumer_label) {
  const std::string lab = label.empty() ? "" : fmt::format(" (label '{}')", label);
  if (consumer_op == nullptr)
    throw AnomalyError(fmt::format("anomaly: the {} of op '{}'{} holds NaN or Inf", what, op, lab));
  const std::string clab = consumer_label.empty() ? "" : fmt::format(" (label '{}')", consumer_label);
  throw AnomalyError(
      fmt::format("anomaly: backward of op '{}'{} produced a NaN or Inf gradient for its input, op '{}'{}", consumer_op,
                  clab, op, lab));
}

}  // namespace detail

// ---- Var -----------------------------------------------------------------------------------------

template <class T>
const Array<T>& Var<T>::grad() const {
  detail::Node<T>& n = node();
  if (n.param) return n.param->grad();
  if (!n.has_grad) {
    tape_->resize_buffer(n.grad, value().shape());
    std::fill(n.grad.begin(), n.grad.end(), T(0));
  }
  return n.grad;
}

template <class T>
T Var<T>::item() const {
  const Array<T>& v = value();
  if (v.size() != 1)
    throw ShapeError(fmt::format("item: the output of op '{}' has shape {} ({} elements), not one element", node().op,
                                 shape_str(v.shape()), v.size()));
  return v.data()[0];
}

template <class T>
const Var<T>& Var<T>::set_label(std::string label) const {
  node().label = std::move(label);
  return *this;
}

template <class T>
void Var<T>::backward() const {
  tape().backward(*this);
}

template <class T>
void Var<T>::backward(const Array<T>& seed) const {
  tape().backward(*this, seed);
}

template <class T>
void Var<T>::check_grad_anomaly(const detail::Node<T>& n) const {
  const Array<T>& g = n.param ? n.param->grad() : n.grad;
  if (!all_finite(g)) {
    const detail::Node<T>* r = tape_->running_;
    detail::throw_anomaly("gradient", n.param ? "param" : n.op,
                          n.param ? (n.param->name().empty() ? n.label : n.param->name()) : n.label,
                          r ? r->op : "backward seed", r ? r->label : std::string());
  }
}

// ---- Tape ----------------------------------------------------------------------------------------

template <class T>
void Tape<T>::resize_buffer(Array<T>& buffer, const Shape& shape) {
  if (buffer.shape() == shape) return;
  if (buffer.size() != shape_size(shape)) ++allocations_;  // uvector reallocates only on a size change
  buffer.resize(shape);
}

template <class T>
Var<T> Tape<T>::push(const char* op, const Shape& shape, bool requires_grad) {
  if (size_ == nodes_.size()) nodes_.emplace_back();
  detail::Node<T>& n = nodes_[size_];
  n.param = nullptr;
  n.view = nullptr;
  n.backward = nullptr;
  n.op = op;
  n.label = label_prefix_;
  n.requires_grad = requires_grad && grad_enabled();
  n.has_grad = false;
  resize_buffer(n.value, shape);
  return Var<T>(this, static_cast<std::uint32_t>(size_++), generation_);
}

template <class T>
Var<T> Tape<T>::constant(const Array<T>& value) {
  Var<T> v = push("constant", value.shape(), false);
  xt::noalias(v.out()) = value;
  v.on_backward(nullptr);
  return v;
}

template <class T>
Var<T> Tape<T>::constant_view(const Array<T>& value) {
  if (anomaly_ && !all_finite(value))
    detail::throw_anomaly("output", "constant", label_prefix_, nullptr, std::string());
  if (size_ == nodes_.size()) nodes_.emplace_back();
  detail::Node<T>& n = nodes_[size_];  // the slot's own buffers stay as they are, for the next step's op
  n.param = nullptr;
  n.view = &value;
  n.backward = nullptr;
  n.op = "constant";
  n.label = label_prefix_;
  n.requires_grad = false;
  n.has_grad = false;
  return Var<T>(this, static_cast<std::uint32_t>(size_++), generation_);
}

template <class T>
Var<T> Tape<T>::scalar(T value) {
  Var<T> v = push("scalar", Shape{}, false);
  v.out().data()[0] = value;
  v.on_backward(nullptr);
  return v;
}

template <class T>
Var<T> Tape<T>::full(const Shape& shape, T value) {
  Var<T> v = push("constant", shape, false);
  std::fill(v.out().begin(), v.out().end(), value);
  v.on_backward(nullptr);
  return v;
}

template <class T>
Var<T> Tape<T>::variable(const Array<T>& value) {
  Var<T> v = push("variable", value.shape(), true);
  xt::noalias(v.out()) = value;
  v.on_backward(nullptr);
  return v;
}

template <class T>
Var<T> Tape<T>::param(Parameter<T>& p) {
  Var<T> v = push("param", Shape{}, p.requires_grad());
  detail::Node<T>& n = nodes_[size_ - 1];
  n.param = &p;
  if (!p.name().empty()) n.label = p.name();
  if (anomaly_ && !all_finite(p.value())) detail::throw_anomaly("value", "param", n.label, nullptr, std::string());
  return v;
}

template <class T>
void Tape<T>::backward(const Var<T>& root) {
  run_backward(root, nullptr);
}

template <class T>
void Tape<T>::backward(const Var<T>& root, const Array<T>& seed) {
  run_backward(root, &seed);
}

template <class T>
void Tape<T>::run_backward(const Var<T>& root, const Array<T>* seed) {
  if (root.tape_ != this) throw Error("backward: the root Var belongs to a different tape");
  detail::Node<T>& r = root.node();
  if (!r.requires_grad)
    throw Error(
        fmt::format("backward: op '{}' does not require grad — no parameter or variable leads to it, or it was built "
                    "in a no-grad scope",
                    r.op));
  const Shape& rshape = root.value().shape();
  if (seed == nullptr && root.value().size() != 1)
    throw ShapeError(
        fmt::format("backward: the root has shape {} ({} elements); reduce it to a scalar (sum, mean) or pass a seed "
                    "gradient of that shape",
                    shape_str(rshape), root.value().size()));
  if (seed != nullptr && seed->shape() != rshape)
    throw ShapeError(fmt::format("backward: the seed's shape {} does not match the root's shape {}",
                                 shape_str(seed->shape()), shape_str(rshape)));
  if (seed != nullptr && anomaly_ && !all_finite(*seed))
    throw AnomalyError("anomaly: the seed gradient passed to backward holds NaN or Inf");
  for (std::size_t i = 0; i <= root.index_; ++i) nodes_[i].has_grad = false;

  running_ = nullptr;
  if (seed)
    root.add_grad(*seed);
  else
    root.accumulate_grad([](Array<T>& g, bool acc) { g.data()[0] = acc ? g.data()[0] + T(1) : T(1); });

  struct Reset {
    const detail::Node<T>*& p;
    ~Reset() { p = nullptr; }
  } reset{running_};
  for (std::size_t i = root.index_ + 1; i-- > 0;) {
    detail::Node<T>& n = nodes_[i];
    if (!n.has_grad || !n.backward) continue;
    running_ = &n;
    n.backward();
  }
}

template <class T>
void Tape<T>::clear() {
  for (std::size_t i = 0; i < size_; ++i) nodes_[i].backward = nullptr;  // drop captured state now
  size_ = 0;
  ++generation_;
}

template <class T>
void Tape<T>::release() {
  clear();
  nodes_.clear();
  nodes_.shrink_to_fit();
}

template <class T>
TapeStats Tape<T>::stats() const {
  TapeStats s;
  s.nodes = size_;
  s.slots = nodes_.size();
  s.buffer_allocations = allocations_;
  for (const auto& n : nodes_) s.bytes_reserved += (n.value.size() + n.grad.size()) * sizeof(T);
  return s;
}

template void unbroadcast_into<float>(const float*, const Shape&, float*, const Shape&, bool);
template void unbroadcast_into<double>(const double*, const Shape&, double*, const Shape&, bool);
template class Var<float>;
template class Var<double>;
template class Tape<float>;
template class Tape<double>;

}  // namespace tapir
