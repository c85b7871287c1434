// tapir/models/cli/avb_plot.hpp — the figure of `tapir reproduce avb-mnist`: each method's test ELBO
// (AVB's estimated with T) as a curve and its decoder's AIS log p(x) as points at the budgets it was
// scored at, so a bound that is not one shows as a curve above its own points.
#pragma once

#include <string>

#include "models/experiments/avb_mnist.hpp"

namespace tapir::cli {

/// Writes OUT/avb_mnist.csv (run, samples, train_elbo, test_elbo, ais_log_px: the curves' rows leave
/// ais_log_px empty, the AIS rows the bounds) and, with gnuplot, OUT/avb_mnist.png with its script
/// OUT/avb_mnist.gp; the window from models::experiments::avb_mnist_window. Says "tapir: wrote ..." on
/// stderr for each file. Returns false when gnuplot is missing; throws when it fails.
bool plot_avb_mnist(const models::experiments::AvbMnistOptions& options,
                    const models::experiments::AvbMnistReport& report);

}  // namespace tapir::cli
