// Sources, recover steps, verify checks, contacts and notifications (parse_internal.h).
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "plan/parse_internal.h"

namespace lifeboat::plan::internal {

namespace {

const ObjectSpec& ServiceSpec() { return SpecOf(TopLevelSpec(), "services"); }

// Absolute paths only: the plan runs from timers whose working directory is not the user's.
std::vector<std::string> AbsolutePaths(Reader& r, ObjectView& v, std::string_view key) {
  std::vector<std::string> out;
  std::optional<std::vector<NameRef>> list = v.List(key);
  if (!list) return out;
  for (const NameRef& p : *list) {
    if (!p.name.starts_with("/")) {
      r.diagnostics().Error(p.position,
                            std::string(key) + " in " + v.where() + " holds a relative path: \"" +
                                p.name + "\"",
                            "write an absolute path: the plan runs from timers whose working "
                            "directory is not yours");
      continue;
    }
    out.push_back(p.name);
  }
  return out;
}

// "postgresql://user:pw@host/db" or "... password=pw ...".
bool DsnHoldsPassword(std::string_view dsn) {
  if (dsn.find("password=") != std::string_view::npos) return true;
  const size_t scheme_end = dsn.find("://");
  if (scheme_end == std::string_view::npos) return false;
  std::string_view authority = dsn.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find('/'));
  const size_t at = authority.rfind('@');
  return at != std::string_view::npos &&
         authority.substr(0, at).find(':') != std::string_view::npos;
}

// "dbname=x" in a key=value DSN, or a path after the host in a URI.
bool DsnNamesDatabase(std::string_view dsn) {
  if (dsn.find("dbname=") != std::string_view::npos) return true;
  const size_t scheme_end = dsn.find("://");
  if (scheme_end == std::string_view::npos) return false;
  const size_t slash = dsn.find('/', scheme_end + 3);
  return slash != std::string_view::npos && slash + 1 < dsn.size() && dsn[slash + 1] != '?';
}

PostgresSource ParsePostgres(Reader& r, ObjectView& source) {
  PostgresSource pg;
  const std::string where = source.where() + " (postgres)";
  ObjectView v(r, source.Node("postgres"), SpecOf(source.spec(), "postgres"), where,
               source.KeyAt("postgres"));
  if (auto dsn = v.String("dsn")) pg.dsn = *dsn;
  if (auto host = v.String("host")) pg.host = *host;
  if (auto port = v.Integer("port")) pg.port = static_cast<int>(*port);
  if (auto db = v.String("database")) pg.database = *db;
  if (auto user = v.String("user")) pg.user = *user;
  pg.password = v.Secret("password");
  if (auto t = v.Duration("timeout")) pg.timeout = *t;
  v.Finish();
  if (!v.valid()) return pg;
  if (!pg.dsn.empty()) {
    if (DsnHoldsPassword(pg.dsn)) {
      r.diagnostics().Error(v.ValueAt("dsn"), "inline secret: the dsn of " + where + " holds a password",
                            "take the password out of the dsn and use password_file: PATH, "
                            "password_command: COMMAND or password_env: VARIABLE");
    }
    for (std::string_view key : {"host", "port", "user"}) {
      if (v.Has(key)) {
        r.diagnostics().Error(v.KeyAt(key), std::string(key) + " in " + where + " cannot be combined with dsn",
                              "put everything in the dsn, or use host/port/user/database without it");
      }
    }
    if (pg.database.empty() && !DsnNamesDatabase(pg.dsn)) {
      r.diagnostics().Error(v.ValueAt("dsn"), where + " names no database",
                            "add dbname=NAME to the dsn, or database: NAME (database: all for every database)");
    }
  } else if (pg.database.empty() && !v.Has("database")) {
    r.diagnostics().Error(v.at(), where + " has no database",
                          "add database: NAME, or database: all to dump every database with pg_dumpall");
  }
  return pg;
}

}  // namespace

