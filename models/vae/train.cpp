// tapir/models/vae/train.cpp — the training loop of a VAE run, its run directory and its evaluation.
#include "models/vae/train.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>

#include <xtensor/xview.hpp>

#include "models/vae/mcem.hpp"
#include "nn/checkpoint.hpp"
#include "nn/optim/optim.hpp"

namespace tapir::models {

namespace fs = std::filesystem;

namespace {

constexpr const char* kConfig = "config.json";
constexpr const char* kCurve = "curve.csv";
constexpr const char* kLast = "checkpoint_last.safetensors";
constexpr const char* kBest = "checkpoint_best.safetensors";
constexpr const char* kChains = "mcem_chains.safetensors";  // MCEM's persistent posterior samples
constexpr const char* kAvbLast = "avb_last.safetensors";    // AVB's encoder and discriminator (+ T's optimizer)
constexpr const char* kAvbBest = "avb_best.safetensors";

std::string path_in(const std::string& dir, const char* name) { return (fs::path(dir) / name).string(); }

/// Where the previous version of a companion file (MCEM's chains, AVB's networks) is kept while the
/// next is written: "x.safetensors" → "x.prev.safetensors".
std::string previous_of(const std::string& path) {
  return (fs::path(path).parent_path() / (fs::path(path).stem().string() + ".prev.safetensors")).string();
}

/// Writes a companion file of checkpoint_last, keeping the one it replaces: the pair (companion,
/// checkpoint) is written in two steps, so a crash in between must leave the old companion findable.
void write_companion(const std::string& path, const std::function<void(const std::string&)>& write) {
  std::error_code ec;
  if (fs::exists(path)) fs::rename(path, previous_of(path), ec);
  if (ec) throw Error(fmt::format("cannot rename '{}' to '{}': {}", path, previous_of(path), ec.message()));
  write(path);
}

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

/// Writes `text` to `path` through a temporary file and a rename: never half a file.
void write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(fmt::format("cannot write '{}'", tmp));
    out << text;
    out.flush();
    if (!out) throw Error(fmt::format("writing '{}' failed (disk full?)", tmp));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw Error(fmt::format("cannot rename '{}' to '{}': {}", tmp, path, ec.message()));
}

/// The minibatch order of epoch `e`: a permutation from a generator seeded by (seed, e) alone, so a
/// resumed run needs only the epoch and the position in it.
std::vector<std::size_t> epoch_order(std::uint64_t seed, long long e, std::size_t n) {
  // A stream of its own: no (seed, e) gives the seed of the run's other generators (seed, seed + 1).
  Rng r((seed + 0x632BE59BD9B4E019ull) * 0x9E3779B97F4A7C15ull ^
        (static_cast<std::uint64_t>(e) + 1) * 0xD1B54A32D192ED03ull);
  return permutation(r, n);
}

std::unique_ptr<optim::Optimizer<float>> make_optimizer(const VaeTrainConfig& c,
                                                        const std::vector<Parameter<float>*>& params,
                                                        std::size_t n_train, double lr = 0, bool decay = true) {
  // The paper's prior p(θ) = N(0, I): maximise (N/M) Σ_batch L(x) + log p(θ) (eq. 8). tapir's loss is the
  // minibatch *average* of the bound, i.e. that objective divided by N, so the prior's gradient −θ comes
  // in with weight 1/N. (The authors' code sums the bound over the batch and so scales the prior by M/N.)
  const double weight_decay = !decay ? 0.0 : c.weight_decay >= 0 ? c.weight_decay : 1.0 / double(n_train);
  if (lr <= 0) lr = c.lr;
  if (c.optimizer == "adagrad") {
    optim::AdagradOptions o;
    o.lr = lr;
    o.weight_decay = weight_decay;
    o.decay_matrices_only = true;
    o.initial_accumulator_value = 0.01;  // as in the authors' published code (PAPERS.md)
    return std::make_unique<optim::Adagrad<float>>(params, o);
  }
  if (c.optimizer == "adam") {
    optim::AdamOptions o;
    o.lr = lr;
    o.weight_decay = weight_decay;
    o.decay_matrices_only = true;
    return std::make_unique<optim::Adam<float>>(params, o);
  }
  throw Error(fmt::format("unknown optimizer '{}' (expected adagrad or adam)", c.optimizer));
}

double beta_at(const VaeTrainConfig& c, long long samples) {
  if (c.warmup <= 0) return c.beta;
  return c.beta * std::min(1.0, double(samples) / double(c.warmup));
}

std::string fmt_double(double v) { return fmt::format("{:.6f}", v); }

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Configuration

nlohmann::json VaeTrainConfig::to_json() const {
  nlohmann::json j = {{"method", method},
                      {"dataset", dataset},
                      {"data_dir", data_dir},
                      {"binarize", binarize},
                      {"batch", batch},
                      {"samples", samples},
                      {"optimizer", optimizer},
                      {"lr", lr},
                      {"weight_decay", weight_decay},
                      {"objective", objective},
                      {"iwae_k", iwae_k},
                      {"beta", beta},
                      {"warmup", warmup},
                      {"eval_every", eval_every},
                      {"train_eval_size", train_eval_size},
                      {"seed", seed},
                      {"ais_eval_size", ais_eval_size},
                      {"ais_steps", ais_steps},
                      {"ais_chains", ais_chains},
                      {"curve_metric", curve_metric},
                      {"train_size", train_size}};
  if (method == "avb") j["avb"] = avb.to_json();
  return j;
}

VaeTrainConfig VaeTrainConfig::from_json(const nlohmann::json& j) {
  VaeTrainConfig c;
  try {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      if (k == "method")
        c.method = it->get<std::string>();
      else if (k == "dataset")
        c.dataset = it->get<std::string>();
      else if (k == "data_dir")
        c.data_dir = it->get<std::string>();
      else if (k == "binarize")
        c.binarize = it->get<std::string>();
      else if (k == "batch")
        c.batch = it->get<std::size_t>();
      else if (k == "samples")
        c.samples = it->get<long long>();
      else if (k == "optimizer")
        c.optimizer = it->get<std::string>();
      else if (k == "lr")
        c.lr = it->get<double>();
      else if (k == "weight_decay")
        c.weight_decay = it->get<double>();
      else if (k == "objective")
        c.objective = it->get<std::string>();
      else if (k == "iwae_k")
        c.iwae_k = it->get<std::size_t>();
      else if (k == "beta")
        c.beta = it->get<double>();
      else if (k == "warmup")
        c.warmup = it->get<long long>();
      else if (k == "eval_every")
        c.eval_every = it->get<long long>();
      else if (k == "train_eval_size")
        c.train_eval_size = it->get<std::size_t>();
      else if (k == "ais_eval_size")
        c.ais_eval_size = it->get<std::size_t>();
      else if (k == "ais_steps")
        c.ais_steps = it->get<std::size_t>();
      else if (k == "ais_chains")
        c.ais_chains = it->get<std::size_t>();
      else if (k == "curve_metric")
        c.curve_metric = it->get<std::string>();
      else if (k == "train_size")
        c.train_size = it->get<std::size_t>();
      else if (k == "avb")
        c.avb = AvbOptions::from_json(*it);
      else if (k == "seed")
        c.seed = it->get<std::uint64_t>();
      else
        throw Error(fmt::format("unknown key '{}'", k));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("training config: {}", e.what()));
  } catch (const Error& e) {
    throw Error(fmt::format("training config: {}", e.what()));
  }
  return c;
}

