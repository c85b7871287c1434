// tapir/models/data/dataset.hpp — the datasets of the AEVB paper as float arrays, binarisation, and a
// seeded minibatch iterator.
//
// A Dataset owns its images as one (N, D) float array with pixels in [0, 1], D = rows · cols, each
// image row-major. Loaders look in a directory for the files under their usual names.
#pragma once

#include <string>
#include <vector>

#include "autodiff/array.hpp"
#include "autodiff/random.hpp"

namespace tapir::models::data {

enum class Split { train, test, valid };
/// "train" | "test" | "valid"; throws otherwise.
Split split_from_string(const std::string& s);
const char* to_string(Split s);

struct Dataset {
  std::string name;  // "mnist", "fashion-mnist", "frey", "binarized-mnist"
  Split split = Split::train;
  std::size_t rows = 0, cols = 0;
  Array<float> x;                     // (N, rows·cols), values in [0, 1]
  std::vector<int> labels;            // empty when the set has none
  std::string binarization = "none";  // none | threshold | dynamic | static
  std::size_t size() const { return x.shape()[0]; }
  std::size_t dim() const { return rows * cols; }
};

/// MNIST or Fashion-MNIST (same file names): {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] in `dir`.
/// Splits: train (60 000), test (10 000). Labels are read when the label file is present.
Dataset load_mnist(const std::string& dir, Split split, const std::string& name = "mnist");

/// Frey Face from `dir`/frey_rawface.mat (MAT variable `ff`, 560 × 1965, each column a 28 × 20
/// row-major face) or else `dir`/frey-faces-idx3-ubyte. There is no official split; tapir has two, each
/// 1765 training and 200 test frames:
/// - "random" (the default): the frames in a fixed pseudo-random order (Fisher–Yates with Rng(1965)),
///   the first 1765 for training — as the AEVB authors' own code shuffled the frames before splitting;
///   test faces then have near-copies among the training frames (neighbours in the video);
/// - "contiguous": test = the last 200 frames (1765–1964, a stretch of the video the model never sees),
///   train = frames 0–1764 (tapir's split before 2026-11-27; a harder, out-of-stretch test).
Dataset load_frey(const std::string& dir, Split split, const std::string& order = "random");

/// The statically binarised MNIST: binarized-mnist-{train,valid,test}-idx3-ubyte[.gz] in `dir`
/// (or binarized_mnist_{train,valid,test}.amat, MAT variable X, N × 784).
Dataset load_binarized_mnist(const std::string& dir, Split split);

/// Loads by name: "mnist" | "fashion-mnist" | "frey" | "binarized-mnist"; `frey_split` is Frey Face's order.
Dataset load_dataset(const std::string& name, const std::string& dir, Split split,
                     const std::string& frey_split = "random");

/// x := (x > threshold) in place; records "threshold".
void binarize_threshold(Dataset& d, float threshold = 0.5f);
/// out := Bernoulli(x) draws (dynamic binarisation: call once per epoch or per batch).
void binarize_dynamic(const Array<float>& x, Rng& rng, Array<float>& out);

/// Rows `indices` of x into `out` (resized to (|indices|, D) only when the shape changes).
void gather_rows(const Array<float>& x, const std::vector<std::size_t>& indices, Array<float>& out);

/// Minibatches of indices over 0..n−1: a fresh seeded permutation each epoch (or in order).
class BatchIterator {
 public:
  BatchIterator(std::size_t n, std::size_t batch_size, bool shuffle = true, bool drop_last = false);
  /// The next batch's indices; returns false (and starts a new epoch) when the epoch is done.
  bool next(Rng& rng, std::vector<std::size_t>& indices);
  std::size_t epoch() const { return epoch_; }
  std::size_t batches_per_epoch() const;

 private:
  std::size_t n_, batch_;
  bool shuffle_, drop_last_;
  std::vector<std::size_t> order_;
  std::size_t pos_ = 0, epoch_ = 0;
  bool started_ = false;
};

}  // namespace tapir::models::data
