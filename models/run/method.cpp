// tapir/models/run/method.cpp — the defaults of Method and the companion-file helpers.
#include "models/run/method.hpp"

#include <fmt/format.h>

#include <filesystem>

#include "models/run/evaluate.hpp"

namespace tapir::models {

namespace fs = std::filesystem;

BoundEvaluation Method::evaluate(const Array<float>& x, Rng& rng, Rng* binarize) {
  return evaluate_bound(model_, x, rng, kEvaluationBatch, binarize);
}

std::string previous_companion(const std::string& path) {
  return (fs::path(path).parent_path() / (fs::path(path).stem().string() + ".prev.safetensors")).string();
}

void write_companion(const std::string& path, const std::function<void(const std::string&)>& write) {
  std::error_code ec;
  if (fs::exists(path)) fs::rename(path, previous_companion(path), ec);
  if (ec) throw Error(fmt::format("cannot rename '{}' to '{}': {}", path, previous_companion(path), ec.message()));
  write(path);
}

}  // namespace tapir::models
