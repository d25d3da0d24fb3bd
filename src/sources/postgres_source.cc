#include "sources/postgres_source.h"

#include <libpq-fe.h>

#include <cctype>
#include <memory>

#include "archiver/command_backup.h"
#include "sources/deadline.h"
#include "util/subprocess.h"

namespace lifeboat {

namespace {

using sources_internal::BoundByDeadline;

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnCloser>;
struct ResultCloser {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultCloser>;

// `text` with every occurrence of the secret replaced: no message of ours carries it, even if a
// server or library were to echo it.
std::string Redact(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (size_t at; (at = text.find(secret)) != std::string::npos;)
    text.replace(at, secret.size(), "<redacted>");
  return text;
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t start = 0;
  while (start < s.size() && std::isspace(static_cast<unsigned char>(s[start]))) ++start;
  return s.substr(start);
}

// A libpq conninfo value in single quotes, with ' and \ escaped.
std::string Quote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

// The major version in PQserverVersion's units divided by 100: 15.x -> 1500, 9.6 -> 906.
int MajorOfNum(int num) { return num >= 100000 ? (num / 10000) * 100 : num / 100; }
int MajorOfText(const std::string& version) {
  int major = 0, minor = 0;
  size_t i = 0;
  while (i < version.size() && std::isdigit(static_cast<unsigned char>(version[i])))
    major = major * 10 + (version[i++] - '0');
  if (major >= 10) return major * 100;
  if (i < version.size() && version[i] == '.') ++i;
  while (i < version.size() && std::isdigit(static_cast<unsigned char>(version[i])))
    minor = minor * 10 + (version[i++] - '0');
  return major * 100 + minor;
}
std::string MajorName(int major100) {
  return major100 >= 1000 ? std::to_string(major100 / 100)
                          : std::to_string(major100 / 100) + "." + std::to_string(major100 % 100);
}

Status CheckConfig(const PostgresSource& s) {
  bool fields = !s.host.empty() || s.port != 0 || !s.database.empty() || !s.user.empty();
  if (!s.dsn.empty() && fields)
    return Status::InvalidArgument(
        "the postgres source has both a dsn and host/port/database/user: give one or the other");
  if (s.port < 0 || s.port > 65535)
    return Status::InvalidArgument("the postgres source's port " + std::to_string(s.port) +
                                   " is not a TCP port");
  if (!s.all_databases && s.dsn.empty() && s.database.empty())
    return Status::InvalidArgument(
        "the postgres source names no database: set `database` (or `database: all` for every "
        "database with pg_dumpall)");
  if (s.dsn.empty()) return Status::Ok();
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(s.dsn.c_str(), &err);
  if (opts == nullptr) {
    std::string why = err ? Trim(err) : "out of memory";
    PQfreemem(err);
    // The libpq message may quote the string; it is not repeated when it could hold a secret.
    return Status::InvalidArgument("the postgres source's dsn is not a valid libpq connection "
                                   "string or URI (" + Redact(why, s.password) + ")");
  }
  bool has_password = false;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o)
    if (std::string(o->keyword) == "password" && o->val != nullptr && *o->val != '\0')
      has_password = true;
  PQconninfoFree(opts);
  if (has_password)
    return Status::InvalidArgument(
        "the postgres source's dsn holds a password: remove it from the dsn and give it as "
        "the source's password_file, password_command or password_env (a password in the dsn "
        "would be on the dump command's command line)");
  return Status::Ok();
}

}  // namespace

std::string PostgresConninfo(const PostgresSource& s) {
  if (!s.dsn.empty()) return s.dsn;
  std::string out;
  auto add = [&out](const char* key, const std::string& value) {
    if (value.empty()) return;
    out += (out.empty() ? "" : " ") + std::string(key) + "=" + Quote(value);
  };
  add("host", s.host);
  add("port", s.port ? std::to_string(s.port) : "");
  add("dbname", s.database.empty() && s.all_databases ? "postgres" : s.database);
  add("user", s.user);
  return out;
}

std::string ParsePgToolVersion(const std::string& output) {
  // "pg_dump (PostgreSQL) 15.10 (Debian 15.10-0+deb12u1)"
  size_t at = output.find(") ");
  if (at == std::string::npos) return "";
  at += 2;
  size_t end = at;
  while (end < output.size() &&
         (std::isdigit(static_cast<unsigned char>(output[end])) || output[end] == '.'))
    ++end;
  return end > at ? output.substr(at, end - at) : "";
}

Result<PostgresServerInfo> QueryPostgresServer(const PostgresSource& source,
                                               const Context& context) {
  LB_RETURN_IF_ERROR(CheckConfig(source));
  LB_RETURN_IF_ERROR(context.Check("connecting to PostgreSQL"));
  int64_t timeout_s = source.connect_timeout.count() > 0 ? source.connect_timeout.count() : 10;
  if (context.has_deadline()) {
    int64_t left_ns = context.deadline_ns() - context.clock().MonotonicNs();
    timeout_s = std::max<int64_t>(1, std::min<int64_t>(timeout_s, (left_ns + 999999999) / 1000000000));
  }
  std::string conninfo = PostgresConninfo(source);
  std::string timeout = std::to_string(timeout_s);
  std::vector<const char*> keys = {"dbname", "connect_timeout", "application_name"};
  std::vector<const char*> values = {conninfo.c_str(), timeout.c_str(), "lifeboat"};
  if (!source.password.empty()) {
    keys.push_back("password");
    values.push_back(source.password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  Conn conn(PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1));
  if (!conn) return Status::Unavailable("connecting to PostgreSQL: out of memory");
  std::string where;
  {
    const char* host = PQhost(conn.get());
    const char* port = PQport(conn.get());
    where = std::string(host && *host ? host : "the local socket") + ":" +
            (port && *port ? port : "5432");
  }
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    std::string why = Redact(Trim(PQerrorMessage(conn.get())), source.password);
    LB_RETURN_IF_ERROR(context.Check("connecting to PostgreSQL at " + where));
    if (why.find("password authentication failed") != std::string::npos ||
        why.find("no password supplied") != std::string::npos ||
        why.find("authentication failed") != std::string::npos)
      return Status::Unauthenticated("PostgreSQL at " + where + " refused the login (" + why +
                                     "); check the user and the source's password reference");
    return Status::Unavailable("cannot connect to PostgreSQL at " + where + " (" + why +
                               "); is the server running and reachable?");
  }
  PostgresServerInfo info;
  info.version_num = PQserverVersion(conn.get());
  const char* version = PQparameterStatus(conn.get(), "server_version");
  info.version = version ? version : "";
  info.database = PQdb(conn.get()) ? PQdb(conn.get()) : "";
  if (source.all_databases) {
    PgResult r(PQexec(conn.get(),
                      "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate "
                      "ORDER BY datname"));
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK)
      return Status::Unavailable("listing the databases at " + where + ": " +
                                 Redact(Trim(PQerrorMessage(conn.get())), source.password));
    for (int i = 0; i < PQntuples(r.get()); ++i) info.databases.push_back(PQgetvalue(r.get(), i, 0));
  } else {
    info.databases = {info.database};
  }
  return info;
}

