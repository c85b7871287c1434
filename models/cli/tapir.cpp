// tapir — the command: a thin layer over tapir::models. Every command reads or writes a run directory
// (models/vae/train.hpp); errors become one line on stderr and a non-zero exit.
//
//   tapir train vae --dataset mnist --data DIR --latent 20 --samples 10000000 --out runs/mnist-z20
//   tapir train --resume runs/mnist-z20 [--samples N]
//   tapir eval runs/mnist-z20 --split test --importance-samples 5000
//   tapir sample | reconstruct | manifold runs/mnist-z20 -o picture.png
//   tapir plot runs/a runs/b -o fig.png
//   tapir reproduce fig2 --dataset mnist --data DIR --samples 10000000 --out runs/fig2-mnist
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>
#include <xtensor/xview.hpp>

#include "models/avb/avb.hpp"
#include "models/data/image.hpp"
#include "models/em/gmm.hpp"
#include "models/em/linear_vae.hpp"
#include "models/inference/latent_inference.hpp"
#include "models/mcem/mcem.hpp"
#include "models/run/run.hpp"
#include "nn/checkpoint.hpp"

extern "C" __attribute__((weak)) void openblas_set_num_threads(int);

namespace {

using namespace tapir;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int sig) {
  g_stop.store(true);         // training stops after this step, with a checkpoint
  std::signal(sig, SIG_DFL);  // a second Ctrl-C ends the process at once
}

// ---------------------------------------------------------------------------------------------------
// Progress: a bar on a terminal, plain periodic lines otherwise.

std::string human(double v) {
  if (v >= 1e9) return fmt::format("{:.2f}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.1f}k", v / 1e3);
  return fmt::format("{:.0f}", v);
}

std::string duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = std::lround(s);
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

class Progress {
 public:
  enum class Mode { bar, lines, none };
  Progress(Mode mode, std::string label) : mode_(mode), label_(label.empty() ? "" : label + " ") {
    winsize w{};
    if (mode_ == Mode::bar && ioctl(fileno(stderr), TIOCGWINSZ, &w) == 0 && w.ws_col >= 20) columns_ = w.ws_col;
  }
  static Mode mode_from(const std::string& s) {
    if (s == "bar") return Mode::bar;
    if (s == "lines") return Mode::lines;
    if (s == "none") return Mode::none;
    return isatty(fileno(stderr)) ? Mode::bar : Mode::lines;
  }

  void operator()(const models::TrainProgress& p) {
    if (mode_ == Mode::none) return;
    const auto now = Clock::now();
    if (!started_) {
      started_ = true;
      start_ = now;
      start_samples_ = p.samples;
      last_ = now - std::chrono::hours(1);
    }
    const double wall = std::chrono::duration<double>(now - start_).count();
    const double rate = wall > 0 ? double(p.samples - start_samples_) / wall : 0;
    const double eta = rate > 0 ? double(p.total - p.samples) / rate : NAN;
    std::lock_guard<std::mutex> lock(mutex());
    if (p.point) {
      if (mode_ == Mode::bar) std::fputs("\r\033[K", stderr);
      std::fprintf(stderr, "%ssamples %s  epoch %lld  train %.2f  test %.2f  (%s trained)\n", label_.c_str(),
                   human(double(p.samples)).c_str(), p.point->epoch, p.point->train_elbo, p.point->test_elbo,
                   duration(p.seconds).c_str());
      if (mode_ == Mode::bar) last_ = now - std::chrono::hours(1);  // redraw the bar below the line
    }
    const double gap = std::chrono::duration<double>(now - last_).count();
    if (mode_ == Mode::bar && gap >= 0.2) {
      const double f = std::clamp(double(p.samples) / double(p.total), 0.0, 1.0);  // the last batch may overshoot
      const int width = 20, filled = static_cast<int>(f * width);
      std::string line =
          fmt::format("{}[{}{}] {:3.0f}% {}/{} {}/s ETA {} bound {:.2f}", label_, std::string(filled, '#'),
                      std::string(width - filled, '.'), 100 * f, human(double(p.samples)), human(double(p.total)),
                      human(rate), duration(eta), p.running_bound);
      if (line.size() >= columns_) line.resize(columns_ - 1);  // one physical row, or \r cannot redraw it
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
      std::fflush(stderr);
      last_ = now;
    } else if (mode_ == Mode::lines && gap >= 30) {
      std::fprintf(stderr, "%s%s/%s samples  %s samples/s  ETA %s  bound %.2f\n", label_.c_str(),
                   human(double(p.samples)).c_str(), human(double(p.total)).c_str(), human(rate).c_str(),
                   duration(eta).c_str(), p.running_bound);
      last_ = now;
    }
  }

  void done() {
    if (mode_ == Mode::bar && started_) std::fputs("\r\033[K", stderr);
  }

 private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  Mode mode_;
  std::string label_;
  bool started_ = false;
  std::size_t columns_ = 80;
  Clock::time_point start_, last_;
  long long start_samples_ = 0;
};

/// After Ctrl-C: how to continue (`how` is the command that does).
int interrupted(const std::string& how) {
  std::fprintf(stderr, "tapir: interrupted; the last checkpoint is saved: continue with `%s`\n", how.c_str());
  return 130;
}

// ---------------------------------------------------------------------------------------------------
// train vae

/// Number checks with short messages (CLI11's own print the whole range of a double).
const CLI::Validator kPositive(
    [](std::string& s) -> std::string {
      char* end = nullptr;
      const double v = std::strtod(s.c_str(), &end);
      if (end == s.c_str() || *end != '\0' || !(v > 0) || !std::isfinite(v))
        return fmt::format("'{}' is not a positive number", s);
      return "";
    },
    "POSITIVE");
/// Whole numbers, also written as 1e7: rewritten to plain digits before CLI11 converts them.
CLI::Validator count_validator(bool positive) {
  return CLI::Validator(
      [positive](std::string& s) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (end == s.c_str() || *end != '\0' || !std::isfinite(v) || v < 0 || v != std::floor(v) || v > 9e18 ||
            (positive && v == 0) || s.find('-') == 0)
          return fmt::format("'{}' is not a {} whole number", s, positive ? "positive" : "non-negative");
        s = fmt::format("{:.0f}", v);
        return "";
      },
      positive ? "COUNT>0" : "COUNT");
}
const CLI::Validator kCount = count_validator(false), kPositiveCount = count_validator(true);

const CLI::Validator kNonNegative(
    [](std::string& s) -> std::string {
      char* end = nullptr;
      const double v = std::strtod(s.c_str(), &end);
      if (end == s.c_str() || *end != '\0' || !(v >= 0) || !std::isfinite(v))
        return fmt::format("'{}' is not a non-negative number", s);
      return "";
    },
    "NON-NEGATIVE");

struct TrainVaeArgs {
  std::string dataset = "mnist", data, out, binarize, optimizer, activation, likelihood, estimator, objective;
  std::size_t latent = 20, batch = 0, mc_samples = 0, iwae_k = 0, train_eval_size = 0;
  std::vector<std::size_t> hidden;
  long long samples = 0, eval_every = 0, warmup = 0;
  double lr = 0, beta = 1, weight_decay = -1, init_std = 0.01;
  std::size_t ais_points = 200, ais_steps = 100, ais_chains = 4;
  std::uint64_t seed = 1;
};

