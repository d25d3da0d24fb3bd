// The check's option parsing (declared in checker.h): --read-data-subset.
#include <charconv>
#include <cstdlib>
#include <string>

#include "checker/checker.h"
#include "util/units.h"

namespace lifeboat {

Status ParseReadDataSubset(std::string_view spec, CheckOptions* options) {
  auto bad = [&] {
    return Status::InvalidArgument(
        "--read-data-subset '" + std::string(spec) +
        "' is not valid: use n/m (1 <= n <= m <= 256, e.g. 1/7), a percentage (e.g. 10%) or a "
        "size (e.g. 500M, 2G, 1.5GiB; units are powers of 1024; doc/units.md)");
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
    Result<uint64_t> bytes = ParseSize(spec);
    if (!bytes.ok())
      return bytes.status().WithContext(
          "--read-data-subset (n/m, a percentage such as 10%, or a size)");
    if (*bytes == 0)
      return Status::InvalidArgument("--read-data-subset '" + std::string(spec) +
                                     "': a size must be at least 1 byte");
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
