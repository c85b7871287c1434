// Data readers on small synthetic files (and, when ../shared/data exists, on the real files):
// IDX plain and gzip, MAT level-5 plain and compressed, malformed inputs, binarisation, batching.
#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <vector>
#include <xtensor/xview.hpp>

#include "autodiff/check.hpp"
#include "autodiff/parallel.hpp"
#include "models/data/dataset.hpp"
#include "models/data/idx.hpp"
#include "skip.hpp"
#include "temp_dir.hpp"

using namespace tapir;
using namespace tapir::models::data;
using test::check_throws_with;
using test::TempDir;
namespace fs = std::filesystem;

namespace {
using Bytes = std::vector<std::uint8_t>;
void put_be32(Bytes& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}
void put_le32(Bytes& b, std::uint32_t v) {
  for (int s = 0; s < 32; s += 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}
void write(const std::string& p, const Bytes& b) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<long>(b.size()));
}
void write_gz(const std::string& p, const Bytes& b) {
  gzFile f = gzopen(p.c_str(), "wb");
  gzwrite(f, b.data(), static_cast<unsigned>(b.size()));
  gzclose(f);
}
Bytes idx_images(std::uint32_t n, std::uint32_t rows, std::uint32_t cols) {
  Bytes b = {0, 0, 8, 3};
  put_be32(b, n);
  put_be32(b, rows);
  put_be32(b, cols);
  for (std::uint32_t i = 0; i < n * rows * cols; ++i) b.push_back(static_cast<std::uint8_t>(i % 256));
  return b;
}
Bytes idx_labels(std::uint32_t n) {
  Bytes b = {0, 0, 8, 1};
  put_be32(b, n);
  for (std::uint32_t i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>(i % 10));
  return b;
}
/// A MAT level-5 file with one uint8 matrix `name` (rows × cols, column-major values), optionally
/// wrapped in miCOMPRESSED.
Bytes mat_file(const std::string& name, std::uint32_t rows, std::uint32_t cols, const Bytes& values, bool compress) {
  Bytes b(128, ' ');
  const std::string text = "MATLAB 5.0 MAT-file, test";
  std::copy(text.begin(), text.end(), b.begin());
  b[124] = 0x00;
  b[125] = 0x01;
  b[126] = 'I';
  b[127] = 'M';
  Bytes m;  // miMATRIX payload
  auto pad = [](Bytes& x) {
    while (x.size() % 8) x.push_back(0);
  };
  put_le32(m, 6), put_le32(m, 8), put_le32(m, 9), put_le32(m, 0);  // array flags: mxUINT8_CLASS
  put_le32(m, 5), put_le32(m, 8), put_le32(m, rows), put_le32(m, cols);
  put_le32(m, 1), put_le32(m, static_cast<std::uint32_t>(name.size()));
  m.insert(m.end(), name.begin(), name.end());
  pad(m);
  put_le32(m, 2), put_le32(m, static_cast<std::uint32_t>(values.size()));
  m.insert(m.end(), values.begin(), values.end());
  pad(m);
  Bytes elem;
  put_le32(elem, 14), put_le32(elem, static_cast<std::uint32_t>(m.size()));
  elem.insert(elem.end(), m.begin(), m.end());
  if (compress) {
    uLongf n = compressBound(elem.size());
    Bytes z(n);
    compress2(z.data(), &n, elem.data(), elem.size(), 6);
    z.resize(n);
    put_le32(b, 15), put_le32(b, static_cast<std::uint32_t>(z.size()));
    b.insert(b.end(), z.begin(), z.end());
  } else {
    b.insert(b.end(), elem.begin(), elem.end());
  }
  return b;
}
}  // namespace

TEST_CASE("IDX images and labels, plain and gzip, scaled to [0, 1]") {
  TempDir dir;
  write(dir / "train-images-idx3-ubyte", idx_images(5, 4, 3));
  write_gz(dir / "train-labels-idx1-ubyte.gz", idx_labels(5));
  Dataset d = load_mnist(dir.path.string(), Split::train);
  CHECK(d.size() == 5);
  CHECK(d.dim() == 12);
  CHECK(d.value(1, 0) == doctest::Approx(12 / 255.0));
  CHECK(d.labels == std::vector<int>{0, 1, 2, 3, 4});
  write_gz(dir / "t10k-images-idx3-ubyte.gz", idx_images(2, 4, 3));
  CHECK(load_mnist(dir.path.string(), Split::test).size() == 2);
}

