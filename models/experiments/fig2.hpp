// tapir/models/experiments/fig2.hpp — the AEVB paper's Figure 2: the lower bound against training
// samples, one AEVB run per latent dimension N_z (and, as the paper's baseline, one wake-sleep run each),
// in the paper's setup (App. C) on MNIST or Frey Face, each configuration once or with several seeds.
// What `tapir reproduce fig2` trains (or plans, for a cluster) and tabulates; drawing the figure is the
// caller's (the command plots the runs' curves with gnuplot).
//
//   one seed:  OUT/nzZ/  AEVB with N_z = Z        OUT/ws-nzZ/  wake-sleep with N_z = Z (with wake_sleep)
//   N seeds:   OUT/nzZ-seedS/, OUT/ws-nzZ-seedS/  for S = run_seed(seed, k), k = 0 … N − 1 (seeds.hpp)
//   OUT/fig2_DATASET.md  the table: where every configuration ended (mean ± sd over its seeds)
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "models/experiments/jobs.hpp"
#include "models/experiments/observer.hpp"

namespace tapir::models::experiments {

struct Fig2Options {
  std::string dataset = "mnist";     // mnist | frey (any dataset paper_vae_setup knows)
  std::string data_dir;              // where the dataset's files are
  std::string out;                   // directory for the runs and the table (required)
  long long samples = 10'000'000;    // training samples per run
  std::vector<std::size_t> latents;  // N_z values; empty: the paper's panel (fig2_latents)
  bool wake_sleep = false;           // also a wake-sleep run for every N_z
  int jobs = 1;                      // runs trained at once
  std::uint64_t seed = 1;            // seed of every configuration's first run
  std::size_t seeds = 1;             // runs per configuration, seeded run_seed(seed, k) (1 … kMaxSeeds)
  std::size_t train_eval_size = 0;   // training points in the train bound (0: all)
  // Adagrad's starting accumulator for every run (both methods); < 0: the setup's (0.01/M², the authors'
  // 0.01 on their batch-summed gradient). 0.01 is the damped start under which wake-sleep leaves Frey
  // Face's z-ignoring plateau (docs/results/fig2.md). Recorded in each run's config.json.
  double adagrad_accumulator = -1;
  bool collect = false;  // train nothing: tabulate runs finished elsewhere (fig2_plan's lines)
};

/// The paper's panel: N_z ∈ {2, 5, 10, 20} for Frey Face, {3, 5, 10, 20, 200} otherwise.
std::vector<std::size_t> fig2_latents(const std::string& dataset);

/// The runs: N_z ascending (duplicates once), AEVB before wake-sleep for each, each configuration's seeds
/// in order, in the paper's setup with the options' budget, seed and data. Throws when options.out is
/// empty or options.seeds is outside 1 … kMaxSeeds.
std::vector<RunJob> fig2_jobs(const Fig2Options& options);

/// The runs of one configuration (N_z, method), in fig2_jobs' order.
struct Fig2Config {
  std::size_t z_dim = 0;
  std::string method;  // aevb | wake-sleep
  std::vector<RunOutcome> runs;
};
/// The outcomes grouped by configuration, in the order of their first run.
std::vector<Fig2Config> fig2_configs(const std::vector<RunOutcome>& runs);

/// The plan for a cluster: one line per run of fig2_jobs (train_command, plan.hpp), then the command that
/// collects them (`TAPIR reproduce fig2 … --collect` with these options). `tapir` names the program;
/// the output directory and data are made absolute.
std::vector<std::string> fig2_plan(const Fig2Options& options, const std::string& tapir);

struct Fig2Report {
  bool finished = false;          // false: stopped; calling again resumes the runs (no table then)
  std::vector<RunOutcome> runs;   // in fig2_jobs' order
  std::string table, table_path;  // markdown, written to OUT/fig2_DATASET.md
};

/// Trains (or resumes, or keeps) every run of fig2_jobs, then writes the table of where each
/// configuration ended. A run finished on record only (job_recorded: its config.json and curve.csv,
/// without checkpoints, e.g. copied from docs/results/runs) is kept too, so runs of several sessions or
/// machines combine. `stop` as for run_jobs. With options.collect nothing is trained: throws, naming
/// every unfinished run and its state, unless all are finished.
Fig2Report reproduce_fig2(const Fig2Options& options, const Observer& observer = {}, std::atomic<bool>* stop = nullptr);

/// The table: one row per configuration with a curve — N_z, method, samples, train and test bound,
/// training time. With several seeds: a column of how many runs the row holds, the bounds as mean ± sample
/// standard deviation, the mean time, and a line below saying so and naming the seeds.
std::string fig2_table(const std::string& dataset, const std::vector<RunOutcome>& runs);

}  // namespace tapir::models::experiments
