// tapir/models/train/trainer.hpp — the one training loop of tapir, for any LatentVariableModel and any
// Method: minibatches, the schedule, evaluation points, curve.csv, checkpoints, exact resume, Ctrl-C
// and progress. It never asks which method it runs.
//
// A run directory holds
//   .lock                       the one-writer lock (models/train/run_lock.hpp): held while training
//   config.json                 what the run is (the trainer writes what it is given: for tapir's own
//                               models {"model": "vae", "vae": VaeConfig, "train": VaeTrainConfig}),
//                               written only after the first checkpoint_last, so a directory with a
//                               config.json always holds a run that resumes; its "tapir" names the code
//                               that started the run (tapir::version_string(), with the commit), and
//                               each checkpoint's recorded configuration the code that wrote it
//   curve.csv                   samples,epoch,seconds,train_elbo,test_elbo,beta,lr,train_recon,train_kl,
//                               test_recon,test_kl,active_units — one row per evaluation (curve.hpp); a
//                               resumed older run's file is rewritten with these columns, its old rows'
//                               new fields empty
//   checkpoint_last.safetensors parameters, the method's optimizer state, the generator state, the data position
//   checkpoint_best.safetensors the parameters with the best training bound so far
//   + the method's companion files (MCEM's chains, AVB's networks)
// A directory without both config.json and checkpoint_last holds no run (holds_run): a new run may be
// started in it, and --resume starts a lone config.json (older tapir wrote it first) over from scratch.
// Writers killed mid-write leave temporaries; the next writer removes them under the lock.
//
// A bound that is not finite (a training step's, or an evaluation's) stops the run with an error that
// says which bound, at how many samples, and which setting to change. The evaluation's row goes into
// curve.csv ("-inf", "nan"), but checkpoint_last and checkpoint_best are not overwritten: they keep the
// last model whose bounds were finite (parameters are also checked finite before every checkpoint, as a
// step's bound precedes its update), so eval, plot, sample... work on the run, and --resume continues
// from there (and, training being deterministic, diverges again at the same point: start a new run with
// the change the message names).
//
// Training is a pure function of the configuration: minibatch order comes from a generator seeded per
// epoch, every other draw from one generator saved in the checkpoint, so a resumed run repeats the
// numbers of an uninterrupted one exactly (same build, same thread count).
#pragma once

#include <atomic>
#include <cmath>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "models/data/dataset.hpp"
#include "models/run/config.hpp"
#include "models/run/curve.hpp"
#include "models/run/method.hpp"
#include "models/train/run_lock.hpp"

namespace tapir::models {

/// What a progress callback sees: after every step, and with `point` set after an evaluation.
struct TrainProgress {
  long long samples = 0, total = 0, epoch = 0;
  double seconds = 0;        // training wall time so far
  double running_bound = 0;  // exponential moving average of the minibatch bound
  const CurvePoint* point = nullptr;
  long long evaluations_left = 0;  // evaluations still to come after this call, the one at `total` included
};
using ProgressFn = std::function<void(const TrainProgress&)>;

/// Builds the run's method once the data is loaded: (number of training points, the run's generator).
using MethodFactory = std::function<std::unique_ptr<Method>(std::size_t n_train, Rng& rng)>;

/// Whether `dir` holds a run: a config.json and a checkpoint_last (anything less is what a run killed
/// before its first checkpoint left, and a new run may start there).
bool holds_run(const std::string& dir);

class Trainer {
 public:
  /// Loads the data `config` names and checks it against `model` (nothing is written yet). `method`
  /// builds the method (default: config.method through make_method, with a generator seeded by
  /// config.seed for any networks it owns). `run_config` is what config.json and the checkpoints record
  /// (default: {"model": model.name(), "train": config}). `model` must outlive the trainer.
  Trainer(const VaeTrainConfig& config, LatentVariableModel<float>& model, std::string run_dir,
          nlohmann::json run_config = nullptr, const MethodFactory& method = {});
  /// The same on data of the caller's (a data set tapir has no loader for, or one changed in memory):
  /// `train` and `test` replace the loading of config.dataset from config.data_dir. config.dataset is
  /// then only a name for config.json (empty: train.name, or "custom"), any name goes, and --binarize static means the
  /// bytes are 0/1 already; train_size, threshold and dynamic binarisation apply as for loaded data. A
  /// resume must pass the same data (the checkpoint's position is checked against its size only).
  Trainer(const VaeTrainConfig& config, LatentVariableModel<float>& model, std::string run_dir, data::Dataset train,
          data::Dataset test, nlohmann::json run_config = nullptr, const MethodFactory& method = {});
  ~Trainer();