void add_train_vae_options(CLI::App* c, TrainVaeArgs& a) {
  c->add_option("--dataset", a.dataset, "mnist | fashion-mnist | frey | binarized-mnist")
      ->check(CLI::IsMember({"mnist", "fashion-mnist", "frey", "binarized-mnist"}))
      ->capture_default_str();
  c->add_option("--data", a.data, "directory with the dataset's files under their usual names")->required();
  c->add_option("--out", a.out, "run directory to create")->required();
  c->add_option("--latent", a.latent, "N_z, the latent dimension")->transform(kPositiveCount)->capture_default_str();
  c->add_option("--hidden", a.hidden, "hidden layer sizes, e.g. 500 or 400,400 (default: 500 MNIST, 200 Frey)")
      ->delimiter(',')
      ->transform(kPositiveCount);
  c->add_option("--batch", a.batch, "minibatch size M (default 100)")->transform(kPositiveCount);
  c->add_option("--samples", a.samples, "training samples to process in all (default 10^7)")->transform(kPositiveCount);
  c->add_option("--optimizer", a.optimizer, "adagrad (default) | adam")->check(CLI::IsMember({"adagrad", "adam"}));
  c->add_option("--lr", a.lr, "step size (default: Adagrad 0.02, Adam 1e-3)")->check(kPositive);
  c->add_option("--binarize", a.binarize, "none | threshold | dynamic (default: dynamic MNIST, none Frey)")
      ->check(CLI::IsMember({"none", "threshold", "dynamic", "static"}));
  c->add_option("--eval-every", a.eval_every, "samples between evaluations (default: 8 per decade, log spaced)")
      ->transform(kPositiveCount);
  c->add_option("--train-eval-size", a.train_eval_size, "training points in the train bound (default: all)")
      ->transform(kCount);
  c->add_option("--seed", a.seed, "seed of every generator of the run")->capture_default_str();
  c->add_option("--activation", a.activation, "tanh (default) | relu | softplus | sigmoid | elu | leaky_relu");
  c->add_option("--likelihood", a.likelihood, "bernoulli | gaussian | continuous-bernoulli (default by dataset)")
      ->check(CLI::IsMember({"bernoulli", "gaussian", "continuous-bernoulli"}));
  c->add_option("--estimator", a.estimator, "SGVB estimator: B (analytic KL, default) | A (Monte Carlo)")
      ->check(CLI::IsMember({"A", "B"}));
  c->add_option("--mc-samples", a.mc_samples, "L, samples of z per data point (default 1)")->transform(kPositiveCount);
  c->add_option("--objective", a.objective, "elbo (default) | iwae")->check(CLI::IsMember({"elbo", "iwae"}));
  c->add_option("--iwae-k", a.iwae_k, "K of the IWAE objective (default 5)")->transform(kPositiveCount);
  c->add_option("--beta", a.beta, "weight of the KL term (1: the bound)")->check(kNonNegative)->capture_default_str();
  c->add_option("--warmup", a.warmup, "samples over which beta ramps up from 0 (KL warm-up)")->transform(kCount);
  c->add_option("--weight-decay", a.weight_decay, "L2 on weight matrices (default: the paper's N(0,I) prior, 1/N)")
      ->check(kNonNegative);
  c->add_option("--ais-points", a.ais_points, "MCEM's curve: AIS log p(x) on this many points of each split")
      ->transform(kPositiveCount)
      ->capture_default_str();
  c->add_option("--ais-steps", a.ais_steps, "MCEM's curve: AIS temperatures")
      ->transform(kPositiveCount)
      ->capture_default_str();
  c->add_option("--ais-chains", a.ais_chains, "MCEM's curve: AIS chains per point")
      ->transform(kPositiveCount)
      ->capture_default_str();
  c->add_option("--init-std", a.init_std, "initial weights ~ N(0, std^2) (0: PyTorch's default init)")
      ->check(kNonNegative)
      ->capture_default_str();
}

models::VaeRunConfig run_config_from(const CLI::App* c, const TrainVaeArgs& a) {
  models::VaeRunConfig r = models::paper_vae_setup(a.dataset, a.latent);
  const auto given = [&](const char* name) { return c->get_option(name)->count() > 0; };
  auto& t = r.train;
  t.data_dir = a.data;
  if (given("--hidden")) r.model.hidden = a.hidden;
  if (given("--batch")) t.batch = a.batch;
  if (given("--samples")) t.samples = a.samples;
  if (given("--optimizer")) {
    t.optimizer = a.optimizer;
    if (a.optimizer == "adam") t.lr = 1e-3;
  }
  if (given("--lr")) t.lr = a.lr;
  if (given("--binarize")) t.binarize = a.binarize;
  if (given("--eval-every")) t.eval_every = a.eval_every;
  if (given("--train-eval-size")) t.train_eval_size = a.train_eval_size;
  t.seed = a.seed;
  if (given("--activation")) r.model.activation = nn::activation_from_string(a.activation);
  if (given("--likelihood")) r.model.likelihood = models::likelihood_from_string(a.likelihood);
  if (given("--estimator"))
    r.model.estimator = a.estimator == "B" ? models::Estimator::analytic_kl : models::Estimator::monte_carlo;
  if (given("--mc-samples")) r.model.samples = a.mc_samples;
  if (given("--objective")) t.objective = a.objective;
  if (given("--iwae-k")) t.iwae_k = a.iwae_k;
  t.beta = a.beta;
  t.warmup = a.warmup;
  t.weight_decay = a.weight_decay;
  r.model.init_std = a.init_std;
  t.ais_eval_size = a.ais_points;
  t.ais_steps = a.ais_steps;
  t.ais_chains = a.ais_chains;
  return r;
}

void set_blas_threads(int n) {
  if (openblas_set_num_threads) openblas_set_num_threads(n);
}

int run_training(const std::function<bool(const models::ProgressFn&)>& train, const std::string& label,
                 const std::string& progress_mode, const std::string& run_dir) {
  Progress progress(Progress::mode_from(progress_mode), label);
  const bool finished = train([&](const models::TrainProgress& p) { progress(p); });
  progress.done();
  if (!finished) return interrupted("tapir train --resume " + run_dir);
  const auto curve = models::read_curve((fs::path(run_dir) / "curve.csv").string());
  if (!curve.empty())
    std::printf("%s: %lld samples, train bound %.2f, test bound %.2f, %s of training\n", run_dir.c_str(),
                curve.back().samples, curve.back().train_elbo, curve.back().test_elbo,
                duration(curve.back().seconds).c_str());
  return 0;
}

// ---------------------------------------------------------------------------------------------------
// Pictures

std::pair<std::size_t, std::size_t> image_shape(const models::VaeRunConfig& c) {
  if (c.train.dataset == "frey") return {28, 20};
  const auto side = static_cast<std::size_t>(std::lround(std::sqrt(double(c.model.x_dim))));
  if (side * side != c.model.x_dim) throw Error(fmt::format("cannot draw images of {} pixels", c.model.x_dim));
  return {side, side};
}

/// The images a decoder shows for latents z (n, z_dim): the mean of p(x|z).
Array<float> decode_mean(const models::Vae<float>& vae, const Array<float>& z) {
  Tape<float> tape;
  NoGradGuard<float> no_grad(tape);
  return vae.decode(tape.constant(z)).mean().value();
}