Result<BackupResult> BackupPostgres(Repository& repo, const PostgresSource& source,
                                    BackupOptions options) {
  const Context& context = options.context;
  LB_ASSIGN_OR_RETURN(PostgresServerInfo server, QueryPostgresServer(source, context));

  const std::string tool = source.all_databases ? "pg_dumpall" : "pg_dump";
  const std::string program = source.bin_dir.empty() ? tool : source.bin_dir + "/" + tool;
  SubprocessOptions version_run;
  version_run.argv = {program, "--version"};
  version_run.description = tool;
  version_run.timeout = std::chrono::seconds(30);
  version_run.cancel = context.cancel_flag();
  auto version_out = RunAndCapture(version_run);
  if (!version_out.ok()) {
    if (version_out.status().code() == StatusCode::kNotFound)
      return Status::NotFound(tool + " was not found (" + version_out.status().message() +
                              "): install postgresql-client-" +
                              MajorName(MajorOfNum(server.version_num)) +
                              " or set the source's bin_dir");
    return version_out.status().WithContext("asking " + tool + " for its version");
  }
  std::string tool_version = ParsePgToolVersion(*version_out);
  if (tool_version.empty()) tool_version = Trim(*version_out);
  int server_major = MajorOfNum(server.version_num);
  int tool_major = MajorOfText(tool_version);
  if (tool_major > 0 && tool_major < server_major)
    return Status::FailedPrecondition(
        tool + " " + tool_version + " (" + program + ") cannot dump a PostgreSQL " +
        MajorName(server_major) + " server (" + server.version + "): install "
        "postgresql-client-" + MajorName(server_major) + " and use its " + tool +
        " (the source's bin_dir, e.g. /usr/lib/postgresql/" + MajorName(server_major) +
        "/bin); nothing was dumped");

  CommandSource command;
  command.argv = {program};
  if (!source.all_databases) command.argv.push_back("--format=custom");
  command.argv.push_back("--no-password");
  command.argv.push_back("--dbname=" + PostgresConninfo(source));
  for (const std::string& o : source.dump_options) command.argv.push_back(o);
  std::string file;
  if (source.all_databases) {
    file = "all-databases.sql";
  } else {
    file = server.database;
    for (char& c : file)
      if (c == '/') c = '_';
    if (file.empty() || file == "." || file == "..") file = "database";
    file += ".pgdump";
  }
  command.filename = file;
  command.stdin_mode = SubprocessStdin::kNull;
  command.timeout = BoundByDeadline(context, source.dump_timeout);
  if (!source.password.empty()) command.environment = {{"PGPASSWORD", source.password}};

  if (options.source) {
    SourceRestore& r = options.source->restore;
    r = SourceRestore();
    r.files = {"/" + file};
    r.tool = tool;
    r.tool_version = tool_version;
    r.server_version = server.version;
    r.server_version_num = server.version_num;
    r.databases = server.databases;
    if (source.all_databases) {
      r.method = "psql";
      r.format = "plain";
      r.command = {"psql", "--no-psqlrc", "--dbname=postgres", "--file={file}"};
      r.notes = "Plain SQL of every database, role and tablespace (pg_dumpall). Run it on a fresh "
                "cluster of PostgreSQL " + MajorName(server_major) + " or newer; the error that "
                "the cluster's own superuser role already exists is expected.";
    } else {
      r.method = "pg_restore";
      r.format = "custom";
      r.command = {"pg_restore", "--create", "--no-owner", "--no-privileges",
                   "--exit-on-error", "--dbname=postgres", "{file}"};
      r.notes = "pg_dump --format=custom of database " + server.database + " from PostgreSQL " +
                server.version + ". The command creates the database under its own name in a "
                "cluster of PostgreSQL " + MajorName(server_major) + " or newer that need not "
                "have the original roles; where the roles exist, drop --no-owner and "
                "--no-privileges to keep owners and grants.";
    }
  }
  auto result = RunCommandBackup(repo, command, options);
  if (!result.ok()) {
    Status st = result.status();
    return Status(st.code(), Redact("dumping " + (source.all_databases
                                                      ? std::string("every database")
                                                      : "database " + server.database) +
                                        " with " + tool + ": " + st.message(),
                                    source.password));
  }
  return result;
}

}  // namespace lifeboat
