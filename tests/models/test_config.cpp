// A run's configuration: strict numbers from JSON, and one set of limits for flags and config.json alike.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "models/core/json_fields.hpp"
#include "models/run/config.hpp"

using namespace tapir;
using namespace tapir::models;

namespace {
/// The message of the tapir::Error `f` throws ("" when it throws none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("json_fields: counts are whole numbers in range, reals are finite; nothing wraps") {
  using nlohmann::json;
  CHECK(json_fields::count(json(7), "k") == 7);
  CHECK(json_fields::count(json(2e3), "k") == 2000);
  CHECK(json_fields::count(json(std::uint64_t(1) << 63), "k") == std::uint64_t(1) << 63);
  for (const json& bad : {json(-1), json(2.5), json(-1e308), json(1e300), json(true), json("3"), json(nullptr)})
    CHECK(contains(error_of([&] { json_fields::count(bad, "batch"); }), "'batch' is " + bad.dump()));
  CHECK(contains(error_of([&] { json_fields::signed_count(json(std::uint64_t(1) << 63), "samples"); }), "too large"));
  CHECK(json_fields::counts(json::parse("[500, 2e2]"), "hidden") == std::vector<std::size_t>{500, 200});
  CHECK(contains(error_of([&] { json_fields::counts(json::parse("[500, -1]"), "hidden"); }), "'hidden' is -1"));
  CHECK(json_fields::real(json(0.02), "lr") == 0.02);
  CHECK(contains(error_of([&] { json_fields::real(json("fast"), "lr"); }), "expected a finite number"));
  CHECK(contains(error_of([&] { json_fields::real(json(HUGE_VAL), "lr"); }), "'lr'"));
}

TEST_CASE("config.json read back: values that crashed eval are refused, naming the key") {
  const nlohmann::json good = paper_vae_setup("mnist", 20).to_json();
  CHECK_NOTHROW(VaeRunConfig::from_json(good));
  const auto with = [&](const char* part, const char* key, nlohmann::json v) {
    nlohmann::json j = good;
    j[part][key] = v;
    return error_of([&] { VaeRunConfig::from_json(j); });
  };
  CHECK(contains(with("vae", "samples", std::uint64_t(1) << 63), "mc-samples"));  // parsed, then over the limit
  CHECK(contains(with("vae", "samples", -1e308), "'samples' is -1e+308"));
  CHECK(contains(with("vae", "samples", 0), "at least 1"));
  CHECK(contains(with("vae", "z_dim", std::uint64_t(1) << 62), "--latent (z_dim) = 4611686018427387904"));
  CHECK(contains(with("vae", "hidden", nlohmann::json::array({500, 0})), "a layer of 0 units"));
  CHECK(contains(with("vae", "init_std", 1e30), "--init-std (init_std) = 1e+30"));
  CHECK(contains(with("train", "batch", -1), "'batch' is -1"));
  CHECK(contains(with("train", "samples", 1e16), "--samples (samples) = 10000000000000000"));
  CHECK(contains(with("train", "weight_decay", 1e300), "--weight-decay"));
  CHECK(contains(with("train", "lr", "fast"), "'lr'"));
  CHECK(contains(with("train", "ais_chains", std::uint64_t(1) << 40), "--ais-chains (ais_chains)"));
  CHECK(contains(with("train", "gamma", 2), "unknown key 'gamma'"));
}

TEST_CASE("limits: at the limit is allowed, one past it is refused; products are checked without wrapping") {
  const auto check = [](auto&& edit) {
    VaeRunConfig c = paper_vae_setup("mnist", 20);
    edit(c);
    return error_of([&] { check_combination(c); });
  };
  // Every paper setup passes.
  for (const char* d : {"mnist", "frey", "binarized-mnist"})
    for (std::size_t z : {2, 3, 5, 10, 20, 200})
      CHECK(error_of([&] { check_combination(paper_vae_setup(d, z)); }) == "");
  CHECK(check([](VaeRunConfig& c) { c.model.z_dim = limits::kWidth; }) == "");
  CHECK(contains(check([](VaeRunConfig& c) { c.model.z_dim = limits::kWidth + 1; }), "at most 65536"));
  CHECK(contains(check([](VaeRunConfig& c) { c.model.hidden = std::vector<std::size_t>(65, 10); }), "--hidden"));
  // Widths each within the limit, but 3.6 · 10⁹ parameters together.
  CHECK(contains(check([](VaeRunConfig& c) { c.model.hidden = {60000, 60000}; }), "parameters"));
  // Products that would wrap a 64-bit size: 2⁴⁰ · 2⁴⁰.
  CHECK(contains(check([](VaeRunConfig& c) {
                   c.train.batch = limits::kBatch;
                   c.model.samples = limits::kDraws;
                 }),
                 "one step would hold"));
  CHECK(contains(check([](VaeRunConfig& c) { c.model.prior = "vamp:100001"; }), "the prior's K"));
  CHECK(check([](VaeRunConfig& c) {
          c.model.prior = "mog:1000";
          c.model.estimator = Estimator::monte_carlo;
        }) == "");
  CHECK(contains(check([](VaeRunConfig& c) { c.train.lr = std::nan(""); }), "--lr"));
  CHECK(contains(check([](VaeRunConfig& c) { c.train.lr = 1e4; }), "--lr (lr) = 10000"));
  CHECK(contains(check([](VaeRunConfig& c) { c.train.beta = -0.5; }), "--beta"));
  CHECK(check([](VaeRunConfig& c) { c.train.weight_decay = -1; }) == "");  // the paper's 1/N
  CHECK(contains(check([](VaeRunConfig& c) {
                   c.train.method = "avb";
                   c.train.optimizer = "adam";
                   c.train.avb.noise_dim = std::size_t(1) << 62;
                 }),
                 "--noise-dim"));
}
