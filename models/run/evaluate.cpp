// tapir/models/run/evaluate.cpp — a model's average bound and importance-sampled log p(x) over a data
// set, and the splits a run is evaluated on.
#include "models/run/evaluate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>

#include "autodiff/log_sum_exp.hpp"
#include "autodiff/parallel.hpp"

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

Rng group_rng(std::uint64_t base, std::uint64_t g) { return Rng(base ^ (0x9e3779b97f4a7c15ULL * (g + 1))); }

namespace {

/// Tapes for the tasks of one parallel loop: a task takes one, and gives it back (cleared) when done, so
/// a thread's next task reuses the node buffers of its last instead of allocating them again.
class TapePool {
 public:
  std::unique_ptr<Tape<float>> take() {
    std::lock_guard<std::mutex> lock(m_);
    if (free_.empty()) return std::make_unique<Tape<float>>();
    auto t = std::move(free_.back());
    free_.pop_back();
    return t;
  }
  void give(std::unique_ptr<Tape<float>> t) {
    t->clear();
    std::lock_guard<std::mutex> lock(m_);
    free_.push_back(std::move(t));
  }

 private:
  std::mutex m_;
  std::vector<std::unique_ptr<Tape<float>>> free_;
};

/// Calls fn(g, x_g, tape) for the groups g = 0, 1, … of `group` consecutive rows of x (the last one may
/// be shorter), on up to num_threads() threads: each call on a tape of its own with no gradients, BLAS on
/// one thread. fn may use the tape freely (and clear it); it must write
/// only to group g's own results. With `binarize`, each row is a Bernoulli draw of its pixels, drawn on
/// the calling thread in row-major order (any grouping sees the same pixels), a pass of groups at a time.
template <class F>
void over_groups(const Array<float>& x, std::size_t group, Rng* binarize, const F& fn) {
  const std::size_t n = x.shape()[0];
  if (group == 0 || n == 0) throw Error("evaluation needs a positive batch and at least one row");
  const std::size_t groups = (n + group - 1) / group;
  const std::size_t threads = std::min(num_threads(), groups);
  // A pass: at least a group per thread, and about 1024 rows (3 MB of MNIST, twice: gathered and
  // binarised) when groups are small. The draws do not depend on it (row-major on this thread).
  const std::size_t per_pass = std::max(threads, std::size_t(1024) / group);
  // BLAS on one thread always, also when one task runs at a time: OpenBLAS on two threads gives other
  // roundings for some shapes (a one-row encoder product: log p(x) differed in the 8th digit between
  // TAPIR_NUM_THREADS=1 and 2), and the numbers must not depend on the thread count.
  const BlasThreadsGuard one_blas_thread(1);
  TapePool tapes;
  Array<float> xp, drawn;
  std::vector<std::size_t> rows;
  for (std::size_t g0 = 0; g0 < groups; g0 += per_pass) {
    const std::size_t g1 = std::min(groups, g0 + per_pass), r0 = g0 * group;
    rows.resize(std::min(n, g1 * group) - r0);
    std::iota(rows.begin(), rows.end(), r0);
    data::gather_rows(x, rows, xp);
    if (binarize) data::binarize_dynamic(xp, *binarize, drawn);
    const Array<float>& pass = binarize ? drawn : xp;
    parallel_for(g1 - g0, [&](std::size_t i) {
      const std::size_t a = i * group, b = std::min(rows.size(), a + group);
      const std::size_t width = pass.shape()[1];
      Array<float> xg = Array<float>::from_shape({b - a, width});
      std::copy(pass.data() + a * width, pass.data() + b * width, xg.data());
      auto tape = tapes.take();
      {
        NoGradGuard<float> no_grad(*tape);
        fn(g0 + i, xg, *tape);
      }
      tapes.give(std::move(tape));
    });
  }
}

/// Calls `f(x_batch)` on the rows of x in batches with no gradients (the tape cleared after each), one
/// batch at a time (f may share state across batches, e.g. one generator); with `binarize`, each row is
/// a Bernoulli draw of its pixels (row-major draws, so any batching sees the same pixels).
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

/// One batch's share of a bound: its sums, and its terms and means where f gave them.
struct BoundSums {
  BoundSums() = default;
  explicit BoundSums(const ElboTerms<float>& t) {
    elbo = total(t.elbo.value());
    has_terms = t.reconstruction && t.kl;
    if (has_terms) {
      reconstruction = total(t.reconstruction->value());
      kl = total(t.kl->value());
    }
    if (t.mean) mean = t.mean->value();
  }
  double elbo = 0, reconstruction = 0, kl = 0;
  bool has_terms = false;
  std::optional<Array<float>> mean;
};

/// The batches' sums, combined in batch order (so the total does not depend on which thread ran which).
BoundEvaluation combine(const std::vector<BoundSums>& parts, std::size_t n) {
  double elbo = 0, reconstruction = 0, kl = 0;
  bool has_terms = true, has_means = true;
  LatentActivity activity;
  for (const BoundSums& p : parts) {
    elbo += p.elbo;
    has_terms = has_terms && p.has_terms;
    if (has_terms) {
      reconstruction += p.reconstruction;
      kl += p.kl;
    }
    has_means = has_means && p.mean;
    if (has_means) activity.add(*p.mean);
  }
  BoundEvaluation e(elbo / double(n));
  if (has_terms) {
    e.reconstruction = reconstruction / double(n);
    e.kl = kl / double(n);
  }
  if (has_means) e.active_units = activity.active();
  return e;
}

}  // namespace

