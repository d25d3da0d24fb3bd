// Strict integer fields for the JSON objects of the repository format (key files, config,
// snapshots, locks). Internal to lb_repository (include from .cc files only).
//
//   info.params.n = IntegerAt<uint64_t>(j, "n");        // inside try { } catch (json::exception&)
//   s.uid = IntegerOr<uint32_t>(j, "uid", 0);
//
// nlohmann's get<T>() converts numbers with static_cast: a float outside T's range (1e300) is
// undefined behaviour, and an integer outside T's range wraps silently (a version of 2^32 + 1 would
// read as 1). These accept only JSON integers that fit T and otherwise throw json::type_error, so
// the decoders' existing `catch (const json::exception&)` reports a Corruption.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

namespace lifeboat::json_fields {

template <typename T>
T GetInteger(const nlohmann::json& v, const char* name) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  using Limits = std::numeric_limits<T>;
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(Limits::max())) return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    bool fits = i < 0 ? (Limits::is_signed && i >= static_cast<int64_t>(Limits::min()))
                      : static_cast<uint64_t>(i) <= static_cast<uint64_t>(Limits::max());
    if (fits) return static_cast<T>(i);
  }
  throw nlohmann::json::type_error::create(
      302,
      std::string(name) + " must be an integer from " + std::to_string(Limits::min()) + " to " +
          std::to_string(Limits::max()) + ", not " + (v.is_number() ? v.dump() : v.type_name()),
      &v);
}

// The integer member `key` of `obj`; json::out_of_range if it is missing.
template <typename T>
T IntegerAt(const nlohmann::json& obj, const char* key) {
  return GetInteger<T>(obj.at(key), key);
}

// The integer member `key` of `obj`, or `fallback` if there is none (like json::value()).
template <typename T>
T IntegerOr(const nlohmann::json& obj, const char* key, T fallback) {
  if (!obj.is_object()) return obj.value(key, fallback);  // throws type_error 306 like value()
  auto it = obj.find(key);
  return it == obj.end() ? fallback : GetInteger<T>(*it, key);
}

}  // namespace lifeboat::json_fields
