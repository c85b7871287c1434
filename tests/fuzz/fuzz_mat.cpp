// tests/fuzz/fuzz_mat.cpp — libFuzzer target: arbitrary bytes as a MATLAB level-5 MAT-file
// (parse_mat_matrix, what read_mat_matrix reads a file with), looking up the variables tapir reads:
// Frey Face's "ff" and binarised MNIST's "X". tapir::Error is the expected outcome of a bad file.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "autodiff/array.hpp"
#include "models/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> bytes(data, data + size);
  for (const char* name : {"ff", "X"}) {
    try {
      const tapir::models::data::MatMatrix m = tapir::models::data::parse_mat_matrix(bytes, "fuzz.mat", name);
      if (m.rows * m.cols != m.column_major.size()) std::abort();
    } catch (const tapir::Error&) {
    }
  }
  return 0;
}