/// Φ⁻¹(p), the standard normal quantile: Acklam's rational approximation, polished by one Halley step.
double normal_quantile(double p) {
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  double x;
  if (p < 0.02425) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p > 1 - 0.02425) {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

// ---------------------------------------------------------------------------------------------------
// plot

/// Writes `text` to `path` through a temporary file and a rename; throws naming the path.
void write_text(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    f.flush();
    if (!f) throw Error(fmt::format("cannot write '{}'", path));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw Error(fmt::format("cannot write '{}'", path));
}

/// 'text' for the shell (a ' inside becomes '\'').
std::string shell_quote(const std::string& text) {
  std::string q = "'";
  for (char c : text) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// 'text' for gnuplot (a ' inside becomes '').
std::string gnuplot_quote(const std::string& text) {
  std::string q = "'";
  for (char c : text) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

struct Series {
  std::string label;
  std::vector<models::CurvePoint> curve;
};

std::string run_label(const std::string& dir) {
  try {
    const auto c = models::load_vae_run_config(dir);
    const std::string& m = c.train.method;
    const std::string name = m == "aevb"                                   ? "AEVB"
                             : m == "mcem"                                 ? "MCEM"
                             : m == "avb" && c.train.avb.adaptive_contrast ? "AVB + AC"
                             : m == "avb"                                  ? "AVB"
                                                                           : m;
    return fmt::format("{} N_z = {}", name, c.model.z_dim);
  } catch (const Error&) {
    return fs::path(dir).filename().string();
  }
}

/// Writes the CSV beside `out` and, with gnuplot, the PNG. Returns false when gnuplot is missing.
bool plot_curves(const std::vector<Series>& series, const std::string& out, const std::string& title,
                 std::optional<double> ymin, std::optional<double> ymax,
                 const std::string& ylabel = "average lower bound per data point", bool log_x = true, double xmin = 0) {
  const std::string csv = fs::path(out).replace_extension(".csv").string();
  std::string rows = "run,samples,train_elbo,test_elbo\n";
  for (const auto& s : series)
    for (const auto& p : s.curve)
      rows += fmt::format("\"{}\",{},{},{}\n", s.label, p.samples, p.train_elbo, p.test_elbo);
  write_text(csv, rows);
  std::fprintf(stderr, "tapir: wrote %s\n", csv.c_str());
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    std::fprintf(stderr, "tapir: gnuplot is not installed (apt-get install gnuplot-nox): the CSV holds the curves\n");
    return false;
  }
  const std::string script = fs::path(out).replace_extension(".gp").string();
  std::string g = "set terminal pngcairo size 900,680 noenhanced font 'sans,11'\n";
  g += fmt::format("set output {}\nset title {}\n", gnuplot_quote(out), gnuplot_quote(title));
  g += log_x ? "set logscale x\nset format x '1e%L'\n" : "set format x '%.0s%c'\n";
  g += fmt::format("set xlabel '# training samples evaluated'\nset ylabel {}\n", gnuplot_quote(ylabel));
  g += "set key below maxrows 4\nset grid\n";
  long long reach = 0;  // the paper's x range only when the curves get there (else gnuplot has no points)
  for (const auto& se : series)
    for (const auto& p : se.curve) reach = std::max(reach, p.samples);
  if (xmin > 0 && double(reach) > 10 * xmin) g += fmt::format("set xrange [{}:*]\n", xmin);
  g += "set datafile separator ','\n";
  if (ymin || ymax)
    g += fmt::format("set yrange [{}:{}]\n", ymin ? fmt::format("{}", *ymin) : "*",
                     ymax ? fmt::format("{}", *ymax) : "*");
  g += "plot ";
  for (std::size_t i = 0; i < series.size(); ++i) {
    const std::string where = fmt::format("{} every ::1 using ($0>=0 && strcol(1) eq {} ? $2 : 1/0)",
                                          gnuplot_quote(csv), gnuplot_quote(series[i].label));
    if (i) g += ", \\\n     ";
    g += fmt::format("{}:4 with lines lw 2 lc {} dt 1 title {}, ", where, i + 1,
                     gnuplot_quote(series[i].label + " test"));
    g += fmt::format("{}:3 with lines lw 1 lc {} dt 2 title {}", where, i + 1,
                     gnuplot_quote(series[i].label + " train"));
  }
  g += "\n";
  write_text(script, g);
  const std::string log = script + ".log";
  const int rc = std::system(fmt::format("gnuplot {} 2> {}", shell_quote(script), shell_quote(log)).c_str());
  if (rc != 0) {
    std::ifstream in(log);
    std::string line, last;  // gnuplot ends its report with the line that says what is wrong
    while (std::getline(in, line))
      if (line.find_first_not_of(" \t^") != std::string::npos) last = line;
    throw Error(fmt::format("gnuplot failed on '{}': {}", script, last.empty() ? "(no message)" : last));
  }
  std::remove(log.c_str());
  std::fprintf(stderr, "tapir: wrote %s\n", out.c_str());
  return true;
}

std::vector<Series> load_series(const std::vector<std::string>& dirs) {
  std::vector<Series> s;
  for (const auto& d : dirs) s.push_back({run_label(d), models::read_curve((fs::path(d) / "curve.csv").string())});
  for (std::size_t i = 0; i < s.size(); ++i)  // two runs with one label: name both by their directories
    for (std::size_t j = i + 1; j < s.size(); ++j)
      if (s[i].label == s[j].label)
        for (std::size_t k : {i, j}) {
          fs::path p = fs::path(dirs[k]).lexically_normal();
          if (p.filename().empty()) p = p.parent_path();  // "runs/a/"
          s[k].label += " (" + p.filename().string() + ")";
        }
  return s;
}

// ---------------------------------------------------------------------------------------------------
// reproduce fig2

/// One run of a reproduction: its directory and the configuration a fresh run starts from.
struct RunJob {
  std::string label, dir;
  models::VaeRunConfig config;
};

/// Trains every job (`jobs` at once, one BLAS thread each when more than one): finished runs are kept,
/// interrupted ones resume. Returns false when interrupted; throws the first error.
bool run_jobs(const std::vector<RunJob>& runs, int jobs, const std::string& progress_mode) {
  if (jobs > 1) set_blas_threads(1);  // one core per run
  std::atomic<std::size_t> next{0};
  std::mutex errors_mutex;
  std::vector<std::string> errors;
  const auto worker = [&] {
    for (std::size_t i; (i = next++) < runs.size() && !g_stop.load();) {
      const RunJob& job = runs[i];
      try {
        const auto mode = Progress::mode_from(progress_mode);  // bars of parallel runs would overwrite each other
        Progress progress(jobs > 1 && mode == Progress::Mode::bar ? Progress::Mode::lines : mode, job.label);
        const auto fn = [&](const models::TrainProgress& p) { progress(p); };
        const long long samples = job.config.train.samples;
        if (fs::exists(fs::path(job.dir) / "checkpoint_last.safetensors")) {
          const fs::path curve_path = fs::path(job.dir) / "curve.csv";
          const auto curve =
              fs::exists(curve_path) ? models::read_curve(curve_path.string()) : std::vector<models::CurvePoint>{};
          if (curve.empty() || curve.back().samples < samples)
            models::resume_vae(job.dir, samples, job.config.train.data_dir, fn, &g_stop);
        } else {
          fs::remove(fs::path(job.dir) / "config.json");  // a run that never reached a checkpoint starts over
          models::train_vae(job.config, job.dir, fn, &g_stop);
        }
        progress.done();
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(errors_mutex);
        errors.push_back(fmt::format("{}: {}", job.label, e.what()));
        g_stop.store(true);
      }
    }
  };
  std::vector<std::thread> threads;
  for (int j = 1; j < std::min<int>(jobs, static_cast<int>(runs.size())); ++j) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (!errors.empty()) throw Error(errors.front());
  return !g_stop.load();
}

int reproduce_fig2(const std::string& dataset, const std::string& data, long long samples, const std::string& out,
                   std::vector<std::size_t> latents, bool wake_sleep, int jobs, std::uint64_t seed,
                   std::size_t train_eval_size, const std::string& progress_mode) {
  if (latents.empty())
    latents = dataset == "frey" ? std::vector<std::size_t>{2, 5, 10, 20} : std::vector<std::size_t>{3, 5, 10, 20, 200};
  std::sort(latents.begin(), latents.end());
  latents.erase(std::unique(latents.begin(), latents.end()), latents.end());  // one run directory each
  fs::create_directories(out);
  struct Job {
    std::size_t latent;
    std::string method, dir;
  };
  std::vector<Job> runs;
  std::vector<RunJob> jobs_to_run;
  for (auto z : latents)
    for (const std::string method : {"aevb", "wake-sleep"}) {
      if (method == "wake-sleep" && !wake_sleep) continue;
      const std::string dir = (fs::path(out) / fmt::format("{}nz{}", method == "aevb" ? "" : "ws-", z)).string();
      runs.push_back({z, method, dir});
      auto c = models::paper_vae_setup(dataset, z);
      c.train.method = method;
      c.train.data_dir = data;
      c.train.samples = samples;
      c.train.seed = seed;
      c.train.train_eval_size = train_eval_size;
      jobs_to_run.push_back({fmt::format("[{} N_z={}]", method, z), dir, c});
    }
  if (!run_jobs(jobs_to_run, jobs, progress_mode))
    return interrupted("the same tapir reproduce fig2 command: finished runs are kept, the others resume");

  std::string md =
      fmt::format("| {} N_z | method | training samples | train bound | test bound | training time |\n", dataset);
  md += "|---:|---|---:|---:|---:|---:|\n";
  for (const auto& r : runs) {
    const auto curve = models::read_curve((fs::path(r.dir) / "curve.csv").string());
    if (curve.empty()) continue;
    const auto& p = curve.back();
    md += fmt::format("| {} | {} | {:.3g} | {:.2f} | {:.2f} | {} |\n", r.latent, r.method == "aevb" ? "AEVB" : r.method,
                      double(p.samples), p.train_elbo, p.test_elbo, duration(p.seconds));
  }
  const std::string table = (fs::path(out) / fmt::format("fig2_{}.md", dataset)).string();
  write_text(table, md);
  std::printf("%s", md.c_str());
  std::fprintf(stderr, "tapir: wrote %s\n", table.c_str());
  const bool frey = dataset == "frey";
  const auto ymin = frey ? std::optional<double>(0) : std::optional<double>(-150);
  const auto ymax = frey ? std::optional<double>(1600) : std::optional<double>(-95);
  const std::string what = fmt::format("{} hidden units: solid test, dashed train", frey ? 200 : 500);
  std::vector<std::string> all;
  for (const auto& r : runs) all.push_back(r.dir);
  plot_curves(load_series(all), (fs::path(out) / fmt::format("fig2_{}.png", dataset)).string(),
              fmt::format("{} on {} (tapir), {}", wake_sleep ? "AEVB and wake-sleep" : "AEVB", dataset, what), ymin,
              ymax, "average lower bound per data point", true, 1e5);
  if (wake_sleep)  // one panel per N_z, as in the paper
    for (std::size_t i = 0; i < runs.size(); i += 2)
      plot_curves(load_series({runs[i].dir, runs[i + 1].dir}),
                  (fs::path(out) / fmt::format("fig2_{}_nz{}.png", dataset, runs[i].latent)).string(),
                  fmt::format("{}, N_z = {} (tapir), {}", dataset, runs[i].latent, what), ymin, ymax,
                  "average lower bound per data point", true, 1e5);
  return 0;
}

// ---------------------------------------------------------------------------------------------------
// em: exact EM where the posterior is tractable

struct EmArgs {
  std::string dataset = "frey", data, split = "train", out, report, covariance = "full";
  std::size_t limit = 0, components = 10, latent = 5, max_iter = 200;
  double tol = 1e-6, regularisation = 1e-6;
  long long compare_aevb = 0, aevb_lr_decay = 0;
  bool factor_analysis = false;
  std::uint64_t seed = 1;
};

void add_em_options(CLI::App* c, EmArgs& a) {
  c->add_option("--dataset", a.dataset, "mnist | fashion-mnist | frey | binarized-mnist")
      ->check(CLI::IsMember({"mnist", "fashion-mnist", "frey", "binarized-mnist"}))
      ->capture_default_str();
  c->add_option("--data", a.data, "directory with the dataset's files")->required();
  c->add_option("--split", a.split, "train | test")->check(CLI::IsMember({"train", "test"}))->capture_default_str();
  c->add_option("--limit", a.limit, "only the first N points (0: all)")->transform(kCount);
  c->add_option("--max-iter", a.max_iter, "EM iterations at most")->transform(kPositiveCount)->capture_default_str();
  c->add_option("--tol", a.tol, "stop when log p(x) per point gains less")->check(kNonNegative)->capture_default_str();
  c->add_option("--seed", a.seed, "seed of the initialisation")->capture_default_str();
  c->add_option("--out", a.out, "write the fitted model here (safetensors, float64)");
}

Array<double> em_data(const EmArgs& a) {
  const auto d = models::data::load_dataset(a.dataset, a.data, models::data::split_from_string(a.split));
  const std::size_t n = a.limit > 0 ? std::min(a.limit, d.size()) : d.size();
  Array<double> x = Array<double>::from_shape({n, d.dim()});
  std::copy_n(d.x.data(), n * d.dim(), x.data());
  return x;
}

void print_curve(const std::vector<double>& ll) {
  std::printf("iteration,log_likelihood\n");
  for (std::size_t i = 0; i < ll.size(); ++i) std::printf("%zu,%.6f\n", i, ll[i]);
}

int run_em_gmm(const EmArgs& a) {
  const Array<double> x = em_data(a);
  models::em::GmmOptions o;
  o.components = a.components;
  o.covariance = models::em::covariance_from_string(a.covariance);
  o.max_iter = a.max_iter;
  o.tol = a.tol;
  o.regularisation = a.regularisation;
  Rng rng(a.seed);
  const auto fit = models::em::fit_gmm(x, o, rng);
  print_curve(fit.log_likelihood);
  std::string weights;
  for (std::size_t k = 0; k < fit.model.components(); ++k)
    weights += fmt::format("{}{:.3f}", k ? " " : "", fit.model.weights(k));
  std::fprintf(stderr,
               "tapir: GMM, %zu %s components on %zu × %zu points: log p(x) %.4f per point after %zu iterations (%s); "
               "weights %s\n",
               a.components, a.covariance.c_str(), x.shape()[0], x.shape()[1], fit.log_likelihood.back(),
               fit.log_likelihood.size(), fit.converged ? "converged" : "iteration limit", weights.c_str());
  if (!a.out.empty()) {
    nn::NamedTensors t;
    t.f64 = {{"weights", fit.model.weights}, {"means", fit.model.means}, {"covariances", fit.model.covariances}};
    t.metadata = {{"model", "gmm"}, {"covariance", a.covariance}, {"dataset", a.dataset}};
    nn::write_safetensors(a.out, t);
    std::fprintf(stderr, "tapir: wrote %s\n", a.out.c_str());
  }
  return 0;
}

int run_em_ppca(const EmArgs& a) {
  if (a.compare_aevb > 0 && a.report.empty()) throw Error("--compare-aevb needs --report DIR for its tables");
  const Array<double> x = em_data(a);
  models::em::EmOptions o;
  o.max_iter = a.max_iter;
  o.tol = a.tol;
  o.factor_analysis = a.factor_analysis;
  Rng rng(a.seed);
  const auto fit = models::em::fit_linear_gaussian_em(x, a.latent, o, rng);
  print_curve(fit.log_likelihood);
  const char* what = a.factor_analysis ? "factor analysis" : "pPCA";
  std::fprintf(stderr, "tapir: %s, q = %zu on %zu × %zu points: log p(x) %.4f per point after %zu iterations (%s)\n",
               what, a.latent, x.shape()[0], x.shape()[1], fit.log_likelihood.back(), fit.log_likelihood.size() - 1,
               fit.converged ? "converged" : "iteration limit");
  if (!a.factor_analysis)
    std::fprintf(stderr, "tapir: closed-form maximum likelihood (eigendecomposition): %.4f per point\n",
                 models::em::log_likelihood(models::em::ppca_closed_form(x, a.latent), x));
  if (!a.out.empty()) {
    nn::NamedTensors t;
    t.f64 = {{"w", fit.model.w}, {"mu", fit.model.mu}, {"psi", fit.model.psi}};
    t.metadata = {{"model", a.factor_analysis ? "factor-analysis" : "ppca"}, {"dataset", a.dataset}};
    nn::write_safetensors(a.out, t);
    std::fprintf(stderr, "tapir: wrote %s\n", a.out.c_str());
  }
  if (a.compare_aevb > 0) {
    fs::create_directories(a.report);
    models::em::PpcaComparisonOptions co;
    co.latent = a.latent;
    co.aevb_samples = a.compare_aevb;
    co.lr_decay = double(a.aevb_lr_decay);
    co.em = o;
    Rng crng(a.seed);
    const auto c = models::em::compare_ppca(x, co, crng);
    std::string csv = "samples,aevb_elbo,aevb_exact_log_likelihood,gap,closed_form,em_final\n";
    for (const auto& r : c.aevb)
      csv += fmt::format("{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f}\n", r.samples, r.elbo, r.log_likelihood,
                         r.log_likelihood - r.elbo, c.closed_form, c.em.back());
    write_text((fs::path(a.report) / "ppca_aevb.csv").string(), csv);
    const auto& last = c.aevb.back();
    std::string md = fmt::format(
        "| pPCA on {} ({} × {}), q = {} | log p(x) per point |\n|---|---:|\n"
        "| closed-form maximum likelihood (eigendecomposition) | {:.3f} |\n"
        "| EM, {} iterations | {:.3f} |\n"
        "| AEVB after {:.3g} samples (Adam {}): ELBO | {:.3f} |\n"
        "| AEVB: its generative model's exact log p(x) | {:.3f} |\n"
        "| AEVB: importance-sampled log p(x) with its q (K = 100) | {:.3f} |\n"
        "| AEVB: gap exact − ELBO = average KL(q ‖ p(z|x)) | {:.3f} |\n",
        a.dataset, x.shape()[0], x.shape()[1], a.latent, c.closed_form, c.em.size() - 1, c.em.back(),
        double(last.samples),
        a.aevb_lr_decay > 0 ? fmt::format("1e-2 / (1 + samples / {})", a.aevb_lr_decay) : std::string("1e-2"),
        last.elbo, last.log_likelihood, c.aevb_importance, last.log_likelihood - last.elbo);
    write_text((fs::path(a.report) / "ppca_aevb.md").string(), md);
    std::fprintf(stderr, "%s", md.c_str());
    std::fprintf(stderr, "tapir: wrote %s/ppca_aevb.{csv,md}\n", a.report.c_str());
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------------
// reproduce fig3: marginal likelihood vs training samples, AEVB vs wake-sleep vs MCEM (N_z = 3)

int reproduce_fig3(const std::string& data, std::size_t ntrain, long long samples, const std::string& out,
                   const std::vector<std::string>& methods, int jobs, std::uint64_t seed, std::size_t ais_steps,
                   std::size_t ais_chains, std::size_t ais_points, const std::string& progress_mode) {
  fs::create_directories(out);
  std::vector<RunJob> runs;
  for (const auto& method : methods) {
    auto c = models::paper_vae_setup("mnist", 3);  // N_z = 3, 100 hidden units (PAPERS.md, Fig. 3)
    c.model.hidden = {100};
    c.train.method = method;
    c.train.data_dir = data;
    c.train.samples = samples;
    c.train.seed = seed;
    c.train.train_size = ntrain;
    c.train.curve_metric = "ais";                                 // one estimator of log p(x) for all three methods
    c.train.eval_every = std::max<long long>(100, samples / 12);  // a linear x axis, as in the paper
    c.train.ais_eval_size = ais_points;
    c.train.ais_steps = ais_steps;
    c.train.ais_chains = ais_chains;
    runs.push_back({fmt::format("[{} N_train={}]", method, ntrain),
                    (fs::path(out) / fmt::format("{}-n{}", method, ntrain)).string(), c});
  }
  if (!run_jobs(runs, jobs, progress_mode))
    return interrupted("the same tapir reproduce fig3 command: finished runs are kept, the others resume");
  std::string md = fmt::format(
      "| N_train = {} | training samples | train log p(x) | test log p(x) | training time "
      "|\n|---|---:|---:|---:|---:|\n",
      ntrain);
  std::vector<std::string> dirs;
  for (const auto& r : runs) {
    dirs.push_back(r.dir);
    const auto curve = models::read_curve((fs::path(r.dir) / "curve.csv").string());
    if (curve.empty()) continue;
    const auto& p = curve.back();
    md += fmt::format("| {} | {:.3g} | {:.2f} | {:.2f} | {} |\n", r.config.train.method, double(p.samples),
                      p.train_elbo, p.test_elbo, duration(p.seconds));
  }
  md += fmt::format(
      "\nlog p(x) by AIS ({} temperatures, {} chains, 10 leapfrog steps) on the first {} points of "
      "the training and test sets; N_z = 3, 100 hidden units.\n",
      ais_steps, ais_chains, ais_points);
  const std::string table = (fs::path(out) / fmt::format("fig3_n{}.md", ntrain)).string();
  write_text(table, md);
  std::printf("%s", md.c_str());
  std::fprintf(stderr, "tapir: wrote %s\n", table.c_str());
  plot_curves(load_series(dirs), (fs::path(out) / fmt::format("fig3_n{}.png", ntrain)).string(),
              fmt::format("MNIST, N_train = {}, N_z = 3 (tapir): solid test, dashed train", ntrain), std::nullopt,
              std::nullopt, "marginal log-likelihood (AIS)", false);
  return 0;
}

// ---------------------------------------------------------------------------------------------------
// reproduce avb-toy: the AVB paper's four-point problem; q(z|x) of a VAE and of AVB as scatter plots

int reproduce_avb_toy(const std::string& out, const std::vector<std::string>& methods, std::size_t steps, double lr,
                      std::uint64_t seed, const std::string& progress_mode) {
  fs::create_directories(out);
  std::string md = "| method | training steps | ELBO | log p(x) | training time |\n|---|---:|---:|---:|---:|\n";
  for (const auto& method : methods) {
    if (g_stop.load()) return interrupted(fmt::format("tapir reproduce avb-toy (it starts over)"));
    models::AvbToyConfig c;
    c.method = method == "vae" ? "vae" : "avb";
    c.avb.adaptive_contrast = method == "avb-ac";
    c.avb.disc_steps = 2;  // as the authors
    c.steps = steps;
    c.lr = lr;
    c.seed = seed;
    Progress progress(Progress::mode_from(progress_mode), "[" + method + "]");
    const auto r = models::avb_toy(c, [&](std::size_t step, double bound) {
      progress(
          models::TrainProgress{static_cast<long long>(step), static_cast<long long>(steps), 1, 0, bound, nullptr});
    });
    progress.done();
    std::vector<std::size_t> group;
    const std::size_t draws = r.z.shape()[1];
    Array<float> pts = Array<float>::from_shape({4 * draws, 2});
    std::copy(r.z.begin(), r.z.end(), pts.begin());
    std::string csv = "point,z1,z2\n";
    for (std::size_t i = 0; i < 4 * draws; ++i) {
      group.push_back(i / draws);
      csv += fmt::format("{},{:.5g},{:.5g}\n", i / draws, pts(i, 0), pts(i, 1));
    }
    write_text((fs::path(out) / fmt::format("avb_toy_{}.csv", method)).string(), csv);
    const std::string png = (fs::path(out) / fmt::format("avb_toy_{}.png", method)).string();
    models::data::write_png_scatter(png, pts, group);
    md += fmt::format("| {} | {} | {:.4f} | {:.4f} | {} |\n", method, steps, r.elbo, r.log_likelihood,
                      duration(r.seconds));
    std::fprintf(stderr, "tapir: wrote %s\n", png.c_str());
  }
  md += fmt::format(
      "\nFour one-hot points, N_z = 2; ELBO and log p(x) averaged over the points (the best possible log p(x) is "
      "log ¼ = −1.3863). AVB's ELBO is T's estimate; log p(x) is importance-sampled from the prior (K = 10⁵).\n");
  const std::string table = (fs::path(out) / "avb_toy.md").string();
  write_text(table, md);
  std::printf("%s", md.c_str());
  std::fprintf(stderr, "tapir: wrote %s\n", table.c_str());
  return 0;
}

// ---------------------------------------------------------------------------------------------------
// reproduce avb-mnist: VAE vs AVB vs AVB + adaptive contrast with the same decoder; ELBO and AIS log p(x)

int reproduce_avb_mnist(const std::string& data, long long samples, std::size_t latent, const std::string& out,
                        int jobs, std::uint64_t seed, std::size_t ais_points, std::size_t ais_steps,
                        std::size_t ais_chains, const std::string& progress_mode) {
  fs::create_directories(out);
  std::vector<RunJob> runs;
  for (const std::string method : {"vae", "avb", "avb-ac"}) {
    auto c = models::paper_vae_setup("mnist", latent);  // 500 tanh units, Bernoulli decoder, dynamic binarisation
    c.train.optimizer = "adam";  // one optimizer for all three (AVB's T needs Adam, as in the paper)
    c.train.lr = 1e-3;
    c.train.method = method == "vae" ? "aevb" : "avb";
    c.train.avb.adaptive_contrast = method == "avb-ac";
    c.train.data_dir = data;
    c.train.samples = samples;
    c.train.seed = seed;
    c.train.train_eval_size = 10000;
    runs.push_back({fmt::format("[{} N_z={}]", method, latent), (fs::path(out) / method).string(), c});
  }
  if (!run_jobs(runs, jobs, progress_mode))
    return interrupted("the same tapir reproduce avb-mnist command: finished runs are kept, the others resume");
  // log p(x) of the decoder by AIS on the first test points: it needs no q, so it scores all three alike.
  auto test = models::load_vae_split(runs.front().config.train, models::data::Split::test);
  const std::size_t n = std::min(ais_points, test.size());
  Array<float> x = xt::view(test.x, xt::range(0, n), xt::all());
  std::string md = fmt::format(
      "| MNIST, N_z = {} | training samples | train ELBO | test ELBO | test log p(x), AIS | test log p(x), IWAE "
      "K=1000 | training time |\n|---|---:|---:|---:|---:|---:|---:|\n",
      latent);
  for (const auto& r : runs) {
    if (g_stop.load()) return interrupted("the same tapir reproduce avb-mnist command (training is done)");
    const auto curve = models::read_curve((fs::path(r.dir) / "curve.csv").string());
    if (curve.empty()) continue;
    const auto vae = models::load_vae_run_model(r.dir, "last");
    models::AisOptions ao;
    ao.steps = ais_steps;
    ao.chains = ais_chains;
    Rng ais_rng(seed + 11);
    std::fprintf(stderr, "tapir: AIS on %zu test points for %s ...\n", n, r.label.c_str());
    const double ais = xt::mean(models::vae_ais(*vae, x, ao, ais_rng).log_marginal)();
    std::string iwae = "–";  // AVB's q has no density to weigh samples with
    if (r.config.train.method == "aevb") {
      Rng iw_rng(seed + 12);
      iwae = fmt::format("{:.2f}", models::evaluate_vae(*vae, x, 1000, iw_rng).log_likelihood);
    }
    const auto& p = curve.back();
    const std::string name = r.config.train.method == "aevb"        ? "VAE"
                             : r.config.train.avb.adaptive_contrast ? "AVB + adaptive contrast"
                                                                    : "AVB";
    md += fmt::format("| {} | {:.3g} | {:.2f} | {:.2f} | {:.2f} | {} | {} |\n", name, double(p.samples), p.train_elbo,
                      p.test_elbo, ais, iwae, duration(p.seconds));
  }
  md += fmt::format(
      "\nELBO: the bound on 10 000 points of each split (AVB: with T in place of log q − log p, an estimate, not a "
      "bound). AIS: {} temperatures, {} chains, 10 leapfrog steps, on the first {} test points. Adam 1e-3 "
      "(T: 5e-3), batch 100, 500 tanh units, dynamic binarisation.\n",
      ais_steps, ais_chains, n);
  const std::string table = (fs::path(out) / "avb_mnist.md").string();
  write_text(table, md);
  std::printf("%s", md.c_str());
  std::fprintf(stderr, "tapir: wrote %s\n", table.c_str());
  std::vector<std::string> dirs;
  for (const auto& r : runs) dirs.push_back(r.dir);
  plot_curves(
      load_series(dirs), (fs::path(out) / "avb_mnist.png").string(),
      fmt::format("MNIST, N_z = {} (tapir): VAE, AVB, AVB + adaptive contrast; solid test, dashed train", latent),
      std::nullopt, std::nullopt, "ELBO (AVB: estimated with T)", true);
  return 0;
}

int main_checked(int argc, char** argv) {
  CLI::App app{"tapir: reverse-mode autodiff and variational-inference models (AEVB) over xtensor"};
  app.require_subcommand(1);
  app.fallthrough();  // --progress may come anywhere on the line (subcommands inherit this)
  app.set_version_flag("--version", "tapir 0.1.0");
  std::string progress_mode = "auto";
  app.add_option("--progress", progress_mode, "auto | bar | lines | none")
      ->check(CLI::IsMember({"auto", "bar", "lines", "none"}))
      ->capture_default_str();

  // train
  auto* train = app.add_subcommand("train", "train a model into a run directory, or resume one");
  std::string resume_dir, resume_data;
  long long resume_samples = 0;
  train->add_option("--resume", resume_dir, "continue the run in this directory from its last checkpoint");
  train->add_option("--samples", resume_samples, "with --resume: raise the run's sample budget")
      ->transform(kPositiveCount);
  train->add_option("--data", resume_data, "with --resume: where the data is now");
  auto* train_vae = train->add_subcommand("vae", "the Kingma–Welling VAE (defaults: the paper's setup)");
  TrainVaeArgs vae_args;
  add_train_vae_options(train_vae, vae_args);
  auto* train_ws = train->add_subcommand("wake-sleep", "the paper's baseline: wake-sleep with the VAE's networks");
  TrainVaeArgs ws_args;
  add_train_vae_options(train_ws, ws_args);
  auto* train_mcem = train->add_subcommand(
      "mcem", "Monte Carlo EM (App. E): HMC posterior samples, no encoder; its curve holds AIS log p(x) estimates");
  TrainVaeArgs mcem_args;
  add_train_vae_options(train_mcem, mcem_args);
  auto* train_avb = train->add_subcommand(
      "avb", "Adversarial Variational Bayes: an implicit encoder z = f(x, eps) and a discriminator T(x, z)");
  TrainVaeArgs avb_args;
  add_train_vae_options(train_avb, avb_args);
  models::AvbOptions avb_options;
  train_avb->add_flag("--adaptive-contrast", avb_options.adaptive_contrast,
                      "T tells (z - mu(x))/sigma(x) from N(0, I) instead of z from the prior (AVB 3.3)");
  train_avb->add_option("--noise-dim", avb_options.noise_dim, "dimension of the encoder's noise eps")
      ->transform(kPositiveCount)
      ->capture_default_str();
  train_avb->add_option("--disc-steps", avb_options.disc_steps, "T updates per encoder/decoder update")
      ->transform(kPositiveCount)
      ->capture_default_str();
  train_avb->add_option("--disc-lr", avb_options.disc_lr, "T's step size (default: 5 x --lr)")->check(kPositive);
  train_avb->add_option("--disc-hidden", avb_options.disc_hidden, "T's hidden layers (default: --hidden)")
      ->delimiter(',')
      ->transform(kPositiveCount);
  train_avb->add_option("--disc-activation", avb_options.disc_activation, "T's nonlinearity")
      ->check(CLI::IsMember({"tanh", "relu", "softplus", "elu", "leaky_relu"}))
      ->capture_default_str();
  train_avb
      ->add_option("--contrast-samples", avb_options.contrast_samples,
                   "with --adaptive-contrast: samples of z per x for mu(x) and sigma(x)")
      ->transform(kPositiveCount)
      ->capture_default_str();
  train->require_subcommand(0, 1);

  // eval
  auto* eval = app.add_subcommand("eval", "average bound and importance-sampled log p(x) of a run, as JSON");
  std::string run_dir, split = "test", which = "last", out;
  std::size_t k = 5000, limit = 0, n_images = 100, grid = 20, cols = 10;
  std::uint64_t seed = 1;
  eval->add_option("run", run_dir, "run directory")->required();
  eval->add_option("--split", split, "train | test")->check(CLI::IsMember({"train", "test"}))->capture_default_str();
  eval->add_option("--importance-samples,-k", k, "K of the IWAE estimate of log p(x) (0: bound only)")
      ->transform(kCount)
      ->capture_default_str();
  eval->add_option("--checkpoint", which, "best | last")->check(CLI::IsMember({"best", "last"}))->capture_default_str();
  eval->add_option("--limit", limit, "only the first N points of the split (0: all)")->transform(kCount);
  eval->add_option("--seed", seed, "seed of the evaluation's draws")->capture_default_str();
  std::size_t ais_steps = 0, ais_chains = 16;
  eval->add_option("--ais-steps", ais_steps, "also estimate log p(x) by AIS with this many temperatures (0: no)")
      ->transform(kCount);
  eval->add_option("--ais-chains", ais_chains, "AIS chains per data point")
      ->transform(kPositiveCount)
      ->capture_default_str();
  std::size_t harmonic_samples = 0;
  eval->add_option("--hmc-harmonic", harmonic_samples,
                   "also estimate log p(x) by the AEVB paper's App. D estimator with this many HMC posterior "
                   "samples per point (the paper: 50; meant for N_z < 5; 0: no)")
      ->transform(kCount);
  std::size_t harmonic_burn_in = 200, harmonic_chains = 1;
  eval->add_option("--hmc-burn-in", harmonic_burn_in, "--hmc-harmonic: HMC transitions before the first sample")
      ->transform(kCount)
      ->capture_default_str();
  eval->add_option("--hmc-chains", harmonic_chains, "--hmc-harmonic: chains per point, their samples pooled")
      ->transform(kPositiveCount)
      ->capture_default_str();

  // pictures
  auto* sample = app.add_subcommand("sample", "images decoded from z ~ N(0, I), as a PNG grid");
  auto* reconstruct = app.add_subcommand("reconstruct", "data points (odd rows) and their reconstructions (even rows)");
  auto* manifold = app.add_subcommand("manifold", "the decoder over a grid Φ⁻¹(unit square) of two latents (Fig. 4)");
  std::vector<std::size_t> dims = {0, 1};
  for (auto* c : {sample, reconstruct, manifold}) {
    c->add_option("run", run_dir, "run directory")->required();
    c->add_option("-o,--output", out, "PNG file to write")->required();
    c->add_option("--checkpoint", which, "best | last")->check(CLI::IsMember({"best", "last"}))->capture_default_str();
    c->add_option("--seed", seed, "seed of the draws")->capture_default_str();
  }
  sample->add_option("-n", n_images, "number of images")->transform(kPositiveCount)->capture_default_str();
  sample->add_option("--cols", cols, "images per row")->transform(kPositiveCount)->capture_default_str();
  reconstruct->add_option("-n", n_images, "number of data points")->transform(kPositiveCount)->capture_default_str();
  reconstruct->add_option("--split", split, "train | test")
      ->check(CLI::IsMember({"train", "test"}))
      ->capture_default_str();
  manifold->add_option("--grid", grid, "points per axis")->check(CLI::Range(2, 100))->capture_default_str();
  manifold->add_option("--dims", dims, "the two latent dimensions to vary (the others stay 0)")
      ->delimiter(',')
      ->expected(2);

  // plot
  auto* plot = app.add_subcommand("plot", "lower bound vs training samples (log x), train and test per run");
  std::vector<std::string> plot_dirs;
  std::string title = "AEVB lower bound";
  double ymin = 0, ymax = 0;
  plot->add_option("runs", plot_dirs, "run directories")->required();
  plot->add_option("-o,--output", out, "PNG file (the CSV plotted is written beside it)")->required();
  plot->add_option("--title", title, "figure title");
  auto* ymin_opt = plot->add_option("--ymin", ymin, "lower end of the y axis");
  auto* ymax_opt = plot->add_option("--ymax", ymax, "upper end of the y axis");

  // em
  auto* em = app.add_subcommand("em", "exact EM where the posterior is tractable: Gaussian mixture, pPCA");
  em->require_subcommand(1);
  auto* em_gmm = em->add_subcommand("gmm", "Gaussian mixture by EM (k-means++ start); prints log p(x) per iteration");
  auto* em_ppca = em->add_subcommand("ppca", "probabilistic PCA / factor analysis by EM, against the closed form");
  EmArgs gmm_args, ppca_args;
  add_em_options(em_gmm, gmm_args);
  add_em_options(em_ppca, ppca_args);
  em_gmm->add_option("--components,-k", gmm_args.components, "K")->transform(kPositiveCount)->capture_default_str();
  em_gmm->add_option("--covariance", gmm_args.covariance, "full | diagonal")
      ->check(CLI::IsMember({"full", "diagonal"}))
      ->capture_default_str();
  em_gmm->add_option("--regularisation", gmm_args.regularisation, "added to every variance")
      ->check(kNonNegative)
      ->capture_default_str();
  em_ppca->add_option("--latent", ppca_args.latent, "q, the latent dimension")
      ->transform(kPositiveCount)
      ->capture_default_str();
  em_ppca->add_flag("--factor-analysis", ppca_args.factor_analysis, "a diagonal noise covariance instead of σ² I");
  em_ppca
      ->add_option("--compare-aevb", ppca_args.compare_aevb,
                   "also train the same model by AEVB for this many samples and compare (needs --report)")
      ->transform(kCount);
  em_ppca->add_option("--report", ppca_args.report, "directory for the comparison's CSV and table");
  em_ppca
      ->add_option("--aevb-lr-decay", ppca_args.aevb_lr_decay,
                   "with --compare-aevb: AEVB's Adam step lr / (1 + samples / THIS) (0: a constant 1e-2)")
      ->transform(kCount);

  // reproduce
  auto* reproduce = app.add_subcommand("reproduce", "the paper's figures");
  auto* fig2 = reproduce->add_subcommand("fig2", "Figure 2: AEVB for every N_z of the paper's panel");
  reproduce->require_subcommand(1);
  auto* fig3 = reproduce->add_subcommand("fig3", "Figure 3: log p(x) vs samples, AEVB vs wake-sleep vs MCEM (N_z = 3)");
  std::size_t ntrain = 1000, ais_steps3 = 100, ais_chains3 = 4, ais_points3 = 1000;
  long long samples3 = 1'000'000;
  std::vector<std::string> methods3 = {"aevb", "wake-sleep", "mcem"};
  std::string data3, out3;
  int jobs3 = 1;
  fig3->add_option("--ntrain", ntrain, "training points (the paper: 1000 and 50000)")
      ->transform(kPositiveCount)
      ->capture_default_str();
  fig3->add_option("--data", data3, "directory with MNIST")->required();
  fig3->add_option("--samples", samples3, "training samples per run")->transform(kPositiveCount)->capture_default_str();
  fig3->add_option("--methods", methods3, "any of aevb, wake-sleep, mcem")
      ->delimiter(',')
      ->check(CLI::IsMember({"aevb", "wake-sleep", "mcem"}));
  fig3->add_option("--out", out3, "directory for the runs, the figure and the table (default: runs/fig3)");
  fig3->add_option("--jobs,-j", jobs3, "runs trained at once")->check(CLI::Range(1, 64))->capture_default_str();
  fig3->add_option("--ais-steps", ais_steps3, "AIS temperatures per estimate")
      ->transform(kPositiveCount)
      ->capture_default_str();
  fig3->add_option("--ais-chains", ais_chains3, "AIS chains per point")
      ->transform(kPositiveCount)
      ->capture_default_str();
  fig3->add_option("--ais-points", ais_points3, "points of each split scored (the paper: 1000)")
      ->transform(kPositiveCount)
      ->capture_default_str();
  auto* toy = reproduce->add_subcommand("avb-toy", "AVB's toy figure: q(z|x) of four points, VAE vs AVB (PNG)");
  std::vector<std::string> toy_methods = {"vae", "avb", "avb-ac"};
  std::size_t toy_steps = 20000;
  double toy_lr = 1e-3;
  std::string toy_out = "runs/avb-toy";
  toy->add_option("--methods", toy_methods, "any of vae, avb, avb-ac (adaptive contrast)")
      ->delimiter(',')
      ->check(CLI::IsMember({"vae", "avb", "avb-ac"}))
      ->capture_default_str();
  toy->add_option("--steps", toy_steps, "Adam steps of batch 512 per method")
      ->transform(kPositiveCount)
      ->capture_default_str();
  toy->add_option("--lr", toy_lr, "Adam's step size (the discriminator's: 5×)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  toy->add_option("--out", toy_out, "directory for the plots and the table")->capture_default_str();
  toy->add_option("--seed", seed, "seed")->capture_default_str();
  auto* avb_mnist = reproduce->add_subcommand("avb-mnist", "VAE vs AVB vs AVB + adaptive contrast on MNIST (table)");
  std::string am_data, am_out = "runs/avb-mnist";
  long long am_samples = 1'000'000;
  std::size_t am_latent = 8, am_points = 200, am_steps = 300, am_chains = 8;
  int am_jobs = 1;
  avb_mnist->add_option("--data", am_data, "directory with the MNIST files")->required();
  avb_mnist->add_option("--samples", am_samples, "training samples per run")
      ->transform(kPositiveCount)
      ->capture_default_str();
  avb_mnist->add_option("--latent", am_latent, "N_z")->transform(kPositiveCount)->capture_default_str();
  avb_mnist->add_option("--out", am_out, "directory for the runs and the table")->capture_default_str();
  avb_mnist->add_option("--jobs,-j", am_jobs, "runs trained at once")->check(CLI::Range(1, 64))->capture_default_str();
  avb_mnist->add_option("--ais-points", am_points, "test points scored by AIS")
      ->transform(kPositiveCount)
      ->capture_default_str();
  avb_mnist->add_option("--ais-steps", am_steps, "AIS temperatures")->transform(kPositiveCount)->capture_default_str();
  avb_mnist->add_option("--ais-chains", am_chains, "AIS chains per point")
      ->transform(kPositiveCount)
      ->capture_default_str();
  avb_mnist->add_option("--seed", seed, "seed of every run")->capture_default_str();
  std::string dataset = "mnist", data;
  long long samples = 10'000'000;
  std::vector<std::size_t> latents;
  int jobs = 1;
  std::size_t train_eval_size = 0;
  fig2->add_option("--dataset", dataset, "mnist | frey")
      ->check(CLI::IsMember({"mnist", "frey"}))
      ->capture_default_str();
  fig2->add_option("--data", data, "directory with the dataset's files")->required();
  fig2->add_option("--samples", samples, "training samples per run")->transform(kPositiveCount)->capture_default_str();
  fig2->add_option("--out", out, "directory for the runs, the figure and the table (default: runs/fig2-DATASET)");
  fig2->add_option("--latents", latents, "N_z values (default: the paper's panel)")
      ->delimiter(',')
      ->transform(kPositiveCount);
  fig2->add_option("--jobs,-j", jobs, "runs trained at once (one BLAS thread each when > 1)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  fig2->add_option("--seed", seed, "seed of every run")->capture_default_str();
  fig2->add_option("--train-eval-size", train_eval_size, "training points in the train bound (0: all)")
      ->transform(kCount);
  bool with_wake_sleep = false;
  fig2->add_flag("--wake-sleep", with_wake_sleep, "also train wake-sleep for every N_z (the paper's baseline)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "tapir: error: %s (see tapir --help, or tapir COMMAND --help)\n", e.what());
    return 2;
  }

  if (train->parsed() || reproduce->parsed()) {  // the commands that can stop cleanly at a checkpoint
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
  }

  if (*train) {
    if (!resume_dir.empty()) {
      if (*train_vae || *train_ws || *train_mcem || *train_avb)
        throw Error("--resume takes its settings from the run: give no model after it");
      return run_training(
          [&](const models::ProgressFn& fn) {
            return models::resume_vae(resume_dir, resume_samples, resume_data, fn, &g_stop);
          },
          "", progress_mode, resume_dir);
    }
    if (!*train_vae && !*train_ws && !*train_mcem && !*train_avb)
      throw Error("train: name a model (tapir train vae|wake-sleep|mcem|avb ...) or give --resume RUN_DIR");
    if (train->get_option("--samples")->count() || train->get_option("--data")->count())
      throw Error("train: put --samples and --data after the model name (tapir train vae --data DIR ...)");
    CLI::App* chosen = train_ws->parsed()     ? train_ws
                       : train_mcem->parsed() ? train_mcem
                       : train_avb->parsed()  ? train_avb
                                              : train_vae;
    const TrainVaeArgs& args = chosen == train_ws     ? ws_args
                               : chosen == train_mcem ? mcem_args
                               : chosen == train_avb  ? avb_args
                                                      : vae_args;
    auto config = run_config_from(chosen, args);
    config.train.method = chosen == train_ws     ? "wake-sleep"
                          : chosen == train_mcem ? "mcem"
                          : chosen == train_avb  ? "avb"
                                                 : "aevb";
    if (chosen == train_avb) {
      config.train.avb = avb_options;
      if (!chosen->get_option("--optimizer")->count()) {  // T is a GAN-style discriminator: Adam, as the authors
        config.train.optimizer = "adam";
        if (!chosen->get_option("--lr")->count()) config.train.lr = 1e-3;
      }
    }
    return run_training([&](const models::ProgressFn& fn) { return models::train_vae(config, args.out, fn, &g_stop); },
                        "", progress_mode, args.out);
  }

  if (*eval) {
    const auto config = models::load_vae_run_config(run_dir);
    const auto vae_ptr = models::load_vae_run_model(run_dir, which);
    const auto& vae = *vae_ptr;
    auto d = models::load_vae_split(config.train, models::data::split_from_string(split));
    Array<float> x = d.x;
    if (limit > 0 && limit < d.size()) {
      std::vector<std::size_t> rows(limit);
      for (std::size_t i = 0; i < limit; ++i) rows[i] = i;
      models::data::gather_rows(d.x, rows, x);
    }
    Rng rng(seed);
    const bool avb_run = config.train.method == "avb";
    if (avb_run && k > 0 && eval->get_option("-k")->count() > 0)
      throw Error("an AVB encoder has no density: -k has no importance-sampled estimate; use --ais-steps");
    if (avb_run) k = 0;
    auto e = avb_run ? models::VaeEvaluation{} : models::evaluate_vae(vae, x, k, rng);
    if (avb_run) {  // the bound with T in place of log q − log p (the Vae's own Gaussian encoder is unused)
      const auto start = Clock::now();
      const auto avb = models::load_avb_run_networks(run_dir, which);
      e.elbo = models::evaluate_avb(*avb, vae, x, rng);
      e.n = x.shape()[0];
      e.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    }
    nlohmann::json j = {
        {"run", run_dir}, {"checkpoint", which},     {"split", split},       {"n", e.n},
        {"elbo", e.elbo}, {"importance_samples", k}, {"seconds", e.seconds}, {"binarization", d.binarization}};
    j["log_likelihood"] = k > 0 ? nlohmann::json(e.log_likelihood) : nlohmann::json(nullptr);
    if (avb_run) {
      j["elbo_estimator"] = config.train.avb.adaptive_contrast ? "AVB T (adaptive contrast)" : "AVB T";
    }
    if (ais_steps > 0) {  // the decoder's marginal likelihood by AIS, with HMC transitions (no encoder)
      models::AisOptions ao;
      ao.steps = ais_steps;
      ao.chains = ais_chains;
      const auto start = Clock::now();
      Rng ais_rng(seed + 1);
      const auto r = models::vae_ais(vae, x, ao, ais_rng);
      j["ais_log_likelihood"] = xt::mean(r.log_marginal)();
      j["ais_steps"] = ais_steps;
      j["ais_chains"] = ais_chains;
      j["ais_acceptance"] = r.acceptance;
      j["ais_seconds"] = std::chrono::duration<double>(Clock::now() - start).count();
    }
    if (harmonic_samples > 0) {  // App. D: HMC posterior samples, a fitted Gaussian, the harmonic-mean average
      if (harmonic_samples < 2) throw Error("--hmc-harmonic needs at least 2 samples per point");
      if (config.model.z_dim >= 5)
        std::fprintf(stderr, "tapir: warning: the App. D estimator is meant for N_z < 5 (this run has %zu)\n",
                     config.model.z_dim);
      models::HarmonicOptions ho;
      ho.samples = harmonic_samples;
      ho.burn_in = harmonic_burn_in;
      const auto start = Clock::now();
      Rng h_rng(seed + 2);
      const auto r = models::vae_harmonic(vae, x, ho, h_rng, harmonic_chains);
      j["hmc_harmonic_log_likelihood"] = xt::mean(r.log_marginal)();
      j["hmc_harmonic_samples"] = r.log_ratios.shape()[0];
      j["hmc_harmonic_chains"] = harmonic_chains;
      j["hmc_harmonic_burn_in"] = harmonic_burn_in;
      j["hmc_harmonic_acceptance"] = r.acceptance;
      j["hmc_harmonic_seconds"] = std::chrono::duration<double>(Clock::now() - start).count();
    }
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }

  if (*sample || *reconstruct || *manifold) {
    const auto config = models::load_vae_run_config(run_dir);
    const auto vae_ptr = models::load_vae_run_model(run_dir, which);
    const auto& vae = *vae_ptr;
    const auto [rows, cols_px] = image_shape(config);
    const std::size_t zd = config.model.z_dim;
    Rng rng(seed);
    if (*sample) {
      const Array<float> z = normal<float>(rng, {n_images, zd});
      models::data::write_png_grid(out, decode_mean(vae, z), rows, cols_px, cols, 1, 2);
    } else if (*reconstruct) {
      const auto d = models::load_vae_split(config.train, models::data::split_from_string(split));
      n_images = std::min(n_images, d.size());
      if (n_images == 0) throw Error(fmt::format("the {} split of {} is empty", split, config.train.dataset));
      std::vector<std::size_t> idx(n_images);
      for (std::size_t i = 0; i < n_images; ++i) idx[i] = i;
      Array<float> x;
      models::data::gather_rows(d.x, idx, x);
      Tape<float> tape;
      NoGradGuard<float> no_grad(tape);
      Array<float> mu;
      if (config.train.method == "avb") {  // the implicit encoder: one draw z = f_φ(x, ε) per image
        const auto avb = models::load_avb_run_networks(run_dir, which);
        Rng draw(seed);
        mu = avb->encode(tape.constant(x), draw).value();
      } else {
        mu = vae.encode(tape.constant(x)).mean().value();  // z = μ_φ(x)
      }
      const Array<float> r = decode_mean(vae, mu);
      const std::size_t per_row = std::min<std::size_t>(10, n_images);
      const std::size_t lines = (n_images + per_row - 1) / per_row;
      Array<float> grid_images = xt::zeros<float>({2 * lines * per_row, config.model.x_dim});
      for (std::size_t i = 0; i < n_images; ++i) {
        const std::size_t line = i / per_row, col = i % per_row;
        const std::size_t d = config.model.x_dim;
        std::copy_n(x.data() + i * d, d, grid_images.data() + (2 * line * per_row + col) * d);
        std::copy_n(r.data() + i * d, d, grid_images.data() + ((2 * line + 1) * per_row + col) * d);
      }
      models::data::write_png_grid(out, grid_images, rows, cols_px, per_row, 1, 2);
    } else {
      if (dims.size() != 2 || dims[0] >= zd || dims[1] >= zd || dims[0] == dims[1])
        throw Error(fmt::format("--dims {},{}: need two different latent dimensions below N_z = {}", dims.at(0),
                                dims.at(1), zd));
      Array<float> z = xt::zeros<float>({grid * grid, zd});
      for (std::size_t i = 0; i < grid; ++i)      // rows: second latent, top = high
        for (std::size_t j = 0; j < grid; ++j) {  // columns: first latent
          z(i * grid + j, dims[0]) = static_cast<float>(normal_quantile((double(j) + 0.5) / double(grid)));
          z(i * grid + j, dims[1]) = static_cast<float>(normal_quantile(1.0 - (double(i) + 0.5) / double(grid)));
        }
      models::data::write_png_grid(out, decode_mean(vae, z), rows, cols_px, grid, 0, 2);
    }
    std::fprintf(stderr, "tapir: wrote %s\n", out.c_str());
    return 0;
  }

  if (*em_gmm) return run_em_gmm(gmm_args);
  if (*em_ppca) return run_em_ppca(ppca_args);

  if (*plot) {
    plot_curves(load_series(plot_dirs), out, title, ymin_opt->count() ? std::optional<double>(ymin) : std::nullopt,
                ymax_opt->count() ? std::optional<double>(ymax) : std::nullopt);
    return 0;
  }

  if (*avb_mnist)
    return reproduce_avb_mnist(am_data, am_samples, am_latent, am_out, am_jobs, seed, am_points, am_steps, am_chains,
                               progress_mode);
  if (*toy) return reproduce_avb_toy(toy_out, toy_methods, toy_steps, toy_lr, seed, progress_mode);
  if (*fig3)
    return reproduce_fig3(data3, ntrain, samples3, out3.empty() ? std::string("runs/fig3") : out3, methods3, jobs3,
                          seed, ais_steps3, ais_chains3, ais_points3, progress_mode);
  if (*fig2 && out.empty()) out = fmt::format("runs/fig2-{}", dataset);
  if (*fig2)
    return reproduce_fig2(dataset, data, samples, out, latents, with_wake_sleep, jobs, seed, train_eval_size,
                          progress_mode);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return main_checked(argc, argv);
  } catch (const std::exception& e) {
    if (isatty(fileno(stderr))) std::fputs("\r\033[K", stderr);  // over a progress bar
    std::fprintf(stderr, "tapir: error: %s\n", e.what());
    return 1;
  }
}
