// tapir/models/data/dataset.cpp
#include "models/data/dataset.hpp"

#include <fmt/format.h>

#include <sys/stat.h>
#include <algorithm>
#include <cmath>
#include <numeric>

#include "autodiff/parallel.hpp"
#include "models/data/idx.hpp"

namespace tapir::models::data {

namespace {
bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

/// dir/name, or dir/name.gz; throws listing both when neither exists.
std::string find_file(const std::string& dir, const std::string& name, const std::string& what) {
  for (const std::string& p : {dir + "/" + name, dir + "/" + name + ".gz"})
    if (exists(p)) return p;
  throw Error(fmt::format("{}: {} not found (looked for {}/{} and {}/{}.gz); scripts/fetch_data.sh fetches it", dir,
                          what, dir, name, dir, name));
}

/// thresholds[b] = the t with  rng.uniform() < levels[b]  ⟺  (rng.next_u64() >> 11) < t.
/// uniform() is k · 2⁻⁵³ exactly for the integer k = next_u64() >> 11 < 2⁵³, and a float v in (0, 1)
/// times 2⁵³ is exact in double, so k · 2⁻⁵³ < v ⟺ k < v · 2⁵³ ⟺ k < ⌈v · 2⁵³⌉: an integer comparison
/// that makes the very draws of binarize_dynamic. v ≤ 0 (or NaN) is never drawn as 1, v ≥ 1 always.
std::array<std::uint64_t, 256> bernoulli_thresholds(const Levels& levels) {
  constexpr double two53 = 0x1.0p53;
  std::array<std::uint64_t, 256> t{};
  for (std::size_t b = 0; b < 256; ++b) {
    const double v = static_cast<double>(levels[b]);
    t[b] = !(v > 0) ? 0 : v >= 1 ? std::uint64_t(1) << 53 : static_cast<std::uint64_t>(std::ceil(v * two53));
  }
  return t;
}

/// Throws when an index is past the last image.
void check_indices(const Dataset& d, const std::vector<std::size_t>& indices, const char* what) {
  const std::size_t n = d.size();
  for (std::size_t i : indices)
    if (i >= n) throw ShapeError(fmt::format("{}: index {} out of range for {} images", what, i, n));
}

/// out (resized only when its shape changes) := images `indices` with f(byte) for each pixel, in order.
template <class F>
void convert_rows(const Dataset& d, const std::vector<std::size_t>& indices, Array<float>& out, const char* what, F f) {
  check_indices(d, indices, what);
  const std::size_t dim = d.dim();
  const Shape shape{indices.size(), dim};
  if (out.shape() != shape) out.resize(shape);
  float* o = out.data();
  for (std::size_t i : indices) {
    const std::uint8_t* p = d.pixels.data() + i * dim;
    for (std::size_t j = 0; j < dim; ++j) *o++ = f(p[j]);
  }
}
/// A grey level computed: the division grey_levels() holds, which the compiler vectorises (a table
/// lookup per pixel does not).
inline float grey_value(std::uint8_t b) { return static_cast<float>(b) / 255.0f; }
}  // namespace

Levels grey_levels() {
  Levels l;
  for (std::size_t b = 0; b < 256; ++b) l[b] = grey_value(static_cast<std::uint8_t>(b));
  return l;
}

namespace {
bool is_grey(const Levels& levels) {
  static const Levels grey = grey_levels();
  return levels == grey;
}
}  // namespace

Levels binary_levels() {
  Levels l;
  for (std::size_t b = 0; b < 256; ++b) l[b] = b == 0 ? 0.0f : 1.0f;
  return l;
}

Array<float> Dataset::x() const { return first(size()); }

Array<float> Dataset::first(std::size_t n) const { return slice(0, n); }

Array<float> Dataset::slice(std::size_t begin, std::size_t n) const {
  begin = std::min(begin, size());
  n = std::min(n, size() - begin);
  Array<float> out = Array<float>::from_shape({n, dim()});
  const std::uint8_t* p = pixels.data() + begin * dim();
  if (is_grey(levels))
    for (std::size_t i = 0; i < n * dim(); ++i) out.data()[i] = grey_value(p[i]);
  else
    for (std::size_t i = 0; i < n * dim(); ++i) out.data()[i] = levels[p[i]];
  return out;
}

void Dataset::truncate(std::size_t n) {
  if (n >= size()) return;
  pixels.resize(n * dim());
  pixels.shrink_to_fit();
  if (labels.size() > n) labels.resize(n);
}

Dataset with_one_hot_labels(const Dataset& d, std::size_t classes) {
  const std::size_t n = d.size(), dim = d.dim();
  if (classes == 0) throw Error(fmt::format("{}: one-hot labels need at least one class", d.name));
  if (d.labels.size() != n)
    throw Error(fmt::format("{} ({}): {} labels for {} examples (is the label file missing?)", d.name,
                            to_string(d.split), d.labels.size(), n));
  if (d.levels[0] != 0.0f || d.levels[255] != 1.0f)
    throw Error(fmt::format("{}: its levels map 0 to {} and 255 to {}; one-hot labels need 0 and 1", d.name,
                            d.levels[0], d.levels[255]));
  Dataset out;  // d's description, not a copy of its pixels
  out.name = d.name;
  out.split = d.split;
  out.levels = d.levels;
  out.labels = d.labels;
  out.binarization = d.binarization;
  out.rows = 1;
  out.cols = dim + classes;
  out.pixels.assign(n * out.cols, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const int label = d.labels[i];
    if (label < 0 || static_cast<std::size_t>(label) >= classes)
      throw Error(fmt::format("{} ({}): example {} has label {}, outside [0, {})", d.name, to_string(d.split), i, label,
                              classes));
    std::copy_n(d.pixels.begin() + static_cast<std::ptrdiff_t>(i * dim), dim,
                out.pixels.begin() + static_cast<std::ptrdiff_t>(i * out.cols));
    out.pixels[i * out.cols + dim + static_cast<std::size_t>(label)] = 255;
  }
  return out;
}

Split split_from_string(const std::string& s) {
  if (s == "train") return Split::train;
  if (s == "test") return Split::test;
  if (s == "valid") return Split::valid;
  throw Error(fmt::format("unknown split '{}' (expected train, test or valid)", s));
}

const char* to_string(Split s) { return s == Split::train ? "train" : s == Split::test ? "test" : "valid"; }

Dataset load_mnist(const std::string& dir, Split split, const std::string& name) {
  if (split == Split::valid) throw Error(fmt::format("{} has no 'valid' split (train or test)", name));
  const std::string prefix = split == Split::train ? "train" : "t10k";
  const std::string images = find_file(dir, prefix + "-images-idx3-ubyte", name + " images");
  IdxArray a = read_idx(images, 3);
  if (a.dims[0] == 0 || a.dims[1] == 0 || a.dims[2] == 0)
    throw Error(fmt::format("{}: IDX dims {}: no images, or images without pixels", images, fmt::join(a.dims, "×")));
  // The other split's images must have the same size, or a model trained on one cannot read the
  // other: compare with its header (only the header is read) when the file is there.
  const std::string other = split == Split::train ? "t10k" : "train";
  for (const std::string& p : {dir + "/" + other + "-images-idx3-ubyte", dir + "/" + other + "-images-idx3-ubyte.gz"})
    if (exists(p)) {
      const std::vector<std::size_t> od = read_idx_dims(p, 3);
      if (od[1] != a.dims[1] || od[2] != a.dims[2])
        throw Error(
            fmt::format("{} images are {}×{} but {} images are {}×{}: the {} and {} splits must have the same "
                        "image size",
                        images, a.dims[1], a.dims[2], p, od[1], od[2], to_string(split),
                        to_string(split == Split::train ? Split::test : Split::train)));
      break;
    }
  Dataset d;
  d.name = name;
  d.split = split;
  d.rows = a.dims[1];
  d.cols = a.dims[2];
  d.pixels = std::move(a.values);
  for (const std::string& p : {dir + "/" + prefix + "-labels-idx1-ubyte", dir + "/" + prefix + "-labels-idx1-ubyte.gz"})
    if (exists(p)) {
      IdxArray l = read_idx(p, 1);
      if (l.dims[0] != a.dims[0])
        throw Error(fmt::format("{}: {} labels for {} images in {}", p, l.dims[0], a.dims[0], images));
      d.labels.assign(l.values.begin(), l.values.end());
      break;
    }
  return d;
}

Dataset load_frey(const std::string& dir, Split split, const std::string& order) {
  constexpr std::size_t kFrames = 1965, kRows = 28, kCols = 20, kTrain = 1765;
  if (split == Split::valid) throw Error("frey has no 'valid' split (1765 training frames, 200 test frames)");
  if (order != "random" && order != "contiguous")
    throw Error(fmt::format("Frey Face split '{}': expected random or contiguous", order));
  std::vector<std::uint8_t> faces;  // frame after frame, each 28×20 row-major
  const std::string mat = dir + "/frey_rawface.mat";
  if (exists(mat)) {
    MatMatrix m = read_mat_matrix(mat, "ff");
    if (m.rows != kRows * kCols || m.cols != kFrames)
      throw Error(fmt::format("{}: variable ff is {}×{}, expected 560×1965", mat, m.rows, m.cols));
    faces = std::move(m.column_major);  // column-major: each column (one frame) is contiguous
  } else {
    const std::string idx = find_file(dir, "frey-faces-idx3-ubyte", "Frey Face (frey_rawface.mat)");
    IdxArray a = read_idx(idx, 3);
    if (a.dims != std::vector<std::size_t>{kFrames, kRows, kCols})
      throw Error(fmt::format("{}: IDX dims {}, expected 1965×28×20", idx, fmt::join(a.dims, "×")));
    faces = std::move(a.values);
  }
  const std::size_t d = kRows * kCols;
  std::vector<std::size_t> frames(kFrames);
  std::iota(frames.begin(), frames.end(), std::size_t(0));
  if (order == "random") {  // a fixed order, the same on every machine (tapir's own generator)
    Rng rng(kFrames);
    for (std::size_t i = kFrames - 1; i > 0; --i) std::swap(frames[i], frames[rng.below(i + 1)]);
  }
  const std::size_t first = split == Split::train ? 0 : kTrain,
                    count = split == Split::train ? kTrain : kFrames - kTrain;
  std::vector<std::uint8_t> picked(count * d);
  for (std::size_t i = 0; i < count; ++i)
    std::copy_n(faces.begin() + static_cast<long>(frames[first + i] * d), d, picked.begin() + static_cast<long>(i * d));
  Dataset out;
  out.name = "frey";
  out.split = split;
  out.rows = kRows;
  out.cols = kCols;
  out.pixels = std::move(picked);
  return out;
}

Dataset load_binarized_mnist(const std::string& dir, Split split) {
  const std::string s = to_string(split);
  Dataset d;
  d.name = "binarized-mnist";
  d.split = split;
  d.rows = d.cols = 28;
  d.binarization = "static";
  d.levels = binary_levels();  // the files hold 0 and 1 (or 0 and 255): any non-zero byte is a 1
  const std::string idx = dir + "/binarized-mnist-" + s + "-idx3-ubyte";
  if (exists(idx) || exists(idx + ".gz")) {
    const std::string path = exists(idx) ? idx : idx + ".gz";
    IdxArray a = read_idx(path, 3);
    if (a.dims[1] != 28 || a.dims[2] != 28)
      throw Error(fmt::format("{}: IDX dims {}, expected N×28×28", path, fmt::join(a.dims, "×")));
    d.pixels = std::move(a.values);
    return d;
  }
  const std::string amat = find_file(dir, "binarized_mnist_" + s + ".amat", "binarised MNIST");
  MatMatrix m = read_mat_matrix(amat, "X");
  if (m.cols != 784) throw Error(fmt::format("{}: X is {}×{}, expected N×784", amat, m.rows, m.cols));
  d.pixels.resize(m.rows * 784);
  for (std::size_t i = 0; i < m.rows; ++i)
    for (std::size_t j = 0; j < 784; ++j) d.pixels[i * 784 + j] = m.column_major[j * m.rows + i];
  return d;
}

Dataset load_dataset(const std::string& name, const std::string& dir, Split split, const std::string& frey_split) {
  if (name == "mnist") return load_mnist(dir, split, "mnist");
  if (name == "fashion-mnist") return load_mnist(dir, split, "fashion-mnist");
  if (name == "frey") return load_frey(dir, split, frey_split);
  if (name == "binarized-mnist") return load_binarized_mnist(dir, split);
  throw Error(fmt::format("unknown dataset '{}' (expected mnist, fashion-mnist, frey or binarized-mnist)", name));
}

void binarize_threshold(Dataset& d, float threshold) {
  for (float& v : d.levels) v = v > threshold ? 1.0f : 0.0f;
  d.binarization = "threshold";
}

// Dynamic binarisation: one key from rng per call, element i of the result drawn from
// counter_bits(key, i) (the index in the output, row-major), so the work splits among threads freely.
// A pixel is 1 when its 53-bit uniform u = (bits >> 11) · 2⁻⁵³ is below its value v, i.e. when
// bits >> 11 < ⌈v · 2⁵³⌉ (bernoulli_thresholds): the same comparison in integers.
namespace {
constexpr std::size_t kDrawGrain = 8192;  // elements per task
inline bool draw_below(std::uint64_t key, std::size_t i, std::uint64_t threshold) {
  return (counter_bits(key, i) >> 11) < threshold;
}
}  // namespace

void binarize_dynamic(const Array<float>& x, Rng& rng, Array<float>& out) {
  if (out.shape() != x.shape()) out.resize(x.shape());
  const std::uint64_t key = rng.next_u64();
  const float* in = x.data();
  float* o = out.data();
  parallel_chunks(x.size(), kDrawGrain, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i)
      o[i] = static_cast<double>(counter_bits(key, i) >> 11) * 0x1.0p-53 < in[i] ? 1.0f : 0.0f;
  });
}

