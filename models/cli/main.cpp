// tapir — the command: flags in, library calls out (tapir::models). Every command reads or writes a run
// directory (models/vae/train.hpp); errors become one line on stderr and a non-zero exit.
//
//   tapir train vae --dataset mnist --data DIR --latent 20 --samples 10000000 --out runs/mnist-z20
//   tapir train --resume runs/mnist-z20 [--samples N]
//   tapir eval runs/mnist-z20 --split test --importance-samples 5000
//   tapir sample | reconstruct | manifold runs/mnist-z20 -o picture.png
//   tapir latent | interpolate runs/mnist-z20 -o picture.png;  tapir encode runs/mnist-z20 -o codes.csv
//   tapir plot runs/a runs/b -o fig.png
//   tapir reproduce fig2 --dataset mnist --data DIR --samples 10000000 --out runs/fig2-mnist
//
// One file per command group (commands.hpp); progress.hpp and gnuplot.hpp are how results are shown.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "autodiff/blas.hpp"
#include "models/cli/commands.hpp"

namespace {

using namespace tapir::cli;

int main_checked(int argc, char** argv) {
  CLI::App app{"tapir: reverse-mode autodiff and variational-inference models (AEVB) over xtensor"};
  app.require_subcommand(1);
  app.fallthrough();  // --progress may come anywhere on the line (subcommands inherit this)
  app.set_version_flag("--version", [] { return "tapir 0.1.0\nBLAS: " + tapir::blas_summary(); });
  Globals globals;
  app.add_option("--progress", globals.progress, "auto | bar | lines | none")
      ->check(CLI::IsMember({"auto", "bar", "lines", "none"}))
      ->capture_default_str();

  std::vector<Command> commands;  // in the order `tapir --help` lists them
  commands.push_back(add_train_commands(app, globals));
  commands.push_back(add_eval_command(app));
  for (auto& c : add_picture_commands(app)) commands.push_back(c);
  for (auto& c : add_latent_commands(app)) commands.push_back(c);
  commands.push_back(add_plot_command(app));
  commands.push_back(add_em_commands(app));
  commands.push_back(add_reproduce_commands(app, globals));

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

  for (const auto& c : commands) {
    if (!c.app->parsed()) continue;
    if (c.stoppable) catch_stop_signals();  // the commands that can stop cleanly at a checkpoint
    return c.run();
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const int status = main_checked(argc, argv);
    // What a command printed (eval's JSON, a summary) must have reached stdout: a full disk is an error.
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
      std::fprintf(stderr, "tapir: error: cannot write to standard output: %s\n", std::strerror(errno));
      return status != 0 ? status : 1;
    }
    return status;
  } catch (const std::filesystem::filesystem_error& e) {  // one sentence naming the path, not the library's text
    if (isatty(fileno(stderr))) std::fputs("\r\033[K", stderr);
    std::fprintf(stderr, "tapir: error: cannot use '%s': %s\n", e.path1().c_str(), e.code().message().c_str());
    return 1;
  } catch (const std::exception& e) {
    if (isatty(fileno(stderr))) std::fputs("\r\033[K", stderr);  // over a progress bar
    std::fprintf(stderr, "tapir: error: %s\n", e.what());
    return 1;
  }
}
