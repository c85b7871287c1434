// tapir/models/experiments/avb_mnist.hpp — a VAE, AVB and AVB with adaptive contrast on MNIST with the
// same decoder (500 tanh units, Bernoulli, dynamic binarisation) and the same optimizer (Adam 1e-3),
// compared by their bounds and by the decoder's log p(x) from AIS, which needs no q and so scores all
// three alike. What `tapir reproduce avb-mnist` trains and tabulates.
//
//   OUT/vae/  OUT/avb/  OUT/avb-ac/   the runs          OUT/avb_mnist.md  the table
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/experiments/jobs.hpp"
#include "models/experiments/observer.hpp"

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

struct AvbMnistReport {
  bool trained = false;           // false: stopped while training (calling again resumes the runs)
  bool evaluated = false;         // false: stopped between the evaluations (no table then)
  std::vector<AvbMnistRow> rows;  // the runs with a curve, in avb_mnist_jobs' order
  std::size_t ais_points = 0;     // test points scored (ais_points, or the split's size if smaller)
  std::string table, table_path;  // markdown, written to OUT/avb_mnist.md
};

/// Trains (or resumes, or keeps) the three runs, scores each last checkpoint on the first test points
/// (observer.note before each AIS), then writes the table. `stop` as for run_jobs; it is also looked at
/// before each run's evaluation.
AvbMnistReport reproduce_avb_mnist(const AvbMnistOptions& options, const Observer& observer = {},
                                   std::atomic<bool>* stop = nullptr);

/// The table: samples, train and test bound, AIS and IWAE log p(x), training time per run; then a line
/// saying how each number was estimated.
std::string avb_mnist_table(const AvbMnistOptions& options, const std::vector<AvbMnistRow>& rows,
                            std::size_t ais_points);

}  // namespace tapir::models::experiments
