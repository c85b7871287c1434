// tapir/models/data/dataset.hpp — the datasets of the AEVB paper as bytes, their conversion to the
// float arrays models read, binarisation, and a seeded minibatch iterator.
//
// Every data set tapir loads is 8-bit at the source, so a Dataset keeps its images as bytes: N images
// of D = rows · cols pixels, image after image, each row-major (MNIST's 60 000 training images are 47 MB,
// not the 188 MB of floats). A table, `levels`, gives the value in [0, 1] a model sees for each byte:
// b / 255 for grey levels, 0 or 1 once binarised. Models read floats, converted when asked for:
//   d.x()                   all images, an (N, D) float array
//   d.first(n)              the first n images
//   gather_rows(d, idx, x)  images idx into x, reusing x's memory (a training loop's minibatch)
//   gather_binarized(...)   the same with every pixel a fresh Bernoulli draw (dynamic binarisation)
// Loaders look in a directory for the files under their usual names.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "autodiff/array.hpp"
#include "autodiff/random.hpp"

namespace tapir::models::data {

enum class Split { train, test, valid };
/// "train" | "test" | "valid"; throws otherwise.
Split split_from_string(const std::string& s);
const char* to_string(Split s);

/// levels[b]: the value a model sees for byte b.
using Levels = std::array<float, 256>;
/// b ↦ b / 255 (in float: static_cast<float>(b) / 255.0f), the grey levels of every loader.
Levels grey_levels();
/// 0 ↦ 0, anything else ↦ 1: images already binarised (binarised MNIST, a fixed Bernoulli draw).
Levels binary_levels();

struct Dataset {
  std::string name;  // "mnist", "fashion-mnist", "frey", "binarized-mnist"
  Split split = Split::train;
  std::size_t rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;   // N · D bytes: image after image, each row-major
  Levels levels = grey_levels();      // the value of each byte, in [0, 1]
  std::vector<int> labels;            // empty when the set has none
  std::string binarization = "none";  // none | threshold | dynamic | static

  std::size_t size() const { return dim() == 0 ? 0 : pixels.size() / dim(); }
  std::size_t dim() const { return rows * cols; }
  /// Pixel j of image i as a model sees it (no bounds check).
  float value(std::size_t i, std::size_t j) const { return levels[pixels[i * dim() + j]]; }
  /// All images as an (N, D) float array (a new array: 4 bytes a pixel).
  Array<float> x() const;
  /// The first min(n, N) images as a (min(n, N), D) float array.
  Array<float> first(std::size_t n) const;
  /// Images begin … begin + n − 1 (clipped to the data set) as a (rows, D) float array.
  Array<float> slice(std::size_t begin, std::size_t n) const;
  /// Keeps only the first min(n, N) images (and their labels).
  void truncate(std::size_t n);
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

/// `d` with each example followed by its label, one-hot in `classes` values: a context a conditional
/// model reads from the last columns of x (a CVAE: examples/cvae). The label's values are the bytes 0
/// and 255, which every levels table of the loaders makes 0 and 1, and which threshold and dynamic
/// binarisation leave as they are; the result's examples are rows = 1 by cols = D + classes. Throws
/// tapir::Error when `d` has no label for every example, a label is outside [0, classes), or `d`'s
/// levels do not map 0 to 0 and 255 to 1.
Dataset with_one_hot_labels(const Dataset& d, std::size_t classes);

/// Every value v becomes (v > threshold ? 1 : 0) (only `levels` changes); records "threshold".
void binarize_threshold(Dataset& d, float threshold = 0.5f);
/// out := Bernoulli(x) draws (dynamic binarisation: call once per epoch or per batch). One key is taken
/// from rng (one next_u64()); element i (row-major) is 1 when its uniform
/// (counter_bits(key, i) >> 11) · 2⁻⁵³ is below x[i]. Runs on tapir's threads; the draws do not depend
/// on their number.
void binarize_dynamic(const Array<float>& x, Rng& rng, Array<float>& out);
/// Replaces every pixel of `d` by one Bernoulli draw of its value (image after image, row-major: the
/// draws binarize_dynamic(d.x(), rng, out) makes), as bytes 0/1 with binary_levels() — a fixed draw,
/// e.g. to evaluate on. Does not change d.binarization.
void binarize_dynamic(Dataset& d, Rng& rng);

/// Rows `indices` of x into `out` (resized to (|indices|, D) only when the shape changes).
void gather_rows(const Array<float>& x, const std::vector<std::size_t>& indices, Array<float>& out);
/// Images `indices` of d as floats into `out` (resized only when the shape changes, so a loop that
/// reuses `out` allocates nothing); throws ShapeError for an index ≥ d.size().
void gather_rows(const Dataset& d, const std::vector<std::size_t>& indices, Array<float>& out);
/// gather_rows(d, indices, x) then binarize_dynamic(x, rng, out), in one pass and without x: the same
/// draws, bit for bit (the pixel at row r, column j of the batch is element r · D + j), on tapir's threads.
void gather_binarized(const Dataset& d, const std::vector<std::size_t>& indices, Rng& rng, Array<float>& out);

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
