// tapir/models/run/curve.hpp — curve.csv, one row per evaluation of a run, and when evaluations happen.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tapir::models {

/// One row of curve.csv:
///   samples,epoch,seconds,train_elbo,test_elbo,beta,lr,train_recon,train_kl,test_recon,test_kl,active_units
/// The last five split each bound into E_q[log p(x|z)] and KL(q(z|x) ‖ p(z)) (bound = recon − KL: the
/// curve's bounds are at β = 1 whatever the run's --beta or --warmup) and count the test set's active
/// units (models/run/active_units.hpp); older tapir wrote the first seven alone. An empty field is "not
/// available": a curve of log p(x) by AIS (MCEM, curve_metric "ais"), a model that cannot split its
/// bound (a user's model without elbo_terms), no proposal means (AVB), or a row older tapir wrote.
struct CurvePoint {
  long long samples = 0;
  long long epoch = 0;
  double seconds = 0;  // training wall time so far (evaluations excluded)
  double train_elbo = 0, test_elbo = 0, beta = 1, lr = 0;
  std::optional<double> train_recon, train_kl, test_recon, test_kl;
  std::optional<long long> active_units;
};

/// Reads curve.csv. A bound that was not finite is data, not damage: "-inf", "inf" and "nan" are read
/// as such (write_curve writes them so). Every field is parsed strictly (the whole field, no stray
/// characters); samples and epoch are non-negative whole numbers and samples increase row by row. A row
/// has the 7 fields of older tapir (up to lr: the rest not available) or all 12; an empty field among
/// the last five is "not available".
/// Throws tapir::Error naming the path, the line and the field.
/// Strict parsers of what tapir writes (curve rows, checkpoint metadata): a count is digits only (no sign,
/// hex or exponent; at most 18 digits), a real is the whole text as strtod reads it (inf, nan, subnormals).
bool parse_count(const std::string& s, long long& out);
bool parse_real(const std::string& s, double& out);

std::vector<CurvePoint> read_curve(const std::string& path);
/// Writes every row with all 12 columns (rows read from an older 7-column file get empty fields), atomically.
void write_curve(const std::string& path, const std::vector<CurvePoint>& curve);

/// The first evaluation point after `after` samples (`total` when none comes before it; a value
/// > total when after ≥ total). Evaluation points are multiples of `eval_every`, or 8 log-spaced
/// points per decade from 10 batches, rounded up to whole batches; the last is always `total`.
/// O(1) time and memory whatever `total` is: the trainer asks for one point at a time.
long long next_eval_point(long long total, long long eval_every, std::size_t batch, long long after);

/// How many evaluation points come after `after` samples (`total` included): exact up to `cap` points
/// (the work is that many next_eval_point calls), beyond that extrapolated at the spacing of the first `cap`
/// (only a schedule of more than `cap` linear points gets there). For a progress line's ETA.
long long eval_points_after(long long total, long long eval_every, std::size_t batch, long long after,
                            long long cap = 4096);

/// Every evaluation point, in order (next_eval_point from 0 to `total`): for tests and small budgets.
std::vector<long long> eval_schedule(long long total, long long eval_every, std::size_t batch);

}  // namespace tapir::models
