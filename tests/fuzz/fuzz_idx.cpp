// tests/fuzz/fuzz_idx.cpp — libFuzzer target: arbitrary bytes as an IDX file, plain or gzip
// (parse_idx, what read_idx reads a file with). tapir::Error is the expected outcome of a bad file;
// anything else (a crash, a sanitizer report, another exception, a leak) is a finding.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "autodiff/array.hpp"
#include "models/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> bytes(data, data + size);
  for (std::size_t rank : {0, 3}) {
    try {
      const tapir::models::data::IdxArray a = tapir::models::data::parse_idx(bytes, "fuzz.idx", rank);
      // The dims must describe the values exactly, without wrapping (a caller allocates by them).
      std::size_t n = 1;
      for (std::size_t d : a.dims)
        if (__builtin_mul_overflow(n, d, &n)) std::abort();
      if (a.dims.empty() || n != a.values.size()) std::abort();
    } catch (const tapir::Error&) {
    }
  }
  return 0;
}