TEST_CASE("malformed IDX files name the path and what was expected") {
  TempDir dir;
  const std::string p = dir / "x-idx3-ubyte";
  Bytes good = idx_images(3, 2, 2);
  write(p, Bytes(good.begin(), good.end() - 1));
  check_throws_with([&] { read_idx(p, 3); }, {p, "need 12 data bytes", "truncated"});
  Bytes bad = good;
  bad[2] = 0x0d;
  write(p, bad);
  check_throws_with([&] { read_idx(p, 3); }, {p, "element type 0x0d"});
  bad = good;
  bad[0] = 0x50;
  write(p, bad);
  check_throws_with([&] { read_idx(p, 3); }, {p, "not an IDX file", "50 00 08 03"});
  write(p, idx_labels(4));
  check_throws_with([&] { read_idx(p, 3); }, {p, "rank 1", "expected rank 3"});
  Bytes gz;
  write_gz(p, good);
  std::ifstream in(p, std::ios::binary);
  gz.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  write(p, Bytes(gz.begin(), gz.begin() + static_cast<long>(gz.size() / 2)));
  check_throws_with([&] { read_idx(p, 3); }, {p, "gzip", "truncated"});
  check_throws_with([&] { load_mnist(dir / "nowhere", Split::train); }, {"nowhere", "not found", "fetch_data"});
}

TEST_CASE("MAT level-5 matrices, plain and compressed; Frey Face's layout and split") {
  TempDir dir;
  Bytes values(560 * 1965);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<std::uint8_t>((i * 7) % 256);
  for (bool compress : {false, true}) {
    CAPTURE(compress);
    write(dir / "frey_rawface.mat", mat_file("ff", 560, 1965, values, compress));
    MatMatrix m = read_mat_matrix(dir / "frey_rawface.mat", "ff");
    CHECK(m.rows == 560);
    CHECK(m.cols == 1965);
    CHECK(m.column_major == values);
    Dataset train = load_frey(dir.path.string(), Split::train, "contiguous"),
            test = load_frey(dir.path.string(), Split::test, "contiguous");
    CHECK(train.size() == 1765);
    CHECK(test.size() == 200);
    CHECK(train.rows == 28);
    CHECK(train.cols == 20);
    // frame f, pixel (r, c) is byte f·560 + r·20 + c of the column-major data
    CHECK(test.value(3, 2 * 20 + 5) == doctest::Approx(values[(1765 + 3) * 560 + 45] / 255.0));
    // The random split: the same 1965 frames, each once, in a fixed order that is not the video's.
    const Dataset rtrain = load_frey(dir.path.string(), Split::train),
                  rtest = load_frey(dir.path.string(), Split::test);
    CHECK(rtrain.size() == 1765);
    CHECK(rtest.size() == 200);
    std::multiset<Bytes> all, shuffled;
    const auto frame = [](const Dataset* d, std::size_t i) {
      return Bytes(d->pixels.begin() + static_cast<long>(i * 560),
                   d->pixels.begin() + static_cast<long>(i * 560 + 560));
    };
    for (const Dataset* d : {&train, &test})
      for (std::size_t i = 0; i < d->size(); ++i) all.insert(frame(d, i));
    for (const Dataset* d : {&rtrain, &rtest})
      for (std::size_t i = 0; i < d->size(); ++i) shuffled.insert(frame(d, i));
    CHECK(all == shuffled);
    CHECK(rtest.x() != test.x());
    CHECK(load_frey(dir.path.string(), Split::test).x() == rtest.x());  // the same order every time
    check_throws_with([&] { load_frey(dir.path.string(), Split::test, "sorted"); }, {"sorted", "random or contiguous"});
    check_throws_with([&] { read_mat_matrix(dir / "frey_rawface.mat", "X"); }, {"no variable 'X'", "ff"});
  }
  write(dir / "bad.mat", Bytes(200, 'x'));
  check_throws_with([&] { read_mat_matrix(dir / "bad.mat", "ff"); }, {"bad.mat", "not a MATLAB level-5"});
  Bytes trunc = mat_file("ff", 560, 1965, values, false);
  trunc.resize(trunc.size() - 1000);
  write(dir / "trunc.mat", trunc);
  check_throws_with([&] { read_mat_matrix(dir / "trunc.mat", "ff"); }, {"trunc.mat", "truncated"});
}

