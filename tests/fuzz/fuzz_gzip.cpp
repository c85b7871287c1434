// tests/fuzz/fuzz_gzip.cpp — libFuzzer target: arbitrary bytes through maybe_gunzip (what
// read_file_maybe_gzip reads a file with). tapir::Error is the expected outcome of a bad stream; a crash,
// a sanitizer report, another exception or output beyond the documented 1032:1 bound is a finding.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "autodiff/array.hpp"
#include "models/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> bytes(data, data + size);
  try {
    const std::vector<std::uint8_t> out = tapir::models::data::maybe_gunzip(bytes, "fuzz.gz");
    if (out.size() > size * tapir::models::data::kMaxInflateRatio) std::abort();
  } catch (const tapir::Error&) {
  }
  return 0;
}
