// tapir/nn/heads.cpp — NormalMlp and BernoulliMlp (see heads.hpp).
#include "nn/heads.hpp"

#include <fmt/format.h>

#include "autodiff/ops/shape.hpp"

namespace tapir::nn {

namespace {
/// The trunk in → hidden[0] → … → hidden.back(), every layer followed by `a`; null for no hidden layer.
template <class T>
std::unique_ptr<Mlp<T>> make_trunk(std::size_t in, const std::vector<std::size_t>& hidden, Rng& rng, Activation a) {
  if (in == 0) throw Error("a distribution layer needs a positive input size");
  if (hidden.empty()) return nullptr;
  std::vector<std::size_t> sizes{in};
  sizes.insert(sizes.end(), hidden.begin(), hidden.end());
  MlpOptions o;
  o.activation = a;
  o.output_activation = a;  // every layer of the trunk is hidden: the heads come after it
  return std::make_unique<Mlp<T>>(sizes, rng, o);
}
/// x (..., in) itself, after checking its last axis: every layer takes leading axes as rows (Linear
/// with a bias through the linear op, activations elementwise), so no reshape copies the data.
template <class T>
const Var<T>& check_input(const Var<T>& x, std::size_t in) {
  if (x.dim() == 0 || x.shape().back() != in)
    throw ShapeError(fmt::format("distribution layer with {} inputs: input of shape {}, expected (..., {})", in,
                                 shape_str(x.shape()), in));
  return x;
}
}  // namespace

template <class T>
NormalMlp<T>::NormalMlp(std::size_t in, const std::vector<std::size_t>& hidden, std::size_t out, Rng& rng,
                        Activation activation, MeanActivation mean)
    : in_(in), out_(out), trunk_(make_trunk<T>(in, hidden, rng, activation)), mean_(mean) {
  const std::size_t h = hidden.empty() ? in : hidden.back();
  mu_ = std::make_unique<Linear<T>>(h, out, rng);
  log_var_ = std::make_unique<Linear<T>>(h, out, rng);
  if (trunk_) this->register_module("trunk", *trunk_);
  this->register_module("mu", *mu_);
  this->register_module("log_var", *log_var_);
}

template <class T>
Var<T> NormalMlp<T>::hidden(const Var<T>& x) const {
  return trunk_ ? trunk_->forward(x) : x;
}

template <class T>
dist::Independent<T> NormalMlp<T>::forward(const Var<T>& x) const {
  // Any rank: the leading axes are rows of every product, so both heads read one h array and their
  // gradients meet in it (one accumulating gemm each), as for a 2-D input.
  const Var<T> h = hidden(check_input(x, in_));                                         // h = act(W h_prev + b)
  const Var<T> mu = mean_ == MeanActivation::sigmoid ? sigmoid((*mu_)(h)) : (*mu_)(h);  // μ = W_μ h + b_μ
  const Var<T> log_var = (*log_var_)(h);                                                // log σ² = W_v h + b_v
  return {dist::Normal<T>::from_log_var(mu, log_var), 1};
}

template <class T>
BernoulliMlp<T>::BernoulliMlp(std::size_t in, const std::vector<std::size_t>& hidden, std::size_t out, Rng& rng,
                              Activation activation, bool continuous)
    : in_(in), out_(out), trunk_(make_trunk<T>(in, hidden, rng, activation)), continuous_(continuous) {
  logits_ = std::make_unique<Linear<T>>(hidden.empty() ? in : hidden.back(), out, rng);
  if (trunk_) this->register_module("trunk", *trunk_);
  this->register_module("logits", *logits_);
}

template <class T>
Var<T> BernoulliMlp<T>::logits(const Var<T>& x) const {
  const Var<T>& rows = check_input(x, in_);
  return (*logits_)(trunk_ ? trunk_->forward(rows) : rows);
}

template <class T>
dist::Independent<T> BernoulliMlp<T>::forward(const Var<T>& x) const {
  const Var<T> l = logits(x);  // y = σ(W h + b)
  if (continuous_) return {dist::ContinuousBernoulli<T>(l), 1};
  return {dist::Bernoulli<T>(l), 1};
}

template class NormalMlp<float>;
template class NormalMlp<double>;
template class BernoulliMlp<float>;
template class BernoulliMlp<double>;

}  // namespace tapir::nn