TEST_CASE("binarisation: threshold and dynamic") {
  Dataset d;
  d.rows = 1, d.cols = 3;                  // two images of 1 × 3 pixels
  d.pixels = {26, 153, 127, 230, 0, 255};  // 0.10, 0.60, 0.498, 0.90, 0, 1
  binarize_threshold(d);
  CHECK(d.x() == Array<float>({{0.f, 1.f, 0.f}, {1.f, 0.f, 1.f}}));
  CHECK(d.binarization == "threshold");
  Rng rng(1);
  const Array<float> p = xt::full_like(Array<float>::from_shape({200, 100}), 0.3f);
  Array<float> out;
  binarize_dynamic(p, rng, out);
  CHECK(xt::mean(out)() == doctest::Approx(0.3).epsilon(0.03));
  Array<float> again;
  Rng rng2(1);
  binarize_dynamic(p, rng2, again);
  CHECK(out == again);
}

namespace {
std::uint32_t bits(float v) {
  std::uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}
/// a⁻¹ mod 2⁶⁴ for odd a (Newton's iteration doubles the correct low bits each time).
std::uint64_t inverse(std::uint64_t a) {
  std::uint64_t x = a;
  for (int i = 0; i < 6; ++i) x *= 2 - a * x;
  return x;
}
/// The key whose counter_bits(key, 0) is r: splitmix64's finaliser undone (x ^= x >> s and odd
/// multiplications are bijections of 64 bits), less one step of the counter.
std::uint64_t key_drawing(std::uint64_t r) {
  const auto unshift = [](std::uint64_t y, int s) {
    std::uint64_t x = y;
    for (int i = 0; i < 64 / s + 1; ++i) x = y ^ (x >> s);
    return x;
  };
  std::uint64_t z = unshift(r, 31) * inverse(0x94d049bb133111ebULL);
  z = unshift(z, 27) * inverse(0xbf58476d1ce4e5b9ULL);
  z = unshift(z, 30);
  return z - 0x9e3779b97f4a7c15ULL;
}
/// A generator whose next next_u64() is r: xoshiro256**'s output is rotl(s[1] · 5, 7) · 9, so s[1] follows.
Rng rng_drawing(std::uint64_t r) {
  const std::uint64_t y = r * inverse(9);
  Rng::State st;
  st.s = {0x1234567, ((y >> 7) | (y << 57)) * inverse(5), 0x89abcdef, 42};
  Rng rng;
  rng.set_state(st);
  return rng;
}
/// One image of `pixels` (rows = 1).
Dataset bytes_dataset(std::vector<std::uint8_t> pixels, const Levels& levels = grey_levels()) {
  Dataset d;
  d.rows = 1;
  d.cols = pixels.size();
  d.pixels = std::move(pixels);
  d.levels = levels;
  return d;
}
}  // namespace

