#include "models/experiments/report.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>

#include "autodiff/array.hpp"
#include "nn/io/atomic_file.hpp"

namespace tapir::models::experiments {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long t = std::lround(seconds);
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

void write_text(const std::string& path, const std::string& text) { write_file_atomically(path, text); }

}  // namespace tapir::models::experiments
