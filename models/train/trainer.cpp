// tapir/models/train/trainer.cpp — the training loop (see trainer.hpp).
#include "models/train/trainer.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "autodiff/version.hpp"
#include "models/inference/latent_inference.hpp"
#include "models/methods/methods.hpp"
#include "nn/io/atomic_file.hpp"

namespace tapir::models {

namespace fs = std::filesystem;

namespace {

constexpr const char* kConfig = "config.json";
constexpr const char* kCurve = "curve.csv";
constexpr const char* kLast = "checkpoint_last.safetensors";
constexpr const char* kBest = "checkpoint_best.safetensors";

std::string path_in(const std::string& dir, const char* name) { return (fs::path(dir) / name).string(); }

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

/// The minibatch order of epoch `e` into `order`: a permutation from a generator seeded by (seed, e)
/// alone, so a resumed run needs only the epoch and the position in it.
void epoch_order(std::uint64_t seed, long long e, std::size_t n, std::vector<std::size_t>& order) {
  // A stream of its own: no (seed, e) gives the seed of the run's other generators (seed, seed + 1).
  Rng r((seed + 0x632BE59BD9B4E019ull) * 0x9E3779B97F4A7C15ull ^
        (static_cast<std::uint64_t>(e) + 1) * 0xD1B54A32D192ED03ull);
  permutation(r, n, order);
}

double beta_at(const VaeTrainConfig& c, long long samples) {
  if (c.warmup <= 0) return c.beta;
  return c.beta * std::min(1.0, double(samples) / double(c.warmup));
}

}  // namespace

namespace {
/// config with `dataset` named after the caller's data when it names none.
VaeTrainConfig named_after(VaeTrainConfig config, const data::Dataset& train) {
  if (config.dataset.empty()) config.dataset = train.name.empty() ? "custom" : train.name;
  return config;
}

/// The split of the data set `config` names, once the configuration is known to be valid.
data::Dataset load_split(const VaeTrainConfig& config, data::Split split) {
  config.validate();
  return data::load_dataset(config.dataset, config.data_dir, split, config.frey_split);
}
}  // namespace

Trainer::Trainer(const VaeTrainConfig& config, LatentVariableModel<float>& model, std::string run_dir,
                 nlohmann::json run_config, const MethodFactory& method)
    : Trainer(config, model, std::move(run_dir), load_split(config, data::Split::train),
              load_split(config, data::Split::test), std::move(run_config), method, true) {}

Trainer::Trainer(const VaeTrainConfig& config, LatentVariableModel<float>& model, std::string run_dir,
                 data::Dataset train, data::Dataset test, nlohmann::json run_config, const MethodFactory& method)
    : Trainer(config, model, std::move(run_dir), std::move(train), std::move(test), std::move(run_config), method,
              false) {}

Trainer::Trainer(const VaeTrainConfig& config, LatentVariableModel<float>& model, std::string run_dir,
                 data::Dataset train, data::Dataset test, nlohmann::json run_config, const MethodFactory& method,
                 bool named_dataset)
    : config_(named_dataset ? config : named_after(config, train)),  // before train is moved from
      model_(model),
      dir_(std::move(run_dir)),
      run_config_(run_config.is_null() ? nlohmann::json{{"model", model.name()}, {"train", config_.to_json()}}
                                       : std::move(run_config)),
      train_(std::move(train)),
      test_(std::move(test)),
      rng_(config_.seed + 1) {
  config_.validate(named_dataset);
  if (train_.size() == 0 || test_.size() == 0)
    throw Error(fmt::format("the {} data is empty", train_.size() == 0 ? "training" : "test"));
  if (test_.dim() != train_.dim())
    throw Error(
        fmt::format("the test data's examples have {} values but the training data's {}", test_.dim(), train_.dim()));
  if (run_config_.is_object()) run_config_["tapir"] = version_string();  // which code: see trainer.hpp
  if (train_.dim() != model.x_dim())
    throw Error(
        fmt::format("{} images have {} pixels but the model's x_dim is {}", train_.name, train_.dim(), model.x_dim()));
  if (config_.train_size > 0 && config_.train_size < train_.size())  // N_train of Figure 3
    train_.truncate(config_.train_size);
  if (config_.binarize == "threshold") {
    data::binarize_threshold(train_);
    data::binarize_threshold(test_);
  }
  if (config_.train_eval_size > 0 && config_.train_eval_size < train_.size())
    train_subset_ = train_.first(config_.train_eval_size);
  if (train_.size() < config_.batch)
    throw Error(fmt::format("--batch {} exceeds the {} training examples", config_.batch, train_.size()));
  if (method) {
    method_ = method(train_.size(), rng_);
  } else {
    Rng init_rng(config_.seed ^ 0x1417u);  // for networks the method owns
    method_ = make_method(model, config_, train_.size(), init_rng, rng_);
  }
  if (!method_) throw Error("the method factory returned no method");
}

Trainer::~Trainer() = default;

bool holds_run(const std::string& dir) { return fs::exists(path_in(dir, kConfig)) && fs::exists(path_in(dir, kLast)); }

void Trainer::lock() {
  if (lock_) return;
  lock_ = std::make_unique<RunLock>(dir_);  // and removes killed writers' temporaries
}

void Trainer::write_config() {
  lock();
  // run_config_ names this tapir (the constructor's stamp), and so does each checkpoint it writes; but
  // config.json names the tapir that started the run, so a resumed run's rewrite (a new budget or data
  // place) keeps what its config.json said, or that it said nothing.
  nlohmann::json config = run_config_;
  if (started_by_ && config.is_object()) {
    config.erase("tapir");
    if (!started_by_->is_null()) config["tapir"] = *started_by_;
  }
  write_file_atomically(path_in(dir_, kConfig), config.dump(2) + "\n");
  config_written_ = true;
}

bool Trainer::train(const ProgressFn& progress, const std::atomic<bool>* stop) {
  std::error_code ec;
  const bool created = !fs::exists(dir_, ec);
  // An existing directory must be empty or a tapir run directory (the .lock every writer makes first, or
  // the config.json older tapir wrote first): `--out .` or `--out ~/papers` must not spill a run into
  // (and replace files of) a directory.
  if (!created && fs::is_directory(dir_, ec) && !fs::exists(path_in(dir_, ".lock")) &&
      !fs::exists(path_in(dir_, kConfig))) {
    const fs::directory_iterator entries(dir_, ec);
    if (ec) throw Error(fmt::format("cannot list '{}': {}", dir_, ec.message()));
    if (entries != fs::directory_iterator())
      throw Error(fmt::format("'{}' exists and holds other files (e.g. '{}'), not a tapir run: choose a new --out",
                              dir_, entries->path().filename().string()));
  }
  fs::create_directories(dir_, ec);
  if (ec) throw Error(fmt::format("cannot create '{}': {}", dir_, ec.message()));
  lock();  // a second writer stops here, before it could remove anything
  try {
    if (holds_run(dir_))
      throw Error(fmt::format("'{}' already holds a run: continue it with --resume, or choose another --out", dir_));
    // What a run killed before its config.json (which follows the first checkpoint) left: not a run.
    for (const char* name : {kCurve, kBest, kLast}) fs::remove(path_in(dir_, name), ec);
    return run(progress, stop);
  } catch (...) {
    if (created && saved_samples_ < 0) {  // a run directory is created complete or not at all
      fs::remove_all(dir_, ec);
      lock_.reset();
    }
    throw;
  }
}

bool Trainer::resume(const ProgressFn& progress, const std::atomic<bool>* stop) {
  restore();
  // config.json follows a new budget or data place (restore() refused any other change); otherwise it
  // stays as it is.
  bool same = false;
  try {
    const auto on_disk = nlohmann::json::parse(std::ifstream(path_in(dir_, kConfig)));
    const auto& t = on_disk.at("train");
    same = t.at("samples") == config_.samples && t.at("data_dir") == config_.data_dir;
  } catch (const nlohmann::json::exception&) {
    // missing or unreadable: write it
  }
  if (!same) write_config();
  return run(progress, stop);
}

namespace {
/// Throws unless `current` (the resuming trainer's configuration) agrees with `recorded` (the one
/// `checkpoint` was written with) on every key both hold, but the budget, the data's place and the code's
/// stamp. A changed learning rate would otherwise be overridden silently by the optimizer state, and a
/// changed model or method would train another run on these weights.
void check_same_config(const std::string& checkpoint, const nlohmann::json& recorded, const nlohmann::json& current) {
  if (!recorded.is_object() || !current.is_object()) return;
  // now null: the key is not in this run's configuration
  const auto differ = [&](const std::string& key, const nlohmann::json& was, const nlohmann::json* now) {
    return Error(fmt::format(
        "'{}' was written with {} = {}, but this run is configured {}: resume with the run's configuration (only "
        "the sample budget and the data's place may change), or start a new run",
        checkpoint, key, was.dump(), now ? "with " + now->dump() : std::string("without it")));
  };
  for (auto part = recorded.begin(); part != recorded.end(); ++part) {
    if (part.key() == "tapir") continue;
    const auto now = current.find(part.key());
    // A whole section the run recorded (a model's own settings) cannot go missing; a key inside one can
    // (older code recorded fewer keys, newer code more), and is compared where both have it.
    if (now == current.end()) throw differ(part.key(), *part, nullptr);
    if (!part->is_object() || !now->is_object()) {
      if (*now != *part) throw differ(part.key(), *part, &*now);
      continue;
    }
    for (auto kv = part->begin(); kv != part->end(); ++kv) {
      if (part.key() == "train" && (kv.key() == "samples" || kv.key() == "data_dir")) continue;
      const auto other = now->find(kv.key());
      if (other != now->end() && *other != kv.value()) throw differ(part.key() + "." + kv.key(), kv.value(), &*other);
    }
  }
}
}  // namespace

void Trainer::restore() {
  lock();
  const std::string last = path_in(dir_, kLast);
  if (!fs::exists(last)) throw Error(fmt::format("'{}' has no {} to resume from", dir_, kLast));
  // The configuration first, before anything is loaded: a changed model fails naming its key, not with a
  // shape, and a refused resume leaves the model and the optimizer as they were.
  nlohmann::json recorded;
  {
    const auto meta = nn::read_safetensors(last).metadata;
    if (const auto it = meta.find("config"); it != meta.end()) {
      try {
        recorded = nlohmann::json::parse(it->second);
      } catch (const nlohmann::json::exception& e) {
        throw Error(fmt::format("'{}': its recorded configuration is not JSON: {}", last, e.what()));
      }
    }
  }
  check_same_config(last, recorded, run_config_);
  const auto info = nn::load_checkpoint<float>(last, model_, &method_->optimizer(), rename_);
  if (!info.rng) throw Error(fmt::format("'{}' holds no generator state", last));
  const auto get = [&](const char* key) -> const std::string& {
    const auto it = info.extra.find(key);
    if (it == info.extra.end()) throw Error(fmt::format("'{}' lacks '{}'", last, key));
    return it->second;
  };
  const auto bad = [&](const char* key, const char* what) {
    return Error(fmt::format("'{}': metadata 'extra.{}' is '{}': {}", last, key, get(key), what));
  };
  long long epoch = 0, pos = 0;
  double seconds = 0, best = 0;
  if (!parse_count(get("epoch"), epoch)) throw bad("epoch", "expected a non-negative whole number");
  if (!parse_count(get("pos"), pos)) throw bad("pos", "expected a non-negative whole number");
  if (!parse_real(get("seconds"), seconds) || !std::isfinite(seconds) || seconds < 0)
    throw bad("seconds", "expected a finite number of seconds ≥ 0");
  if (!parse_real(get("best_train"), best) || std::isnan(best) || best == INFINITY)
    throw bad("best_train", "expected a finite bound or -inf");
  // The loop keeps samples = epoch · N + pos with 0 ≤ pos ≤ N (N training points): a checkpoint that
  // disagrees was written over other data, or is damaged.
  const long long n = static_cast<long long>(train_.size());
  if (pos > n || info.step != epoch * n + pos)
    throw Error(
        fmt::format("'{}': step {} disagrees with epoch {} and position {} over {} training points (was "
                    "the data changed?)",
                    last, info.step, epoch, pos, n));
  // A smaller budget than the run has trained would not continue it (a finished run may have passed its own
  // budget by part of a batch: resuming it to that budget is nothing to do, not an error).
  const auto budget = recorded.is_object() && recorded.contains("train") && recorded["train"].is_object()
                          ? recorded["train"].value("samples", nlohmann::json())
                          : nlohmann::json();
  if (info.step > config_.samples && !(budget.is_number() && budget == config_.samples))
    throw Error(fmt::format("'{}' has trained on {} samples already: a budget (--samples) of {} would not continue it",
                            dir_, info.step, config_.samples));
  rng_.set_state(*info.rng);
  samples_ = info.step;
  epoch_ = epoch;
  pos_ = static_cast<std::size_t>(pos);
  seconds_ = seconds;
  best_ = best;
  saved_samples_ = samples_;
  config_written_ = fs::exists(path_in(dir_, kConfig));
  // Who started the run: config.json's "tapir" (null: it has none, a run of tapir before the stamp); without
  // a readable config.json (a program of the user's killed between the first checkpoint and config.json), the
  // code that wrote this checkpoint, which then also started the run; failing that, this code.
  started_by_.reset();
  try {
    if (config_written_) {
      const auto config = nlohmann::json::parse(std::ifstream(path_in(dir_, kConfig)));
      if (config.is_object()) started_by_ = config.contains("tapir") ? config["tapir"] : nlohmann::json();
    }
  } catch (const nlohmann::json::exception&) {
    // unreadable: as if missing (the run's configuration itself was read before, by the caller)
  }
  if (!started_by_ && info.config.is_object() && info.config.contains("tapir")) started_by_ = info.config["tapir"];
  method_->restore(dir_, samples_);  // the companion files written with this checkpoint
  if (fs::exists(path_in(dir_, kCurve))) {
    curve_ = read_curve(path_in(dir_, kCurve));
    while (!curve_.empty() && curve_.back().samples > samples_) curve_.pop_back();  // past the checkpoint
    if (!curve_.empty() && curve_.back().epoch > epoch_ + 1)
      throw Error(fmt::format("'{}': its last row at {} samples is in epoch {}, but '{}' is in epoch {}",
                              path_in(dir_, kCurve), curve_.back().samples, curve_.back().epoch, last, epoch_ + 1));
  }
}

namespace {
/// run_config["vae"][key] when the run is one of tapir's VAEs and has it, else null.
nlohmann::json vae_setting(const nlohmann::json& run_config, const char* key) {
  if (!run_config.is_object() || !run_config.contains("vae") || !run_config["vae"].is_object()) return nullptr;
  return run_config["vae"].value(key, nlohmann::json());
}
}  // namespace

std::string Trainer::divergence_advice() const {
  const auto& c = config_;
  std::vector<std::string> causes;
  const auto std_setting = vae_setting(run_config_, "init_std");
  const double init_std = std_setting.is_number() ? std_setting.get<double>() : 0.01;
  if (!(init_std < 1)) causes.push_back(fmt::format("lower --init-std (now {:g}; the paper's is 0.01)", init_std));
  if (!(c.weight_decay < 1))
    causes.push_back(fmt::format("lower --weight-decay (now {:g}; the default is 1/N)", c.weight_decay));
  if (!causes.empty()) return fmt::format("{}", fmt::join(causes, " and "));
  if (c.optimizer == "adagrad") return fmt::format("lower --lr (now {:g}) or use --optimizer adam", c.lr);
  return fmt::format("lower --lr (now {:g})", c.lr);
}

std::string Trainer::kept_state() const {
  if (saved_samples_ < 0) return "nothing was saved (the run had no checkpoint yet)";
  return fmt::format(
      "the run keeps its checkpoints from {} samples (eval and plot use them; --resume would repeat these numbers, "
      "so start a new run with the change)",
      saved_samples_);
}

bool Trainer::run(const ProgressFn& progress, const std::atomic<bool>* stop) {
  lock();
  const VaeTrainConfig& c = config_;
  const std::size_t n = train_.size();
  // The next evaluation point, found from the current one: no schedule is held (E).
  long long next_eval = next_eval_point(c.samples, c.eval_every, c.batch, samples_);
  long long evals_left = eval_points_after(c.samples, c.eval_every, c.batch, samples_);  // for progress's ETA

  // The data path allocates only on the first step (and the first short last batch): the order, the
  // indices and the batches are reused.
  std::vector<std::size_t> order, idx;
  idx.reserve(c.batch);
  epoch_order(c.seed, epoch_, n, order);
  Array<float> full, tail;  // the minibatch: M images, or the epoch's shorter last one
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
      epoch_order(c.seed, epoch_, n, order);
    }
    const std::size_t m = std::min(c.batch, n - pos_);
    idx.assign(order.begin() + static_cast<long>(pos_), order.begin() + static_cast<long>(pos_ + m));
    Array<float>& x = m == c.batch ? full : tail;
    if (c.binarize == "dynamic")
      data::gather_binarized(train_, idx, rng_, x);  // a fresh Bernoulli draw of every pixel, every time
    else
      data::gather_rows(train_, idx, x);
    const double beta = beta_at(c, samples_);
    const double b = method_->step(x, idx, beta, rng_, tape);
    tape.clear();
    if (!std::isfinite(b))  // the parameters may be ruined already: save nothing
      throw Error(fmt::format("the training bound became {} on the minibatch at {} samples (epoch {}): {}; {}",
                              std::isnan(b) ? "nan"
                              : b < 0       ? "-inf"
                                            : "inf",
                              samples_, epoch_ + 1, divergence_advice(), kept_state()));
    running = std::isnan(running) ? b : 0.98 * running + 0.02 * b;
    pos_ += m;
    samples_ += static_cast<long long>(m);
    seconds_ += since(step_start);