std::vector<Source> ParseSources(Reader& r, ObjectView& service, const std::string& service_name) {
  std::vector<Source> out;
  const std::vector<YAML::Node> items = service.Items("sources");
  for (size_t i = 0; i < items.size(); ++i) {
    Source src;
    src.position = r.At(items[i]);
    if (!src.position.line) src.position = service.KeyAt("sources");
    const std::string where = "source " + std::to_string(i + 1) + " of service \"" + service_name + "\"";
    ObjectView v(r, items[i], SpecOf(ServiceSpec(), "sources"), where, src.position);
    if (!v.valid()) continue;
    if (auto name = v.String("name")) src.name = *name;
    if (v.variant() == "paths") {
      src.kind = SourceKind::kPaths;
      src.paths.paths = AbsolutePaths(r, v, "paths");
      if (auto ex = v.List("exclude"))
        for (const NameRef& p : *ex) src.paths.exclude.push_back(p.name);
      src.paths.exclude_file = AbsolutePaths(r, v, "exclude_file");
      if (auto one = v.Boolean("one_file_system")) src.paths.one_file_system = *one;
    } else if (v.variant() == "command") {
      src.kind = SourceKind::kCommand;
      if (auto c = v.GetCommand("command")) src.command.command = std::move(*c);
      if (auto f = v.String("filename")) src.command.filename = *f;
      if (auto t = v.Duration("timeout")) src.command.timeout = *t;
    } else if (v.variant() == "postgres") {
      src.kind = SourceKind::kPostgres;
      src.postgres = ParsePostgres(r, v);
    } else {
      src.kind = SourceKind::kSqlite;
      ObjectView sq(r, v.Node("sqlite"), SpecOf(v.spec(), "sqlite"), where + " (sqlite)",
                    v.KeyAt("sqlite"));
      if (auto path = sq.String("path")) {
        if (!path->starts_with("/")) {
          r.diagnostics().Error(sq.ValueAt("path"),
                                "path in " + where + " (sqlite) is relative: \"" + *path + "\"",
                                "write an absolute path: the plan runs from timers whose working "
                                "directory is not yours");
        }
        src.sqlite.path = *path;
      }
      sq.Finish();
    }
    v.Finish();
    if (src.name.empty()) {
      src.name_derived = true;
      const std::string kind(SourceKindName(src.kind));
      int same = 0;
      for (const Source& s : out) same += s.kind == src.kind ? 1 : 0;
      src.name = same == 0 ? kind : kind + "-" + std::to_string(same + 1);
    }
    if (src.kind == SourceKind::kCommand && src.command.filename.empty())
      src.command.filename = src.name;
    const auto dup = std::find_if(out.begin(), out.end(), [&](const Source& s) { return s.name == src.name; });
    if (dup != out.end()) {
      r.diagnostics().Error(v.KeyAt("name").line ? v.KeyAt("name") : src.position,
                            "two sources of service \"" + service_name + "\" are named \"" + src.name +
                                "\" (the other at line " + std::to_string(dup->position.line) + ")",
                            "give each source a unique name");
      continue;
    }
    out.push_back(std::move(src));
  }
  return out;
}

std::vector<RecoverStep> ParseRecover(Reader& r, ObjectView& service, const std::string& service_name) {
  std::vector<RecoverStep> out;
  const std::vector<YAML::Node> items = service.Items("recover");
  for (size_t i = 0; i < items.size(); ++i) {
    RecoverStep step;
    step.position = r.At(items[i]);
    if (!step.position.line) step.position = service.KeyAt("recover");
    const std::string where =
        "recover step " + std::to_string(i + 1) + " of service \"" + service_name + "\"";
    ObjectView v(r, items[i], SpecOf(ServiceSpec(), "recover"), where, step.position);
    if (!v.valid()) continue;
    if (v.variant() == "postgres_restore") {
      step.kind = RecoverStep::Kind::kPostgresRestore;
      ObjectView pr(r, v.Node("postgres_restore"), SpecOf(v.spec(), "postgres_restore"),
                    "postgres_restore of " + where, v.KeyAt("postgres_restore"));
      if (auto s = pr.String("source")) step.postgres_source = *s;
      pr.Finish();
    } else {
      step.kind = RecoverStep::Kind::kCommand;
      if (auto c = v.GetCommand("command")) step.command = std::move(*c);
      if (auto b = v.Boolean("background")) step.background = *b;
      step.ports = v.PortMap("ports");
    }
    if (auto t = v.Duration("timeout")) step.timeout = *t;
    v.Finish();
    out.push_back(std::move(step));
  }
  return out;
}

