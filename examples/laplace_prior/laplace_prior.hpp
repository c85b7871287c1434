// A prior tapir does not ship, written from the outside: p(z) = Π_j Laplace(z_j; 0, b_j) with a
// learnable scale b = exp(log_b). Everything else (encoder, decoder, bound, IWAE, AIS, the trainer)
// comes from tapir: the VAE takes any models::Prior.
#pragma once

#include <tapir/models/priors/prior.hpp>

class LaplacePrior : public tapir::models::Prior<float> {
 public:
  explicit LaplacePrior(std::size_t dim) : Prior(dim) {
    log_b_ = &register_parameter("log_b", tapir::Array<float>(tapir::Shape{dim}, 0.0f));  // b = 1 at the start
  }

  std::string name() const override { return "laplace"; }

  /// p(z) as a distribution on this step's tape: batch shape (), event shape (dim,). There is no
  /// analytic KL(Normal ‖ Laplace), so the VAE's bound is the Monte Carlo form log p(z) − log q(z|x).
  std::unique_ptr<tapir::dist::Distribution<float>> distribution(tapir::Tape<float>& tape) const override {
    const auto loc = tape.constant(tapir::Array<float>(tapir::Shape{dim()}, 0.0f));
    const auto scale = tapir::exp(tape.param(*log_b_));
    return std::make_unique<tapir::dist::Independent<float>>(tapir::dist::Laplace<float>(loc, scale), 1);
  }

 private:
  tapir::Parameter<float>* log_b_;
};
