// The check's option parsing and names (declared in checker.h): --read-data-subset and sizes.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <string>

#include "checker/checker.h"

namespace lifeboat {

std::string_view CheckPhaseName(CheckPhase phase) {
  switch (phase) {
    case CheckPhase::kIndex:
      return "index";
    case CheckPhase::kPacks:
      return "packs";
    case CheckPhase::kSnapshots:
      return "snapshots";
    case CheckPhase::kReadData:
      return "read-data";
    case CheckPhase::kTrees:
      return "trees";
  }
  return "unknown";
}

std::optional<uint64_t> ParseSize(std::string_view text) {
  size_t digits_end = 0;
  while (digits_end < text.size() &&
         ((text[digits_end] >= '0' && text[digits_end] <= '9') || text[digits_end] == '.'))
    ++digits_end;
  std::string number(text.substr(0, digits_end));
  std::string unit(text.substr(digits_end));
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  size_t dot = number.find('.');
  if (number.empty() || number[0] == '.' || number.back() == '.' ||
      (dot != std::string::npos && number.find('.', dot + 1) != std::string::npos))
    return std::nullopt;
  static const std::pair<const char*, int> kUnits[] = {
      {"b", 0},  {"k", 1},   {"kb", 1}, {"kib", 1}, {"m", 2},  {"mb", 2},  {"mib", 2},
      {"g", 3},  {"gb", 3},  {"gib", 3}, {"t", 4},  {"tb", 4}, {"tib", 4}};
  int power = -1;
  for (const auto& [name, p] : kUnits)
    if (unit == name) power = p;
  if (power < 0) return std::nullopt;
  constexpr uint64_t kLimit = uint64_t{1} << 62;
  const uint64_t scale = uint64_t{1} << (10 * power);
  if (dot == std::string::npos) {
    if (number.size() > 19) return std::nullopt;  // more than fits, whatever the unit
    uint64_t v = std::stoull(number);
    if (v == 0 || v >= kLimit / scale) return std::nullopt;
    return v * scale;
  }
  double v = std::strtod(number.c_str(), nullptr) * static_cast<double>(scale);
  if (!(v >= 1) || v >= static_cast<double>(kLimit)) return std::nullopt;
  return static_cast<uint64_t>(v);
}

Status ParseReadDataSubset(std::string_view spec, CheckOptions* options) {
  auto bad = [&] {
    return Status::InvalidArgument(
        "--read-data-subset '" + std::string(spec) +
        "' is not valid: use n/m (1 <= n <= m <= 256, e.g. 1/7), a percentage (e.g. 10%) or a "
        "size with a unit (e.g. 500M, 2G, 1.5GiB; units are powers of 1024)");
  };
  if (spec.empty()) return bad();
  if (spec.back() == '%') {
    std::string number(spec.substr(0, spec.size() - 1));
    if (number.empty() || number.find_first_not_of("0123456789.") != std::string::npos)
      return bad();
    char* end = nullptr;
    double pct = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size() || !(pct > 0) || pct > 100) return bad();
    options->subset_percent = pct;
    options->subset.reset();
    options->subset_bytes.reset();
    return Status::Ok();
  }
  size_t slash = spec.find('/');
  if (slash == std::string_view::npos) {
    std::optional<uint64_t> bytes = ParseSize(spec);
    if (!bytes) return bad();
    options->subset_bytes = *bytes;
    options->subset.reset();
    options->subset_percent.reset();
    return Status::Ok();
  }
  auto parse = [](std::string_view s, uint32_t* out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && p == s.data() + s.size();
  };
  uint32_t n = 0, m = 0;
  if (!parse(spec.substr(0, slash), &n) || !parse(spec.substr(slash + 1), &m)) return bad();
  if (n < 1 || m < 1 || n > m || m > 256) return bad();
  options->subset = std::make_pair(n, m);
  options->subset_percent.reset();
  options->subset_bytes.reset();
  return Status::Ok();
}

}  // namespace lifeboat