void VaeTrainConfig::validate() const {
  const auto fail = [](const std::string& m) { throw Error(m); };
  if (method != "aevb" && method != "wake-sleep" && method != "mcem" && method != "avb")
    fail(fmt::format("method '{}': expected aevb, wake-sleep, mcem or avb", method));
  if (method == "avb") avb.validate();
  if (method != "aevb" && (objective != "elbo" || warmup > 0 || beta != 1.0))
    fail(fmt::format("{} has no --objective, --warmup or --beta: those shape the AEVB bound", method));
  if (curve_metric != "bound" && curve_metric != "ais")
    fail(fmt::format("curve metric '{}': expected bound or ais", curve_metric));
  if ((method == "mcem" || curve_metric == "ais") && (ais_eval_size == 0 || ais_steps == 0 || ais_chains == 0))
    fail("an AIS curve needs positive ais_eval_size, ais_steps and ais_chains");
  if (dataset != "mnist" && dataset != "fashion-mnist" && dataset != "frey" && dataset != "binarized-mnist")
    fail(fmt::format("--dataset '{}': expected mnist, fashion-mnist, frey or binarized-mnist", dataset));
  if (binarize != "none" && binarize != "threshold" && binarize != "dynamic" && binarize != "static")
    fail(fmt::format("--binarize '{}': expected none, threshold or dynamic", binarize));
  if ((binarize == "static") != (dataset == "binarized-mnist"))
    fail(dataset == "binarized-mnist" ? "binarized-mnist is binarised already: use --binarize static"
                                      : "--binarize static is only for --dataset binarized-mnist");
  if (batch == 0) fail("--batch must be positive");
  if (samples <= 0) fail(fmt::format("--samples {} must be positive", samples));
  if (optimizer != "adagrad" && optimizer != "adam")
    fail(fmt::format("--optimizer '{}': expected adagrad or adam", optimizer));
  if (!(lr > 0) || !std::isfinite(lr)) fail(fmt::format("--lr {} must be a positive number", lr));
  if (objective != "elbo" && objective != "iwae")
    fail(fmt::format("--objective '{}': expected elbo or iwae", objective));
  if (objective == "iwae" && iwae_k == 0) fail("--iwae-k must be at least 1");
  if (objective == "iwae" && (warmup > 0 || beta != 1.0))
    fail("--beta and --warmup weight the ELBO's KL term, not IWAE");
  if (!(beta >= 0)) fail(fmt::format("--beta {} must be non-negative", beta));
  if (warmup < 0) fail("--warmup must be non-negative");
  if (eval_every < 0) fail("--eval-every must be non-negative (0: log-spaced)");
}

