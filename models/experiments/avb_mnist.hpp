// tapir/models/experiments/avb_mnist.hpp — a VAE, AVB and AVB with adaptive contrast on MNIST with the
// same decoder (500 tanh units, Bernoulli, dynamic binarisation) and the same optimizer (Adam 1e-3),
// compared by their bounds and by the decoder's log p(x) from AIS, which needs no q and so scores all
// three alike. What `tapir reproduce avb-mnist` trains and tabulates.
//
//   OUT/vae/  OUT/avb/  OUT/avb-ac/   the runs          OUT/avb_mnist.md  the table
//   OUT/ais.csv   every AIS estimate made so far, one per run and budget: calling again with a larger
//                 --samples resumes the runs and adds a point, so the figure shows log p(x) along the curve
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/experiments/jobs.hpp"
#include "models/experiments/observer.hpp"
#include "models/run/curve.hpp"

namespace tapir::models::experiments {

struct AvbMnistOptions {
  std::string data_dir;                // where MNIST is
  std::string out = "runs/avb-mnist";  // directory for the runs and the table
  long long samples = 1'000'000;       // training samples per run
  std::size_t latent = 8;              // N_z
  int jobs = 1;                        // runs trained at once
  std::uint64_t seed = 1;              // seed of every run (AIS: seed + 11, IWAE: seed + 12)
  std::size_t ais_points = 200;        // test points scored by AIS (and IWAE)
  std::size_t ais_steps = 300, ais_chains = 8;
};

/// The three runs, vae, avb and avb-ac, in that order; their bounds on 10 000 points of each split.
std::vector<RunJob> avb_mnist_jobs(const AvbMnistOptions& options);

struct AvbMnistRow {
  RunOutcome run;
  std::string name;               // VAE | AVB | AVB + adaptive contrast
  double ais_log_likelihood = 0;  // test log p(x) by AIS, averaged over the points
  std::optional<double> iwae;     // test log p(x) by IWAE, K = 1000 (the VAE only: AVB's q has no density)
};

/// One AIS estimate of a run's test log p(x): the run (its directory's name: vae, avb, avb-ac), the
/// samples its checkpoint had been trained on, the estimate, and how it was made.
struct AisPoint {
  std::string run;
  long long samples = 0;
  double log_likelihood = 0;
  std::size_t points = 0, steps = 0, chains = 0;
};

/// OUT/ais.csv ("run,samples,ais_log_px,points,steps,chains"). A missing file is no estimate yet (an
/// OUT written before tapir kept them). Throws tapir::Error naming the path and line of a malformed row.
std::vector<AisPoint> read_ais_points(const std::string& path);

/// Writes the points, ordered by run (vae, avb, avb-ac, others by name) and samples, through a
/// temporary file and a rename.
void write_ais_points(const std::string& path, std::vector<AisPoint> points);

/// `points` with `p` added; an earlier estimate of the same run at the same samples is replaced.
std::vector<AisPoint> with_ais_point(std::vector<AisPoint> points, const AisPoint& p);

/// The part of the figure where the methods differ. x: from `reach` / 30 (reach: the most samples any
/// curve has; the first 1.5 decades are the climb from −540 every method makes alike), or earlier to
/// show an AIS point. y: every finite test bound in that x range and every AIS point in it, padded by 8 %
/// of their span (at least 0.5 nats) on each side. Unset when there is nothing finite to show.
struct PlotWindow {
  double xmin = 0, xmax = 0, ymin = 0, ymax = 0;
};
std::optional<PlotWindow> avb_mnist_window(const std::vector<std::vector<CurvePoint>>& curves,
                                           const std::vector<AisPoint>& ais);

struct AvbMnistReport {
  bool trained = false;           // false: stopped while training (calling again resumes the runs)
  bool evaluated = false;         // false: stopped between the evaluations (no table then)
  std::vector<AvbMnistRow> rows;  // the runs with a curve, in avb_mnist_jobs' order
  std::size_t ais_points = 0;     // test points scored (ais_points, or the split's size if smaller)
  std::string table, table_path;  // markdown, written to OUT/avb_mnist.md
  std::vector<AisPoint> ais;      // OUT/ais.csv after this call: the earlier budgets' estimates and these
  std::string ais_path;
};

/// Trains (or resumes, or keeps) the three runs, scores each last checkpoint on the first test points
/// (observer.note before each AIS), then writes the table and adds the estimates to OUT/ais.csv. `stop` as for
/// run_jobs; it is also looked at before each run's evaluation.
AvbMnistReport reproduce_avb_mnist(const AvbMnistOptions& options, const Observer& observer = {},
                                   std::atomic<bool>* stop = nullptr);

/// The table: samples, train and test bound, AIS and IWAE log p(x), training time per run; then a line
/// saying how each number was estimated.
std::string avb_mnist_table(const AvbMnistOptions& options, const std::vector<AvbMnistRow>& rows,
                            std::size_t ais_points);

}  // namespace tapir::models::experiments
