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

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "autodiff/blas.hpp"
#include "autodiff/version.hpp"
#include "models/cli/commands.hpp"

namespace {

using namespace tapir::cli;

/// How many one-character edits (insert, delete, replace, swap two neighbours) turn a into b.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

/// The closest of `names` to `word` when it is a likely typo (at most 2 edits, and at most a third of the
/// name's length, 1 for short names), all of them if several are as close ("--seed or --seeds"), else "".
std::string closest(const std::string& word, const std::vector<std::string>& names) {
  std::vector<std::string> best;
  std::size_t best_d = 3;
  for (const auto& n : names) {
    const std::size_t d = edit_distance(word, n);
    if (d > std::max<std::size_t>(1, n.size() / 3) || d > best_d) continue;
    if (d < best_d) best.clear(), best_d = d;
    if (std::find(best.begin(), best.end(), n) == best.end()) best.push_back(n);
  }
  std::string out;
  for (std::size_t i = 0; i < best.size(); ++i) out += (i == 0 ? "" : i + 1 == best.size() ? " or " : ", ") + best[i];
  return out;
}

/// For a line CLI11 refused: "did you mean" for a mistyped flag of the command given (or of a command
/// above it: flags fall through) or a mistyped command; "" when no word on the line looks like one.
std::string typo_hint(const CLI::App& app, int argc, char** argv) {
  std::vector<const CLI::App*> chain{&app};  // tapir, then the parsed command and subcommand
  while (!chain.back()->get_subcommands().empty()) chain.push_back(chain.back()->get_subcommands().front());
  std::vector<std::string> flags, commands;
  for (const CLI::App* a : chain) {
    for (const CLI::Option* o : a->get_options())
      for (const auto& l : o->get_lnames()) flags.push_back("--" + l);
  }
  for (const CLI::App* s : chain.back()->get_subcommands({})) commands.push_back(s->get_name());
  std::string command = "tapir";
  for (std::size_t i = 1; i < chain.size(); ++i) command += " " + chain[i]->get_name();
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (word.rfind("--", 0) == 0) {
      word = word.substr(0, word.find('='));
      if (std::find(flags.begin(), flags.end(), word) != flags.end()) continue;
      const std::string guess = closest(word, flags);
      if (!guess.empty()) return fmt::format("`{}` has no flag {}: did you mean {}?", command, word, guess);
    } else if (!commands.empty() && word.rfind('-', 0) != 0) {
      const std::string guess = closest(word, commands);
      if (!guess.empty() && guess != word && guess.find(' ') == std::string::npos)
        return fmt::format("`{}` has no command '{}': did you mean `{} {}`?", command, word, command, guess);
    }
  }
  return "";
}

int main_checked(int argc, char** argv) {
  CLI::App app{"tapir: reverse-mode autodiff and variational-inference models (AEVB) over xtensor"};
  app.require_subcommand(1);
  app.fallthrough();  // --progress may come anywhere on the line (subcommands inherit this)
  app.set_version_flag("--version", [] { return tapir::version_string() + "\nBLAS: " + tapir::blas_summary(); });
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
    // words CLI11 did not expect, or a command or flag it missed: perhaps a typo (a bad value keeps its message)
    const bool unknown = dynamic_cast<const CLI::ExtrasError*>(&e) || dynamic_cast<const CLI::RequiredError*>(&e);
    const std::string hint = unknown ? typo_hint(app, argc, argv) : "";
    std::fprintf(stderr, "tapir: error: %s (see tapir --help, or tapir COMMAND --help)\n",
                 hint.empty() ? e.what() : hint.c_str());
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
