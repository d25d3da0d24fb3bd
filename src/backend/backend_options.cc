#include "backend/backend_options.h"

#include <algorithm>
#include <cstdlib>

#include "util/nearest_name.h"
#include "util/units.h"

namespace lifeboat {

namespace {

Status BadValue(std::string_view key, std::string_view value, std::string_view what) {
  return Status::InvalidArgument("option " + std::string(key) + "=" + std::string(value) + ": " +
                                 std::string(what));
}

}  // namespace

Result<BackendOptions> BackendOptions::Parse(const std::vector<std::string>& pairs) {
  BackendOptions options;
  for (const std::string& pair : pairs) {
    const size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument("option \"" + pair +
                                     "\" is not KEY=VALUE (for example -o s3.region=eu-west-1)");
    }
    options.Set(pair.substr(0, eq), pair.substr(eq + 1));
  }
  return options;
}

void BackendOptions::Set(std::string key, std::string value) {
  values_[std::move(key)] = std::move(value);
}

std::optional<std::string> BackendOptions::Find(std::string_view key) const {
  auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

Result<std::string> BackendOptions::GetString(std::string_view key,
                                              std::string_view fallback) const {
  std::optional<std::string> value = Find(key);
  return value ? *value : std::string(fallback);
}

Result<int64_t> BackendOptions::GetInt(std::string_view key, int64_t fallback, int64_t min,
                                       int64_t max) const {
  std::optional<std::string> value = Find(key);
  if (!value) return fallback;
  if (value->empty() || value->find_first_not_of("0123456789") != std::string::npos ||
      value->size() > 18) {
    return BadValue(key, *value, "expected a whole number");
  }
  const int64_t n = std::strtoll(value->c_str(), nullptr, 10);
  if (n < min || n > max) {
    return BadValue(key, *value,
                    "expected a number from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return n;
}

Result<bool> BackendOptions::GetBool(std::string_view key, bool fallback) const {
  std::optional<std::string> value = Find(key);
  if (!value) return fallback;
  std::string v = *value;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "true" || v == "yes" || v == "1" || v == "on") return true;
  if (v == "false" || v == "no" || v == "0" || v == "off") return false;
  return BadValue(key, *value, "expected true or false");
}

Result<uint64_t> BackendOptions::GetSize(std::string_view key, uint64_t fallback) const {
  std::optional<std::string> value = Find(key);
  if (!value) return fallback;
  Result<uint64_t> size = ParseSize(*value);
  if (!size.ok()) return BadValue(key, *value, size.status().message());
  return *size;
}

Status BackendOptions::CheckKnown(std::string_view scheme,
                                  std::span<const BackendOptionSpec> specs) const {
  const std::string own_prefix = std::string(scheme) + ".";
  for (const auto& entry : values_) {
    const std::string& key = entry.first;
    if (key == "connections") continue;
    if (key == own_prefix + "connections") continue;
    if (std::any_of(specs.begin(), specs.end(),
                    [&](const BackendOptionSpec& s) { return s.key == key; })) {
      continue;
    }
    const size_t dot = key.find('.');
    const bool other_scheme = dot != std::string::npos && dot > 0 && !key.starts_with(own_prefix);
    if (other_scheme) continue;
    std::string message = "unknown option \"" + key + "\" for a " + std::string(scheme) +
                          " repository";
    std::vector<std::string_view> keys;
    for (const BackendOptionSpec& s : specs) keys.push_back(s.key);
    const std::string nearest = NearestName(key, keys, std::max<size_t>(3, key.size() / 3));
    if (!nearest.empty()) message += "; did you mean " + nearest + "?";
    message += " (doc/remote-sites.md lists every option)";
    return Status::InvalidArgument(message);
  }
  return Status::Ok();
}

Result<int> ConnectionsOption(const BackendOptions& options, std::string_view scheme,
                              int fallback) {
  const std::string key =
      options.Find("connections") ? std::string("connections") : std::string(scheme) + ".connections";
  LB_ASSIGN_OR_RETURN(int64_t n, options.GetInt(key, fallback, 1, 256));
  return static_cast<int>(n);
}

std::optional<std::string> BackendOpenArgs::LookupEnv(std::string_view name) const {
  auto it = env.find(name);
  if (it != env.end()) return it->second;
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

std::string RedactLocation(std::string_view location) {
  // scheme:http(s)://user:password@host... -> the password becomes "***".
  const size_t slashes = location.find("://");
  if (slashes == std::string_view::npos) return std::string(location);
  const size_t authority = slashes + 3;
  size_t end = location.find('/', authority);
  if (end == std::string_view::npos) end = location.size();
  const size_t at = location.rfind('@', end);
  if (at == std::string_view::npos || at < authority) return std::string(location);
  const size_t colon = location.find(':', authority);
  if (colon == std::string_view::npos || colon > at) return std::string(location);
  return std::string(location.substr(0, colon + 1)) + "***" + std::string(location.substr(at));
}

}  // namespace lifeboat
