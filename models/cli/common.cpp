#include "models/cli/common.hpp"

#include "autodiff/blas.hpp"
#include "autodiff/parallel.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>

namespace tapir::cli {

namespace {

CLI::Validator number_validator(bool zero_allowed) {
  return CLI::Validator(
      [zero_allowed](std::string& s) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (end == s.c_str() || *end != '\0' || !(zero_allowed ? v >= 0 : v > 0) || !std::isfinite(v))
          return fmt::format("'{}' is not a {} number", s, zero_allowed ? "non-negative" : "positive");
        return "";
      },
      zero_allowed ? "NON-NEGATIVE" : "POSITIVE");
}

CLI::Validator count_validator(bool positive) {
  return CLI::Validator(
      [positive](std::string& s) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (end == s.c_str() || *end != '\0' || std::isnan(v) || v < 0 || v != std::floor(v) || (positive && v == 0) ||
            s.find('-') == 0)
          return fmt::format("'{}' is not a {} whole number", s, positive ? "positive" : "non-negative");
        if (v > 9e18) return fmt::format("'{}' is too large (at most 9e18)", s);
        // Digits stay as typed (a double would round 99999999999999999); 1e7 becomes 10000000.
        if (s.find_first_not_of("0123456789") != std::string::npos) s = fmt::format("{:.0f}", v);
        return "";
      },
      positive ? "COUNT>0" : "COUNT");
}

}  // namespace

CLI::Validator file_name_with(const std::string& ext, const std::string& kind) {
  return CLI::Validator(
      [ext, kind](std::string& s) -> std::string {
        const std::string name = s.substr(s.find_last_of('/') + 1);
        std::string got = name.size() > ext.size() ? name.substr(name.size() - ext.size()) : "";
        for (char& c : got) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (got != ext) return fmt::format("'{}' is not a {} file name (expected NAME{})", s, kind, ext);
        return "";
      },
      "NAME" + ext);
}

const CLI::Validator kPngPath = file_name_with(".png", "PNG");

CLI::Validator at_most(std::uint64_t limit, const std::string& what) {
  return CLI::Validator(
      [limit, what](std::string& s) -> std::string {
        const double v = std::strtod(s.c_str(), nullptr);
        if (v > static_cast<double>(limit))
          return fmt::format("'{}' is more than {}, the most {} allows", s, limit, what);
        return "";
      },
      fmt::format("<= {}", limit));
}

namespace {

extern "C" void on_signal(int sig) {
  g_stop.store(true);         // training stops after this step, with a checkpoint
  std::signal(sig, SIG_DFL);  // a second Ctrl-C ends the process at once
}

}  // namespace

const CLI::Validator kPositive = number_validator(false);
const CLI::Validator kNonNegative = number_validator(true);
const CLI::Validator kCount = count_validator(false), kPositiveCount = count_validator(true);

std::atomic<bool> g_stop{false};

void catch_stop_signals() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

int interrupted(const std::string& how) {
  std::fprintf(stderr, "tapir: interrupted; the last checkpoint is saved: continue with `%s`\n", how.c_str());
  return 130;
}

void set_threads(int n) {
  tapir::set_num_threads(static_cast<std::size_t>(std::max(n, 1)));
  tapir::set_blas_threads(n);
}

}  // namespace tapir::cli
