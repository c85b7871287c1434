// tapir/models/priors/priors.cpp — StandardNormalPrior, MixturePrior, VampPrior and make_prior.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "models/priors/make_prior.hpp"
#include "models/priors/mixture.hpp"
#include "models/priors/standard_normal.hpp"
#include "models/priors/vamp.hpp"
#include "nn/init.hpp"

namespace tapir::models {

// ---- N(0, I) ------------------------------------------------------------------------------------------

template <class T>
StandardNormalPrior<T>::StandardNormalPrior(std::size_t dim) : Prior<T>(dim) {
  if (dim == 0) throw Error("prior: the latent dimension must be positive");
}

template <class T>
std::unique_ptr<dist::Distribution<T>> StandardNormalPrior<T>::distribution(Tape<T>& tape) const {
  return std::make_unique<dist::Independent<T>>(dist::standard_normal<T>(tape, {}, {this->dim()}));
}

template <class T>
Array<T> StandardNormalPrior<T>::sample(Rng& rng, std::size_t n) const {
  return normal<T>(rng, {n, this->dim()});
}

// ---- Mixture of Gaussians ---------------------------------------------------------------------------

template <class T>
MixturePrior<T>::MixturePrior(std::size_t dim, std::size_t components, Rng& rng) : Prior<T>(dim), k_(components) {
  if (dim == 0 || components == 0)
    throw Error(fmt::format("mixture prior: needs a positive dimension and number of components (got {}, {})", dim,
                            components));
  logits_ = &this->register_parameter("logits", Array<T>(Shape{k_}, T(0)));
  means_ = &this->register_parameter("means", normal<T>(rng, {k_, dim}));  // m_k ~ N(0, I)
  log_var_ = &this->register_parameter("log_var", Array<T>(Shape{k_, dim}, T(0)));
  for (Parameter<T>* p : {means_, log_var_}) p->set_decays(false);  // p(z)'s own parameters, not weights
}

template <class T>
std::string MixturePrior<T>::name() const {
  return fmt::format("mog:{}", k_);
}

template <class T>
std::unique_ptr<dist::Distribution<T>> MixturePrior<T>::distribution(Tape<T>& tape) const {
  const dist::Categorical<T> pi(tape.param(*logits_));  // π = softmax(a)
  const dist::Normal<T> n = dist::Normal<T>::from_log_var(tape.param(*means_), tape.param(*log_var_));  // N(m_k, e^v)
  return std::make_unique<dist::MixtureSameFamily<T>>(pi, dist::Independent<T>(n, 1));
}

// ---- VampPrior ----------------------------------------------------------------------------------------

template <class T>
VampPrior<T>::VampPrior(const nn::NormalMlp<T>& encoder, std::size_t components, Rng& rng)
    : Prior<T>(encoder.out_features()), encoder_(encoder), k_(components) {
  if (components == 0) throw Error("VampPrior: needs at least one pseudo-input");
  pseudo_inputs_ = &this->register_parameter("pseudo_x", Array<T>::from_shape({k_, encoder.in_features()}));
  nn::init::normal_(*pseudo_inputs_, rng, 0.05, 0.01);  // the paper's N(0.05, 0.01²), in the data's units
  // Data-space points, not weights: the weight decay (eq. 8's N(0, I) on θ, 1/N) is not about them. Under
  // Adam it pulled every pseudo-input to the same grey image (tapir before 2026-11-29, through σ(u)).
  pseudo_inputs_->set_decays(false);
}

template <class T>
std::string VampPrior<T>::name() const {
  return fmt::format("vamp:{}", k_);
}

template <class T>
std::unique_ptr<dist::Distribution<T>> VampPrior<T>::distribution(Tape<T>& tape) const {
  const Var<T> u = clamp(tape.param(*pseudo_inputs_), T(0), T(1));  // hardtanh into the data's range
  const dist::Independent<T> q_u = encoder_(u);                     // q_φ(z|u_k), batch (K,)
  const dist::Categorical<T> uniform(tape.full({k_}, T(0)));        // π_k = 1/K
  return std::make_unique<dist::MixtureSameFamily<T>>(uniform, q_u);
}

// ---- By name ------------------------------------------------------------------------------------------

namespace {
/// "mog:10" → ("mog", 10); "normal" → ("normal", 0).
std::pair<std::string, std::size_t> parse_prior(const std::string& spec) {
  const auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  const auto bad = [&] {
    return Error(fmt::format("prior '{}': expected normal, mog:K or vamp:K with K a positive integer", spec));
  };
  if (kind == "normal") {
    if (colon != std::string::npos) throw bad();
    return {kind, 0};
  }
  if ((kind != "mog" && kind != "vamp") || colon == std::string::npos) throw bad();
  const std::string count = spec.substr(colon + 1);
  if (count.empty() || count.size() > 7 || count.find_first_not_of("0123456789") != std::string::npos) throw bad();
  const std::size_t k = std::stoul(count);
  if (k == 0) throw bad();
  return {kind, k};
}
}  // namespace

void check_prior_spec(const std::string& spec) { parse_prior(spec); }

template <class T>
std::unique_ptr<Prior<T>> make_prior(const std::string& spec, std::size_t dim, const nn::NormalMlp<T>& encoder,
                                     Rng& rng) {
  const auto [kind, k] = parse_prior(spec);
  if (kind == "normal") return std::make_unique<StandardNormalPrior<T>>(dim);
  if (kind == "mog") return std::make_unique<MixturePrior<T>>(dim, k, rng);
  return std::make_unique<VampPrior<T>>(encoder, k, rng);
}

#define TAPIR_PRIORS(T)                  \
  template class StandardNormalPrior<T>; \
  template class MixturePrior<T>;        \
  template class VampPrior<T>;           \
  template std::unique_ptr<Prior<T>> make_prior<T>(const std::string&, std::size_t, const nn::NormalMlp<T>&, Rng&);
TAPIR_PRIORS(float)
TAPIR_PRIORS(double)

}  // namespace tapir::models
