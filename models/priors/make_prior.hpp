// tapir/models/priors/make_prior.hpp — a prior from its name, as `tapir train vae --prior` spells it.
#pragma once

#include <memory>
#include <string>

#include "models/priors/prior.hpp"
#include "nn/heads.hpp"

namespace tapir::models {

/// "normal" (N(0, I)), "mog:K" (a learnable mixture of K Gaussians), "vamp:K" (the VampPrior with K
/// pseudo-inputs through `encoder`). Throws naming the text and the accepted forms otherwise.
template <class T>
std::unique_ptr<Prior<T>> make_prior(const std::string& spec, std::size_t dim, const nn::NormalMlp<T>& encoder,
                                     Rng& rng);
/// Checks a prior's name without building it (for configuration files and flags).
void check_prior_spec(const std::string& spec);

}  // namespace tapir::models