void binarize_dynamic(Dataset& d, Rng& rng) {
  const auto t = bernoulli_thresholds(d.levels);
  const std::uint64_t key = rng.next_u64();
  std::uint8_t* p = d.pixels.data();
  parallel_chunks(d.pixels.size(), kDrawGrain, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) p[i] = draw_below(key, i, t[p[i]]) ? 1 : 0;
  });
  d.levels = binary_levels();
}

void gather_rows(const Array<float>& x, const std::vector<std::size_t>& indices, Array<float>& out) {
  const std::size_t d = x.shape()[1];
  const Shape shape{indices.size(), d};
  if (out.shape() != shape) out.resize(shape);
  for (std::size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] >= x.shape()[0])
      throw ShapeError(fmt::format("gather_rows: index {} out of range for {} rows", indices[i], x.shape()[0]));
    std::copy_n(x.data() + indices[i] * d, d, out.data() + i * d);
  }
}

void gather_rows(const Dataset& d, const std::vector<std::size_t>& indices, Array<float>& out) {
  if (is_grey(d.levels))
    convert_rows(d, indices, out, "gather_rows", grey_value);
  else
    convert_rows(d, indices, out, "gather_rows", [&](std::uint8_t b) { return d.levels[b]; });
}

void gather_binarized(const Dataset& d, const std::vector<std::size_t>& indices, Rng& rng, Array<float>& out) {
  check_indices(d, indices, "gather_binarized");
  const std::size_t dim = d.dim();
  const Shape shape{indices.size(), dim};
  if (out.shape() != shape) out.resize(shape);
  const auto t = bernoulli_thresholds(d.levels);
  const std::uint64_t key = rng.next_u64();
  float* o = out.data();
  parallel_chunks(indices.size(), std::max<std::size_t>(1, kDrawGrain / std::max<std::size_t>(dim, 1)),
                  [&](std::size_t lo, std::size_t hi) {
                    for (std::size_t r = lo; r < hi; ++r) {
                      const std::uint8_t* p = d.pixels.data() + indices[r] * dim;
                      for (std::size_t j = 0; j < dim; ++j)
                        o[r * dim + j] = draw_below(key, r * dim + j, t[p[j]]) ? 1.0f : 0.0f;
                    }
                  });
}

