#include "models/cli/progress.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>

#include "models/experiments/report.hpp"

namespace tapir::cli {

using models::experiments::format_duration;

namespace {

/// One lock for every Progress: lines of parallel runs never interleave.
std::mutex& output_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

std::string human(double v) {
  if (v >= 1e9) return fmt::format("{:.2f}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.1f}k", v / 1e3);
  return fmt::format("{:.0f}", v);
}

Progress::Progress(Mode mode, std::string label) : mode_(mode), label_(label.empty() ? "" : label + " ") {
  winsize w{};
  if (mode_ == Mode::bar && ioctl(fileno(stderr), TIOCGWINSZ, &w) == 0 && w.ws_col >= 20) columns_ = w.ws_col;
}

Progress::Mode Progress::mode_from(const std::string& s) {
  if (s == "bar") return Mode::bar;
  if (s == "lines") return Mode::lines;
  if (s == "none") return Mode::none;
  return isatty(fileno(stderr)) ? Mode::bar : Mode::lines;
}

void Progress::operator()(const models::TrainProgress& p) {
  if (mode_ == Mode::none) return;
  const auto now = Clock::now();
  if (!started_) {
    started_ = true;
    start_ = now;
    start_samples_ = p.samples;
    start_seconds_ = p.seconds;
    // a bar shows at once; a line waits for a speed to report (the first line came after one step:
    // "0 samples/s  ETA ?"), the evaluations' lines come meanwhile
    last_ = mode_ == Mode::bar ? now - std::chrono::hours(1) : now;
  }
  if (p.point) ++evaluations_seen_;
  // The ETA: the samples left at the training speed (evaluations excluded), plus the evaluations left at
  // their mean cost so far. Evaluations are 8 a decade by default, dense at the start: the wall-clock
  // rate over the first minutes would overstate the time left several times.
  const double wall = std::chrono::duration<double>(now - start_).count();
  const double trained = p.seconds > 0 ? p.seconds - start_seconds_ : wall;  // callers without a clock: wall
  const double rate = trained > 0 ? double(p.samples - start_samples_) / trained : 0;
  const double per_eval = evaluations_seen_ > 0 ? std::max(0.0, wall - trained) / double(evaluations_seen_) : 0;
  const double eta = rate > 0 ? double(p.total - p.samples) / rate + double(p.evaluations_left) * per_eval : NAN;
  std::lock_guard<std::mutex> lock(output_mutex());
  if (p.point) {
    if (mode_ == Mode::bar) std::fputs("\r\033[K", stderr);
    const models::CurvePoint& e = *p.point;
    // The test bound's split and the active units, where the run has them: "test -98.1 (recon -75.3, KL 22.8)".
    const std::string split =
        e.test_recon && e.test_kl ? fmt::format(" (recon {:.2f}, KL {:.2f})", *e.test_recon, *e.test_kl) : "";
    const std::string active = e.active_units ? fmt::format("  active units {}", *e.active_units) : "";
    std::fprintf(stderr, "%ssamples %s  epoch %lld  train %.2f  test %.2f%s%s  (%s trained)\n", label_.c_str(),
                 human(double(p.samples)).c_str(), e.epoch, e.train_elbo, e.test_elbo, split.c_str(), active.c_str(),
                 format_duration(p.seconds).c_str());
    if (mode_ == Mode::bar) last_ = now - std::chrono::hours(1);  // redraw the bar below the line
  }
  const double gap = std::chrono::duration<double>(now - last_).count();
  if (mode_ == Mode::bar && gap >= 0.2) {
    const double f = std::clamp(double(p.samples) / double(p.total), 0.0, 1.0);  // the last batch may overshoot
    const int width = 20, filled = static_cast<int>(f * width);
    std::string line = fmt::format("{}[{}{}] {:3.0f}% {}/{} {}/s ETA {} bound {:.2f}", label_, std::string(filled, '#'),
                                   std::string(width - filled, '.'), 100 * f, human(double(p.samples)),
                                   human(double(p.total)), human(rate), format_duration(eta), p.running_bound);
    if (line.size() >= columns_) line.resize(columns_ - 1);  // one physical row, or \r cannot redraw it
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
    last_ = now;
  } else if (mode_ == Mode::lines && gap >= 30) {
    std::fprintf(stderr, "%s%s/%s samples  %s samples/s  ETA %s  bound %.2f\n", label_.c_str(),
                 human(double(p.samples)).c_str(), human(double(p.total)).c_str(), human(rate).c_str(),
                 format_duration(eta).c_str(), p.running_bound);
    last_ = now;
  }
}

void Progress::done() {
  if (mode_ == Mode::bar && started_) std::fputs("\r\033[K", stderr);
}

models::experiments::Observer progress_observer(const std::string& mode, int jobs) {
  struct Bars {
    Progress::Mode mode;
    std::mutex mutex;
    std::map<std::size_t, std::shared_ptr<Progress>> running;  // by run index
  };
  auto bars = std::make_shared<Bars>();
  const auto m = Progress::mode_from(mode);
  bars->mode = jobs > 1 && m == Progress::Mode::bar ? Progress::Mode::lines : m;
  models::experiments::Observer o;
  o.start = [bars](std::size_t index, const std::string& label) -> models::ProgressFn {
    auto progress = std::make_shared<Progress>(bars->mode, label);
    {
      std::lock_guard<std::mutex> lock(bars->mutex);
      bars->running[index] = progress;
    }
    return [progress](const models::TrainProgress& p) { (*progress)(p); };
  };
  o.finish = [bars](std::size_t index) {
    std::shared_ptr<Progress> progress;
    {
      std::lock_guard<std::mutex> lock(bars->mutex);
      progress = bars->running[index];
      bars->running.erase(index);
    }
    if (progress) progress->done();
  };
  o.note = [](const std::string& line) { std::fprintf(stderr, "tapir: %s\n", line.c_str()); };
  return o;
}

}  // namespace tapir::cli