    TrainProgress p{samples_, c.samples, epoch_ + 1, seconds_, running, nullptr, evals_left};
    if (samples_ >= next_eval) {
      next_eval = next_eval_point(c.samples, c.eval_every, c.batch, samples_);
      evals_left = p.evaluations_left = eval_points_after(c.samples, c.eval_every, c.batch, samples_);
      curve_.push_back(evaluate(beta));
      write_curve(path_in(dir_, kCurve), curve_);  // a bound that is not finite is recorded too
      const CurvePoint& e = curve_.back();
      if (!std::isfinite(e.train_elbo) || !std::isfinite(e.test_elbo)) {
        const bool test = std::isfinite(e.train_elbo);
        const double bad = test ? e.test_elbo : e.train_elbo;
        throw Error(fmt::format(
            "the {} bound became {} at the evaluation at {} samples (epoch {}; recorded in curve.csv): {}{}; {}",
            test ? "test" : "training",
            std::isnan(bad) ? "nan"
            : bad < 0       ? "-inf"
                            : "inf",
            e.samples, e.epoch, divergence_advice(),
            test && vae_setting(run_config_, "likelihood") == "gaussian"
                ? " (a Gaussian decoder on little data can also shrink its variance onto the training points: "
                  "train on more data or for fewer --samples)"
                : "",
            kept_state()));
      }
      // "Best" is chosen on the training bound: choosing on the test set would bias the test numbers
      // reported from it. (tapir eval scores the last checkpoint unless told otherwise.)
      if (e.train_elbo > best_) {
        best_ = e.train_elbo;
        method_->save_best(dir_, info());
        nn::save_checkpoint<float>(path_in(dir_, kBest), model_, info(), nullptr);
      }
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

namespace {
/// The bound on every point of d, converted from bytes to floats kSlice rows at a time: all 60,000
/// MNIST images as floats would be 188 MB, most of a training run's peak memory. The slices' averages
/// are combined by their sizes; active units are left out (the curve takes them from the test set).
BoundEvaluation evaluate_in_slices(Method& method, const data::Dataset& d, Rng& rng, Rng* binarize) {
  constexpr std::size_t kSlice = 10000;
  const std::size_t n = d.size();
  double elbo = 0, reconstruction = 0, kl = 0;
  bool terms = true;
  for (std::size_t lo = 0; lo < n; lo += kSlice) {
    const Array<float> x = d.slice(lo, kSlice);
    const double m = double(x.shape()[0]);
    const BoundEvaluation e = method.evaluate(x, rng, binarize);
    elbo += m * e.elbo;
    terms = terms && e.reconstruction && e.kl;
    if (terms) {
      reconstruction += m * *e.reconstruction;
      kl += m * *e.kl;
    }
  }
  BoundEvaluation r(elbo / double(n));
  if (terms && n > 0) {
    r.reconstruction = reconstruction / double(n);
    r.kl = kl / double(n);
  }
  return r;
}
}  // namespace

CurvePoint Trainer::evaluate(double beta) {
  // The same draws of ε (and of binarised pixels) at every evaluation.
  Rng eval_rng(config_.seed ^ 0xE7A1u), pixel_rng(config_.seed ^ 0xB1Au);
  Rng* binarize = config_.binarize == "dynamic" ? &pixel_rng : nullptr;
  CurvePoint p;
  p.samples = samples_;
  p.epoch = epoch_ + 1;  // the epoch in progress (or just completed), from 1
  p.seconds = seconds_;
  // The training points the bound is on: the first train_eval_size (kept as floats), or all of them.
  const bool subset = train_subset_.dimension() == 2;
  const std::size_t n_train = subset ? train_subset_.shape()[0] : train_.size();
  if (!method_->has_bound() || config_.curve_metric == "ais") {  // log p(x) by AIS on the first points
    AisOptions o;
    o.steps = config_.ais_steps;
    o.chains = config_.ais_chains;
    const auto mean_log_px = [&](Array<float> rows) {
      if (binarize) {
        Array<float> drawn;
        data::binarize_dynamic(rows, *binarize, drawn);
        rows = drawn;
      }
      const Array<double> ll = model_ais(model_, rows, o, eval_rng).log_marginal;
      return std::accumulate(ll.begin(), ll.end(), 0.0) / double(ll.size());
    };
    p.train_elbo = mean_log_px(train_.first(std::min(config_.ais_eval_size, n_train)));
    p.test_elbo = mean_log_px(test_.first(config_.ais_eval_size));
    // The columns are log p(x), not bounds: no terms. A method with a bound (curve_metric "ais") trains
    // its proposal, whose active units one more pass over the test set counts (MCEM's q is untrained).
    if (method_->has_bound()) {
      Rng rng(config_.seed ^ 0xAC71u), pixels(config_.seed ^ 0xB1Au);
      p.active_units = method_->evaluate(test_.x(), rng, binarize ? &pixels : nullptr).active_units;
    }
  } else {
    const BoundEvaluation train = subset ? method_->evaluate(train_subset_, eval_rng, binarize)
                                         : evaluate_in_slices(*method_, train_, eval_rng, binarize);
    const BoundEvaluation test = method_->evaluate(test_.x(), eval_rng, binarize);
    p.train_elbo = train.elbo;
    p.test_elbo = test.elbo;
    p.train_recon = train.reconstruction;
    p.train_kl = train.kl;
    p.test_recon = test.reconstruction;
    p.test_kl = test.kl;
    p.active_units = test.active_units;
  }
  p.beta = beta;
  p.lr = method_->optimizer().lr();
  return p;
}

nn::CheckpointInfo Trainer::info() const {
  nn::CheckpointInfo i;
  i.config = run_config_;
  i.step = samples_;
  i.rng = rng_.state();
  i.extra = {{"epoch", std::to_string(epoch_)},
             {"pos", std::to_string(pos_)},
             {"seconds", fmt::format("{:.6f}", seconds_)},
             {"best_train", fmt::format("{:.17g}", best_)}};
  return i;
}

void Trainer::save_last() {
  // A step's bound is computed before its update: parameters ruined by the update show up here (or at
  // the next evaluation), never in a checkpoint.
  for (const auto& [name, p] : model_.named_parameters())
    if (!std::all_of(p->value().begin(), p->value().end(), [](float v) { return std::isfinite(v); }))
      throw Error(fmt::format("parameter '{}' is no longer finite at {} samples (epoch {}): {}; {}", name, samples_,
                              epoch_ + 1, divergence_advice(), kept_state()));
  // First the method's companion files, then the checkpoint that names their step.
  method_->save(dir_, info());
  nn::save_checkpoint<float>(path_in(dir_, kLast), model_, info(), &method_->optimizer());
  saved_samples_ = samples_;
  // config.json last: a directory with a config.json holds a run that resumes (B).
  if (!config_written_) write_config();
}

}  // namespace tapir::models
