// tests/fuzz/fuzz_config.cpp — libFuzzer target: arbitrary bytes as a run's config.json, through
// VaeRunConfig::from_json and check_combination (what `tapir train --config` and `tapir resume` do).
// tapir::Error and nlohmann::json's exceptions (bad JSON, a wrong type) are the expected outcomes.
#include <cstdint>

#include "models/run/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const nlohmann::json j = nlohmann::json::parse(data, data + size);
    const tapir::models::VaeRunConfig c = tapir::models::VaeRunConfig::from_json(j);
    tapir::models::check_combination(c);
  } catch (const tapir::Error&) {
  } catch (const nlohmann::json::exception&) {
  }
  return 0;
}
