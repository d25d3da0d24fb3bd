#include "util/units.h"

#include <cstdio>

namespace lifeboat {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

// 'x' for a printable ASCII character; otherwise the rest of the text, so that a multi-byte
// character is never cut in half.
std::string Quote(std::string_view rest) {
  unsigned char c = static_cast<unsigned char>(rest.front());
  if (c > ' ' && c < 0x7f) return "'" + std::string(1, rest.front()) + "'";
  return "at \"" + std::string(rest) + "\"";
}

// --- sizes ---

constexpr char kSizeForm[] =
    "(expected a number and an optional unit: B, K, M, G, T, P, also written KB or KiB etc., "
    "case-insensitive, every unit a power of 1024; e.g. 4096, 500M, 2G, 1.5GiB)";

Status BadSize(std::string_view text, const std::string& why) {
  return Status::InvalidArgument("invalid size \"" + std::string(text) + "\": " + why + " " +
                                 kSizeForm);
}

// The power of 1024 a unit stands for; -1 when it is not a unit. `unit` is lowercase.
int UnitPower(std::string_view unit) {
  static constexpr std::string_view kLetters = "kmgtp";
  if (unit.empty() || unit == "b") return 0;
  size_t letter = kLetters.find(unit[0]);
  if (letter == std::string_view::npos) return -1;
  std::string_view rest = unit.substr(1);
  if (rest.empty() || rest == "b" || rest == "ib") return static_cast<int>(letter) + 1;
  return -1;
}

// --- durations ---

constexpr char kDurationForm[] =
    "(expected whole numbers each followed by a unit: s = seconds, m = minutes, h = hours, "
    "d = days, w = weeks, each unit at most once; e.g. 90s, 15m, 1h30m, 7d)";

uint64_t UnitSeconds(char unit) {
  switch (unit) {
    case 's': return 1;
    case 'm': return 60;
    case 'h': return 3600;
    case 'd': return 86400;
    case 'w': return 7 * 86400;
  }
  return 0;
}

}  // namespace

Result<uint64_t> ParseSize(std::string_view text) {
  std::string_view s = TrimBlanks(text);
  if (s.empty()) return BadSize(text, "it is empty");
  if (s[0] == '-') return BadSize(text, "sizes cannot be negative");
  size_t i = 0;
  uint64_t whole = 0;
  bool too_large = false;
  for (; i < s.size() && IsDigit(s[i]); ++i) {
    uint64_t digit = static_cast<uint64_t>(s[i] - '0');
    if (whole > (kMaxSize - digit) / 10) too_large = true;
    else whole = whole * 10 + digit;
  }
  if (i == 0) return BadSize(text, "expected a number at \"" + std::string(s) + "\"");
  // The fraction as frac / frac_scale; digits past the 18th change the result by far less than
  // a byte (the largest unit is 2^50), so they are read but not kept.
  uint64_t frac = 0, frac_scale = 1;
  bool has_fraction = false;
  if (i < s.size() && s[i] == '.') {
    size_t start = ++i;
    for (; i < s.size() && IsDigit(s[i]); ++i) {
      if (frac_scale >= uint64_t{1000000000000000000}) continue;
      frac = frac * 10 + static_cast<uint64_t>(s[i] - '0');
      frac_scale *= 10;
    }
    if (i == start) return BadSize(text, "expected digits after '.'");
    has_fraction = true;
  }
  std::string unit;
  for (char c : s.substr(i)) unit += Lower(c);
  int power = UnitPower(unit);
  if (power < 0) {
    if (IsBlank(s[i])) return BadSize(text, "blanks inside a size are not allowed");
    return BadSize(text, "unknown unit \"" + std::string(s.substr(i)) + "\"");
  }
  if (has_fraction && power == 0)
    return BadSize(text, "a number of bytes must be whole (a fraction needs a unit such as K or M)");
  const std::string too_large_why = "it is larger than the largest size, 2^63-1 bytes (8 EiB)";
  const uint64_t scale = uint64_t{1} << (10 * power);
  if (too_large || whole > kMaxSize / scale) return BadSize(text, too_large_why);
  uint64_t bytes = whole * scale;
  if (has_fraction) {
    uint64_t extra = static_cast<uint64_t>(static_cast<unsigned __int128>(frac) * scale / frac_scale);
    if (extra > kMaxSize - bytes) return BadSize(text, too_large_why);
    bytes += extra;
  }
  return bytes;
}

std::string FormatBytes(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else snprintf(buf, sizeof buf, "%.2f %s", v, kUnits[u]);
  return buf;
}

Result<std::vector<DurationPart>> SplitDurationParts(std::string_view text, std::string_view units,
                                                     uint64_t max_number) {
  std::string_view s = TrimBlanks(text);
  if (s.empty()) return Status::InvalidArgument("it is empty");
  std::vector<DurationPart> parts;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '-') return Status::InvalidArgument("durations cannot be negative");
    size_t start = i;
    uint64_t value = 0;
    for (; i < s.size() && IsDigit(s[i]); ++i) {
      uint64_t digit = static_cast<uint64_t>(s[i] - '0');
      if (value > max_number / 10 || digit > max_number - value * 10)
        return Status::InvalidArgument("the number at \"" + std::string(s.substr(start)) +
                                       "\" is larger than " + std::to_string(max_number));
      value = value * 10 + digit;
    }
    if (i == start) {
      if (IsBlank(s[i])) return Status::InvalidArgument("blanks inside a duration are not allowed");
      return Status::InvalidArgument("expected a number at \"" + std::string(s.substr(start)) +
                                     "\"");
    }
    if (i == s.size())
      return Status::InvalidArgument("the number " + std::to_string(value) + " has no unit");
    char unit = s[i];
    if (unit == '.')
      return Status::InvalidArgument(
          "only whole numbers are allowed (use a smaller unit instead of a fraction)");
    if (IsBlank(unit)) return Status::InvalidArgument("blanks inside a duration are not allowed");
    if (units.find(unit) == std::string_view::npos)
      return Status::InvalidArgument("unknown unit " + Quote(s.substr(i)));
    for (const DurationPart& p : parts)
      if (p.unit == unit)
        return Status::InvalidArgument("the unit '" + std::string(1, unit) + "' appears twice");
    parts.push_back({value, unit});
    ++i;
  }
  return parts;
}

Result<std::chrono::seconds> ParseDuration(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid duration \"" + std::string(text) + "\": " + why + " " +
                                   kDurationForm);
  };
  const uint64_t max = static_cast<uint64_t>(kMaxDuration.count());
  auto parts = SplitDurationParts(text, "smhdw", max);
  if (!parts.ok()) return bad(parts.status().message());
  uint64_t total = 0;
  for (const DurationPart& p : *parts) {
    total += p.number * UnitSeconds(p.unit);  // at most max * 1 week: no overflow
    if (total > max) return bad("it is longer than 36500d (about 100 years)");
  }
  return std::chrono::seconds(static_cast<int64_t>(total));
}

std::string DurationToString(std::chrono::seconds d) {
  int64_t left = d.count();
  if (left <= 0) return "0s";
  std::string out;
  for (char unit : {'w', 'd', 'h', 'm', 's'}) {
    int64_t size = static_cast<int64_t>(UnitSeconds(unit));
    if (left >= size) out += std::to_string(left / size) + unit;
    left %= size;
  }
  return out;
}

}  // namespace lifeboat
