// tapir/models/experiments/fig3.hpp — the AEVB paper's Figure 3: the marginal likelihood log p(x) against
// training samples for AEVB, wake-sleep and Monte Carlo EM on N_train MNIST points (N_z = 3, 100 hidden
// units). Every method's curve holds AIS estimates of log p(x), one estimator for all three (MCEM has no
// encoder and so no bound). What `tapir reproduce fig3` trains and tabulates; the caller draws the figure.
//
//   OUT/METHOD-nN/      one run per method        OUT/fig3_nN.md  the table: where every run ended
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "models/experiments/jobs.hpp"
#include "models/experiments/observer.hpp"

namespace tapir::models::experiments {

struct Fig3Options {
  std::string data_dir;                                               // where MNIST is
  std::string out = "runs/fig3";                                      // directory for the runs and the table
  std::size_t ntrain = 1000;                                          // training points (the paper: 1000, 50000)
  long long samples = 1'000'000;                                      // training samples per run
  std::vector<std::string> methods = {"aevb", "wake-sleep", "mcem"};  // any of these, in this order
  int jobs = 1;                                                       // runs trained at once
  std::uint64_t seed = 1;                                             // seed of every run
  std::size_t ais_steps = 100, ais_chains = 4;                        // AIS temperatures and chains per point
  std::size_t ais_points = 1000;                                      // points of each split scored
};

/// One run per method: N_z = 3, 100 hidden units, the first ntrain training points, AIS curves evaluated
/// 12 times along a linear axis (every samples/12, at least 100).
std::vector<RunJob> fig3_jobs(const Fig3Options& options);

struct Fig3Report {
  bool finished = false;          // false: stopped; calling again resumes the runs (no table then)
  std::vector<RunOutcome> runs;   // in the order of options.methods
  std::string table, table_path;  // markdown, written to OUT/fig3_nN.md
};

/// Trains (or resumes, or keeps) every run of fig3_jobs, MCEM's first (the longest), then writes the table.
/// `stop` as for run_jobs.
Fig3Report reproduce_fig3(const Fig3Options& options, const Observer& observer = {}, std::atomic<bool>* stop = nullptr);

/// The table: one row per run with a curve — method, samples, train and test log p(x), training time —
/// and a line saying how log p(x) was estimated.
std::string fig3_table(const Fig3Options& options, const std::vector<RunOutcome>& runs);

}  // namespace tapir::models::experiments
