// The runbook's shell commands (runbook_internal.h): what a person types on a fresh machine to
// recover a service from a site. Every word that comes from the plan goes through ShellQuote;
// variables the commands set themselves are written "$NAME".
#include <algorithm>
#include <set>

#include "dr/runbook_internal.h"
#include "dr/sites.h"
#include "plan/duration.h"
#include "util/subprocess.h"

namespace lifeboat::dr::runbook_internal {

namespace {

std::string Q(std::string_view s) { return ShellQuote(s); }

bool IsVariableName(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// The value of an environment variable named by the plan, as a double-quoted shell expansion.
std::string Expand(std::string_view variable) {
  if (IsVariableName(variable)) return "\"$" + std::string(variable) + "\"";
  return "\"$(printenv " + Q(variable) + ")\"";
}

// A shell expression that yields the secret's value at recovery time (never the value itself).
std::string SecretExpression(const plan::SecretRef& secret) {
  switch (secret.kind) {
    case plan::SecretRef::Kind::kFile:
      return "\"$(head -n 1 " + Q(secret.value) + ")\"";
    case plan::SecretRef::Kind::kCommand:
      return "\"$(/bin/sh -c " + Q(secret.value) + " | head -n 1)\"";
    case plan::SecretRef::Kind::kEnv:
      return Expand(secret.value);
  }
  return "\"\"";
}

// The variable that carries the site's password to `lifeboat`.
std::string PasswordVariable(const plan::SecretRef& secret) {
  switch (secret.kind) {
    case plan::SecretRef::Kind::kFile: return "LIFEBOAT_PASSWORD_FILE";
    case plan::SecretRef::Kind::kCommand: return "LIFEBOAT_PASSWORD_COMMAND";
    case plan::SecretRef::Kind::kEnv: return "LIFEBOAT_PASSWORD";
  }
  return "LIFEBOAT_PASSWORD";
}

std::string Seconds(std::chrono::seconds s) { return std::to_string(s.count()); }

// The command as sh words: a list is its argv, quoted; a string runs under /bin/sh -c as the
// plan runs it.
std::string CommandWords(const plan::Command& c) {
  std::string out;
  for (const std::string& a : c.argv) out += (out.empty() ? "" : " ") + Q(a);
  return out;
}

std::string EnvUnset(const std::vector<std::string>& secrets) {
  std::string out = "env";
  for (const std::string& v : secrets) out += " -u " + v;
  return secrets.empty() ? std::string() : out + " ";
}

// The shell word of a check's port: the recover step's variable when a step declares it (by
// name, or by number), else the number.
std::string PortWord(const plan::Service& service, const plan::PortRef& port) {
  for (const plan::RecoverStep& st : service.recover) {
    for (const auto& p : st.ports) {
      if ((!port.name.empty() && p.first == port.name) ||
          (port.name.empty() && p.second == port.number))
        return "\"$LIFEBOAT_PORT_" + recover::EnvironmentName(p.first) + "\"";
    }
  }
  return port.name.empty() ? std::to_string(port.number) : "\"$LIFEBOAT_PORT_" +
                                                               recover::EnvironmentName(port.name) +
                                                               "\"";
}

// Where a postgres source's dump lies below the restore directory (doc/sources.md).
std::string DumpPath(const plan::PostgresSource& pg) {
  if (pg.all_databases()) return "\"$LIFEBOAT_RESTORE_DIR\"/all-databases.sql";
  if (pg.database.empty()) return "\"$LIFEBOAT_RESTORE_DIR\"/*.pgdump";
  return "\"$LIFEBOAT_RESTORE_DIR\"/" + Q(pg.database + ".pgdump");
}

std::string DatabaseOf(const plan::PostgresSource& pg) {
  if (pg.all_databases() || pg.database.empty()) return "postgres";
  return pg.database;
}

// "  (lifeboat.yaml:12:7)" or "".
std::string At(const plan::Position& p) { return p.line > 0 ? " (" + p.ToString() + ")" : ""; }

// A shell comment of one line.
std::string Comment(std::string_view text) {
  std::string out = "# ";
  for (char c : text) out += (c == '\n' || c == '\r') ? ' ' : c;
  return out + "\n";
}

// `[ -n "${NAME:-}" ] || NAME='value'`: the value unless the reader set one.
std::string DefaultAssign(const std::string& name, const std::string& value) {
  return "[ -n \"${" + name + ":-}\" ] || " + name + "=" + Q(value) + "\n";
}

// "grep" that passes when the output of the command before the pipe contains `text`.
std::string ExpectContains(const std::string& command, const std::string& text) {
  if (text.find('\n') == std::string::npos) return command + " | grep -F -- " + Q(text) + "\n";
  return "case \"$(" + command + ")\" in *" + Q(text) + "*) echo ok ;; *) false ;; esac\n";
}

}  // namespace

std::string SecretOrigin(const plan::SecretRef& secret) {
  switch (secret.kind) {
    case plan::SecretRef::Kind::kFile:
      return "the first line of the file " + secret.value;
    case plan::SecretRef::Kind::kCommand:
      return "the first line printed by `" + secret.value + "`";
    case plan::SecretRef::Kind::kEnv:
      return "the environment variable " + secret.value;
  }
  return "";
}

std::string RepoArguments(const plan::Site& site) {
  std::string out = "--repo " + Q(site.repository);
  for (const plan::SiteOption& o : site.options) out += " -o " + Q(o.key + "=" + o.value);
  return out;
}

std::string SitePrepareCommands(const plan::Site& site, const std::string& recovery_dir) {
  std::string out;
  out += "set -o pipefail\n";
  out += Comment("where the services are restored: an empty directory with room (set "
                 "RECOVERY_DIR first to choose another)");
  out += DefaultAssign("RECOVERY_DIR", recovery_dir);
  out += "mkdir -p \"$RECOVERY_DIR/services\" \"$RECOVERY_DIR/logs\"\n";
  out += Comment("the repository password of site " + site.name + ": " +
                 SecretOrigin(site.password));
  out += "unset LIFEBOAT_PASSWORD LIFEBOAT_PASSWORD_FILE LIFEBOAT_PASSWORD_COMMAND\n";
  const std::string var = PasswordVariable(site.password);
  if (site.password.kind == plan::SecretRef::Kind::kEnv) {
    out += "export " + var + "=" + Expand(site.password.value) + "\n";
  } else {
    out += "export " + var + "=" + Q(site.password.value) + "\n";
  }
  for (const plan::EnvEntry& e : site.env) {
    out += Comment(e.name + " for the site's storage: " + SecretOrigin(e.secret));
    out += "export " + e.name + "=" + SecretExpression(e.secret) + "\n";
  }
  out += Comment("the repository opens with it and lists every snapshot");
  out += "lifeboat snapshots " + RepoArguments(site) + "\n";
  return out;
}

std::string ServiceEnvironmentCommands(const plan::Plan& plan, const plan::Service& service,
                                       const recover::WaveService& ws) {
  std::string out;
  out += "export LIFEBOAT_RECOVERY=failover LIFEBOAT_SERVICE=" + Q(service.name) + "\n";
  out += "export LIFEBOAT_RESTORE_DIR=\"$RECOVERY_DIR/services/\"" + Q(service.name) + "\n";
  std::set<std::string> seen;
  for (const plan::RecoverStep& st : service.recover) {
    for (const auto& p : st.ports) {
      if (!seen.insert(p.first).second) continue;
      out += "export LIFEBOAT_PORT_" + recover::EnvironmentName(p.first) + "=" +
             std::to_string(p.second) + "\n";
    }
  }
  for (const std::string& dep_name : ws.depends_on) {
    const plan::Service* dep = plan.FindService(dep_name);
    if (dep == nullptr) continue;
    const std::string d = recover::EnvironmentName(dep_name);
    out += "export LIFEBOAT_RESTORE_DIR_" + d + "=\"$RECOVERY_DIR/services/\"" + Q(dep_name) +
           "\n";
    std::set<std::string> dep_seen;
    for (const plan::RecoverStep& st : dep->recover) {
      for (const auto& p : st.ports) {
        if (!dep_seen.insert(p.first).second) continue;
        out += "export LIFEBOAT_PORT_" + d + "_" + recover::EnvironmentName(p.first) + "=" +
               std::to_string(p.second) + "\n";
      }
    }
    for (const plan::RecoverStep& st : dep->recover) {
      if (st.kind != plan::RecoverStep::Kind::kPostgresRestore) continue;
      const plan::Source* src = PostgresSourceOf(*dep, st.postgres_source);
      if (src == nullptr) continue;
      const plan::PostgresSource& pg = src->postgres;
      out += "export LIFEBOAT_PG_HOST_" + d + "=" + Q(pg.host.empty() ? "localhost" : pg.host) +
             " LIFEBOAT_PG_PORT_" + d + "=" + std::to_string(pg.port);
      if (!pg.user.empty()) out += " LIFEBOAT_PG_USER_" + d + "=" + Q(pg.user);
      out += "\n";
      break;
    }
  }
  out += "mkdir -p \"$LIFEBOAT_RESTORE_DIR\"\n";
  return out;
}

std::string ServiceRestoreCommands(const plan::Site& site, const plan::Service& service) {
  const bool verify = std::any_of(service.verify.begin(), service.verify.end(),
                                  [](const plan::VerifyCheck& c) {
                                    return c.kind == plan::VerifyCheck::Kind::kFiles;
                                  });
  const std::string repo = RepoArguments(site);
  std::string out;
  out += Comment("the service's snapshots at site " + site.name +
                 " (for an older state, use an id from this list instead of latest)");
  out += "lifeboat snapshots " + repo + " --service " + Q(service.name) + "\n";
  for (const plan::Source& src : service.sources) {
    out += Comment("source " + src.name + " (" + std::string(plan::SourceKindName(src.kind)) +
                   ")" + At(src.position));
    out += "lifeboat restore latest " + repo + " --service " + Q(service.name) + " --source " +
           Q(src.name) + " --target \"$LIFEBOAT_RESTORE_DIR\"" + (verify ? " --verify" : "") +
           "\n";
  }
  return out;
}

const plan::Source* PostgresSourceOf(const plan::Service& service, const std::string& name) {
  const plan::Source* only = nullptr;
  int count = 0;
  for (const plan::Source& s : service.sources) {
    if (s.kind != plan::SourceKind::kPostgres) continue;
    if (!name.empty() && s.name == name) return &s;
    only = &s;
    ++count;
  }
  return name.empty() && count == 1 ? only : nullptr;
}

std::vector<std::string> StepSecretVariables(const plan::Plan& plan,
                                             const plan::Service& service) {
  std::set<std::string> out;
  for (const plan::NameRef& ref : service.sites) {
    const plan::Site* site = plan.FindSite(ref.name);
    if (site == nullptr) continue;
    out.insert(PasswordVariable(site->password));
    for (const plan::EnvEntry& e : site->env) out.insert(e.name);
  }
  for (const std::string& v : PlanSecretVariables(plan)) {
    if (IsVariableName(v)) out.insert(v);
  }
  for (const plan::Source& s : service.sources) {
    if (s.kind == plan::SourceKind::kPostgres && s.postgres.password) out.insert("PGPASSWORD");
  }
  return {out.begin(), out.end()};
}

std::string ServiceStartCommands(const plan::Plan& plan, const plan::Service& service) {
  if (service.recover.empty()) return "";
  const std::string unset = EnvUnset(StepSecretVariables(plan, service));
  std::string out = "cd \"$LIFEBOAT_RESTORE_DIR\"\n";
  int n = 0;
  for (const plan::RecoverStep& st : service.recover) {
    ++n;
    const std::string id = Q(service.name + ".step" + std::to_string(n));
    if (st.kind == plan::RecoverStep::Kind::kPostgresRestore) {
      const plan::Source* src = PostgresSourceOf(service, st.postgres_source);
      if (src == nullptr) {
        out += Comment("recover step " + std::to_string(n) + At(st.position) +
                       ": postgres_restore of a source the service does not have");
        out += "false\n";
        continue;
      }
      const plan::PostgresSource& pg = src->postgres;
      out += Comment("recover step " + std::to_string(n) + At(st.position) +
                     ": postgres_restore " + src->name + ", into a new PostgreSQL server (" +
                     "version " + "at least the dumped server's) where the database does not "
                     "exist yet; set PGHOST, PGPORT, PGUSER first when it is not the plan's");
      if (!pg.dsn.empty()) {
        out += Comment("the plan gives a dsn (" + pg.dsn + "): set PGHOST, PGPORT, PGUSER to the "
                       "new server");
      } else {
        out += DefaultAssign("PGHOST", pg.host.empty() ? std::string("localhost") : pg.host);
        out += DefaultAssign("PGPORT", std::to_string(pg.port));
        if (!pg.user.empty()) out += DefaultAssign("PGUSER", pg.user);
        out += std::string("export PGHOST PGPORT") + (pg.user.empty() ? "" : " PGUSER") + "\n";
      }
      if (pg.password) {
        out += Comment("the database password: " + SecretOrigin(*pg.password));
        out += "export PGPASSWORD=" + SecretExpression(*pg.password) + "\n";
      }
      if (pg.all_databases()) {
        out += "timeout " + Seconds(st.timeout) + " psql --no-psqlrc --dbname=postgres --file=" +
               DumpPath(pg) + "\n";
      } else {
        out += "timeout " + Seconds(st.timeout) +
               " pg_restore --create --no-owner --no-privileges --exit-on-error "
               "--dbname=postgres " +
               DumpPath(pg) + "\n";
      }
      out += "export LIFEBOAT_PG_HOST=\"$PGHOST\" LIFEBOAT_PG_PORT=\"$PGPORT\" "
             "LIFEBOAT_PG_USER=\"${PGUSER:-$USER}\" LIFEBOAT_PG_PORT_" +
             recover::EnvironmentName(src->name) + "=\"$PGPORT\" PGDATABASE=" +
             Q(DatabaseOf(pg)) + "\n";
      continue;
    }
    const std::string words = CommandWords(st.command);
    if (!st.background) {
      out += Comment("recover step " + std::to_string(n) + At(st.position) +
                     ": a command that must exit 0 within " + plan::FormatPlanDuration(st.timeout));
      out += unset + "timeout " + Seconds(st.timeout) + " " + words + "\n";
      continue;
    }
    std::string ready = "once started";
    if (!st.ports.empty()) {
      ready = "when ";
      for (size_t i = 0; i < st.ports.size(); ++i)
        ready += (i ? ", " : "") + std::string("port ") + st.ports[i].first + " (" +
                 std::to_string(st.ports[i].second) + ")";
      ready += " accepts connections, within " + plan::FormatPlanDuration(st.timeout);
    }
    out += Comment("recover step " + std::to_string(n) + At(st.position) +
                   ": a server, in the background (its output in $RECOVERY_DIR/logs); ready " +
                   ready);
    out += "nohup " + unset + words + " </dev/null >\"$RECOVERY_DIR/logs/\"" + id +
           ".log 2>&1 &\n";
    out += "echo $! >\"$RECOVERY_DIR/logs/\"" + id + ".pid\n";
    for (const auto& p : st.ports) {
      out += "timeout " + Seconds(st.timeout) +
             " bash -c 'until echo >\"/dev/tcp/127.0.0.1/$0\"; do sleep 0.2; done 2>/dev/null' "
             "\"$LIFEBOAT_PORT_" +
             recover::EnvironmentName(p.first) + "\"\n";
    }
  }
  return out;
}

std::string ServiceVerifyCommands(const plan::Plan& plan, const plan::Service& service) {
  if (service.verify.empty()) return "";
  const std::string unset = EnvUnset(StepSecretVariables(plan, service));
  std::string out = "cd \"$LIFEBOAT_RESTORE_DIR\"\n";
  int n = 0;
  for (const plan::VerifyCheck& c : service.verify) {
    ++n;
    const std::string head = "check " + std::to_string(n) + At(c.position) + ": ";
    const std::string t = Seconds(c.timeout);
    switch (c.kind) {
      case plan::VerifyCheck::Kind::kFiles:
        out += Comment(head + "files: every restored file was read back and compared with its "
                              "snapshot by `restore --verify` above");
        break;
      case plan::VerifyCheck::Kind::kTcp:
        out += Comment(head + "tcp: a connection to " + c.host + " succeeds within " +
                       plan::FormatPlanDuration(c.timeout));
        out += "timeout " + t +
               " bash -c 'until echo >\"/dev/tcp/$0/$1\"; do sleep 0.2; done 2>/dev/null' " +
               Q(c.host) + " " + PortWord(service, c.port) + "\n";
        break;
      case plan::VerifyCheck::Kind::kHttp: {
        out += Comment(head + "http: GET " + c.path + " answers " +
                       std::to_string(c.expect_status) +
                       (c.expect_body ? " with a body containing the text below" : ""));
        const std::string body = "\"$RECOVERY_DIR/logs/\"" +
                                 Q(service.name + ".check" + std::to_string(n) + ".body");
        out += "curl --silent --show-error --retry " + t +
               " --retry-delay 1 --retry-connrefused --max-time " + t + " --output " + body +
               " --write-out '%{http_code}\\n' \"http://\"" + Q(c.host) + "\":\"" +
               PortWord(service, c.port) + Q(c.path) + " | grep -x " +
               std::to_string(c.expect_status) + "\n";
        if (c.expect_body) out += "grep -F -- " + Q(*c.expect_body) + " " + body + "\n";
        break;
      }
      case plan::VerifyCheck::Kind::kCommand: {
        out += Comment(head + "command, exit 0 within " + plan::FormatPlanDuration(c.timeout) +
                       (c.expect_output ? ", its output containing the text below" : ""));
        const std::string cmd = unset + "timeout " + t + " " + CommandWords(c.run);
        out += c.expect_output ? ExpectContains(cmd, *c.expect_output) : cmd + "\n";
        break;
      }
      case plan::VerifyCheck::Kind::kSql: {
        const plan::Source* src = PostgresSourceOf(service, c.postgres_source);
        const std::string db = src ? DatabaseOf(src->postgres) : "postgres";
        out += Comment(head + "sql on database " + db +
                       (c.expect ? ", the first column of the first row equals the text below"
                                 : ""));
        const std::string q = "timeout " + t +
                              " psql --no-psqlrc --no-align --tuples-only --set ON_ERROR_STOP=1 "
                              "--dbname=" +
                              Q(db) + " --command " + Q(c.query);
        if (c.expect) {
          out += "test \"$(" + q + " | sed -n 1p | cut -d '|' -f 1)\" = " + Q(*c.expect) + "\n";
        } else {
          out += q + "\n";
        }
        break;
      }
    }
  }
  return out;
}

}  // namespace lifeboat::dr::runbook_internal