nlohmann::json VaeRunConfig::to_json() const {
  return {{"model", "vae"}, {"vae", model.to_json()}, {"train", train.to_json()}};
}

VaeRunConfig VaeRunConfig::from_json(const nlohmann::json& j) {
  if (!j.is_object() || j.value("model", "") != "vae" || !j.contains("vae") || !j.contains("train"))
    throw Error("not a VAE run configuration (expected {\"model\": \"vae\", \"vae\": ..., \"train\": ...})");
  return {VaeConfig::from_json(j.at("vae")), VaeTrainConfig::from_json(j.at("train"))};
}

VaeRunConfig paper_vae_setup(const std::string& dataset, std::size_t latent) {
  VaeRunConfig r;
  r.train.dataset = dataset;
  r.model.z_dim = latent;
  if (dataset == "frey") {  // App. C.2: Gaussian decoder; 200 hidden units for the small Frey set
    r.model.x_dim = 560;
    r.model.hidden = {200};
    r.model.likelihood = Likelihood::gaussian;
    r.train.binarize = "none";
  } else {  // MNIST-shaped: Bernoulli decoder on binarised pixels, 500 hidden units
    r.model.x_dim = 784;
    r.model.hidden = {500};
    r.model.likelihood = Likelihood::bernoulli;
    r.train.binarize = dataset == "binarized-mnist" ? "static" : "dynamic";
    r.train.lr = 0.02;
  }
  return r;
}

// ---------------------------------------------------------------------------------------------------
// curve.csv

std::vector<CurvePoint> read_curve(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("cannot open '{}'", path));
  std::string line;
  std::getline(in, line);
  if (line.rfind("samples,epoch,seconds,train_elbo,test_elbo", 0) != 0)
    throw Error(fmt::format("'{}': not a tapir curve (header '{}')", path, line));
  std::vector<CurvePoint> curve;
  for (int row = 2; std::getline(in, line); ++row) {
    if (line.empty()) continue;
    CurvePoint p;
    char c;
    std::istringstream s(line);
    if (!(s >> p.samples >> c >> p.epoch >> c >> p.seconds >> c >> p.train_elbo >> c >> p.test_elbo >> c >> p.beta >>
          c >> p.lr))
      throw Error(fmt::format("'{}' line {}: malformed row '{}'", path, row, line));
    curve.push_back(p);
  }
  return curve;
}

void write_curve(const std::string& path, const std::vector<CurvePoint>& curve) {
  std::string text = "samples,epoch,seconds,train_elbo,test_elbo,beta,lr\n";
  for (const auto& p : curve)
    text += fmt::format("{},{},{:.3f},{:.4f},{:.4f},{:.6g},{:.6g}\n", p.samples, p.epoch, p.seconds, p.train_elbo,
                        p.test_elbo, p.beta, p.lr);
  write_atomically(path, text);
}

std::vector<long long> eval_schedule(long long total, long long eval_every, std::size_t batch) {
  std::vector<long long> points;
  const long long b = static_cast<long long>(batch);
  const auto push = [&](long long s) {
    s = std::min(total, (s + b - 1) / b * b);  // whole batches
    if (points.empty() || s > points.back()) points.push_back(s);
  };
  if (eval_every > 0) {
    for (long long s = eval_every; s < total; s += eval_every) push(s);
  } else {
    const double first = 10.0 * double(b);
    for (int i = 0;; ++i) {
      const double s = first * std::pow(10.0, i / 8.0);
      if (s >= double(total)) break;
      push(static_cast<long long>(std::llround(s)));
    }
  }
  push(total);
  return points;
}

// ---------------------------------------------------------------------------------------------------
// Data and evaluation

