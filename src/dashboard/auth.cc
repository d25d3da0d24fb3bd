#include "dashboard/auth.h"

#include <cctype>
#include <optional>

#include "crypto/hash.h"
#include "crypto/random.h"
#include "util/bytes.h"
#include "util/json_bytes.h"

namespace lifeboat::dashboard {
namespace {

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The token a header carries; nullopt when it carries none. *basic: it came as Basic.
std::optional<std::string> Presented(std::string_view header, bool* basic) {
  header = Trim(header);
  *basic = false;
  if (StartsWithNoCase(header, "bearer ")) return std::string(Trim(header.substr(7)));
  if (StartsWithNoCase(header, "basic ")) {
    *basic = true;
    std::optional<std::string> decoded = Base64Decode(Trim(header.substr(6)));
    if (!decoded) return std::nullopt;
    const size_t colon = decoded->find(':');
    if (colon == std::string::npos) return std::nullopt;
    return decoded->substr(colon + 1);
  }
  return std::nullopt;
}

}  // namespace

bool TokenEqual(std::string_view a, std::string_view b) {
  const crypto::Digest da = crypto::Sha256(AsBytes(a));
  const crypto::Digest db = crypto::Sha256(AsBytes(b));
  return crypto::ConstantTimeEqual(da, db);
}

Role RoleOf(std::string_view authorization, const Tokens& tokens) {
  bool basic = false;
  const std::optional<std::string> token = Presented(authorization, &basic);
  if (!token || token->empty()) return Role::kNone;
  // Both compared every time, so the answer's timing does not tell which one matched.
  const bool operate = !tokens.operate.empty() && TokenEqual(*token, tokens.operate);
  const bool read = !tokens.read.empty() && TokenEqual(*token, tokens.read);
  if (operate) return basic ? Role::kRead : Role::kOperate;
  if (read) return Role::kRead;
  return Role::kNone;
}

}  // namespace lifeboat::dashboard
