// Small helpers shared by the fences. Internal to src/fence.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fence/fence.h"

namespace lifeboat::fence::internal {

// This machine's host name ("localhost" when it cannot be read).
std::string HostName();
// "2026-12-05T09:13:53Z".
std::string UtcTime(int64_t unix_ns);
// "3.2 s" / "21 s": a monotonic interval for messages.
std::string Seconds(int64_t ns);

// The JSON of a member key's value and back (etcd: PREFIX/members/SITE).
nlohmann::json MemberToJson(const Member& m);
// Corruption naming `where` when a field is missing or of the wrong type.
Result<Member> MemberFromJson(const nlohmann::json& j, const std::string& site,
                              const std::string& where);
// "actor H:1:ab on host H since 2026-...".
std::string DescribeMember(const Member& m);

}  // namespace lifeboat::fence::internal