TEST_CASE("bytes give bit for bit the floats the loaders converted to before (b / 255.0f; 0/1 when binarised)") {
  TempDir dir;
  write(dir / "train-images-idx3-ubyte", idx_images(4, 8, 8));  // 256 pixels: the bytes 0, 1, ..., 255
  write(dir / "binarized-mnist-test-idx3-ubyte", idx_images(1, 28, 28));
  const Dataset d = load_mnist(dir.path.string(), Split::train);
  REQUIRE(d.pixels.size() == 256);
  const Array<float> x = d.x(), head = d.first(3);
  Array<float> gathered;
  const std::vector<std::size_t> order = {3, 0, 2, 1};
  gather_rows(d, order, gathered);
  CHECK(head.shape() == Shape{3, 64});
  CHECK(gathered.shape() == Shape{4, 64});
  for (std::size_t b = 0; b < 256; ++b) {
    CAPTURE(b);
    const float old = static_cast<float>(b) / 255.0f;  // the loaders' conversion before bytes
    CHECK(d.pixels[b] == b);
    CHECK(bits(x.data()[b]) == bits(old));
    CHECK(bits(d.value(b / 64, b % 64)) == bits(old));
    if (b < 3 * 64) CHECK(bits(head.data()[b]) == bits(old));
    const auto row = std::find(order.begin(), order.end(), b / 64) - order.begin();
    CHECK(bits(gathered(static_cast<std::size_t>(row), b % 64)) == bits(old));
  }
  CHECK(bits(d.value(0, 1)) == 0x3B808081u);  // 1/255 rounded to float
  CHECK(bits(d.value(2, 0)) == 0x3F008081u);  // 128/255
  // Thresholding compared the float with 0.5f; binarised MNIST read any non-zero byte as 1.
  Dataset t = d;
  binarize_threshold(t);
  const Array<float> tx = t.x();
  for (std::size_t b = 0; b < 256; ++b) CHECK(tx.data()[b] == (static_cast<float>(b) / 255.0f > 0.5f ? 1.0f : 0.0f));
  CHECK(t.pixels == d.pixels);  // only the table changed
  gather_rows(t, order, gathered);
  for (std::size_t b = 0; b < 256; ++b) {
    const auto row = std::find(order.begin(), order.end(), b / 64) - order.begin();
    CHECK(gathered(static_cast<std::size_t>(row), b % 64) == tx.data()[b]);
  }
  const Dataset bin = load_binarized_mnist(dir.path.string(), Split::test);
  const Array<float> bx = bin.x();
  for (std::size_t i = 0; i < 784; ++i) CHECK(bx.data()[i] == (i % 256 ? 1.0f : 0.0f));
}

TEST_CASE("gather_binarized draws what gather_rows then binarize_dynamic drew, bit for bit, at every boundary") {
  // A seeded batch over all 256 grey levels (and thresholded ones): the same pixels, the same generator after.
  std::vector<std::uint8_t> all(256 * 3);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint8_t>((i * 37) % 256);
  Dataset d = bytes_dataset(all);
  d.rows = 8, d.cols = 8;  // 12 images of 8 × 8
  for (int threshold = 0; threshold < 2; ++threshold) {
    if (threshold) binarize_threshold(d);
    const std::vector<std::size_t> idx = {5, 0, 11, 5, 7, 2};
    Rng old_rng(7), new_rng(7);
    Array<float> x, old_batch, new_batch;
    gather_rows(d.x(), idx, x);
    binarize_dynamic(x, old_rng, old_batch);
    gather_binarized(d, idx, new_rng, new_batch);
    CHECK(new_batch == old_batch);
    CHECK(new_rng.state() == old_rng.state());
    CHECK(xt::mean(new_batch)() == doctest::Approx(0.5).epsilon(0.15));
    // The fixed evaluation draw over a whole set: the draws of binarize_dynamic over d.x().
    Dataset fixed = d;
    Rng a(9), b(9);
    binarize_dynamic(d.x(), a, x);
    binarize_dynamic(fixed, b);
    CHECK(fixed.x() == x);
    CHECK(fixed.levels == binary_levels());
    CHECK(std::all_of(fixed.pixels.begin(), fixed.pixels.end(), [](std::uint8_t p) { return p <= 1; }));
  }
  // Uniforms u = k · 2⁻⁵³ on either side of each level v: u < v exactly where the old comparison said so.
  std::size_t ones = 0, zeros = 0;
  for (const Levels& levels : {grey_levels(), binary_levels()})
    for (std::size_t byte = 0; byte < 256; ++byte) {
      const Dataset one = bytes_dataset({static_cast<std::uint8_t>(byte)}, levels);
      const auto k0 = static_cast<std::uint64_t>(static_cast<double>(levels[byte]) * 0x1.0p53);
      for (std::uint64_t k = k0 == 0 ? 0 : k0 - 1; k <= std::min(k0 + 2, (std::uint64_t(1) << 53) - 1); ++k)
        for (std::uint64_t low : {0x000u, 0x7ffu}) {  // the 11 bits uniform() drops
          CAPTURE(byte);
          CAPTURE(k);
          Rng old_rng = rng_drawing(key_drawing(k << 11 | low)), new_rng = old_rng;
          Array<float> old_x, new_x;
          binarize_dynamic(one.x(), old_rng, old_x);
          gather_binarized(one, {0}, new_rng, new_x);
          CHECK(bits(new_x(0, 0)) == bits(old_x(0, 0)));
          Dataset fixed = one;
          Rng fixed_rng = rng_drawing(key_drawing(k << 11 | low));
          binarize_dynamic(fixed, fixed_rng);
          CHECK(fixed.value(0, 0) == old_x(0, 0));
          (old_x(0, 0) == 1.0f ? ones : zeros) += 1;
        }
    }
  CHECK(ones > 500);  // both sides of the boundaries were drawn
  CHECK(zeros > 500);
  for (std::uint64_t r :
       {std::uint64_t(0), std::uint64_t(1) << 63, ~std::uint64_t(0), std::uint64_t(0x0123456789abcdef)})
    CHECK(counter_bits(key_drawing(r), 0) == r);
}

