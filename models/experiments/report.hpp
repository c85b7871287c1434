// tapir/models/experiments/report.hpp — what the experiments' records are made of: times written as a
// reader wants them, and text files that are either whole or absent (a crash never leaves half a table).
#pragma once

#include <string>

namespace tapir::models::experiments {

/// "42s", "3m07s", "2h05m" (rounded to the second); "?" for a negative, NaN or infinite time.
std::string format_duration(double seconds);

/// Writes `text` to `path` through `path`.tmp and a rename; throws tapir::Error naming the path.
/// (The one such helper of the experiments and the command, until tapir::write_file_atomically in
/// nn/io/atomic_file.hpp takes its place.)
void write_text(const std::string& path, const std::string& text);

}  // namespace tapir::models::experiments