double mean_over_rows(const Array<float>& x, std::size_t batch, Rng* binarize,
                      const std::function<Var<float>(const Var<float>&)>& f) {
  double sum = 0;
  over_batches(x, batch, binarize, [&](const Var<float>& xv) { sum += total(f(xv).value()); });
  return sum / double(x.shape()[0]);
}

BoundEvaluation mean_terms_over_rows(const Array<float>& x, std::size_t batch, Rng* binarize,
                                     const std::function<ElboTerms<float>(const Var<float>&)>& f) {
  std::vector<BoundSums> parts;
  over_batches(x, batch, binarize, [&](const Var<float>& xv) { parts.emplace_back(f(xv)); });
  return combine(parts, x.shape()[0]);
}

BoundEvaluation evaluate_bound(const LatentVariableModel<float>& model, const Array<float>& x, Rng& rng,
                               std::size_t batch, Rng* binarize) {
  // Batch g draws from its own stream (group_rng): the same numbers on any number of threads.
  const std::uint64_t base = rng.next_u64();
  std::vector<BoundSums> parts((x.shape()[0] + std::max<std::size_t>(batch, 1) - 1) / std::max<std::size_t>(batch, 1));
  over_groups(x, batch, binarize, [&](std::size_t g, const Array<float>& xg, Tape<float>& tape) {
    Rng draws = group_rng(base, g);
    parts[g] = BoundSums(model.elbo_terms(tape.constant(xg), draws));
  });
  return combine(parts, x.shape()[0]);
}

std::size_t importance_group_rows(std::size_t k) {
  return std::clamp<std::size_t>(1000 / std::max<std::size_t>(k, 1), 1, 100);
}

ModelEvaluation evaluate_model(const LatentVariableModel<float>& model, const Array<float>& x, std::size_t k, Rng& rng,
                               std::size_t batch, Rng* binarize, std::size_t latent_rows) {
  const auto start = Clock::now();
  const std::size_t n = x.shape()[0];
  if (batch == 0) throw Error("evaluate_model: batch must be positive");
  ModelEvaluation e;
  e.n = n;
  e.k = k;
  const std::optional<Rng::State> draws = binarize ? std::optional<Rng::State>(binarize->state()) : std::nullopt;
  const BoundEvaluation bound = evaluate_bound(model, x, rng, batch, binarize);
  e.elbo = bound.elbo;
  e.reconstruction = bound.reconstruction;
  e.kl = bound.kl;
  e.active_units = bound.active_units;
  if (k == 0) {
    e.log_likelihood = std::nan("");
  } else {
    // log (1/K) Σ_k w_k per row, from fixed groups of rows (importance_group_rows(K); one row for
    // K ≥ 1000), each group drawing from its own stream (group_rng) in chunks of at most
    // latent_rows / group samples, a running logsumexp per row in double. The largest arrays of a
    // call are (chunk × group) × x_dim floats whatever K is; results are combined in row order.
    const std::size_t group = importance_group_rows(k);
    const std::size_t chunk = std::clamp<std::size_t>(latent_rows / group, 1, k);
    const std::uint64_t base = rng.next_u64();
    if (binarize) binarize->set_state(*draws);  // the rows the bound saw
    std::vector<double> log_px(n);
    over_groups(x, group, binarize, [&](std::size_t g, const Array<float>& xg, Tape<float>& tape) {
      Rng r = group_rng(base, g);
      const std::size_t rows = xg.shape()[0];
      std::vector<LogSumExpAccumulator> acc(rows);
      for (std::size_t done = 0; done < k; done += chunk) {
        const std::size_t kc = std::min(chunk, k - done);
        const Array<float>& log_w = model.log_importance_weights(tape.constant(xg), r, kc).value();  // (kc, rows)
        for (std::size_t t = 0; t < kc; ++t)
          for (std::size_t j = 0; j < rows; ++j) acc[j].add(log_w(t, j));
        tape.clear();
      }
      for (std::size_t j = 0; j < rows; ++j) log_px[g * group + j] = acc[j].log_mean();
    });
    e.log_likelihood = std::accumulate(log_px.begin(), log_px.end(), 0.0) / double(n);
  }
  e.seconds = since(start);
  return e;
}

std::size_t evaluation_rows(const VaeConfig& model) {
  const auto colon = model.prior.find(':');
  const std::size_t k = colon == std::string::npos ? 1 : std::stoul(model.prior.substr(colon + 1));
  return std::max<std::size_t>(256, kEvaluationLatentRows / std::max<std::size_t>(1, k / 50));
}

}  // namespace tapir::models
