#include "recover/preconditions.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "notify/event.h"
#include "plan/duration.h"
#include "recover/scratch_postgres.h"
#include "recover/session.h"

namespace lifeboat::recover {

namespace {

using Level = Precondition::Level;

// Absent, or an empty directory: nothing a restore would overwrite or mix with.
std::string PathProblem(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return "";
  if (!S_ISDIR(st.st_mode)) return path + " exists (and is not a directory)";
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return path + " exists and cannot be read";
  bool empty = true;
  while (struct dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  return empty ? "" : path + " exists and is not empty";
}

// The program of argv[0]: found in PATH (or as given when it has a '/') and executable.
bool ProgramPresent(const std::string& program) {
  if (program.find('/') != std::string::npos) return ::access(program.c_str(), X_OK) == 0;
  const char* path = ::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const std::string dir = dirs.substr(start, end - start);
    start = end + 1;
    if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

bool IsNumeric(const std::string& host) {
  in6_addr buf;
  return ::inet_pton(AF_INET, host.c_str(), &buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), &buf) == 1;
}

}  // namespace

std::string_view PreconditionLevelName(Precondition::Level level) {
  switch (level) {
    case Level::kOk:
      return "ok";
    case Level::kWarning:
      return "warning";
    case Level::kFailed:
      return "failed";
  }
  return "failed";
}

bool PreconditionReport::ok() const {
  return std::none_of(checks.begin(), checks.end(),
                      [](const Precondition& c) { return c.level == Level::kFailed; });
}

std::string PreconditionReport::Failures() const {
  std::string out;
  for (const Precondition& c : checks) {
    if (c.level == Level::kFailed)
      out += (c.service.empty() ? "" : c.service + ": ") + c.message + "\n";
  }
  return out;
}

bool PortFree(const std::string& host, int port) {
  const bool v6 = host.find(':') != std::string::npos;
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc;
  if (v6) {
    sockaddr_in6 a = {};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET6, host.c_str(), &a.sin6_addr);
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, host.c_str(), &a.sin_addr);
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  ::close(fd);
  return rc == 0;
}

Result<PreconditionReport> CheckFailoverPreconditions(const plan::Plan& plan,
                                                      const RecoverOptions& options) {
  if (options.mode != RecoveryMode::kFailover || options.site.empty()) {
    return Status::InvalidArgument("failover preconditions need failover mode and a site");
  }
  LB_ASSIGN_OR_RETURN(std::vector<Wave> waves, RecoveryWaves(plan, options.services));
  if (plan.FindSite(options.site) == nullptr) {
    return Status::InvalidArgument("no site named \"" + options.site + "\" in the plan " +
                                   plan.file);
  }
  PreconditionReport out;
  out.site = options.site;
  out.waves = waves;
  internal::Session session(plan, options);
  session.OpenForChecks();
  const std::string root = session.recovery_root();
  out.recovery_root = root.empty() ? "/" : root;
  auto add = [&](const std::string& service, const std::string& check, Level level,
                 const std::string& message) {
    out.checks.push_back({service, check, message, level});
  };

  internal::OpenedSite& site = session.Site(options.site);
  if (!site.status.ok()) {
    add("", "site", Level::kFailed, site.status.message());
    return out;
  }
  add("", "site", Level::kOk,
      "site " + options.site + " opens; " + std::to_string(site.snapshots.size()) + " snapshots");
  LB_RETURN_IF_ERROR(internal::ResolveAt(session, waves, {options.site}));
  const int64_t now = session.start_wall_ns();

  for (const Wave& w : waves) {
    for (const WaveService& ws : w.services) {
      const plan::Service& svc = plan.services[ws.plan_index];
      if (options.already_up.count(svc.name)) {
        // Runs here already (a failover joining an open incident): its ports are taken and its
        // paths written by its own recovery; nothing of it is restored again.
        add(svc.name, "active", Level::kOk,
            "service " + svc.name + " is active at site " + options.site +
                " already: not recovered again");
        continue;
      }
      const bool listed =
          std::any_of(svc.sites.begin(), svc.sites.end(),
                      [&](const plan::NameRef& n) { return n.name == options.site; });
      if (!listed) {
        add(svc.name, "site", Level::kFailed,
            "service " + svc.name + " is not backed up to site " + options.site);
        continue;
      }
      // Snapshots and the paths they restore.
      std::map<std::string, const Snapshot*> chosen;
      for (const plan::Source& src : svc.sources) {
        const auto* e = internal::ChooseSnapshot(session, site.snapshots, options.site, svc, src);
        if (e == nullptr) {
          add(svc.name, "snapshot", Level::kFailed,
              "no complete snapshot of source " + src.name + " at site " + options.site +
                  (session.at_time_ns
                       ? " taken at or before " + notify::FormatRfc3339Utc(*session.at_time_ns)
                       : std::string()));
          continue;
        }
        chosen[src.name] = &e->second;
        PlannedSnapshot p{svc.name,
                          src.name,
                          e->first.Hex(),
                          e->second.time_ns,
                          static_cast<double>(std::max<int64_t>(0, now - e->second.time_ns)) / 1e9,
                          svc.rpo,
                          {}};
        for (const std::string& path : e->second.paths) p.paths.push_back(root + path);
        out.snapshots.push_back(p);
        const std::string age =
            plan::FormatPlanDuration(std::chrono::seconds(static_cast<int64_t>(p.age_seconds)));
        const bool late =
            svc.rpo.count() > 0 && p.age_seconds > static_cast<double>(svc.rpo.count());
        add(svc.name, "snapshot", late ? Level::kWarning : Level::kOk,
            "source " + src.name + ": snapshot " + e->first.Short() + " of " +
                notify::FormatRfc3339Utc(e->second.time_ns) + ", " + age + " old" +
                (late ? ", older than the RPO of " + plan::FormatPlanDuration(svc.rpo) +
                            ": that much data would be lost"
                      : std::string()));
        for (const std::string& path : e->second.paths) {
          const std::string target = root + path;
          const std::string problem = PathProblem(target);
          add(svc.name, "path", problem.empty() ? Level::kOk : Level::kFailed,
              problem.empty() ? target + " is free" : problem + ": move it away first");
        }
      }
      // Ports, clusters and programs of the recover steps.
      for (const plan::RecoverStep& step : svc.recover) {
        if (step.kind == plan::RecoverStep::Kind::kPostgresRestore) {
          const plan::Source* pg = nullptr;
          for (const plan::Source& src : svc.sources) {
            if (src.kind == plan::SourceKind::kPostgres &&
                (step.postgres_source.empty() || src.name == step.postgres_source)) {
              pg = &src;
              break;
            }
          }
          if (pg == nullptr) continue;  // plan validate reports it
          const std::string host =
              IsNumeric(pg->postgres.host) ? pg->postgres.host : std::string("127.0.0.1");
          const bool free = PortFree(host, pg->postgres.port);
          add(svc.name, "port", free ? Level::kOk : Level::kFailed,
              "port " + std::to_string(pg->postgres.port) + " on " + host + " (postgres source " +
                  pg->name + ") is " + (free ? "free" : "in use: stop what listens there first"));
          const std::string dir = session.WorkDir() + "/postgres/" + svc.name + "-" + pg->name;
          out.cluster_dirs.push_back(dir);
          const std::string problem = PathProblem(dir);
          add(svc.name, "path", problem.empty() ? Level::kOk : Level::kFailed,
              problem.empty() ? dir + " is free" : problem + ": move it away first");
          int major = 0;
          if (auto it = chosen.find(pg->name); it != chosen.end() && it->second->source) {
            const int64_t num = it->second->source->restore.server_version_num;
            major = num >= 100000 ? static_cast<int>(num / 10000) : num > 0 ? 9 : 0;
          }
          Result<std::string> bin = FindPostgresBinDir(major, options.postgres_bin_dir);
          if (bin.ok() && ::access((*bin + "/pg_ctl").c_str(), X_OK) != 0) {
            bin = Status::FailedPrecondition("no pg_ctl in " + *bin);
          }
          add(svc.name, "program", bin.ok() ? Level::kOk : Level::kFailed,
              bin.ok() ? "PostgreSQL programs in " + *bin : bin.status().message());
          continue;
        }
        for (const auto& [name, port] : step.ports) {
          const bool free = PortFree("127.0.0.1", port);
          add(svc.name, "port", free ? Level::kOk : Level::kFailed,
              "port " + name + " (" + std::to_string(port) + ") on 127.0.0.1 is " +
                  (free ? "free" : "in use: stop what listens there first"));
        }
      }
      std::vector<const plan::Command*> commands;
      for (const plan::RecoverStep& step : svc.recover) {
        if (step.kind == plan::RecoverStep::Kind::kCommand) commands.push_back(&step.command);
      }
      for (const plan::VerifyCheck& c : svc.verify) {
        if (c.kind == plan::VerifyCheck::Kind::kCommand) commands.push_back(&c.run);
      }
      for (const plan::SwitchStep& st : svc.switch_steps) commands.push_back(&st.command);
      for (const plan::Command* c : commands) {
        if (c->argv.empty()) continue;
        const bool present = ProgramPresent(c->argv[0]);
        add(svc.name, "program", present ? Level::kOk : Level::kFailed,
            "program " + c->argv[0] + (present ? " is there" : " is not found (PATH)") +
                " (command '" + c->Display() + "')");
      }
    }
  }
  return out;
}

nlohmann::ordered_json PreconditionReportToJson(const PreconditionReport& report) {
  nlohmann::ordered_json checks = nlohmann::ordered_json::array();
  for (const Precondition& c : report.checks) {
    checks.push_back({{"service", c.service.empty() ? nlohmann::ordered_json(nullptr)
                                                    : nlohmann::ordered_json(c.service)},
                      {"check", c.check},
                      {"level", PreconditionLevelName(c.level)},
                      {"message", c.message}});
  }
  nlohmann::ordered_json snapshots = nlohmann::ordered_json::array();
  for (const PlannedSnapshot& s : report.snapshots) {
    snapshots.push_back({{"service", s.service},
                         {"source", s.source},
                         {"snapshot", s.snapshot},
                         {"time", notify::FormatRfc3339Utc(s.time_ns)},
                         {"age_seconds", s.age_seconds},
                         {"rpo_seconds", s.rpo.count()}});
  }
  nlohmann::ordered_json waves = nlohmann::ordered_json::array();
  for (const Wave& w : report.waves) {
    nlohmann::ordered_json names = nlohmann::ordered_json::array();
    for (const WaveService& s : w.services) names.push_back(s.name);
    waves.push_back({{"wave", w.number}, {"services", names}});
  }
  return {{"site", report.site},    {"recovery_root", report.recovery_root},
          {"ok", report.ok()},      {"waves", waves},
          {"snapshots", snapshots}, {"checks", checks}};
}

}  // namespace lifeboat::recover
