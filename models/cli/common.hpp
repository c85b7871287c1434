// tapir/models/cli/common.hpp — what every command group of `tapir` shares: number validators with short
// messages, the stop flag that Ctrl-C sets, BLAS's thread count, and the one message an interrupted
// command ends with. Command groups register themselves through the Command they return.
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace tapir::cli {

/// A positive, finite number (CLI11's own checks print the whole range of a double).
extern const CLI::Validator kPositive;
/// A non-negative, finite number.
extern const CLI::Validator kNonNegative;
/// Whole numbers, also written as 1e7: rewritten to plain digits before CLI11 converts them.
extern const CLI::Validator kCount, kPositiveCount;
/// A count of at most `limit` (after kCount or kPositiveCount): "'N' is more than LIMIT, the most WHAT allows".
CLI::Validator at_most(std::uint64_t limit, const std::string& what);
/// A file name ending in `ext` (".png", ".csv"; any case), else "'S' is not a KIND file name (expected NAME.ext)".
CLI::Validator file_name_with(const std::string& ext, const std::string& kind);
/// An output picture's name: NAME.png (so `-o RUN/config.json` or `-o /dev/null` cannot replace a file
/// that is not a picture).
extern const CLI::Validator kPngPath;

/// What the whole command line shares: the global --progress flag.
struct Globals {
  std::string progress = "auto";  // auto | bar | lines | none
};

/// One command (or group) after parsing: `app` was given on the line when app->parsed(); `run` does it and
/// returns the exit status. `stoppable` commands end cleanly at a checkpoint on SIGINT/SIGTERM.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
  bool stoppable = false;
};

/// Set by SIGINT/SIGTERM once catch_stop_signals() was called: training stops after its step.
extern std::atomic<bool> g_stop;
/// The first SIGINT or SIGTERM sets g_stop; a second ends the process at once.
void catch_stop_signals();

/// After Ctrl-C: says how to continue (`how` is the command that does) and returns the exit status 130.
int interrupted(const std::string& how);

/// Every thread count of the process: tapir's pool (elementwise passes, evaluation) and the products.
/// `reproduce --jobs N` runs N runs side by side, one core each.
void set_threads(int n);

}  // namespace tapir::cli
