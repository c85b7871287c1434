// tapir/models/cli/commands.hpp — the command groups of `tapir`, one source file each. Each adds its
// subcommands and flags to the app and returns what to run when one of them was given; `globals`
// (the --progress flag) outlives them all.
#pragma once

#include <CLI/CLI.hpp>
#include <vector>

#include "models/cli/common.hpp"

namespace tapir::cli {

/// train.cpp: `train vae | wake-sleep | mcem | avb` and `train --resume`.
Command add_train_commands(CLI::App& app, const Globals& globals);
/// eval.cpp: `eval`.
Command add_eval_command(CLI::App& app);
/// pictures.cpp: `sample`, `reconstruct`, `manifold`.
std::vector<Command> add_picture_commands(CLI::App& app);
/// latent.cpp: `latent`, `interpolate`, `encode`.
std::vector<Command> add_latent_commands(CLI::App& app);
/// plot.cpp: `plot`.
Command add_plot_command(CLI::App& app);
/// em.cpp: `em gmm | ppca`.
Command add_em_commands(CLI::App& app);
/// reproduce.cpp: `reproduce fig2 | fig3 | avb-toy | avb-mnist`.
Command add_reproduce_commands(CLI::App& app, const Globals& globals);

}  // namespace tapir::cli
