// Internal to lb_recover: the network checks of a service's `verify` list (doc/drills.md,
// "Checks"). Each keeps trying until it holds or the context's deadline (the check's timeout)
// passes, so that a server still starting is waited for and the time it took shows in the RTO.
//
//   Status up = WaitForTcp("127.0.0.1", 41234, ctx.WithTimeout(60s), nullptr);
//   HttpCheckResult h = CheckHttp("http://127.0.0.1:41234/health", 200, "ok", ctx);
//
// Blocks; any thread.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "util/context.h"
#include "util/status.h"

namespace lifeboat::recover {

// Connects to host:port (a name or an address) until a connection succeeds, `alive` (may be
// empty) returns false (FailedPrecondition), or the context is done (DeadlineExceeded with the
// last error, or Cancelled). Tries every 50 ms.
Status WaitForTcp(const std::string& host, int port, const Context& ctx,
                  const std::function<bool()>& alive);

struct HttpCheckResult {
  Status status;
  std::string answer;  // the last answer: "HTTP 200\n<body, trimmed>", or the last error
};

// GETs `url` until the answer has `expect_status` and, when given, contains `expect_body`, or the
// context is done (the last answer says what was wrong). Tries every 100 ms.
HttpCheckResult CheckHttp(const std::string& url, int expect_status,
                          const std::optional<std::string>& expect_body, const Context& ctx);

struct SqlTarget {
  std::string host;
  int port = 0;
  std::string user, password, database;
};

struct SqlCheckResult {
  Status status;
  std::string value;  // the first column of the first row ("" for SQL NULL or no row)
};

// Runs `query` once (connect timeout and statement_timeout from the context's deadline) and
// compares the first column of the first row, as text, with `expect` when given. The password
// appears in no message.
SqlCheckResult CheckSql(const SqlTarget& target, const std::string& query,
                        const std::optional<std::string>& expect, const Context& ctx);

}  // namespace lifeboat::recover