  /// A new run: creates the directory (it must not hold a run yet, see holds_run; the curve.csv and
  /// checkpoints a run killed before its first config.json left are removed),
  /// locks it and trains; config.json is written with the first checkpoint. `stop`, when set by another
  /// thread or a signal handler, ends training after the current step with a last checkpoint; returns
  /// false then, true when the run reached its sample budget. When training fails before its first
  /// checkpoint, a directory train() created is removed again.
  bool train(const ProgressFn& progress = {}, const std::atomic<bool>* stop = nullptr);
  /// Continues from checkpoint_last: restore(), config.json rewritten when the budget or the data's place
  /// changed, then run().
  bool resume(const ProgressFn& progress = {}, const std::atomic<bool>* stop = nullptr);

  /// The parts of train() and resume(), for callers that change the configuration between them.
  /// Each locks the run directory first unless the trainer already holds its lock. restore() checks
  /// the checkpoint's training position (epoch, position, seconds, best bound) and throws naming the
  /// file and the field when one is malformed or disagrees with the step or the data. Before loading
  /// anything it compares the trainer's configuration with the checkpoint's and throws naming the key
  /// when a key both hold differs (but the sample budget and the data's place: a changed lr would
  /// otherwise be overridden by the optimizer state) or a recorded top-level section is missing; and
  /// it refuses a budget below the samples the run has trained (unless it is the recorded budget).
  void restore();
  void write_config();
  bool run(const ProgressFn& progress = {}, const std::atomic<bool>* stop = nullptr);

  long long samples() const { return samples_; }
  const std::vector<CurvePoint>& curve() const { return curve_; }
  const data::Dataset& train_data() const { return train_; }
  const data::Dataset& test_data() const { return test_; }
  Method& method() { return *method_; }
  /// Hands the trainer a lock of its directory taken by the caller (who read the run's files under it).
  void hold(std::unique_ptr<RunLock> lock) { lock_ = std::move(lock); }
  /// For runs written before a model's parameters were renamed (see legacy_vae_parameter_name).
  void set_checkpoint_rename(nn::ParameterRename rename) { rename_ = std::move(rename); }

 private:
  Trainer(const VaeTrainConfig& config, LatentVariableModel<float>& model, std::string run_dir, data::Dataset train,
          data::Dataset test, nlohmann::json run_config, const MethodFactory& method, bool named_dataset);
  CurvePoint evaluate(double beta);
  nn::CheckpointInfo info() const;
  void save_last();
  void lock();
  /// What to change when a bound stops being finite, from the configuration.
  std::string divergence_advice() const;
  /// "the run keeps its checkpoint at N samples ..." or "nothing was saved".
  std::string kept_state() const;

  VaeTrainConfig config_;
  LatentVariableModel<float>& model_;
  std::string dir_;
  nlohmann::json run_config_;
  data::Dataset train_, test_;  // bytes: each minibatch and evaluation converts what it reads
  Array<float> train_subset_;   // the first train_eval_size training points as floats, when that is set
  Rng rng_;
  std::unique_ptr<Method> method_;
  long long samples_ = 0, epoch_ = 0;
  std::size_t pos_ = 0;
  double seconds_ = 0, best_ = -INFINITY;  // best: the highest training bound so far
  std::vector<CurvePoint> curve_;
  nn::ParameterRename rename_;
  std::unique_ptr<RunLock> lock_;
  long long saved_samples_ = -1;  // the step of the checkpoint_last on disk (-1: none)
  bool config_written_ = false;
  // A resumed run's config.json "tapir" (null: its config.json has none), kept when config.json is rewritten.
  std::optional<nlohmann::json> started_by_;
};

}  // namespace tapir::models
