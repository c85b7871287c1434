// tapir/models/train/trainer.cpp — the training loop (see trainer.hpp).
#include "models/train/trainer.hpp"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>

#include <xtensor/xview.hpp>

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

/// The minibatch order of epoch `e`: a permutation from a generator seeded by (seed, e) alone, so a
/// resumed run needs only the epoch and the position in it.
std::vector<std::size_t> epoch_order(std::uint64_t seed, long long e, std::size_t n) {
  // A stream of its own: no (seed, e) gives the seed of the run's other generators (seed, seed + 1).
  Rng r((seed + 0x632BE59BD9B4E019ull) * 0x9E3779B97F4A7C15ull ^
        (static_cast<std::uint64_t>(e) + 1) * 0xD1B54A32D192ED03ull);
  return permutation(r, n);
}

double beta_at(const VaeTrainConfig& c, long long samples) {
  if (c.warmup <= 0) return c.beta;
  return c.beta * std::min(1.0, double(samples) / double(c.warmup));
}

/// The first n rows of x.
Array<float> first_rows(const Array<float>& x, std::size_t n) {
  std::vector<std::size_t> rows(n);
  for (std::size_t i = 0; i < n; ++i) rows[i] = i;
  Array<float> out;
  data::gather_rows(x, rows, out);
  return out;
}

}  // namespace

Trainer::Trainer(const VaeTrainConfig& config, LatentVariableModel<float>& model, std::string run_dir,
                 nlohmann::json run_config, const MethodFactory& method)
    : config_(config),
      model_(model),
      dir_(std::move(run_dir)),
      run_config_(run_config.is_null() ? nlohmann::json{{"model", model.name()}, {"train", config.to_json()}}
                                       : std::move(run_config)),
      train_(data::load_dataset(config.dataset, config.data_dir, data::Split::train, config.frey_split)),
      test_(data::load_dataset(config.dataset, config.data_dir, data::Split::test, config.frey_split)),
      rng_(config.seed + 1) {
  config.validate();
  if (train_.dim() != model.x_dim())
    throw Error(
        fmt::format("{} images have {} pixels but the model's x_dim is {}", train_.name, train_.dim(), model.x_dim()));
  if (config.train_size > 0 && config.train_size < train_.size())  // N_train of Figure 3
    train_.x = first_rows(train_.x, config.train_size);
  if (config.binarize == "threshold") {
    data::binarize_threshold(train_);
    data::binarize_threshold(test_);
  }
  if (config.train_eval_size > 0 && config.train_eval_size < train_.size())
    train_subset_ = first_rows(train_.x, config.train_eval_size);
  if (train_.size() < config.batch)
    throw Error(fmt::format("--batch {} exceeds the {} training examples", config.batch, train_.size()));
  if (method) {
    method_ = method(train_.size(), rng_);
  } else {
    Rng init_rng(config.seed ^ 0x1417u);  // for networks the method owns
    method_ = make_method(model, config, train_.size(), init_rng, rng_);
  }
  if (!method_) throw Error("the method factory returned no method");
}

Trainer::~Trainer() = default;

void Trainer::write_config() const { write_file_atomically(path_in(dir_, kConfig), run_config_.dump(2) + "\n"); }

bool Trainer::train(const ProgressFn& progress, const std::atomic<bool>* stop) {
  if (fs::exists(path_in(dir_, kConfig)))
    throw Error(fmt::format("'{}' already holds a run: continue it with --resume, or choose another --out", dir_));
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw Error(fmt::format("cannot create '{}': {}", dir_, ec.message()));
  write_config();
  return run(progress, stop);
}

bool Trainer::resume(const ProgressFn& progress, const std::atomic<bool>* stop) {
  restore();
  return run(progress, stop);
}

void Trainer::restore() {
  const std::string last = path_in(dir_, kLast);
  if (!fs::exists(last)) throw Error(fmt::format("'{}' has no {} to resume from", dir_, kLast));
  const auto info = nn::load_checkpoint<float>(last, model_, &method_->optimizer(), rename_);
  if (!info.rng) throw Error(fmt::format("'{}' holds no generator state", last));
  rng_.set_state(*info.rng);
  samples_ = info.step;
  const auto get = [&](const char* key) -> const std::string& {
    const auto it = info.extra.find(key);
    if (it == info.extra.end()) throw Error(fmt::format("'{}' lacks '{}'", last, key));
    return it->second;
  };
  try {
    epoch_ = std::stoll(get("epoch"));
    pos_ = std::stoull(get("pos"));
    seconds_ = std::stod(get("seconds"));
    best_ = std::stod(get("best_train"));
  } catch (const std::logic_error&) {
    throw Error(fmt::format("'{}': malformed training position (epoch, pos, seconds, best_train)", last));
  }
  method_->restore(dir_, samples_);  // the companion files written with this checkpoint
  if (fs::exists(path_in(dir_, kCurve))) {
    curve_ = read_curve(path_in(dir_, kCurve));
    while (!curve_.empty() && curve_.back().samples > samples_) curve_.pop_back();
  }
}

bool Trainer::run(const ProgressFn& progress, const std::atomic<bool>* stop) {
  const VaeTrainConfig& c = config_;
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
    const double beta = beta_at(c, samples_);
    const double b = method_->step(*input, idx, beta, rng_, tape);
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

CurvePoint Trainer::evaluate(double beta) {
  // The same draws of ε (and of binarised pixels) at every evaluation.
  Rng eval_rng(config_.seed ^ 0xE7A1u), pixel_rng(config_.seed ^ 0xB1Au);
  Rng* binarize = config_.binarize == "dynamic" ? &pixel_rng : nullptr;
  CurvePoint p;
  p.samples = samples_;
  p.epoch = epoch_ + 1;  // the epoch in progress (or just completed), from 1
  p.seconds = seconds_;
  const Array<float>& train_x = train_subset_.dimension() == 2 ? train_subset_ : train_.x;
  if (!method_->has_bound() || config_.curve_metric == "ais") {  // log p(x) by AIS on the first points
    AisOptions o;
    o.steps = config_.ais_steps;
    o.chains = config_.ais_chains;
    using Target = std::pair<const Array<float>*, double*>;
    for (auto [x, out] : {Target{&train_x, &p.train_elbo}, Target{&test_.x, &p.test_elbo}}) {
      const std::size_t k = std::min(config_.ais_eval_size, x->shape()[0]);
      Array<float> rows = xt::view(*x, xt::range(0, k), xt::all());
      if (binarize) {
        Array<float> drawn;
        data::binarize_dynamic(rows, *binarize, drawn);
        rows = drawn;
      }
      const Array<double> ll = model_ais(model_, rows, o, eval_rng).log_marginal;
      *out = std::accumulate(ll.begin(), ll.end(), 0.0) / double(ll.size());
    }
  } else {
    p.train_elbo = method_->evaluate(train_x, eval_rng, binarize);
    p.test_elbo = method_->evaluate(test_.x, eval_rng, binarize);
  }
  p.beta = beta;
  p.lr = method_->optimizer().lr();
  // "Best" is chosen on the training bound: choosing on the test set would bias the test numbers
  // reported from it. (tapir eval scores the last checkpoint unless told otherwise.)
  if (p.train_elbo > best_) {
    best_ = p.train_elbo;
    method_->save_best(dir_, info());
    nn::save_checkpoint<float>(path_in(dir_, kBest), model_, info(), nullptr);
  }
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
  // First the method's companion files, then the checkpoint that names their step.
  method_->save(dir_, info());
  nn::save_checkpoint<float>(path_in(dir_, kLast), model_, info(), &method_->optimizer());
}

}  // namespace tapir::models
