// The bodies of the daemon API's operations (doc/daemon.md, "Operations"), parsed and checked
// before any operation is called: POST /api/v1/failover takes
//
//   {"services": ["shop"], "to": "dr-site", "at": "2026-05-01T12:00:00Z", "dry_run": true}
//
// ("all": true instead of "services"; "at" and "dry_run" optional), and /commit and /rollback
// take {} or {"incident": "ID"} (an empty body is {}). Anything else is InvalidArgument with a
// message for the client (the server answers 400 with it).
//
//   LB_ASSIGN_OR_RETURN(FailoverRequest r, ParseFailoverRequest(req.body));
//
// Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace lifeboat::dashboard {

struct FailoverRequest {
  std::vector<std::string> services;  // valid names; empty when `all`
  bool all = false;                   // every service of the plan
  std::string to;                     // the recovery site (a valid name)
  std::string at;                     // "" (the newest snapshots) or an RFC 3339 UTC time
  std::optional<int64_t> at_ns;       // `at` parsed
  bool dry_run = false;               // check the preconditions only, change nothing
  // Who asked, for the incident's "declared by": "API client 10.0.0.5", set by the server.
  std::string requested_by;
};

struct IncidentRequest {
  std::string incident;  // "" (the open incident) or the id the client expects to be open
  std::string requested_by;
};

Result<FailoverRequest> ParseFailoverRequest(std::string_view body);
Result<IncidentRequest> ParseIncidentRequest(std::string_view body);

}  // namespace lifeboat::dashboard
