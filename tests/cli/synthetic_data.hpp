// Small synthetic data sets under the usual file names, for tests that train without the real data:
// MNIST-shaped IDX (train 600, test 200 images of 28 × 28) and Frey-shaped IDX (1965 faces of 28 × 20).
// Images are smooth blobs at random places, so a VAE has something to learn.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace tapir::test {

inline void put_be32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}

inline bool write_idx3(const std::string& path, std::uint32_t n, std::uint32_t rows, std::uint32_t cols,
                       std::mt19937& gen) {
  std::vector<std::uint8_t> b;
  put_be32(b, 0x00000803);
  put_be32(b, n);
  put_be32(b, rows);
  put_be32(b, cols);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (std::uint32_t i = 0; i < n; ++i) {
    const double cr = 6 + u(gen) * (rows - 12), cc = 5 + u(gen) * (cols - 10), w = 2 + 3 * u(gen);
    for (std::uint32_t r = 0; r < rows; ++r)
      for (std::uint32_t c = 0; c < cols; ++c) {
        const double d2 = (r - cr) * (r - cr) + (c - cc) * (c - cc);
        b.push_back(static_cast<std::uint8_t>(std::lround(255.0 * std::exp(-d2 / (2 * w * w)))));
      }
  }
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  return static_cast<bool>(out);
}

/// IDX label files for the MNIST-shaped sets (labels i mod 10: the blobs do not depend on them); false on failure.
inline bool write_synthetic_labels(const std::string& dir) {
  for (const auto& [name, n] :
       {std::pair<const char*, std::uint32_t>{"train-labels-idx1-ubyte", 600}, {"t10k-labels-idx1-ubyte", 200}}) {
    std::vector<std::uint8_t> b;
    put_be32(b, 0x00000801);
    put_be32(b, n);
    for (std::uint32_t i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>(i % 10));
    std::ofstream out(dir + "/" + name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    if (!out) return false;
  }
  return true;
}

/// MNIST-shaped (train 600, test 200) and Frey-shaped (1965) IDX files in `dir`; false on failure.
inline bool write_synthetic_data(const std::string& dir) {
  std::filesystem::create_directories(dir);
  std::mt19937 gen(42);
  return write_idx3(dir + "/train-images-idx3-ubyte", 600, 28, 28, gen) &&
         write_idx3(dir + "/t10k-images-idx3-ubyte", 200, 28, 28, gen) &&
         write_idx3(dir + "/frey-faces-idx3-ubyte", 1965, 28, 20, gen);
}

}  // namespace tapir::test
