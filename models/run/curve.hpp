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

/// Reads curve.csv. A bound that was not finite is data, not damage: "-inf", "inf" and "nan" are read
/// as such (write_curve writes them so). Every field is parsed strictly (the whole field, no stray
/// characters); samples and epoch are non-negative whole numbers and samples increase row by row.
/// Throws tapir::Error naming the path, the line and the field.
/// Strict parsers of what tapir writes (curve rows, checkpoint metadata): a count is digits only (no sign,
/// hex or exponent; at most 18 digits), a real is the whole text as strtod reads it (inf, nan, subnormals).
bool parse_count(const std::string& s, long long& out);
bool parse_real(const std::string& s, double& out);

std::vector<CurvePoint> read_curve(const std::string& path);
void write_curve(const std::string& path, const std::vector<CurvePoint>& curve);

/// The first evaluation point after `after` samples (`total` when none comes before it; a value
/// > total when after ≥ total). Evaluation points are multiples of `eval_every`, or 8 log-spaced
/// points per decade from 10 batches, rounded up to whole batches; the last is always `total`.
/// O(1) time and memory whatever `total` is: the trainer asks for one point at a time.
long long next_eval_point(long long total, long long eval_every, std::size_t batch, long long after);

/// Every evaluation point, in order (next_eval_point from 0 to `total`): for tests and small budgets.
std::vector<long long> eval_schedule(long long total, long long eval_every, std::size_t batch);

}  // namespace tapir::models
