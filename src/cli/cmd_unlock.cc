// lifeboat unlock: removes stale locks (older than 30 minutes, unreadable, or left by a process
// of this host that no longer runs), or every lock with --remove-all. Prints each removed lock
// with the reason; --json prints one object listing them.
#include <iostream>

#include "cli/common.h"

namespace lifeboat::cli {

namespace {

nlohmann::json LockJson(const LockInfo& l, const std::string& reason) {
  nlohmann::json j = {{"id", l.name},           {"exclusive", l.exclusive},
                      {"hostname", l.hostname}, {"username", l.username},
                      {"pid", l.pid},           {"stale", l.stale},
                      {"reason", reason}};
  if (l.time_ns != 0) j["time"] = FormatTime(l.time_ns);
  return j;
}

std::string Describe(const LockInfo& l) {
  std::string s =
      std::string(l.exclusive ? "exclusive" : "shared") + " lock " + l.name.substr(0, 8);
  if (!l.hostname.empty() || l.pid != 0)
    s += " (" + l.username + "@" + l.hostname + " pid " + std::to_string(l.pid) +
         (l.time_ns != 0 ? ", " + FormatLocalTime(l.time_ns) : "") + ")";
  return s;
}

}  // namespace

void RegisterUnlock(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand("unlock", "remove stale locks");
  auto remove_all = std::make_shared<bool>(false);
  cmd->add_flag("--remove-all", *remove_all,
                "remove every lock, also those of running processes (make sure none is running)");
  cmd->callback([&g, runner, remove_all] {
    *runner = [&g, remove_all]() -> int {
      auto repo = OpenRepository(g);
      if (!repo.ok()) return ReportError(g, repo.status());
      UnlockReport report;
      Result<int> done = RemoveLocks(**repo, *remove_all, LockOptions{}, &report);
      nlohmann::json removed = nlohmann::json::array();
      for (const auto& [lock, reason] : report.removed) {
        if (g.json)
          removed.push_back(LockJson(lock, reason));
        else
          Say(g, "removed " + Describe(lock) + ": " + reason);
      }
      if (!done.ok()) return ReportError(g, done.status());
      const int kept = report.kept, removed_count = *done;
      if (g.json) {
        PrintJson({{"message_type", "unlock"}, {"removed", removed}, {"kept", kept}});
        return kExitOk;
      }
      Say(g, "successfully removed " + std::to_string(removed_count) + " lock" +
                 (removed_count == 1 ? "" : "s"));
      if (kept > 0)
        Say(g, std::to_string(kept) + " lock" + (kept == 1 ? " is" : "s are") +
                   " held by running processes and kept (--remove-all removes them too)");
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
