// How to reach the PostgreSQL cluster a failover left running for a postgres source (doc/
// failover.md, "Failback"): the cluster `postgres_restore` made below the recovery root listens
// where the source's server did (the source's port; its host when that is a numeric address,
// else 127.0.0.1), with the superuser `lifeboat` whose password is in
// RECOVERY_ROOT/var/lib/lifeboat/pgpass. A backup of the service as it runs at the recovery site
// (failback's final backup, the daemon's runs there) dumps it with these.
//
//   LB_ASSIGN_OR_RETURN(FailoverClusterLogin l, FailoverClusterLoginOf("/srv/dr", src.postgres));
//   pg.host = l.host;  pg.port = l.port;  pg.user = l.user;  pg.password = l.password;
//
// Reads one file; any thread.
#pragma once

#include <string>

#include "plan/plan.h"
#include "util/status.h"

namespace lifeboat::recover {

struct FailoverClusterLogin {
  std::string host;
  int port = 0;
  std::string user;
  std::string password;  // never in a message
};

// The address a failover's cluster for `source` listens on.
std::string FailoverClusterHost(const plan::PostgresSource& source);

// The login of the cluster below `recovery_root` ("/" or "" for none) for `source`. NotFound
// naming the pgpass file when it is missing or has no entry for the cluster's address (no
// failover made one there).
Result<FailoverClusterLogin> FailoverClusterLoginOf(const std::string& recovery_root,
                                                    const plan::PostgresSource& source);

}  // namespace lifeboat::recover