TEST_CASE("dynamic binarisation draws the same bits at any thread count") {
  // 300 images of 28 × 28: several tasks of rows; the fixed draw over the whole set, in 8192-pixel tasks.
  std::vector<std::uint8_t> all(300 * 784);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint8_t>((i * 7919) % 256);
  Dataset d = bytes_dataset(all);
  d.rows = 28, d.cols = 28;
  std::vector<std::size_t> idx(250);
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = (i * 37) % 300;
  std::vector<Array<float>> batches, floats;
  std::vector<std::vector<std::uint8_t>> fixed;
  for (std::size_t threads : {1, 2, 3}) {
    set_num_threads(threads);
    Rng rng(11);
    Array<float> b, f;
    gather_binarized(d, idx, rng, b);
    binarize_dynamic(d.x(), rng, f);
    Dataset whole = d;
    binarize_dynamic(whole, rng);
    batches.push_back(b);
    floats.push_back(f);
    fixed.push_back(whole.pixels);
  }
  set_num_threads(0);
  for (std::size_t t = 1; t < 3; ++t) {
    CHECK(batches[t] == batches[0]);
    CHECK(floats[t] == floats[0]);
    CHECK(fixed[t] == fixed[0]);
  }
  // The draws are the dataset's values on average, and neighbours are not alike beyond chance.
  const Array<float> mean_value = d.x();
  CHECK(xt::mean(floats[0])() == doctest::Approx(xt::mean(mean_value)()).epsilon(0.01));
  double same = 0, expected = 0;
  for (std::size_t i = 0; i + 1 < fixed[0].size(); ++i) {
    const double a = mean_value.data()[i], b = mean_value.data()[i + 1];
    same += fixed[0][i] == fixed[0][i + 1];
    expected += a * b + (1 - a) * (1 - b);
  }
  CHECK(same == doctest::Approx(expected).epsilon(0.01));
}

TEST_CASE("Dataset: first, truncate and out-of-range indices") {
  Dataset d = bytes_dataset({0, 51, 102, 153, 204, 255});
  d.cols = 2;  // three images of 1 × 2
  d.labels = {7, 8, 9};
  CHECK(d.size() == 3);
  CHECK(d.first(2) == Array<float>({{0.f, 0.2f}, {0.4f, 0.6f}}));
  CHECK(d.first(10).shape() == Shape{3, 2});
  Array<float> out;
  check_throws_with([&] { gather_rows(d, {0, 3}, out); }, {"index 3", "3 images"});
  Rng rng(1);
  check_throws_with([&] { gather_binarized(d, {4}, rng, out); }, {"index 4", "3 images"});
  CHECK(rng.state() == Rng(1).state());  // nothing drawn
  d.truncate(2);
  CHECK(d.size() == 2);
  CHECK(d.labels == std::vector<int>{7, 8});
  CHECK(d.x() == Array<float>({{0.f, 0.2f}, {0.4f, 0.6f}}));
  CHECK(Dataset().size() == 0);
}

