// tapir/models/run/evaluate.cpp — a model's average bound and importance-sampled log p(x) over a data
// set, and the splits a run is evaluated on.
#include "models/run/evaluate.hpp"

#include "autodiff/log_sum_exp.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <numeric>
#include <optional>

namespace tapir::models {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

data::Dataset load_vae_split(const VaeTrainConfig& c, data::Split split, std::uint64_t seed) {
  data::Dataset d = data::load_dataset(c.dataset, c.data_dir, split, c.frey_split);
  if (c.binarize == "threshold") {
    data::binarize_threshold(d);
  } else if (c.binarize == "dynamic") {
    Rng rng(seed + static_cast<std::uint64_t>(split));
    data::binarize_dynamic(d, rng);  // one draw, kept as bytes 0/1
    d.binarization = "dynamic (fixed evaluation draw)";
  }
  return d;
}

namespace {

/// Calls `f(x_batch)` on the rows of x in batches with no gradients (the tape cleared after each);
/// with `binarize`, each row is a Bernoulli draw of its pixels (row-major draws, so any batching sees the
/// same pixels).
template <class F>
void over_batches(const Array<float>& x, std::size_t batch, Rng* binarize, const F& f) {
  const std::size_t n = x.shape()[0];
  if (batch == 0 || n == 0) throw Error("evaluation needs a positive batch and at least one row");
  Tape<float> tape;
  NoGradGuard<float> no_grad(tape);
  Array<float> xb, drawn;
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < n; i += batch) {
    rows.clear();
    for (std::size_t j = i; j < std::min(n, i + batch); ++j) rows.push_back(j);
    data::gather_rows(x, rows, xb);
    if (binarize) data::binarize_dynamic(xb, *binarize, drawn);
    f(tape.constant(binarize ? drawn : xb));
    tape.clear();
  }
}

/// Σ v in double. (xtensor 0.24's immediate full sum writes through a null pointer: UBSan.)
double total(const Array<float>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

}  // namespace

double mean_over_rows(const Array<float>& x, std::size_t batch, Rng* binarize,
                      const std::function<Var<float>(const Var<float>&)>& f) {
  double sum = 0;
  over_batches(x, batch, binarize, [&](const Var<float>& xv) { sum += total(f(xv).value()); });
  return sum / double(x.shape()[0]);
}

BoundEvaluation mean_terms_over_rows(const Array<float>& x, std::size_t batch, Rng* binarize,
                                     const std::function<ElboTerms<float>(const Var<float>&)>& f) {
  double elbo = 0, reconstruction = 0, kl = 0;
  bool has_terms = true, has_means = true;
  LatentActivity activity;
  over_batches(x, batch, binarize, [&](const Var<float>& xv) {
    const ElboTerms<float> t = f(xv);
    elbo += total(t.elbo.value());
    has_terms = has_terms && t.reconstruction && t.kl;
    if (has_terms) {
      reconstruction += total(t.reconstruction->value());
      kl += total(t.kl->value());
    }
    has_means = has_means && t.mean;
    if (has_means) activity.add(t.mean->value());
  });
  const double n = double(x.shape()[0]);
  BoundEvaluation e(elbo / n);
  if (has_terms) {
    e.reconstruction = reconstruction / n;
    e.kl = kl / n;
  }
  if (has_means) e.active_units = activity.active();
  return e;
}

BoundEvaluation evaluate_bound(const LatentVariableModel<float>& model, const Array<float>& x, Rng& rng,
                               std::size_t batch, Rng* binarize) {
  return mean_terms_over_rows(x, batch, binarize, [&](const Var<float>& xv) { return model.elbo_terms(xv, rng); });
}

ModelEvaluation evaluate_model(const LatentVariableModel<float>& vae, const Array<float>& x, std::size_t k, Rng& rng,
                               std::size_t batch, Rng* binarize, std::size_t latent_rows) {
  const auto start = Clock::now();
  const std::size_t n = x.shape()[0];
  if (batch == 0) throw Error("evaluate_model: batch must be positive");
  Tape<float> tape;
  NoGradGuard<float> no_grad(tape);
  ModelEvaluation e;
  e.n = n;
  e.k = k;
  Array<float> xb, drawn;
  std::vector<std::size_t> rows;
  double sum_ll = 0;
  const std::optional<Rng::State> draws = binarize ? std::optional<Rng::State>(binarize->state()) : std::nullopt;
  // Rows `rows` of x, binarised if asked: pixel draws in row-major order, so any batching sees the same.
  const auto rows_of_x = [&]() -> const Array<float>& {
    data::gather_rows(x, rows, xb);
    if (!binarize) return xb;
    data::binarize_dynamic(xb, *binarize, drawn);
    return drawn;
  };
  const BoundEvaluation bound = evaluate_bound(vae, x, rng, batch, binarize);
  e.elbo = bound.elbo;
  e.reconstruction = bound.reconstruction;
  e.kl = bound.kl;
  e.active_units = bound.active_units;
  if (k == 0) {
    e.log_likelihood = std::nan("");
  } else {
    // log (1/K) Σ_k w_k over chunks of K: a running logsumexp per row, in double. About 10⁵ decoder rows
    // per pass keeps the largest array (rows × x_dim floats) near 300 MB for MNIST.
    const std::size_t chunk = std::min<std::size_t>(k, 1000);
    const std::size_t rows_per_pass = std::max<std::size_t>(1, std::min<std::size_t>(n, latent_rows / chunk));
    if (binarize) binarize->set_state(*draws);  // the rows the bound saw
    for (std::size_t i = 0; i < n; i += rows_per_pass) {
      rows.clear();
      for (std::size_t j = i; j < std::min(n, i + rows_per_pass); ++j) rows.push_back(j);
      const Array<float>& xr = rows_of_x();
      const std::size_t r = rows.size();
      std::vector<LogSumExpAccumulator> acc(r);
      for (std::size_t done = 0; done < k; done += chunk) {
        const std::size_t kc = std::min(chunk, k - done);
        const Array<float> log_w = vae.log_importance_weights(tape.constant(xr), rng, kc).value();  // (kc, r)
        tape.clear();
        for (std::size_t j = 0; j < r; ++j)
          for (std::size_t t = 0; t < kc; ++t) acc[j].add(log_w(t, j));
      }
      for (std::size_t j = 0; j < r; ++j) sum_ll += acc[j].value() - std::log(double(k));
    }
    e.log_likelihood = sum_ll / double(n);
  }
  e.seconds = since(start);
  return e;
}

std::size_t evaluation_rows(const VaeConfig& model) {
  const auto colon = model.prior.find(':');
  const std::size_t k = colon == std::string::npos ? 1 : std::stoul(model.prior.substr(colon + 1));
  return std::max<std::size_t>(1000, 100'000 / std::max<std::size_t>(1, k / 50));
}

}  // namespace tapir::models
