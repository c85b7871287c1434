// `tapir reproduce fig2 | fig3 | avb-toy | avb-mnist`: the papers' experiments (models/experiments),
// with progress on stderr, the table on stdout and the figure drawn by gnuplot. An interrupted
// reproduction is continued by the same command: finished runs are kept, the others resume.
// `reproduce fig2 --plan` prints the runs as shell lines for a cluster instead, and `--collect` then only
// tabulates and draws them (models/experiments/plan.hpp).
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "models/cli/avb_plot.hpp"
#include "models/cli/commands.hpp"
#include "models/cli/gnuplot.hpp"
#include "models/cli/progress.hpp"
#include "models/experiments/avb_mnist.hpp"
#include "models/experiments/avb_toy.hpp"
#include "models/experiments/fig2.hpp"
#include "models/experiments/fig3.hpp"
#include "models/experiments/seeds.hpp"

namespace tapir::cli {

namespace {

namespace fs = std::filesystem;
namespace ex = models::experiments;

/// The table on stdout, where it is on stderr.
void print_table(const std::string& table, const std::string& path) {
  std::printf("%s", table.c_str());
  std::fprintf(stderr, "tapir: wrote %s\n", path.c_str());
}

std::vector<std::string> run_dirs(const std::vector<ex::RunOutcome>& runs) {
  std::vector<std::string> dirs;
  for (const auto& r : runs) dirs.push_back(r.job.dir);
  return dirs;
}

/// The program to name in a plan: this executable's absolute path (cluster nodes share it), else "tapir".
std::string this_program() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec || self.empty() ? "tapir" : self.string();
}

/// One series per configuration: a run's curve, or with several seeds their mean and min–max band.
std::vector<Series> fig2_series(const std::vector<ex::RunOutcome>& runs) {
  std::vector<Series> series;
  for (const auto& c : ex::fig2_configs(runs)) {
    std::vector<std::vector<models::CurvePoint>> curves;
    for (const auto& r : c.runs) {
      const fs::path csv = fs::path(r.job.dir) / "curve.csv";
      if (fs::exists(csv)) curves.push_back(models::read_curve(csv.string()));
    }
    if (curves.empty()) continue;
    const std::string method = c.method == "aevb" ? "AEVB" : c.method;
    Series s = ex::mean_series(fmt::format("{} N_z = {}", method, c.z_dim), curves);
    s.method = method;
    s.z_dim = c.z_dim;
    series.push_back(std::move(s));
  }
  ex::assign_styles(series);  // one colour per N_z across the combined figure and the panels
  return series;
}

int run_fig2(ex::Fig2Options o, bool plan, const Globals& g) {
  if (o.out.empty()) o.out = fmt::format("runs/fig2-{}", o.dataset);
  if (plan) {
    const auto lines = ex::fig2_plan(o, this_program());
    for (const auto& line : lines) std::printf("%s\n", line.c_str());
    std::fprintf(stderr,
                 "tapir: %zu runs (lines 1-%zu: each trains or resumes one run), then the command that collects "
                 "them (line %zu)\n",
                 lines.size() - 1, lines.size() - 1, lines.size());
    return 0;
  }
  if (o.jobs > 1) set_threads(1);  // one core per run
  const auto r = ex::reproduce_fig2(o, progress_observer(g.progress, o.jobs), &g_stop);
  if (!r.finished)
    return interrupted("the same tapir reproduce fig2 command: finished runs are kept, the others resume");
  print_table(r.table, r.table_path);
  const bool frey = o.dataset == "frey";
  const auto series = fig2_series(r.runs);
  PlotAxes axes;
  axes.xmin = 1e5;
  long long reach = 0;
  for (const auto& s : series)
    for (const auto& p : s.curve) reach = std::max(reach, p.samples);
  if (double(reach) > 10 * axes.xmin) {  // the paper's window where its x range is; a small budget's curves lie
    axes.ymin = frey ? 0 : -150;         // below it, and gnuplot's own range shows them
    axes.ymax = frey ? 1600 : -95;
  }
  const std::string seeds =
      o.seeds > 1 ? fmt::format("\nlines: the mean of {} seeds; shaded: their min-max of the test bound", o.seeds)
                  : std::string();
  const std::string hidden =
      fmt::format("{} hidden units{}", frey ? 200 : 500,
                  o.adagrad_accumulator >= 0 ? fmt::format(", Adagrad accumulator from {:g}", o.adagrad_accumulator)
                                             : std::string());
  const fs::path out(o.out);
  PlotLines lines;
  lines.train = !o.wake_sleep;  // with wake-sleep the train curves are in the per-N_z panels
  plot_curves(
      series, (out / fmt::format("fig2_{}.png", o.dataset)).string(),
      fmt::format("{} on {} (tapir), {}: {}{}", o.wake_sleep ? "AEVB and wake-sleep" : "AEVB", o.dataset, hidden,
                  o.wake_sleep ? "test bound (train: per-N_z panels)" : "thick test, thin train", seeds),
      axes, lines);
  if (o.wake_sleep)  // one panel per N_z, as in the paper, in the colour of its N_z
    for (std::size_t i = 0; i < series.size(); ++i) {
      const std::size_t z = series[i].z_dim;
      if (i > 0 && series[i - 1].z_dim == z) continue;  // fig2_jobs: each N_z's configurations in a row
      std::vector<Series> panel;
      for (const auto& s : series)
        if (s.z_dim == z) panel.push_back(s);
      plot_curves(panel, (out / fmt::format("fig2_{}_nz{}.png", o.dataset, z)).string(),
                  fmt::format("{}, N_z = {} (tapir), {}: thick test, thin train{}", o.dataset, z, hidden, seeds), axes);
    }
  return 0;
}

int run_fig3(const ex::Fig3Options& o, const Globals& g) {
  if (o.jobs > 1) set_threads(1);
  const auto r = ex::reproduce_fig3(o, progress_observer(g.progress, o.jobs), &g_stop);
  if (!r.finished)
    return interrupted("the same tapir reproduce fig3 command: finished runs are kept, the others resume");
  print_table(r.table, r.table_path);
  PlotAxes axes;
  axes.ylabel = "marginal log-likelihood (AIS)";
  axes.log_x = false;
  plot_curves(load_series(run_dirs(r.runs)), (fs::path(o.out) / fmt::format("fig3_n{}.png", o.ntrain)).string(),
              fmt::format("MNIST, N_train = {}, N_z = 3 (tapir): thick test, thin train", o.ntrain), axes);
  return 0;
}

int run_avb_toy(const ex::AvbToyOptions& o, const Globals& g) {
  const auto r = ex::reproduce_avb_toy(o, progress_observer(g.progress, 1), &g_stop);
  if (!r.finished) return interrupted("tapir reproduce avb-toy (it starts over)");
  print_table(r.table, r.table_path);
  return 0;
}

int run_avb_mnist(const ex::AvbMnistOptions& o, const Globals& g) {
  if (o.jobs > 1) set_threads(1);
  const auto r = ex::reproduce_avb_mnist(o, progress_observer(g.progress, o.jobs), &g_stop);
  if (!r.trained)
    return interrupted("the same tapir reproduce avb-mnist command: finished runs are kept, the others resume");
  if (!r.evaluated) return interrupted("the same tapir reproduce avb-mnist command (training is done)");
  print_table(r.table, r.table_path);
  std::fprintf(stderr, "tapir: wrote %s\n", r.ais_path.c_str());
  plot_avb_mnist(o, r);
  return 0;
}

struct ReproduceArgs {
  ex::Fig2Options fig2;
  ex::Fig3Options fig3;
  bool fig2_plan = false;
  std::string fig3_out;  // empty: Fig3Options' default
  ex::AvbToyOptions toy;
  ex::AvbMnistOptions avb_mnist;
};

}  // namespace

