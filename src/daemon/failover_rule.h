// The daemon's decision to fail a service over (doc/daemon.md, "Sites and active sites"): the
// daemon of the recovery site moves a declared-failed service away from its active site X only
// when X cannot be speaking for it any more or agrees that it is down:
//   - X is one of this daemon's own sites (one daemon for several sites, the lock-file case): its
//     own health rounds are X's view, and they declared the service failed;
//   - no fence member holds X (X's daemon is dead or cut off: its member key is gone);
//   - X's member reports the service `failed` in its health view (ReportHealth, below).
// When X's member is alive and reports it anything else ("healthy", "failing", "unchecked"), the
// daemon does not fail over: the failure may be between the two sites, not at X.
//
//   FailoverDecision d = DecideFailover("shop", "main", {"dr"}, fence->Members(ctx));
//   if (!d.fail_over) Log("service shop: not failing over: " + d.why);
//
// The health view a daemon publishes (Daemon::PublishHealth, every health round; the member's
// `health`):
//   {"sites": ["main"], "time": "2026-12-05T09:29:38Z",
//    "services": [{"service": "shop", "state": "failed", "consecutive_failures": 3,
//                  "last_error": "tcp ...", "last_check": "...", "declared": "..."}]}
//
// Pure; any thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fence/fence.h"
#include "util/status.h"

namespace lifeboat::daemon {

struct FailoverDecision {
  bool fail_over = false;
  // Why, for the log and service_down: "site main has no daemon (its member key is gone)",
  // "site main still sees it healthy", ...
  std::string why;
  // When the decision rests on another site's member key (gone, or reporting the service
  // failed): that key as read, for the move to compare again in its own transaction
  // (fence::FenceAction::MoveActiveGuarded; doc/daemon.md, "Sites and active sites").
  std::optional<fence::MemberGuard> guard;
};

// The rule of the header for `service`, active at `active_site`, decided by a daemon acting for
// `our_sites`, given the fence's members (an error: not failing over, saying why).
FailoverDecision DecideFailover(const std::string& service, const std::string& active_site,
                                const std::vector<std::string>& our_sites,
                                const Result<std::vector<fence::Member>>& members);

// The state a member's health view gives `service` ("healthy", "failed", ...); "" when the view
// does not list it (or is not the format above).
std::string ReportedState(const nlohmann::json& health, const std::string& service);

}  // namespace lifeboat::daemon