TEST_CASE("with_one_hot_labels appends each label one-hot; binarisation leaves those columns 0 and 1") {
  Dataset d = bytes_dataset({0, 51, 102, 153, 204, 255});
  d.cols = 2;  // three images of 1 × 2
  d.labels = {2, 0, 1};
  const Dataset c = with_one_hot_labels(d, 3);
  CHECK(c.size() == 3);
  CHECK(c.dim() == 5);
  CHECK(c.x() == Array<float>({{0.f, 0.2f, 0.f, 0.f, 1.f}, {0.4f, 0.6f, 1.f, 0.f, 0.f}, {0.8f, 1.f, 0.f, 1.f, 0.f}}));
  CHECK(c.labels == d.labels);
  // A fresh Bernoulli draw of every value, many times over: the label columns never move.
  Rng rng(3);
  Array<float> out;
  for (int draw = 0; draw < 200; ++draw) {
    gather_binarized(c, {0, 1, 2}, rng, out);
    for (std::size_t i = 0; i < 3; ++i)
      for (std::size_t k = 0; k < 3; ++k) CHECK(out(i, 2 + k) == (int(k) == d.labels[i] ? 1.f : 0.f));
  }
  Dataset t = c;
  binarize_threshold(t);
  CHECK(xt::view(t.x(), xt::all(), xt::range(2, 5)) == xt::view(c.x(), xt::all(), xt::range(2, 5)));

  check_throws_with([&] { with_one_hot_labels(d, 2); }, {"example 0", "label 2", "[0, 2)"});
  Dataset unlabelled = d;
  unlabelled.labels.clear();
  check_throws_with([&] { with_one_hot_labels(unlabelled, 3); }, {"0 labels for 3 examples", "label file"});
  Dataset odd = d;
  odd.levels[255] = 0.5f;
  check_throws_with([&] { with_one_hot_labels(odd, 3); }, {"255 to 0.5", "0 and 1"});
}

TEST_CASE("BatchIterator covers every example once per epoch, seeded, with a short last batch") {
  BatchIterator it(10, 4);
  CHECK(it.batches_per_epoch() == 3);
  Rng rng(3);
  std::vector<std::size_t> idx, seen, sizes;
  while (it.next(rng, idx)) {
    sizes.push_back(idx.size());
    seen.insert(seen.end(), idx.begin(), idx.end());
  }
  CHECK(sizes == std::vector<std::size_t>{4, 4, 2});
  CHECK(std::set<std::size_t>(seen.begin(), seen.end()).size() == 10);
  CHECK(it.epoch() == 1);
  std::vector<std::size_t> second;
  while (it.next(rng, idx)) second.insert(second.end(), idx.begin(), idx.end());
  CHECK(second != seen);  // a new permutation each epoch
  BatchIterator drop(10, 4, true, true);
  std::size_t batches = 0;
  while (drop.next(rng, idx)) ++batches;
  CHECK(batches == 2);
  Array<float> x = {{0.f, 1.f}, {2.f, 3.f}, {4.f, 5.f}}, out;
  gather_rows(x, {2, 0}, out);
  CHECK(out == Array<float>({{4.f, 5.f}, {0.f, 1.f}}));
}

TEST_CASE("[optional] the real files in ../shared/data (skipped when absent)") {
  const std::string dir = std::string(TAPIR_SOURCE_DIR) + "/../shared/data";
  if (!fs::exists(dir + "/mnist/t10k-images-idx3-ubyte.gz")) test::skip_test(dir + " not found");
  Dataset test = load_mnist(dir + "/mnist", Split::test);
  CHECK(test.size() == 10000);
  CHECK(test.dim() == 784);
  CHECK(std::count(test.labels.begin(), test.labels.end(), 0) == 980);
  Dataset frey_mat = load_frey(dir, Split::train);
  CHECK(frey_mat.size() == 1765);
  CHECK(xt::amin(frey_mat.x())() == doctest::Approx(8 / 255.0));
  CHECK(xt::amax(frey_mat.x())() <= 238 / 255.0 + 1e-6);
  Dataset bin = load_binarized_mnist(dir + "/binarized_mnist", Split::test);
  CHECK(bin.size() == 10000);
  CHECK(xt::mean(bin.x())() == doctest::Approx(0.1325).epsilon(0.002));
  // the .amat (compressed MAT) reader agrees with the IDX copy
  MatMatrix m = read_mat_matrix(dir + "/binarized_mnist/binarized_mnist_valid.amat", "X");
  Dataset valid = load_binarized_mnist(dir + "/binarized_mnist", Split::valid);
  REQUIRE(m.rows == valid.size());
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < m.rows; i += 97)
    for (std::size_t j = 0; j < 784; ++j)
      mismatches += (m.column_major[j * m.rows + i] != 0) != (valid.value(i, j) != 0);
  CHECK(mismatches == 0);
}