data::Dataset load_vae_split(const VaeTrainConfig& c, data::Split split, std::uint64_t seed) {
  data::Dataset d = data::load_dataset(c.dataset, c.data_dir, split);
  if (c.binarize == "threshold") {
    data::binarize_threshold(d);
  } else if (c.binarize == "dynamic") {
    Rng rng(seed + static_cast<std::uint64_t>(split));
    Array<float> b;
    data::binarize_dynamic(d.x, rng, b);
    d.x = std::move(b);
    d.binarization = "dynamic (fixed evaluation draw)";
  }
  return d;
}

namespace {
/// The mean over the rows of x of a per-row statistic `f(x_batch)` (batch,), computed in batches with no
/// gradients; with `binarize`, each row is a Bernoulli draw of its pixels (row-major draws, so any
/// batching sees the same pixels).
template <class F>
double mean_over_rows(const Array<float>& x, std::size_t batch, Rng* binarize, const F& f) {
  const std::size_t n = x.shape()[0];
  if (batch == 0 || n == 0) throw Error("evaluation needs a positive batch and at least one row");
  Tape<float> tape;
  NoGradGuard<float> no_grad(tape);
  Array<float> xb, drawn;
  std::vector<std::size_t> rows;
  double sum = 0;
  for (std::size_t i = 0; i < n; i += batch) {
    rows.clear();
    for (std::size_t j = i; j < std::min(n, i + batch); ++j) rows.push_back(j);
    data::gather_rows(x, rows, xb);
    if (binarize) data::binarize_dynamic(xb, *binarize, drawn);
    const Array<float>& v = f(tape.constant(binarize ? drawn : xb)).value();
    sum += std::accumulate(v.begin(), v.end(), 0.0);  // (xtensor 0.24's immediate full sum writes through a
                                                      // null pointer: UBSan)
    tape.clear();
  }
  return sum / double(n);
}
}  // namespace

double evaluate_avb(const Avb<float>& avb, const Vae<float>& vae, const Array<float>& x, Rng& rng, std::size_t batch,
                    Rng* binarize) {
  return mean_over_rows(x, batch, binarize, [&](const Var<float>& xv) { return avb.elbo(vae, xv, rng); });
}

std::unique_ptr<Avb<float>> load_avb_run_networks(const std::string& run_dir, const std::string& which) {
  if (which != "best" && which != "last") throw Error(fmt::format("checkpoint '{}': expected best or last", which));
  const VaeRunConfig config = load_vae_run_config(run_dir);
  if (config.train.method != "avb") throw Error(fmt::format("'{}' is a {} run, not AVB", run_dir, config.train.method));
  Rng rng(0);
  auto avb = std::make_unique<Avb<float>>(config.model, config.train.avb, rng);
  const std::string path = path_in(run_dir, which == "best" ? kAvbBest : kAvbLast);
  if (!fs::exists(path))
    throw Error(fmt::format("'{}' does not exist yet: the run has not reached its first evaluation", path));
  nn::load_checkpoint<float>(path, *avb);
  return avb;
}