BatchIterator::BatchIterator(std::size_t n, std::size_t batch_size, bool shuffle, bool drop_last)
    : n_(n), batch_(batch_size), shuffle_(shuffle), drop_last_(drop_last) {
  if (batch_size == 0) throw Error("BatchIterator: batch size must be positive");
  if (n == 0) throw Error("BatchIterator: the dataset is empty");
  if (drop_last && batch_size > n)
    throw Error(fmt::format("BatchIterator: batch size {} exceeds the {} examples with drop_last", batch_size, n));
}

std::size_t BatchIterator::batches_per_epoch() const { return drop_last_ ? n_ / batch_ : (n_ + batch_ - 1) / batch_; }

bool BatchIterator::next(Rng& rng, std::vector<std::size_t>& indices) {
  if (!started_ || pos_ >= n_ || (drop_last_ && pos_ + batch_ > n_)) {
    if (started_) {
      ++epoch_;
      started_ = false;
      return false;
    }
    if (shuffle_) {
      permutation(rng, n_, order_);  // into the last epoch's memory
    } else {
      order_.resize(n_);
      std::iota(order_.begin(), order_.end(), std::size_t(0));
    }
    pos_ = 0;
    started_ = true;
  }
  const std::size_t end = std::min(n_, pos_ + batch_);
  indices.assign(order_.begin() + static_cast<long>(pos_), order_.begin() + static_cast<long>(end));
  pos_ = end;
  return true;
}

}  // namespace tapir::models::data
