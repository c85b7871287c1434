// tapir/models/experiments/avb_toy.hpp — the AVB paper's toy figure: q(z|x) of its four one-hot points,
// as learned by a VAE, by AVB and by AVB with adaptive contrast, drawn as scatter plots. The training
// is models::avb_toy (models/avb/avb.hpp); this adds what `tapir reproduce avb-toy` records:
//
//   OUT/avb_toy_METHOD.csv  point,z1,z2 — the draws of q(z|x_i)     OUT/avb_toy_METHOD.png  their scatter
//   OUT/avb_toy.md          the table: ELBO, log p(x) and training time per method
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "models/avb/avb.hpp"
#include "models/experiments/observer.hpp"

namespace tapir::models::experiments {

struct AvbToyOptions {
  std::string out = "runs/avb-toy";                             // directory for the plots and the table
  std::vector<std::string> methods = {"vae", "avb", "avb-ac"};  // avb-ac: AVB with adaptive contrast
  std::size_t steps = 20000;                                    // Adam steps of batch 512 per method
  double lr = 1e-3;                                             // Adam's step size (T's: 5 ×)
  std::uint64_t seed = 1;
};

/// models::avb_toy's configuration for one method (vae | avb | avb-ac): T updated twice per step, as the
/// authors. Throws naming an unknown method.
AvbToyConfig avb_toy_config(const std::string& method, const AvbToyOptions& options);

/// Writes the draws of q(z|x_i), result.z (4, draws, 2), as `csv` (point,z1,z2) and as a scatter plot
/// `png` of [−3, 3]² with axes, coloured by point with a key naming the four one-hot points, `title` above.
void write_avb_toy_scatter(const AvbToyResult& result, const std::string& csv, const std::string& png,
                           const std::string& title = "");

/// A picture's title: the method's name, its ELBO and log p(x) (ASCII: the pictures' font has no more).
std::string avb_toy_title(const std::string& method, const AvbToyResult& result);

struct AvbToyRow {
  std::string method;
  std::size_t steps = 0;
  double elbo = 0, log_likelihood = 0, seconds = 0;  // as AvbToyResult's
  std::string csv, png;                              // the files written
};

struct AvbToyReport {
  bool finished = false;          // false: stopped before a method (the table is not written)
  std::vector<AvbToyRow> rows;    // the methods trained, in order
  std::string table, table_path;  // markdown, written to OUT/avb_toy.md
};

/// Trains every method in turn (observer.start(i, "[METHOD]") sees its steps as TrainProgress, with
/// samples = steps; observer.note each picture written), writes its CSV and PNG, then the table.
/// `*stop` set ends the experiment before the next method (a method under way finishes first); calling
/// again starts over.
AvbToyReport reproduce_avb_toy(const AvbToyOptions& options, const Observer& observer = {},
                               const std::atomic<bool>* stop = nullptr);

/// The table of the rows, and a line saying what the numbers are.
std::string avb_toy_table(const std::vector<AvbToyRow>& rows);

}  // namespace tapir::models::experiments