VaeEvaluation evaluate_vae(const Vae<float>& vae, const Array<float>& x, std::size_t k, Rng& rng, std::size_t batch,
                           Rng* binarize) {
  const auto start = Clock::now();
  const std::size_t n = x.shape()[0];
  if (batch == 0) throw Error("evaluate_vae: batch must be positive");
  Tape<float> tape;
  NoGradGuard<float> no_grad(tape);
  VaeEvaluation e;
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
  e.elbo = mean_over_rows(x, batch, binarize, [&](const Var<float>& xv) { return vae.elbo(xv, rng); });
  if (k == 0) {
    e.log_likelihood = std::nan("");
  } else {
    // log (1/K) Σ_k w_k over chunks of K: a running logsumexp per row, in double. About 10⁵ decoder rows
    // per pass keeps the largest array (rows × x_dim floats) near 300 MB for MNIST.
    const std::size_t chunk = std::min<std::size_t>(k, 1000);
    const std::size_t rows_per_pass = std::max<std::size_t>(1, std::min<std::size_t>(n, 100'000 / chunk));
    if (binarize) binarize->set_state(*draws);  // the rows the bound saw
    for (std::size_t i = 0; i < n; i += rows_per_pass) {
      rows.clear();
      for (std::size_t j = i; j < std::min(n, i + rows_per_pass); ++j) rows.push_back(j);
      const Array<float>& xr = rows_of_x();
      const std::size_t r = rows.size();
      std::vector<double> m(r, -INFINITY), s(r, 0.0);
      for (std::size_t done = 0; done < k; done += chunk) {
        const std::size_t kc = std::min(chunk, k - done);
        const Array<float> log_w = vae.log_importance_weights(tape.constant(xr), rng, kc).value();  // (kc, r)
        tape.clear();
        for (std::size_t j = 0; j < r; ++j) {
          for (std::size_t t = 0; t < kc; ++t) {
            const double w = log_w(t, j);
            if (w == -INFINITY) continue;  // a zero weight: adds nothing (and −∞ − −∞ would be NaN)
            if (w > m[j]) {
              s[j] = s[j] * std::exp(m[j] - w) + 1.0;
              m[j] = w;
            } else {
              s[j] += std::exp(w - m[j]);
            }
          }
        }
      }
      for (std::size_t j = 0; j < r; ++j) sum_ll += m[j] + std::log(s[j]) - std::log(double(k));
    }
    e.log_likelihood = sum_ll / double(n);
  }
  e.seconds = since(start);
  return e;
}

// ---------------------------------------------------------------------------------------------------
// The run

namespace {

class VaeTrainer {
 public:
  VaeTrainer(const VaeRunConfig& config, std::string run_dir)
      : config_(config),
        dir_(std::move(run_dir)),
        init_rng_(config.train.seed),
        vae_(config.model, init_rng_),
        train_(data::load_dataset(config.train.dataset, config.train.data_dir, data::Split::train)),
        test_(data::load_dataset(config.train.dataset, config.train.data_dir, data::Split::test)),
        rng_(config.train.seed + 1) {
    if (train_.dim() != config.model.x_dim)
      throw Error(fmt::format("{} images have {} pixels but the model's x_dim is {}", train_.name, train_.dim(),
                              config.model.x_dim));
    if (config.train.train_size > 0 && config.train.train_size < train_.size()) {  // N_train of Figure 3
      std::vector<std::size_t> rows(config.train.train_size);
      for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
      Array<float> first;
      data::gather_rows(train_.x, rows, first);
      train_.x = std::move(first);
    }
    if (config.train.binarize == "threshold") {
      data::binarize_threshold(train_);
      data::binarize_threshold(test_);
    }
    if (config.train.train_eval_size > 0 && config.train.train_eval_size < train_.size()) {
      std::vector<std::size_t> rows(config.train.train_eval_size);
      for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
      data::gather_rows(train_.x, rows, train_subset_);
    }
    if (train_.size() < config.train.batch)
      throw Error(fmt::format("--batch {} exceeds the {} training examples", config.train.batch, train_.size()));
    if (config.train.method == "avb") {  // the encoder/decoder step updates f_φ and θ; T has its own optimizer
      avb_ = std::make_unique<Avb<float>>(config.model, config.train.avb, init_rng_);
      auto params = decoder_parameters(vae_);
      for (auto* p : avb_->encoder_parameters()) params.push_back(p);
      optimizer_ = make_optimizer(config.train, params, train_.size());
      const double disc_lr = config.train.avb.disc_lr > 0 ? config.train.avb.disc_lr : 5 * config.train.lr;
      disc_optimizer_ = make_optimizer(config.train, avb_->discriminator_parameters(), train_.size(), disc_lr, false);
    } else {
      optimizer_ = make_optimizer(config.train, vae_.parameters(), train_.size());  // prior's weight 1/N_train
    }
    if (config.train.method == "mcem") mcem_ = std::make_unique<Mcem<float>>(vae_, train_.size(), McemOptions{}, rng_);
  }

  /// Restores the last checkpoint and truncates the curve to it.
  void restore() {
    const auto info = nn::load_checkpoint<float>(path_in(dir_, kLast), vae_, optimizer_.get());
    if (!info.rng) throw Error(fmt::format("'{}' holds no generator state", path_in(dir_, kLast)));
    rng_.set_state(*info.rng);
    samples_ = info.step;
    const auto get = [&](const char* key) -> const std::string& {
      const auto it = info.extra.find(key);
      if (it == info.extra.end()) throw Error(fmt::format("'{}' lacks '{}'", path_in(dir_, kLast), key));
      return it->second;
    };
    try {
      epoch_ = std::stoll(get("epoch"));
      pos_ = std::stoull(get("pos"));
      seconds_ = std::stod(get("seconds"));
      best_ = std::stod(get("best_train"));
    } catch (const std::logic_error&) {
      throw Error(
          fmt::format("'{}': malformed training position (epoch, pos, seconds, best_train)", path_in(dir_, kLast)));
    }
    // The companion files written with this checkpoint: the latest, or the one before it when a crash
    // came between writing the companion and the checkpoint.
    const std::string step = std::to_string(samples_);
    if (mcem_) {
      bool found = false;
      for (const std::string& path : {path_in(dir_, kChains), previous_of(path_in(dir_, kChains))}) {
        if (!fs::exists(path)) continue;
        const auto t = nn::read_safetensors(path);
        const auto it = t.f32.find("chains");
        const auto at = t.metadata.find("step"), size = t.metadata.find("step_size");
        if (it == t.f32.end() || at == t.metadata.end() || size == t.metadata.end() || at->second != step) continue;
        mcem_->set_chains(it->second);
        mcem_->set_step_size(std::stod(size->second));
        found = true;
        break;
      }
      if (!found)
        throw Error(fmt::format("'{}' (nor its .prev) does not hold the chains of the checkpoint at {} samples",
                                path_in(dir_, kChains), samples_));
    }
    if (avb_) {
      bool found = false;
      for (const std::string& path : {path_in(dir_, kAvbLast), previous_of(path_in(dir_, kAvbLast))})
        if (fs::exists(path) && nn::load_checkpoint<float>(path, *avb_, disc_optimizer_.get()).step == samples_) {
          found = true;
          break;
        }
      if (!found)
        throw Error(fmt::format("'{}' (nor its .prev) does not hold the networks of the checkpoint at {} samples",
                                path_in(dir_, kAvbLast), samples_));
    }
    if (fs::exists(path_in(dir_, kCurve))) {
      curve_ = read_curve(path_in(dir_, kCurve));
      while (!curve_.empty() && curve_.back().samples > samples_) curve_.pop_back();
    }
  }

  long long samples() const { return samples_; }

  bool run(const ProgressFn& progress, const std::atomic<bool>* stop) {
    const VaeTrainConfig& c = config_.train;
    const std::size_t n = train_.size();
    const auto schedule = eval_schedule(c.samples, c.eval_every, c.batch);
    std::size_t next_eval = 0;
    while (next_eval < schedule.size() && schedule[next_eval] <= samples_) ++next_eval;

    std::vector<std::size_t> order = epoch_order(c.seed, epoch_, n), idx;
    Array<float> x, xb;
    Tape<float> tape;
    double running = std::nan("");
    auto last_checkpoint = Clock::now();
    while (samples_ < c.samples) {
      if (stop && stop->load()) {
        save_last();
        return false;
      }
      const auto step_start = Clock::now();
      if (pos_ >= n) {  // a new epoch: a new order
        ++epoch_;
        pos_ = 0;
        order = epoch_order(c.seed, epoch_, n);
      }
      const std::size_t m = std::min(c.batch, n - pos_);
      idx.assign(order.begin() + static_cast<long>(pos_), order.begin() + static_cast<long>(pos_ + m));
      data::gather_rows(train_.x, idx, x);
      const Array<float>* input = &x;
      if (c.binarize == "dynamic") {
        data::binarize_dynamic(x, rng_, xb);  // a fresh Bernoulli draw of every pixel, every time
        input = &xb;
      }
      const Var<float> xv = tape.constant(*input);
      const double beta = beta_at(c, samples_);
      Var<float> bound;
      double b = 0;
      if (mcem_) {  // E-step by HMC and M-steps inside: the optimizer has stepped already
        b = mcem_->step(*input, idx, *optimizer_, rng_);
      } else if (avb_) {  // T's steps, then the encoder's and decoder's: both optimizers have stepped
        b = avb_step(*avb_, vae_, *input, *optimizer_, *disc_optimizer_, rng_, tape);
      } else if (c.method == "wake-sleep") {
        const auto ws = vae_.wake_sleep(xv, rng_);
        ws.loss.backward();
        bound = mean(ws.bound);
      } else {
        // eq. 8 divided by N: the minibatch average of the per-point bound (the prior's share is the decay).
        bound = c.objective == "iwae" ? mean(vae_.iwae(xv, rng_, c.iwae_k)) : mean(vae_.elbo(xv, rng_, beta));
        (-bound).backward();
      }
      if (!mcem_ && !avb_) {
        optimizer_->step();
        optimizer_->zero_grad();
        b = bound.item();
      }
      tape.clear();
      if (!std::isfinite(b))
        throw Error(fmt::format("the bound became {} at {} samples: lower --lr (now {}) or use --optimizer adam", b,
                                samples_, c.lr));
      running = std::isnan(running) ? b : 0.98 * running + 0.02 * b;
      pos_ += m;
      samples_ += static_cast<long long>(m);
      seconds_ += since(step_start);

      TrainProgress p{samples_, c.samples, epoch_ + 1, seconds_, running, nullptr};
      if (next_eval < schedule.size() && samples_ >= schedule[next_eval]) {
        while (next_eval < schedule.size() && schedule[next_eval] <= samples_) ++next_eval;
        curve_.push_back(evaluate(beta));
        write_curve(path_in(dir_, kCurve), curve_);
        save_last();
        last_checkpoint = Clock::now();
        p.point = &curve_.back();
      } else if (since(last_checkpoint) > 600) {  // at most ten minutes of work lost to a crash
        save_last();
        last_checkpoint = Clock::now();
      }
      if (progress) progress(p);
    }
    return true;
  }

 private:
  CurvePoint evaluate(double beta) {
    // The same draws of ε (and of binarised pixels) at every evaluation.
    Rng eval_rng(config_.train.seed ^ 0xE7A1u), pixel_rng(config_.train.seed ^ 0xB1Au);
    Rng* binarize = config_.train.binarize == "dynamic" ? &pixel_rng : nullptr;
    CurvePoint p;
    p.samples = samples_;
    p.epoch = epoch_ + 1;  // the epoch in progress (or just completed), from 1
    p.seconds = seconds_;
    const Array<float>& train_x = train_subset_.dimension() == 2 ? train_subset_ : train_.x;
    if (mcem_ || config_.train.curve_metric == "ais") {  // log p(x) by AIS on the first points of each split
      const auto& c = config_.train;
      AisOptions o;
      o.steps = c.ais_steps;
      o.chains = c.ais_chains;
      using Target = std::pair<const Array<float>*, double*>;
      for (auto [x, out] : {Target{&train_x, &p.train_elbo}, Target{&test_.x, &p.test_elbo}}) {
        const std::size_t k = std::min(c.ais_eval_size, x->shape()[0]);
        Array<float> rows = xt::view(*x, xt::range(0, k), xt::all());
        if (binarize) {
          Array<float> drawn;
          data::binarize_dynamic(rows, *binarize, drawn);
          rows = drawn;
        }
        *out = xt::mean(vae_ais(vae_, rows, o, eval_rng).log_marginal)();
      }
    } else if (avb_) {
      p.train_elbo = evaluate_avb(*avb_, vae_, train_x, eval_rng, 1000, binarize);
      p.test_elbo = evaluate_avb(*avb_, vae_, test_.x, eval_rng, 1000, binarize);
    } else {
      p.train_elbo = evaluate_vae(vae_, train_x, 0, eval_rng, 1000, binarize).elbo;
      p.test_elbo = evaluate_vae(vae_, test_.x, 0, eval_rng, 1000, binarize).elbo;
    }
    p.beta = beta;
    p.lr = optimizer_->lr();
    // "Best" is chosen on the training bound: choosing on the test set would bias the test numbers
    // reported from it. (tapir eval scores the last checkpoint unless told otherwise.)
    if (p.train_elbo > best_) {
      best_ = p.train_elbo;
      if (avb_) nn::save_checkpoint<float>(path_in(dir_, kAvbBest), *avb_, info(), nullptr);
      nn::save_checkpoint<float>(path_in(dir_, kBest), vae_, info(), nullptr);
    }
    return p;
  }

  nn::CheckpointInfo info() const {
    nn::CheckpointInfo i;
    i.config = config_.to_json();
    i.step = samples_;
    i.rng = rng_.state();
    i.extra = {{"epoch", std::to_string(epoch_)},
               {"pos", std::to_string(pos_)},
               {"seconds", fmt_double(seconds_)},
               {"best_train", fmt::format("{:.17g}", best_)}};
    return i;
  }

  void save_last() {
    // First the companion files, then the checkpoint that names their step (restore() pairs them by step).
    if (mcem_)
      write_companion(path_in(dir_, kChains), [&](const std::string& path) {
        nn::NamedTensors t;
        t.f32["chains"] = mcem_->chains();
        t.metadata = {{"step", std::to_string(samples_)}, {"step_size", fmt::format("{:.9g}", mcem_->step_size())}};
        nn::write_safetensors(path, t);
      });
    if (avb_)
      write_companion(path_in(dir_, kAvbLast), [&](const std::string& path) {
        nn::save_checkpoint<float>(path, *avb_, info(), disc_optimizer_.get());
      });
    nn::save_checkpoint<float>(path_in(dir_, kLast), vae_, info(), optimizer_.get());
  }

  VaeRunConfig config_;
  std::string dir_;
  Rng init_rng_;
  Vae<float> vae_;
  data::Dataset train_, test_;
  Array<float> train_subset_;  // the first train_eval_size training points, when that is set
  std::unique_ptr<optim::Optimizer<float>> optimizer_;
  Rng rng_;
  std::unique_ptr<Mcem<float>> mcem_;                        // method mcem only
  std::unique_ptr<Avb<float>> avb_;                          // method avb only: f_φ and T_ψ
  std::unique_ptr<optim::Optimizer<float>> disc_optimizer_;  // T_ψ's
  long long samples_ = 0, epoch_ = 0;
  std::size_t pos_ = 0;
  double seconds_ = 0, best_ = -INFINITY;  // best: the highest training bound so far
  std::vector<CurvePoint> curve_;
};

}  // namespace

namespace {
/// Settings that are each valid but make no sense together.
void check_combination(const VaeRunConfig& c) {
  c.train.validate();
  if (c.train.method == "avb" && (c.model.estimator != Estimator::analytic_kl || c.model.samples != 1))
    throw Error("AVB's bound is −T(x, z) + log p(x|z) from one z: --estimator and --mc-samples do not apply");
  const bool weighted_kl = c.train.beta != 1.0 || c.train.warmup > 0;
  if (weighted_kl && c.model.estimator == Estimator::monte_carlo)
    throw Error("--beta and --warmup weight estimator B's analytic KL; estimator A has none");
  if (c.model.likelihood != Likelihood::bernoulli && c.train.binarize != "none")
    throw Error(fmt::format("a {} decoder models grey levels: use --binarize none (its density on 0/1 pixels {})",
                            to_string(c.model.likelihood),
                            c.model.likelihood == Likelihood::gaussian ? "collapses" : "is unbounded"));
}
}  // namespace

VaeRunConfig load_vae_run_config(const std::string& run_dir) {
  const std::string path = path_in(run_dir, kConfig);
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("'{}' is not a run directory (no {})", run_dir, kConfig));
  try {
    return VaeRunConfig::from_json(nlohmann::json::parse(in));
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("'{}': {}", path, e.what()));
  } catch (const Error& e) {
    throw Error(fmt::format("'{}': {}", path, e.what()));
  }
}

