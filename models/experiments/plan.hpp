// tapir/models/experiments/plan.hpp — a reproduction as a list of shell commands, one per run, for a
// cluster's scheduler (a Slurm job array: line i of the plan is task i) or GNU parallel: each line trains
// its run into its directory, or resumes it there when an earlier attempt was cut off, so any line can be
// run again; the reproduction's own command with --collect then tabulates and draws the finished runs.
#pragma once

#include <string>

#include "models/experiments/jobs.hpp"

namespace tapir::models::experiments {

/// `text` as one word for a POSIX shell: as it is when it has only [A-Za-z0-9_@%+=:,./-] (and is not
/// empty), else in single quotes with every ' written '\''.
std::string shell_quote(const std::string& text);

/// The command line that trains job's run with `tapir train` (the program `tapir`, e.g. its absolute path)
/// or, when its directory already holds a run (config.json), continues it with `tapir train --resume`:
///   if [ -e DIR/config.json ]; then TAPIR train --resume DIR; else TAPIR train vae --dataset … --out DIR; fi
/// The directory and data are made absolute, so the line works from any working directory. Throws
/// tapir::Error naming the run and the first setting (config key) when the job's configuration holds
/// something `tapir train`'s flags cannot give (the paper's setup plus method, data, N_z, hidden layers,
/// budget, seed, train-bound size, evaluation spacing and AIS settings).
std::string train_command(const RunJob& job, const std::string& tapir);

}  // namespace tapir::models::experiments
