// `tapir em gmm | ppca`: exact EM where the posterior is tractable (models/em), printing log p(x) per
// iteration as CSV; pPCA also against its closed form and, with --compare-aevb, against AEVB.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "models/cli/commands.hpp"
#include "models/data/dataset.hpp"
#include "models/em/gmm.hpp"
#include "models/em/linear_vae.hpp"
#include "models/experiments/report.hpp"
#include "nn/checkpoint.hpp"

namespace tapir::cli {

namespace {

namespace fs = std::filesystem;
using models::experiments::write_text;

struct EmArgs {
  std::string dataset = "frey", data, split = "train", out, report, covariance = "full";
  std::size_t limit = 0, components = 10, latent = 5, max_iter = 200;
  double tol = 1e-6, regularisation = 1e-6;
  long long compare_aevb = 0, aevb_lr_decay = 0;
  bool factor_analysis = false;
  std::uint64_t seed = 1;
};

void add_em_options(CLI::App* c, EmArgs& a) {
  c->add_option("--dataset", a.dataset, "mnist | fashion-mnist | frey | binarized-mnist")
      ->check(CLI::IsMember({"mnist", "fashion-mnist", "frey", "binarized-mnist"}))
      ->capture_default_str();
  c->add_option("--data", a.data, "directory with the dataset's files")->required();
  c->add_option("--split", a.split, "train | test")->check(CLI::IsMember({"train", "test"}))->capture_default_str();
  c->add_option("--limit", a.limit, "only the first N points (0: all)")->transform(kCount);
  c->add_option("--max-iter", a.max_iter, "EM iterations at most")
      ->transform(kPositiveCount)
      ->check(at_most(1'000'000'000, "--max-iter"))
      ->capture_default_str();
  c->add_option("--tol", a.tol, "stop when log p(x) per point gains less")->check(kNonNegative)->capture_default_str();
  c->add_option("--seed", a.seed, "seed of the initialisation")->transform(kCount)->capture_default_str();
  c->add_option("--out", a.out, "write the fitted model here (safetensors, float64)");
}

Array<double> em_data(const EmArgs& a) {
  const auto d = models::data::load_dataset(a.dataset, a.data, models::data::split_from_string(a.split));
  const std::size_t n = a.limit > 0 ? std::min(a.limit, d.size()) : d.size();
  const Array<float> xf = d.first(n);
  Array<double> x = Array<double>::from_shape(xf.shape());
  std::copy(xf.begin(), xf.end(), x.begin());
  return x;
}

void print_curve(const std::vector<double>& ll) {
  std::printf("iteration,log_likelihood\n");
  for (std::size_t i = 0; i < ll.size(); ++i) std::printf("%zu,%.6f\n", i, ll[i]);
}

void write_model(const std::string& out, const nn::NamedTensors& t) {
  nn::write_safetensors(out, t);
  std::fprintf(stderr, "tapir: wrote %s\n", out.c_str());
}

int run_em_gmm(const EmArgs& a) {
  const Array<double> x = em_data(a);
  models::em::GmmOptions o;
  o.components = a.components;
  o.covariance = models::em::covariance_from_string(a.covariance);
  // K covariances of d × d (full) or d (diagonal) doubles, and the N × K responsibilities: at most 2 GiB each.
  const double d = double(x.shape()[1]), per = o.covariance == models::em::Covariance::full ? d * d : d;
  if (double(a.components) * per > double(1 << 28) || double(a.components) * double(x.shape()[0]) > double(1 << 28))
    throw Error(
        fmt::format("--components {} with {} covariances on {} × {} points needs more than 2 GiB: use fewer "
                    "components, --covariance diagonal or --limit",
                    a.components, a.covariance, x.shape()[0], x.shape()[1]));
  o.max_iter = a.max_iter;
  o.tol = a.tol;
  o.regularisation = a.regularisation;
  Rng rng(a.seed);
  const auto fit = models::em::fit_gmm(x, o, rng);
  print_curve(fit.log_likelihood);
  std::string weights;
  for (std::size_t k = 0; k < fit.model.components(); ++k)
    weights += fmt::format("{}{:.3f}", k ? " " : "", fit.model.weights(k));
  std::fprintf(stderr,
               "tapir: GMM, %zu %s components on %zu × %zu points: log p(x) %.4f per point after %zu iterations (%s); "
               "weights %s\n",
               a.components, a.covariance.c_str(), x.shape()[0], x.shape()[1], fit.log_likelihood.back(),
               fit.log_likelihood.size(), fit.converged ? "converged" : "iteration limit", weights.c_str());
  if (!a.out.empty()) {
    nn::NamedTensors t;
    t.f64 = {{"weights", fit.model.weights}, {"means", fit.model.means}, {"covariances", fit.model.covariances}};
    t.metadata = {{"model", "gmm"}, {"covariance", a.covariance}, {"dataset", a.dataset}};
    write_model(a.out, t);
  }
  return 0;
}

/// --compare-aevb: the same linear-Gaussian model trained by AEVB, against EM and the closed form.
void compare_with_aevb(const EmArgs& a, const Array<double>& x, const models::em::EmOptions& o) {
  fs::create_directories(a.report);
  models::em::PpcaComparisonOptions co;
  co.latent = a.latent;
  co.aevb_samples = a.compare_aevb;
  co.lr_decay = double(a.aevb_lr_decay);
  co.em = o;
  Rng crng(a.seed);
  const auto c = models::em::compare_ppca(x, co, crng);
  std::string csv = "samples,aevb_elbo,aevb_exact_log_likelihood,gap,closed_form,em_final\n";
  for (const auto& r : c.aevb)
    csv += fmt::format("{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f}\n", r.samples, r.elbo, r.log_likelihood,
                       r.log_likelihood - r.elbo, c.closed_form, c.em.back());
  write_text((fs::path(a.report) / "ppca_aevb.csv").string(), csv);
  const auto& last = c.aevb.back();
  std::string md = fmt::format(
      "| pPCA on {} ({} × {}), q = {} | log p(x) per point |\n|---|---:|\n"
      "| closed-form maximum likelihood (eigendecomposition) | {:.3f} |\n"
      "| EM, {} iterations | {:.3f} |\n"
      "| AEVB after {:.3g} samples (Adam {}): ELBO | {:.3f} |\n"
      "| AEVB: its generative model's exact log p(x) | {:.3f} |\n"
      "| AEVB: importance-sampled log p(x) with its q (K = 100) | {:.3f} |\n"
      "| AEVB: gap exact − ELBO = average KL(q ‖ p(z|x)) | {:.3f} |\n",
      a.dataset, x.shape()[0], x.shape()[1], a.latent, c.closed_form, c.em.size() - 1, c.em.back(),
      double(last.samples),
      a.aevb_lr_decay > 0 ? fmt::format("1e-2 / (1 + samples / {})", a.aevb_lr_decay) : std::string("1e-2"), last.elbo,
      last.log_likelihood, c.aevb_importance, last.log_likelihood - last.elbo);
  write_text((fs::path(a.report) / "ppca_aevb.md").string(), md);
  std::fprintf(stderr, "%s", md.c_str());
  std::fprintf(stderr, "tapir: wrote %s/ppca_aevb.{csv,md}\n", a.report.c_str());
}

int run_em_ppca(const EmArgs& a) {
  if (a.compare_aevb > 0 && a.report.empty()) throw Error("--compare-aevb needs --report DIR for its tables");
  const Array<double> x = em_data(a);
  models::em::EmOptions o;
  o.max_iter = a.max_iter;
  o.tol = a.tol;
  o.factor_analysis = a.factor_analysis;
  Rng rng(a.seed);
  const auto fit = models::em::fit_linear_gaussian_em(x, a.latent, o, rng);
  print_curve(fit.log_likelihood);
  const char* what = a.factor_analysis ? "factor analysis" : "pPCA";
  std::fprintf(stderr, "tapir: %s, q = %zu on %zu × %zu points: log p(x) %.4f per point after %zu iterations (%s)\n",
               what, a.latent, x.shape()[0], x.shape()[1], fit.log_likelihood.back(), fit.log_likelihood.size() - 1,
               fit.converged ? "converged" : "iteration limit");
  if (!a.factor_analysis)
    std::fprintf(stderr, "tapir: closed-form maximum likelihood (eigendecomposition): %.4f per point\n",
                 models::em::log_likelihood(models::em::ppca_closed_form(x, a.latent), x));
  if (!a.out.empty()) {
    nn::NamedTensors t;
    t.f64 = {{"w", fit.model.w}, {"mu", fit.model.mu}, {"psi", fit.model.psi}};
    t.metadata = {{"model", a.factor_analysis ? "factor-analysis" : "ppca"}, {"dataset", a.dataset}};
    write_model(a.out, t);
  }
  if (a.compare_aevb > 0) compare_with_aevb(a, x, o);
  return 0;
}

struct EmGroupArgs {
  EmArgs gmm, ppca;
};

}  // namespace

Command add_em_commands(CLI::App& app) {
  auto a = std::make_shared<EmGroupArgs>();
  auto* em = app.add_subcommand("em", "exact EM where the posterior is tractable: Gaussian mixture, pPCA");
  em->require_subcommand(1);
  auto* gmm = em->add_subcommand("gmm", "Gaussian mixture by EM (k-means++ start); prints log p(x) per iteration");
  auto* ppca = em->add_subcommand("ppca", "probabilistic PCA / factor analysis by EM, against the closed form");
  add_em_options(gmm, a->gmm);
  add_em_options(ppca, a->ppca);
  gmm->add_option("--components,-k", a->gmm.components, "K")
      ->transform(kPositiveCount)
      ->check(at_most(10'000, "a mixture"))
      ->capture_default_str();
  gmm->add_option("--covariance", a->gmm.covariance, "full | diagonal")
      ->check(CLI::IsMember({"full", "diagonal"}))
      ->capture_default_str();
  gmm->add_option("--regularisation", a->gmm.regularisation, "added to every variance")
      ->check(kNonNegative)
      ->capture_default_str();
  ppca->add_option("--latent", a->ppca.latent, "q, the latent dimension")
      ->transform(kPositiveCount)
      ->check(at_most(65'536, "--latent"))
      ->capture_default_str();
  ppca->add_flag("--factor-analysis", a->ppca.factor_analysis, "a diagonal noise covariance instead of σ² I");
  ppca->add_option("--compare-aevb", a->ppca.compare_aevb,
                   "also train the same model by AEVB for this many samples and compare (needs --report)")
      ->transform(kCount);
  ppca->add_option("--report", a->ppca.report, "directory for the comparison's CSV and table");
  ppca->add_option("--aevb-lr-decay", a->ppca.aevb_lr_decay,
                   "with --compare-aevb: AEVB's Adam step lr / (1 + samples / THIS) (0: a constant 1e-2)")
      ->transform(kCount);
  return {em, [a, gmm] { return gmm->parsed() ? run_em_gmm(a->gmm) : run_em_ppca(a->ppca); }};
}

}  // namespace tapir::cli
