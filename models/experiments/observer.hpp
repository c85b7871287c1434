// tapir/models/experiments/observer.hpp — how an experiment tells its caller what it is doing without
// printing: every run's training steps, and a line of news between runs. The `tapir` command draws
// progress bars from it; a test counts the calls or passes nothing. Every member may be empty.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "models/train/run.hpp"

namespace tapir::models::experiments {

struct Observer {
  /// Before run `index` (`label`, e.g. "[aevb N_z=3]") trains, on the thread that trains it: the callback
  /// its training reports to (an empty one: none). Runs trained in parallel call it from several threads.
  std::function<ProgressFn(std::size_t index, const std::string& label)> start;
  /// After run `index` has returned (finished or stopped; not after an error), on the same thread.
  std::function<void(std::size_t index)> finish;
  /// One line of news, e.g. "wrote runs/avb-toy/avb_toy_vae.png" or "AIS on 200 test points for [vae] ...".
  std::function<void(const std::string& line)> note;

  ProgressFn on_start(std::size_t index, const std::string& label) const {
    return start ? start(index, label) : ProgressFn{};
  }
  void on_finish(std::size_t index) const {
    if (finish) finish(index);
  }
  void on_note(const std::string& line) const {
    if (note) note(line);
  }
};

}  // namespace tapir::models::experiments