TEST_CASE("an IDX header whose dims multiply past 2^64 is refused, not wrapped to 0 bytes") {
  // 16 × 2^30 × 2^30 = 2^64 wrapped to 0, which matched a file holding no pixels: training then crashed.
  TempDir dir;
  Bytes b = {0, 0, 8, 3};
  put_be32(b, 16), put_be32(b, 1u << 30), put_be32(b, 1u << 30);
  write(dir / "train-images-idx3-ubyte", b);
  check_throws_with([&] { read_idx(dir / "train-images-idx3-ubyte", 3); },
                    {dir / "train-images-idx3-ubyte", "16×1073741824×1073741824", "bytes 4–15", "2^64"});
  check_throws_with([&] { load_mnist(dir.path.string(), Split::train); }, {"train-images-idx3-ubyte", "2^64"});
  write_gz(dir / "x.gz", b);
  check_throws_with([&] { read_idx(dir / "x.gz", 3); }, {dir / "x.gz", "2^64"});
  // In memory, as the fuzzers read: the same checks.
  check_throws_with([&] { parse_idx(b, "bytes"); }, {"bytes", "2^64"});
}

TEST_CASE("gzip output is bounded before it is produced: by the IDX header, and by 1032:1") {
  TempDir dir;
  // A 60-byte stream declaring 2^31 pixels cannot hold them: refused before inflating anything.
  Bytes big = {0, 0, 8, 3};
  put_be32(big, 1u << 15), put_be32(big, 256), put_be32(big, 256);
  write_gz(dir / "big.gz", big);
  check_throws_with([&] { read_idx(dir / "big.gz", 3); },
                    {dir / "big.gz", "declare 2147483648 data bytes", "compressed bytes can hold", "1032:1"});
  // A header declaring 4 pixels followed by 8 MB of zeros: refused after inflating 5 of them.
  Bytes bomb = idx_images(1, 2, 2);
  bomb.resize(bomb.size() + (8u << 20), 0);
  write_gz(dir / "bomb.gz", bomb);
  check_throws_with([&] { read_idx(dir / "bomb.gz", 3); }, {dir / "bomb.gz", "more than 4", "trailing bytes"});
  // The generic reader inflates a stream whole (deflate's 1032:1 is its bound) and names the source.
  check_throws_with([&] { maybe_gunzip(Bytes{0x1f, 0x8b, 8, 0}, "stream.gz"); }, {"stream.gz", "gzip", "truncated"});
}

TEST_CASE("a MAT header claiming a huge matrix is refused before anything is allocated for it") {
  // 65 536 × 32 768 uint8 claimed by a small file: the 2 GiB used to be zero-filled before the check.
  TempDir dir;
  for (bool compress : {false, true}) {
    CAPTURE(compress);
    write(dir / "big.mat", mat_file("ff", 65536, 32768, Bytes(12, 7), compress));
    check_throws_with([&] { read_mat_matrix(dir / "big.mat", "ff"); },
                      {dir / "big.mat", "65536×32768", "holds 12 bytes of data, expected 2147483648"});
  }
  // rows × cols × 8 of doubles past 2^64: compared without multiplying by 8.
  Bytes b = mat_file("X", 0xffffffffu, 0xffffffffu, Bytes(16, 0), false);
  b[128 + 8 + 8 * 6] = 9;  // the data element's type: miDOUBLE
  write(dir / "doubles.mat", b);
  check_throws_with([&] { read_mat_matrix(dir / "doubles.mat", "X"); },
                    {"doubles.mat", "4294967295×4294967295", "bytes of doubles"});
}

TEST_CASE("readers name a path that is a directory, not a file") {
  TempDir dir;
  fs::create_directory(dir / "train-images-idx3-ubyte");
  check_throws_with([&] { read_idx(dir / "train-images-idx3-ubyte"); },
                    {dir / "train-images-idx3-ubyte", "is a directory"});
  check_throws_with([&] { read_mat_matrix(dir / "train-images-idx3-ubyte", "ff"); }, {"is a directory"});
  check_throws_with([&] { read_file_maybe_gzip(dir / "train-images-idx3-ubyte"); }, {"is a directory"});
  check_throws_with([&] { read_idx(dir / "missing"); }, {dir / "missing", "cannot open", "No such file"});
}