std::vector<VerifyCheck> ParseVerify(Reader& r, ObjectView& service, const std::string& service_name) {
  std::vector<VerifyCheck> out;
  const std::vector<YAML::Node> items = service.Items("verify");
  for (size_t i = 0; i < items.size(); ++i) {
    VerifyCheck check;
    check.position = r.At(items[i]);
    if (!check.position.line) check.position = service.KeyAt("verify");
    const std::string where =
        "verify check " + std::to_string(i + 1) + " of service \"" + service_name + "\"";
    ObjectView v(r, items[i], SpecOf(ServiceSpec(), "verify"), where, check.position);
    if (!v.valid()) continue;
    const std::string kind(v.variant());
    ObjectView body(r, v.Node(kind), SpecOf(v.spec(), kind), kind + " check of " + where, v.KeyAt(kind));
    if (kind == "tcp" || kind == "http") {
      check.kind = kind == "tcp" ? VerifyCheck::Kind::kTcp : VerifyCheck::Kind::kHttp;
      if (auto p = body.Port("port")) check.port = *p;
      if (auto h = body.String("host")) check.host = *h;
      if (kind == "http") {
        if (auto p = body.String("path")) check.path = *p;
        if (auto st = body.Integer("expect_status")) check.expect_status = static_cast<int>(*st);
        check.expect_body = body.String("expect_body");
      }
    } else if (kind == "command") {
      check.kind = VerifyCheck::Kind::kCommand;
      if (auto c = body.GetCommand("run")) check.run = std::move(*c);
      check.expect_output = body.String("expect_output");
    } else if (kind == "sql") {
      check.kind = VerifyCheck::Kind::kSql;
      if (auto q = body.String("query")) check.query = *q;
      check.expect = body.String("expect");
      if (auto s = body.String("source")) check.postgres_source = *s;
    } else {
      check.kind = VerifyCheck::Kind::kFiles;
    }
    body.Finish();
    if (auto t = v.Duration("timeout")) check.timeout = *t;
    v.Finish();
    out.push_back(std::move(check));
  }
  return out;
}

void ParseContacts(Reader& r, ObjectView& top, Plan* plan) {
  for (const Entry& e : top.Map("contacts")) {
    Contact c;
    c.name = e.key;
    c.position = r.At(e.key_node);
    ObjectView v(r, e.value, SpecOf(TopLevelSpec(), "contacts"), "contact \"" + e.key + "\"", c.position);
    if (auto s = v.String("role")) c.role = *s;
    if (auto s = v.String("email")) c.email = *s;
    if (auto s = v.String("phone")) c.phone = *s;
    if (auto ch = v.List("channels")) c.channels = std::move(*ch);
    v.Finish();
    plan->contacts.push_back(std::move(c));
  }
}