Command add_reproduce_commands(CLI::App& app, const Globals& g) {
  auto a = std::make_shared<ReproduceArgs>();
  auto* reproduce = app.add_subcommand("reproduce", "the paper's figures");
  auto* fig2 = reproduce->add_subcommand("fig2", "Figure 2: AEVB for every N_z of the paper's panel");
  reproduce->require_subcommand(1);

  auto* fig3 = reproduce->add_subcommand("fig3", "Figure 3: log p(x) vs samples, AEVB vs wake-sleep vs MCEM (N_z = 3)");
  auto& f3 = a->fig3;
  fig3->add_option("--ntrain", f3.ntrain, "training points (the paper: 1000 and 50000)")
      ->transform(kPositiveCount)
      ->capture_default_str();
  fig3->add_option("--data", f3.data_dir, "directory with MNIST")->required();
  fig3->add_option("--samples", f3.samples, "training samples per run")
      ->transform(kPositiveCount)
      ->capture_default_str();
  fig3->add_option("--methods", f3.methods, "any of aevb, wake-sleep, mcem")
      ->delimiter(',')
      ->check(CLI::IsMember({"aevb", "wake-sleep", "mcem"}));
  fig3->add_option("--out", a->fig3_out, "directory for the runs, the figure and the table (default: runs/fig3)");
  fig3->add_option("--jobs,-j", f3.jobs, "runs trained at once (MCEM's, the longest, first)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  fig3->add_option("--ais-steps", f3.ais_steps, "AIS temperatures per estimate")
      ->transform(kPositiveCount)
      ->capture_default_str();
  fig3->add_option("--ais-chains", f3.ais_chains, "AIS chains per point")
      ->transform(kPositiveCount)
      ->capture_default_str();
  fig3->add_option("--ais-points", f3.ais_points, "points of each split scored (the paper: 1000)")
      ->transform(kPositiveCount)
      ->capture_default_str();

  auto* toy = reproduce->add_subcommand("avb-toy", "AVB's toy figure: q(z|x) of four points, VAE vs AVB (PNG)");
  auto& t = a->toy;
  toy->add_option("--methods", t.methods, "any of vae, avb, avb-ac (adaptive contrast)")
      ->delimiter(',')
      ->check(CLI::IsMember({"vae", "avb", "avb-ac"}))
      ->capture_default_str();
  toy->add_option("--steps", t.steps, "Adam steps of batch 512 per method")
      ->transform(kPositiveCount)
      ->capture_default_str();
  toy->add_option("--lr", t.lr, "Adam's step size (the discriminator's: 5×)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  toy->add_option("--out", t.out, "directory for the plots and the table")->capture_default_str();
  toy->add_option("--seed", t.seed, "seed")->transform(kCount)->capture_default_str();

  auto* avb_mnist = reproduce->add_subcommand("avb-mnist", "VAE vs AVB vs AVB + adaptive contrast on MNIST (table)");
  auto& m = a->avb_mnist;
  avb_mnist->add_option("--data", m.data_dir, "directory with the MNIST files")->required();
  avb_mnist->add_option("--samples", m.samples, "training samples per run")
      ->transform(kPositiveCount)
      ->capture_default_str();
  avb_mnist->add_option("--latent", m.latent, "N_z")->transform(kPositiveCount)->capture_default_str();
  avb_mnist->add_option("--out", m.out, "directory for the runs and the table")->capture_default_str();
  avb_mnist->add_option("--jobs,-j", m.jobs, "runs trained at once")->check(CLI::Range(1, 64))->capture_default_str();
  avb_mnist->add_option("--ais-points", m.ais_points, "test points scored by AIS")
      ->transform(kPositiveCount)
      ->capture_default_str();
  avb_mnist->add_option("--ais-steps", m.ais_steps, "AIS temperatures")
      ->transform(kPositiveCount)
      ->capture_default_str();
  avb_mnist->add_option("--ais-chains", m.ais_chains, "AIS chains per point")
      ->transform(kPositiveCount)
      ->capture_default_str();
  avb_mnist->add_option("--seed", m.seed, "seed of every run")->transform(kCount)->capture_default_str();

  auto& f2 = a->fig2;
  fig2->add_option("--dataset", f2.dataset, "mnist | frey")
      ->check(CLI::IsMember({"mnist", "frey"}))
      ->capture_default_str();
  fig2->add_option("--data", f2.data_dir, "directory with the dataset's files")->required();
  fig2->add_option("--samples", f2.samples, "training samples per run")
      ->transform(kPositiveCount)
      ->capture_default_str();
  fig2->add_option("--out", f2.out, "directory for the runs, the figure and the table (default: runs/fig2-DATASET)");
  fig2->add_option("--latents", f2.latents, "N_z values (default: the paper's panel)")
      ->delimiter(',')
      ->transform(kPositiveCount);
  fig2->add_option("--jobs,-j", f2.jobs, "runs trained at once (one BLAS thread each when > 1), the longest first")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  fig2->add_option("--seed", f2.seed, "seed of each configuration's first run")
      ->transform(kCount)
      ->capture_default_str();
  fig2->add_option("--seeds", f2.seeds,
                   "runs per configuration, seeded SEED, SEED+2, SEED+4, ... (a run seeded s also draws from s+1); "
                   "with more than one: directories nzZ-seedS, tables of mean ± sample sd, plots of the mean "
                   "with a min-max band")
      ->check(CLI::Range(std::size_t(1), ex::kMaxSeeds))
      ->capture_default_str();
  fig2->add_flag(
      "--plan", a->fig2_plan,
      "print, without running anything, one shell line per run (it trains the run, or resumes it; the runs "
      "with the most work left first) and last the command that collects them (--collect): e.g. for a Slurm job array, "
      "sed -n \"${SLURM_ARRAY_TASK_ID}p\" plan.txt | sh, or: head -n -1 plan.txt | parallel -j4");
  fig2->add_flag("--collect", f2.collect,
                 "train nothing: tabulate and draw runs finished elsewhere (a plan's lines); fails naming every "
                 "run that is not finished")
      ->excludes("--plan");
  fig2->add_option("--train-eval-size", f2.train_eval_size, "training points in the train bound (0: all)")
      ->transform(kCount);
  fig2->add_flag("--wake-sleep", f2.wake_sleep, "also train wake-sleep for every N_z (the paper's baseline)");
  fig2->add_option("--adagrad-accumulator", f2.adagrad_accumulator,
                   "Adagrad's starting accumulator for every run (default: 0.01/M^2, the authors' 0.01 on their "
                   "batch-summed gradient; 0.01 is the damped start): use another --out than the default's runs")
      ->check(kNonNegative);

  const auto run = [a, &g, fig2, fig3, toy]() -> int {
    if (fig2->parsed()) return run_fig2(a->fig2, a->fig2_plan, g);
    if (fig3->parsed()) {
      if (!a->fig3_out.empty()) a->fig3.out = a->fig3_out;
      return run_fig3(a->fig3, g);
    }
    if (toy->parsed()) return run_avb_toy(a->toy, g);
    return run_avb_mnist(a->avb_mnist, g);
  };
  return {reproduce, run, true};
}

}  // namespace tapir::cli
