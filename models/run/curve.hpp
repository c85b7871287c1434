// tapir/models/run/curve.hpp — curve.csv, one row per evaluation of a run, and when evaluations happen.
#pragma once

#include <string>
#include <vector>

namespace tapir::models {

/// One row of curve.csv.
struct CurvePoint {
  long long samples = 0;
  long long epoch = 0;
  double seconds = 0;  // training wall time so far (evaluations excluded)
  double train_elbo = 0, test_elbo = 0, beta = 1, lr = 0;
};

std::vector<CurvePoint> read_curve(const std::string& path);
void write_curve(const std::string& path, const std::vector<CurvePoint>& curve);

/// Evaluation points: multiples of `eval_every`, or 8 log-spaced points per decade from 10 batches
/// (rounded to whole batches); always ends with `total`.
std::vector<long long> eval_schedule(long long total, long long eval_every, std::size_t batch);

}  // namespace tapir::models