namespace {

Channel ParseChannel(Reader& r, const ObjectSpec& spec, const Entry& e) {
  Channel c;
  c.name = e.key;
  c.position = r.At(e.key_node);
  ObjectView v(r, e.value, spec, "channel \"" + e.key + "\"", c.position);
  if (!v.valid()) return c;
  const std::string type(v.variant());
  (void)v.String("type");
  if (auto t = v.Duration("timeout")) c.timeout = *t;
  if (type == "webhook") {
    c.type = ChannelType::kWebhook;
    if (auto u = v.String("url")) c.url = *u;
    c.headers = v.SecretMap("headers");
  } else if (type == "slack") {
    c.type = ChannelType::kSlack;
    c.webhook_url = v.Secret("webhook_url");
  } else if (type == "ntfy") {
    c.type = ChannelType::kNtfy;
    if (auto u = v.String("url")) c.url = *u;
    c.token = v.Secret("token");
  } else if (type == "pagerduty") {
    c.type = ChannelType::kPagerDuty;
    c.routing_key = v.Secret("routing_key");
    c.url = v.String("url").value_or("https://events.pagerduty.com/v2/enqueue");
  } else if (type == "healthchecks") {
    c.type = ChannelType::kHealthchecks;
    c.ping_url = v.Secret("ping_url");
  } else if (type == "email") {
    c.type = ChannelType::kEmail;
    if (auto u = v.String("smtp_url")) {
      c.smtp_url = *u;
      if (!u->starts_with("smtp://") && !u->starts_with("smtps://")) {
        r.diagnostics().Error(v.ValueAt("smtp_url"),
                              "smtp_url in channel \"" + c.name + "\" must start with smtp:// or smtps://",
                              "e.g. smtp://mail.example.com:587 (STARTTLS) or smtps://mail.example.com:465");
      }
    }
    if (auto u = v.String("username")) c.username = *u;
    c.password = v.Secret("password");
    if (auto f = v.String("from")) c.from = *f;
    if (auto to = v.List("to"))
      for (const NameRef& t : *to) c.to.push_back(t.name);
    if (auto s = v.Boolean("starttls")) c.starttls = *s;
  } else {
    c.type = ChannelType::kCommand;
    if (auto cmd = v.GetCommand("command")) c.command = std::move(*cmd);
  }
  v.Finish();
  return c;
}

}  // namespace

void ParseNotifications(Reader& r, ObjectView& top, Plan* plan) {
  YAML::Node node = top.Node("notifications");
  if (!node.IsDefined()) return;
  const ObjectSpec& spec = SpecOf(TopLevelSpec(), "notifications");
  ObjectView v(r, node, spec, "notifications", top.KeyAt("notifications"));
  for (const Entry& e : v.Map("channels"))
    plan->channels.push_back(ParseChannel(r, SpecOf(spec, "channels"), e));
  const std::vector<YAML::Node> routes = v.Items("routes");
  for (size_t i = 0; i < routes.size(); ++i) {
    Route route;
    route.position = r.At(routes[i]);
    if (!route.position.line) route.position = v.KeyAt("routes");
    ObjectView rv(r, routes[i], SpecOf(spec, "routes"), "route " + std::to_string(i + 1), route.position);
    if (auto events = rv.List("events")) {
      for (const NameRef& ev : *events)
        for (Event e : kAllEvents)
          if (EventName(e) == ev.name && std::find(route.events.begin(), route.events.end(), e) == route.events.end())
            route.events.push_back(e);
    } else if (!rv.Has("events")) {
      route.events.assign(std::begin(kAllEvents), std::end(kAllEvents));
    }
    if (auto tiers = rv.IntegerList("tiers")) route.tiers = std::move(*tiers);
    else if (!rv.Has("tiers")) route.tiers = {0, 1, 2, 3};
    if (auto ch = rv.List("channels")) route.channels = std::move(*ch);
    route.escalate_after = rv.Duration("escalate_after");
    if (auto to = rv.List("escalate_to")) route.escalate_to = std::move(*to);
    if (rv.valid() && rv.Has("escalate_after") != rv.Has("escalate_to")) {
      r.diagnostics().Error(rv.Has("escalate_after") ? rv.KeyAt("escalate_after") : rv.KeyAt("escalate_to"),
                            "route " + std::to_string(i + 1) + " has " +
                                (rv.Has("escalate_after") ? "escalate_after without escalate_to"
                                                          : "escalate_to without escalate_after"),
                            "give both: escalate_after: DURATION and escalate_to: [CHANNEL, ...]");
    }
    rv.Finish();
    plan->routes.push_back(std::move(route));
  }
  v.Finish();
}

}  // namespace lifeboat::plan::internal
