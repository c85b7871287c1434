// tapir/autodiff/grad_check.cpp
#include "autodiff/grad_check.hpp"

#include <fmt/format.h>

#include <cmath>

#include "autodiff/ops/elementwise.hpp"
#include "autodiff/ops/reduce.hpp"
#include "autodiff/random.hpp"

namespace tapir {

std::vector<GradCheckResult> grad_check(const GradCheckFn& f, const std::vector<Array<double>>& inputs,
                                        const GradCheckOptions& options) {
  Tape<double> tape;
  Array<double> weights;  // the projection for non-scalar outputs, fixed across evaluations

  // Evaluates Σ w ⊙ f(x) (or f(x) when scalar) at `xs`; with `grads`, also backpropagates.
  auto evaluate = [&](const std::vector<Array<double>>& xs, std::vector<Array<double>>* grads) {
    tape.clear();
    std::vector<Var<double>> vars;
    for (const auto& x : xs) vars.push_back(tape.variable(x));
    Var<double> y = f(tape, vars);
    if (!y.defined()) throw Error("grad_check: the function returned an empty Var");
    if (y.size() != 1) {
      if (weights.shape() != y.shape()) {
        Rng rng(options.seed);
        weights = normal<double>(rng, y.shape());
      }
      y = sum(y * tape.constant(weights));
    }
    const double value = y.item();
    if (grads) {
      grads->clear();
      if (y.requires_grad()) y.backward();
      for (const auto& v : vars) grads->push_back(v.grad());
    }
    return value;
  };

  std::vector<Array<double>> analytic;
  evaluate(inputs, &analytic);

  std::vector<GradCheckResult> results(inputs.size());
  std::vector<Array<double>> xs = inputs;
  for (std::size_t j = 0; j < xs.size(); ++j) {
    GradCheckResult& r = results[j];
    double worst_excess = -1;
    for (std::size_t i = 0; i < xs[j].size(); ++i) {
      double& xi = xs[j].data()[i];
      const double saved = xi;
      xi = saved + options.eps;
      const double up = evaluate(xs, nullptr);
      xi = saved - options.eps;
      const double down = evaluate(xs, nullptr);
      xi = saved;
      const double numeric = (up - down) / (2 * options.eps);
      const double err = std::abs(analytic[j].data()[i] - numeric);
      const double rel = err / std::max(std::abs(numeric), 1e-12);
      const double excess = err - (options.atol + options.rtol * std::abs(numeric));
      r.max_abs_error = std::max(r.max_abs_error, err);
      r.max_rel_error = std::max(r.max_rel_error, std::min(rel, err > options.atol ? rel : 0.0));
      if (!(excess <= 0)) r.passed = false;
      if (excess > worst_excess || std::isnan(excess)) {
        worst_excess = std::isnan(excess) ? INFINITY : excess;
        r.worst_index = i;
      }
    }
  }
  return results;
}

}  // namespace tapir
