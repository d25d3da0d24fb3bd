// Who a request of the daemon's dashboard is (doc/daemon.md, "Access"): its Authorization header
// against the read token and the operate token, compared in constant time (the time depends on
// neither the tokens' contents nor their lengths: both sides are hashed first).
//
//   Role role = RoleOf(req.get_header_value("Authorization"), tokens);
//   if (tokens.read_required() && role == Role::kNone) -> 401
//
// Accepted forms: "Bearer TOKEN" (API clients, Prometheus' `authorization` setting) and
// "Basic base64(USER:TOKEN)" with any user name (a browser's login prompt: the page cannot send a
// bearer token). Basic proves at most kRead, even with the operate token: a browser sends cached
// Basic credentials with every request to the address, also a forged cross-site POST, so
// operating takes the Bearer form, which only a program sends. Pure; any thread.
#pragma once

#include <string>
#include <string_view>

namespace lifeboat::dashboard {

enum class Role { kNone, kRead, kOperate };

struct Tokens {
  std::string read;     // "" : reading needs no token
  std::string operate;  // "" : no request may operate
};

// The role the header proves: kOperate when it carries the operate token as Bearer, kRead for
// the read token (or the operate token as Basic), kNone when it is absent, malformed, or carries
// neither (an empty token never matches).
Role RoleOf(std::string_view authorization, const Tokens& tokens);

// True when a and b are equal, in time independent of both (SHA-256 of each, compared with
// crypto::ConstantTimeEqual).
bool TokenEqual(std::string_view a, std::string_view b);

}  // namespace lifeboat::dashboard
