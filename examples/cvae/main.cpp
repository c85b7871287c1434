// examples/cvae — a conditional VAE on MNIST from outside tapir. The label is appended to each image in
// memory (data::with_one_hot_labels), tapir's Trainer trains the model on that data (and resumes it),
// evaluate_model scores log p(x | y), and the decoder draws ten samples of every digit.
//
//   cvae DATA_DIR RUN_DIR [SAMPLES [EVAL_POINTS [K]]]
//
// DATA_DIR holds MNIST with its label files (bash scripts/fetch_data.sh DIR); SAMPLES defaults to
// 600000 (10 epochs), the importance-sampled log p(x | y) to the first EVAL_POINTS = 1000 test images with
// K = 1000. Run it again with more SAMPLES to continue the run. It writes RUN_DIR/samples.png (row d:
// digit d).
#include <fmt/format.h>

#include <string>

#include <tapir/models/data/image.hpp>
#include <tapir/models/run/evaluate.hpp>
#include <tapir/models/train/trainer.hpp>

#include "cvae.hpp"

namespace models = tapir::models;
namespace data = tapir::models::data;

int main(int argc, char** argv) try {
  if (argc < 3 || argc > 6) {
    fmt::print(stderr, "usage: {} DATA_DIR RUN_DIR [SAMPLES [EVAL_POINTS [K]]]\n", argv[0]);
    return 2;
  }
  const std::string data_dir = argv[1], run = argv[2];
  const auto arg = [&](int i, long long fallback) { return argc > i ? std::stoll(argv[i]) : fallback; };
  constexpr std::size_t kClasses = 10, kHidden = 500, kLatent = 20;

  // The data: each image followed by its label, one-hot.
  data::Dataset train = data::with_one_hot_labels(data::load_mnist(data_dir, data::Split::train), kClasses);
  data::Dataset test = data::with_one_hot_labels(data::load_mnist(data_dir, data::Split::test), kClasses);
  const std::size_t pixels = train.dim() - kClasses;

  models::VaeTrainConfig t;  // M = 100, dynamic binarisation of the pixels (the label stays 0/1)
  t.dataset = "mnist-with-labels";
  t.samples = arg(3, 600'000);
  t.optimizer = "adam";
  t.lr = 1e-3;
  t.weight_decay = 0;
  t.eval_every = static_cast<long long>(train.size());  // once an epoch
  t.train_eval_size = 10'000;
  t.seed = 1;

  tapir::Rng init(t.seed);
  cvae::Cvae model(pixels, kClasses, kHidden, kLatent, init);
  models::Trainer trainer(t, model, run, train, test);
  const auto progress = [](const models::TrainProgress& p) {
    if (!p.point) return;
    fmt::print("{:>8} samples  epoch {:>2}  bound: train {:8.2f}  test {:8.2f} (reconstruction {:.2f}, KL {:.2f})\n",
               p.samples, p.point->epoch, p.point->train_elbo, p.point->test_elbo, p.point->test_recon.value_or(NAN),
               p.point->test_kl.value_or(NAN));
  };
  if (models::holds_run(run))
    trainer.resume(progress);
  else
    trainer.train(progress);

  // log p(x | y) of the first test images, each image's pixels one Bernoulli draw.
  const std::size_t points = static_cast<std::size_t>(arg(4, 1000)), k = static_cast<std::size_t>(arg(5, 1000));
  tapir::Rng eval_rng(7), pixel_rng(8);
  const auto e = models::evaluate_model(model, test.first(points), k, eval_rng, models::kEvaluationBatch, &pixel_rng);
  fmt::print("first {} test images: bound {:.2f}, log p(x | y) ≈ {:.2f} (K = {}), {:.1f} s\n", e.n, e.elbo,
             e.log_likelihood, k, e.seconds);

  // Ten draws of every digit: row d of the grid is y = d, the pixels' Bernoulli means.
  tapir::Array<float> y = tapir::Array<float>::from_shape({kClasses * 10, kClasses});
  y.fill(0.f);
  for (std::size_t i = 0; i < kClasses * 10; ++i) y(i, i / 10) = 1.f;
  tapir::Tape<float> tape;
  tapir::NoGradGuard<float> no_grad(tape);
  tapir::Rng sample_rng(2026);
  const tapir::Var<float> z = tape.constant(model.sample_prior(sample_rng, kClasses * 10));
  const tapir::Array<float> means = model.decode_given(z, tape.constant(y)).mean().value();
  data::write_png_grid(run + "/samples.png", means, 28, pixels / 28, 10, 1, 2);
  fmt::print("wrote {}/samples.png (row d: ten draws of digit d)\n", run);
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "cvae: {}\n", e.what());
  return 1;
}
