// tapir/models/experiments/jobs.hpp — training the runs of a reproduction, several at once, so that the
// same call finishes what an interrupted one began: a run that reached its budget is kept, one with a
// checkpoint resumes, one without starts over. The runs live in their directories (models/vae/train.hpp);
// RunJob and RunOutcome only name them.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "models/experiments/observer.hpp"
#include "models/train/run.hpp"

namespace tapir::models::experiments {

/// One run of a reproduction: a label for its progress, its directory, and the configuration a fresh run
/// starts from (config.train.samples is the budget it is trained, or resumed, to).
struct RunJob {
  std::string label, dir;
  VaeRunConfig config;
};

/// Trains every job, `jobs` at once (each on a thread of its own; the caller chooses BLAS's threads, one
/// per run being polite when jobs > 1). Runs are taken in order; progress goes to observer.start(i, label).
/// Setting `*stop` (e.g. from a signal handler) ends every run at its next step with a checkpoint and
/// starts no new one. An error in one run sets `*stop` too, so the others stop, and is thrown as
/// tapir::Error "LABEL: message" once every thread is done (the first one, when several fail).
/// Returns false when stopped, true when every run reached its budget. Throws when jobs < 1.
bool run_jobs(const std::vector<RunJob>& runs, int jobs, const Observer& observer = {},
              std::atomic<bool>* stop = nullptr);

/// Whether job's run is done: its directory holds a run whose curve reached config.train.samples (what
/// run_jobs keeps as it is). Throws naming the config.json when the directory holds a run of another
/// configuration (the data directory and the budget may differ): run_jobs neither keeps nor resumes it.
bool job_finished(const RunJob& job);
/// Whether job's run is finished on record only: its directory holds no checkpoint but the config.json of
/// this job's configuration and a curve.csv that reached config.train.samples. That is what a results page
/// keeps of a run (docs/results/runs), and all that Figure 2's table and curves read; a reproduction then
/// collects it beside runs trained here. Throws naming the config.json when it records another
/// configuration (the data directory and the budget may differ).
bool job_recorded(const RunJob& job);
/// The jobs that are not on record (job_recorded): what a reproduction trains, keeping the others as they are.
std::vector<RunJob> not_recorded(const std::vector<RunJob>& jobs);
/// The order to train jobs in when there are fewer slots than runs: the most work left first, so that no
/// long run starts last while the other slots go idle (longest processing time first). A run's work is the
/// samples it has left (its budget less its curve's last point) × its networks' multiply-adds per sample
/// × its method's cost per sample relative to AEVB's, measured on MNIST (wake-sleep 1.6, MCEM 8). Stable:
/// runs of equal work keep their order.
std::vector<RunJob> longest_first(std::vector<RunJob> jobs);
/// "finished", "not started", "no evaluation yet" or "N of S samples": for messages about a run.
std::string job_state(const RunJob& job);

/// Where a run ended: its job and the last row of its curve.csv (none before the first evaluation).
struct RunOutcome {
  RunJob job;
  std::optional<CurvePoint> last;
};

/// The outcome of every job, read from its directory.
std::vector<RunOutcome> read_outcomes(const std::vector<RunJob>& runs);

}  // namespace tapir::models::experiments
