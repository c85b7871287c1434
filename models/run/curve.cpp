// tapir/models/run/curve.cpp — reading and writing curve.csv; the evaluation schedule.
#include "models/run/curve.hpp"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "autodiff/autodiff.hpp"
#include "nn/io/atomic_file.hpp"

namespace tapir::models {

std::vector<CurvePoint> read_curve(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("cannot open '{}'", path));
  std::string line;
  std::getline(in, line);
  if (line.rfind("samples,epoch,seconds,train_elbo,test_elbo", 0) != 0)
    throw Error(fmt::format("'{}': not a tapir curve (header '{}')", path, line));
  std::vector<CurvePoint> curve;
  for (int row = 2; std::getline(in, line); ++row) {
    if (line.empty()) continue;
    CurvePoint p;
    char c;
    std::istringstream s(line);
    if (!(s >> p.samples >> c >> p.epoch >> c >> p.seconds >> c >> p.train_elbo >> c >> p.test_elbo >> c >> p.beta >>
          c >> p.lr))
      throw Error(fmt::format("'{}' line {}: malformed row '{}'", path, row, line));
    curve.push_back(p);
  }
  return curve;
}

void write_curve(const std::string& path, const std::vector<CurvePoint>& curve) {
  std::string text = "samples,epoch,seconds,train_elbo,test_elbo,beta,lr\n";
  for (const auto& p : curve)
    text += fmt::format("{},{},{:.3f},{:.4f},{:.4f},{:.6g},{:.6g}\n", p.samples, p.epoch, p.seconds, p.train_elbo,
                        p.test_elbo, p.beta, p.lr);
  write_file_atomically(path, text);
}

std::vector<long long> eval_schedule(long long total, long long eval_every, std::size_t batch) {
  std::vector<long long> points;
  const long long b = static_cast<long long>(batch);
  const auto push = [&](long long s) {
    s = std::min(total, (s + b - 1) / b * b);  // whole batches
    if (points.empty() || s > points.back()) points.push_back(s);
  };
  if (eval_every > 0) {
    for (long long s = eval_every; s < total; s += eval_every) push(s);
  } else {
    const double first = 10.0 * double(b);
    for (int i = 0;; ++i) {
      const double s = first * std::pow(10.0, i / 8.0);
      if (s >= double(total)) break;
      push(static_cast<long long>(std::llround(s)));
    }
  }
  push(total);
  return points;
}

}  // namespace tapir::models
