// tests/fuzz/fuzz_safetensors.cpp — libFuzzer target: arbitrary bytes as a safetensors checkpoint
// (parse_safetensors, what read_safetensors reads a file with). tapir::Error is the expected outcome
// of a bad file; anything else is a finding.
#include <cstdint>
#include <cstdlib>

#include "nn/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const tapir::nn::NamedTensors t = tapir::nn::parse_safetensors(data, size, "fuzz.safetensors");
    std::size_t bytes = 0;
    for (const auto& [name, a] : t.f32) bytes += 4 * a.size();
    for (const auto& [name, a] : t.f64) bytes += 8 * a.size();
    if (bytes > size) std::abort();  // the tensors cannot hold more than the file
  } catch (const tapir::Error&) {
  }
  return 0;
}
