// tapir/models/data/dataset.cpp
#include "models/data/dataset.hpp"

#include <fmt/format.h>

#include <sys/stat.h>
#include <numeric>

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

Array<float> to_float(const std::vector<std::uint8_t>& v, std::size_t n, std::size_t d) {
  Array<float> x = Array<float>::from_shape({n, d});
  for (std::size_t i = 0; i < n * d; ++i) x.data()[i] = static_cast<float>(v[i]) / 255.0f;
  return x;
}
}  // namespace

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
  d.x = to_float(a.values, a.dims[0], d.rows * d.cols);
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
  out.x = to_float(picked, count, d);
  return out;
}

Dataset load_binarized_mnist(const std::string& dir, Split split) {
  const std::string s = to_string(split);
  Dataset d;
  d.name = "binarized-mnist";
  d.split = split;
  d.rows = d.cols = 28;
  d.binarization = "static";
  const std::string idx = dir + "/binarized-mnist-" + s + "-idx3-ubyte";
  if (exists(idx) || exists(idx + ".gz")) {
    const std::string path = exists(idx) ? idx : idx + ".gz";
    IdxArray a = read_idx(path, 3);
    if (a.dims[1] != 28 || a.dims[2] != 28)
      throw Error(fmt::format("{}: IDX dims {}, expected N×28×28", path, fmt::join(a.dims, "×")));
    d.x = Array<float>::from_shape({a.dims[0], 784});
    for (std::size_t i = 0; i < a.values.size(); ++i) d.x.data()[i] = a.values[i] ? 1.0f : 0.0f;
    return d;
  }
  const std::string amat = find_file(dir, "binarized_mnist_" + s + ".amat", "binarised MNIST");
  MatMatrix m = read_mat_matrix(amat, "X");
  if (m.cols != 784) throw Error(fmt::format("{}: X is {}×{}, expected N×784", amat, m.rows, m.cols));
  d.x = Array<float>::from_shape({m.rows, 784});
  for (std::size_t i = 0; i < m.rows; ++i)
    for (std::size_t j = 0; j < 784; ++j) d.x(i, j) = m.column_major[j * m.rows + i] ? 1.0f : 0.0f;
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
  for (auto& v : d.x) v = v > threshold ? 1.0f : 0.0f;
  d.binarization = "threshold";
}

void binarize_dynamic(const Array<float>& x, Rng& rng, Array<float>& out) {
  if (out.shape() != x.shape()) out.resize(x.shape());
  for (std::size_t i = 0; i < x.size(); ++i) out.data()[i] = rng.uniform() < x.data()[i] ? 1.0f : 0.0f;
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
    order_ = shuffle_ ? permutation(rng, n_) : std::vector<std::size_t>();
    if (!shuffle_)
      for (std::size_t i = 0; i < n_; ++i) order_.push_back(i);
    pos_ = 0;
    started_ = true;
  }
  const std::size_t end = std::min(n_, pos_ + batch_);
  indices.assign(order_.begin() + static_cast<long>(pos_), order_.begin() + static_cast<long>(end));
  pos_ = end;
  return true;
}

}  // namespace tapir::models::data