TEST_CASE("MNIST splits of different image sizes are refused, naming both files and their shapes") {
  // 28 × 27 test images beside 28 × 28 training images used to surface as "Vae::encode: x has shape
  // (100, 756)" at the first evaluation, naming no file.
  TempDir dir;
  write(dir / "train-images-idx3-ubyte", idx_images(3, 28, 28));
  write_gz(dir / "t10k-images-idx3-ubyte.gz", idx_images(2, 28, 27));
  for (Split s : {Split::train, Split::test}) {
    CAPTURE(to_string(s));
    check_throws_with(
        [&] { load_mnist(dir.path.string(), s); },
        {dir / "train-images-idx3-ubyte", "28×28", dir / "t10k-images-idx3-ubyte.gz", "28×27", "same image size"});
  }
  write_gz(dir / "t10k-images-idx3-ubyte.gz", idx_images(2, 28, 28));
  CHECK(load_mnist(dir.path.string(), Split::test).dim() == 784);
  CHECK(read_idx_dims(dir / "t10k-images-idx3-ubyte.gz", 3) == std::vector<std::size_t>{2, 28, 28});
  // Images without pixels are refused by name, not left to the model.
  write(dir / "train-images-idx3-ubyte", idx_images(3, 0, 28));
  check_throws_with([&] { load_mnist(dir.path.string(), Split::train); }, {"train-images-idx3-ubyte", "3×0×28"});
}

TEST_CASE("binarised MNIST in IDX must be N × 28 × 28 (larger images overran the 784-column array)") {
  TempDir dir;
  write(dir / "binarized-mnist-test-idx3-ubyte", idx_images(1, 40, 40));
  check_throws_with([&] { load_binarized_mnist(dir.path.string(), Split::test); },
                    {"binarized-mnist-test-idx3-ubyte", "1×40×40", "N×28×28"});
}

TEST_CASE("inputs the fuzzers found against the readers before their sizes were checked") {
  // tests/fuzz/fuzz_idx: rank 31, 31 dims whose product wraps past 2^64, no data (128 bytes, all header).
  const Bytes idx = {0x00, 0x00, 0x08, 0x1f, 0x00, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a,
                     0x00, 0x00, 0x00, 0xda, 0x0e, 0x00, 0x00, 0x00, 0x00, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4,
                     0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0x08, 0x00, 0x00, 0x00, 0xff, 0xff, 0x5f, 0x60,
                     0x00, 0xb7, 0xb7, 0xb7, 0xb7, 0xb7, 0xb7, 0xb7, 0xb7, 0xb7, 0xb7, 0xb7, 0x01, 0x0c, 0x1f, 0x3a,
                     0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a,
                     0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x3a, 0x00, 0x00, 0x00, 0xda, 0x0e, 0x00, 0x00,
                     0x00, 0x00, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4, 0xa4,
                     0xa4, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2f, 0x10, 0x11};
  check_throws_with([&] { parse_idx(idx, "crash-334e97ac"); }, {"crash-334e97ac", "2^64"});
  // tests/fuzz/fuzz_mat: the seed ff-4x3-uint8.mat with dims 16777220 × 196608; the reader resized its
  // output to 3.3 TB before comparing with the 12 bytes of data.
  Bytes values(12);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<std::uint8_t>(i);
  check_throws_with(
      [&] { parse_mat_matrix(mat_file("ff", 0x01000004, 0x30000, values, false), "crash-0ee39bf5", "ff"); },
      {"crash-0ee39bf5", "16777220×196608", "holds 12 bytes of data"});
}

TEST_CASE("Dataset::slice converts any run of rows, clipped to the data set; first(n) is slice(0, n)") {
  Dataset d = bytes_dataset({0, 51, 102, 255, 0, 51, 102, 255});
  d.cols = 2;  // four images of 1 × 2
  REQUIRE(d.size() == 4);
  const Array<float> all = d.x();
  CHECK(d.slice(1, 2) == Array<float>({{0.4f, 1.f}, {0.f, 0.2f}}));
  CHECK(d.slice(0, 4) == all);
  CHECK(d.slice(3, 10).shape() == Shape{1, 2});
  CHECK(d.slice(4, 1).shape() == Shape{0, 2});
  CHECK(d.slice(9, 1).shape() == Shape{0, 2});
  CHECK(d.first(3) == d.slice(0, 3));
}
