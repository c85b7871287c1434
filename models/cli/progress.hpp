// tapir/models/cli/progress.hpp — how `tapir` shows training: a bar redrawn in place on a terminal, plain
// lines every 30 s otherwise (a log file), or nothing; evaluations always get a line of their own.
// Lines from several runs training at once are written whole (one lock for all Progress objects).
#pragma once

#include <chrono>
#include <string>

#include "models/experiments/observer.hpp"
#include "models/train/run.hpp"

namespace tapir::cli {

/// 1234 → "1.2k", 2.5e6 → "2.50M": counts and rates at a glance.
std::string human(double v);

class Progress {
 public:
  enum class Mode { bar, lines, none };
  /// `label` (e.g. "[aevb N_z=3]") starts every line; a bar takes the terminal's width.
  Progress(Mode mode, std::string label);
  /// --progress's value: bar | lines | none, or auto: a bar when stderr is a terminal, else lines.
  static Mode mode_from(const std::string& s);

  void operator()(const models::TrainProgress& p);
  /// Clears the bar (call when its run returns).
  void done();

 private:
  using Clock = std::chrono::steady_clock;
  Mode mode_;
  std::string label_;
  bool started_ = false;
  std::size_t columns_ = 80;
  Clock::time_point start_, last_;
  long long start_samples_ = 0;
  double start_seconds_ = 0;  // the run's training seconds at the first call (a resumed run has some)
  long long evaluations_seen_ = 0;
};

/// An experiment's observer that shows every run with a Progress of its own (lines rather than bars when
/// jobs > 1, since parallel bars would overwrite each other) and its notes as "tapir: LINE" on stderr.
models::experiments::Observer progress_observer(const std::string& mode, int jobs);

}  // namespace tapir::cli