std::unique_ptr<Vae<float>> load_vae_run_model(const std::string& run_dir, const std::string& which) {
  if (which != "best" && which != "last") throw Error(fmt::format("checkpoint '{}': expected best or last", which));
  const VaeRunConfig config = load_vae_run_config(run_dir);
  Rng rng(0);
  auto vae = std::make_unique<Vae<float>>(config.model, rng);
  const std::string path = path_in(run_dir, which == "best" ? kBest : kLast);
  if (!fs::exists(path))
    throw Error(fmt::format("'{}' does not exist yet: the run has not reached its first evaluation", path));
  nn::load_checkpoint<float>(path, *vae);
  return vae;
}

bool train_vae(const VaeRunConfig& config, const std::string& run_dir, const ProgressFn& progress,
               const std::atomic<bool>* stop) {
  check_combination(config);
  VaeRunConfig c = config;
  if (c.train.data_dir.empty()) throw Error("no data directory given (--data DIR)");
  c.train.data_dir = fs::absolute(c.train.data_dir).lexically_normal().string();
  if (fs::exists(path_in(run_dir, kConfig)))
    throw Error(fmt::format("'{}' already holds a run: continue it with --resume, or choose another --out", run_dir));
  VaeTrainer trainer(c, run_dir);  // loads the data and checks it before anything is written
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  if (ec) throw Error(fmt::format("cannot create '{}': {}", run_dir, ec.message()));
  write_atomically(path_in(run_dir, kConfig), c.to_json().dump(2) + "\n");
  return trainer.run(progress, stop);
}

bool resume_vae(const std::string& run_dir, long long samples, const std::string& data_dir, const ProgressFn& progress,
                const std::atomic<bool>* stop) {
  VaeRunConfig c = load_vae_run_config(run_dir);
  if (!fs::exists(path_in(run_dir, kLast))) throw Error(fmt::format("'{}' has no {} to resume from", run_dir, kLast));
  bool rewrite = false;
  if (samples > 0 && samples != c.train.samples) {
    c.train.samples = samples;
    rewrite = true;
  }
  if (!data_dir.empty()) {
    c.train.data_dir = fs::absolute(data_dir).lexically_normal().string();
    rewrite = true;
  }
  check_combination(c);
  VaeTrainer trainer(c, run_dir);
  trainer.restore();
  if (trainer.samples() > c.train.samples)
    throw Error(fmt::format("'{}' has trained on {} samples already: --samples {} would not continue it", run_dir,
                            trainer.samples(), c.train.samples));
  if (rewrite) write_atomically(path_in(run_dir, kConfig), c.to_json().dump(2) + "\n");
  return trainer.run(progress, stop);
}

}  // namespace tapir::models
