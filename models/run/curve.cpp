// tapir/models/run/curve.cpp — reading and writing curve.csv; the evaluation schedule.
#include "models/run/curve.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "autodiff/autodiff.hpp"
#include "nn/io/atomic_file.hpp"
#include "nn/io/read_file.hpp"

namespace tapir::models {

namespace {

constexpr const char* kColumns[] = {"samples", "epoch",       "seconds",  "train_elbo", "test_elbo", "beta",
                                    "lr",      "train_recon", "train_kl", "test_recon", "test_kl",   "active_units"};
constexpr std::size_t kOldColumns = 7;  // up to lr: what tapir wrote before the bound's terms
constexpr std::size_t kAllColumns = std::size(kColumns);

/// The comma-separated fields of one line.
std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= line.size(); ++i)
    if (i == line.size() || line[i] == ',') {
      fields.push_back(line.substr(start, i - start));
      start = i + 1;
    }
  return fields;
}

/// `text` for a message: control characters (a CR, a NUL) as \xNN, at most 80 characters.
std::string shown(const std::string& text) {
  std::string out;
  for (const char c : text.substr(0, 80)) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    else
      out += c;
  }
  if (text.size() > 80) out += fmt::format("… ({} characters)", text.size());
  return out;
}

long long round_up(long long s, long long b) { return (s + b - 1) / b * b; }

}  // namespace

/// A non-negative whole number: digits only (no sign, no hex, no exponent).
bool parse_count(const std::string& s, long long& out) {
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  out = std::stoll(s);
  return true;
}

/// A decimal number as strtod reads it, including inf and nan; the whole field must be used.
bool parse_real(const std::string& s, double& out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s.front()))) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtod(s.c_str(), &end);
  // ERANGE with a result below 1 in magnitude is an underflow: a subnormal (an lr of 1e-310) read exactly
  // enough; an overflow is not what write_curve writes (it writes inf).
  return end == s.c_str() + s.size() && (errno != ERANGE || std::fabs(out) < 1);
}

std::vector<CurvePoint> read_curve(const std::string& path) {
  if (std::filesystem::exists(path)) check_regular_file(path);  // a directory or a FIFO is named as one
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("cannot open '{}'", path));
  std::string line;
  std::getline(in, line);
  if (line.rfind("samples,epoch,seconds,train_elbo,test_elbo", 0) != 0)
    throw Error(fmt::format("'{}': not a tapir curve (header '{}')", path, shown(line)));
  std::vector<CurvePoint> curve;
  for (int row = 2; std::getline(in, line); ++row) {
    if (line.empty()) continue;
    const auto f = split(line);
    if (f.size() != kOldColumns && f.size() != kAllColumns)
      throw Error(fmt::format("'{}' line {}: malformed row '{}' ({} fields, expected {} or {})", path, row, shown(line),
                              f.size(), kOldColumns, kAllColumns));
    CurvePoint p;
    double* reals[] = {&p.seconds, &p.train_elbo, &p.test_elbo, &p.beta, &p.lr};
    const auto bad = [&](int column) {
      return Error(fmt::format("'{}' line {}: malformed {} '{}' in row '{}'", path, row, kColumns[column],
                               shown(f[column]), shown(line)));
    };
    if (!parse_count(f[0], p.samples)) throw bad(0);
    if (!parse_count(f[1], p.epoch)) throw bad(1);
    for (int i = 0; i < 5; ++i)
      if (!parse_real(f[2 + i], *reals[i])) throw bad(2 + i);
    if (f.size() == kAllColumns) {  // empty: not available
      std::optional<double>* terms[] = {&p.train_recon, &p.train_kl, &p.test_recon, &p.test_kl};
      for (int i = 0; i < 4; ++i) {
        double v = 0;
        if (f[7 + i].empty()) continue;
        if (!parse_real(f[7 + i], v)) throw bad(7 + i);
        *terms[i] = v;
      }
      long long units = 0;
      if (!f[11].empty()) {
        if (!parse_count(f[11], units)) throw bad(11);
        p.active_units = units;
      }
    }
    if (!curve.empty() && p.samples <= curve.back().samples)
      throw Error(fmt::format("'{}' line {}: samples {} do not increase (the row before has {})", path, row, p.samples,
                              curve.back().samples));
    curve.push_back(p);
  }
  return curve;
}

void write_curve(const std::string& path, const std::vector<CurvePoint>& curve) {
  std::string text;
  for (const char* c : kColumns) text += text.empty() ? c : std::string(",") + c;
  text += "\n";
  // fmt writes a bound that is not finite as -inf, inf or nan: read_curve reads those back. An absent
  // term is an empty field.
  const auto term = [](const std::optional<double>& v) { return v ? fmt::format("{:.4f}", *v) : std::string(); };
  for (const auto& p : curve)
    text +=
        fmt::format("{},{},{:.3f},{:.4f},{:.4f},{:.6g},{:.6g},{},{},{},{},{}\n", p.samples, p.epoch, p.seconds,
                    p.train_elbo, p.test_elbo, p.beta, p.lr, term(p.train_recon), term(p.train_kl), term(p.test_recon),
                    term(p.test_kl), p.active_units ? std::to_string(*p.active_units) : std::string());
  write_file_atomically(path, text);
}

long long next_eval_point(long long total, long long eval_every, std::size_t batch, long long after) {
  if (after >= total) return total + 1;
  const long long b = static_cast<long long>(batch);
  if (after < 0) after = 0;
  if (eval_every > 0) {
    // The points are round_up(k·eval_every) for k·eval_every < total. round_up(x) > after exactly when
    // x > b·floor(after / b), so the first k past `after` is:
    const long long k = (after / b * b) / eval_every + 1;
    if (k > (total - 1) / eval_every) return total;  // k·eval_every ≥ total (without overflowing)
    return std::min(total, round_up(k * eval_every, b));
  }
  // Log-spaced: s_i = 10 b · 10^(i/8) while s_i < total, each rounded to whole batches. Start a few
  // points below `after` (round_up adds less than b ≤ s_i / 10, so every earlier point is ≤ after).
  const double first = 10.0 * double(b);
  int i = 0;
  if (double(after) > first) i = std::max(0, static_cast<int>(std::floor(8.0 * std::log10(double(after) / first))) - 2);
  for (;; ++i) {
    const double s = first * std::pow(10.0, i / 8.0);  // the expression the schedule always used
    if (s >= double(total)) return total;
    const long long point = std::min(total, round_up(static_cast<long long>(std::llround(s)), b));
    if (point > after) return point;
  }
}

long long eval_points_after(long long total, long long eval_every, std::size_t batch, long long after, long long cap) {
  long long n = 0, s = after, first = 0;
  while (n < cap) {
    s = next_eval_point(total, eval_every, batch, s);
    if (s > total) return n;
    if (++n == 1) first = s;
  }
  if (s >= total || n < 2) return n;
  // more than `cap` points: the rest at the spacing of the first `cap` (linear schedules only get here)
  const double per_sample = double(n - 1) / double(s - first);
  return n + static_cast<long long>(std::ceil(per_sample * double(total - s)));
}

std::vector<long long> eval_schedule(long long total, long long eval_every, std::size_t batch) {
  std::vector<long long> points;
  for (long long s = next_eval_point(total, eval_every, batch, 0); s <= total;
       s = next_eval_point(total, eval_every, batch, s))
    points.push_back(s);
  return points;
}

}  // namespace tapir::models
