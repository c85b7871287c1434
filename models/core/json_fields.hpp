// tapir/models/core/json_fields.hpp — strict reads of numbers from a configuration's JSON: a count is a
// whole number in [0, 2⁶³), a real is finite. nlohmann's get<std::size_t>() wraps −1 to 2⁶⁴ − 1 and
// converts −1e308 through undefined behaviour; these throw tapir::Error naming the key and the value.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "autodiff/array.hpp"

namespace tapir::models::json_fields {

/// A whole number ≥ 0 (2e3 is accepted as 2000; 2.5, −1, 1e300, true and "3" are not).
inline std::uint64_t count(const nlohmann::json& v, const std::string& key) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d >= 0 && d < 9.2e18 && d == std::floor(d)) return static_cast<std::uint64_t>(d);
  }
  throw Error(fmt::format("'{}' is {}: expected a whole number ≥ 0", key, v.dump()));
}

/// A count that fits a signed 64-bit integer (samples, steps).
inline long long signed_count(const nlohmann::json& v, const std::string& key) {
  const std::uint64_t c = count(v, key);
  if (c > static_cast<std::uint64_t>(INT64_MAX)) throw Error(fmt::format("'{}' is {}: too large", key, v.dump()));
  return static_cast<long long>(c);
}

/// A list of counts.
inline std::vector<std::size_t> counts(const nlohmann::json& v, const std::string& key) {
  if (!v.is_array()) throw Error(fmt::format("'{}' is {}: expected a list of whole numbers", key, v.dump()));
  std::vector<std::size_t> out;
  for (const auto& e : v) out.push_back(static_cast<std::size_t>(count(e, key)));
  return out;
}

/// A finite real number.
inline double real(const nlohmann::json& v, const std::string& key) {
  if (v.is_number() && std::isfinite(v.get<double>())) return v.get<double>();
  throw Error(fmt::format("'{}' is {}: expected a finite number", key, v.dump()));
}

}  // namespace tapir::models::json_fields
