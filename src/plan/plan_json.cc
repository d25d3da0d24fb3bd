#include "plan/plan_json.h"

#include <set>

#include "plan/keys.h"

namespace lifeboat::plan {

namespace {

using J = nlohmann::ordered_json;

J Secret(const SecretRef& s) { return J{{std::string(s.KindName()), s.value}}; }
J OptSecret(const std::optional<SecretRef>& s) { return s ? Secret(*s) : J(nullptr); }
J Cmd(const Command& c) { return J{{"argv", c.argv}, {"shell", c.shell}}; }
J Cmds(const std::vector<Command>& v) {
  J out = J::array();
  for (const Command& c : v) out.push_back(Cmd(c));
  return out;
}
J Refs(const std::vector<NameRef>& v) {
  J out = J::array();
  for (const NameRef& r : v) out.push_back(r.name);
  return out;
}
J Env(const std::vector<EnvEntry>& v) {
  J out = J::object();
  for (const EnvEntry& e : v) out[e.name] = Secret(e.secret);
  return out;
}
J Seconds(std::chrono::seconds s) { return s.count(); }
J OptSeconds(const std::optional<std::chrono::seconds>& s) { return s ? J(s->count()) : J(nullptr); }
J Opt(const std::optional<std::string>& s) { return s ? J(*s) : J(nullptr); }
J Where(const Position& p) { return J{{"line", p.line}, {"column", p.column}}; }

J SiteJson(const Site& s) {
  J options = J::object();
  for (const SiteOption& o : s.options) options[o.key] = o.value;
  return J{{"repository", s.repository}, {"password", Secret(s.password)},
           {"env", Env(s.env)},          {"role", SiteRoleName(s.role)},
           {"location", s.location},     {"media", s.media},
           {"options", options},         {"immutable", s.immutable},
           {"price_per_gib_month", s.price_per_gib_month ? J(*s.price_per_gib_month) : J(nullptr)},
           {"currency", s.currency},     {"recovery_root", s.recovery_root},
           {"position", Where(s.position)}};
}

J SourceJson(const Source& s) {
  J j{{"name", s.name}, {"kind", SourceKindName(s.kind)}};
  switch (s.kind) {
    case SourceKind::kPaths:
      j["paths"] = s.paths.paths;
      j["exclude"] = s.paths.exclude;
      j["exclude_file"] = s.paths.exclude_file;
      j["one_file_system"] = s.paths.one_file_system;
      break;
    case SourceKind::kCommand:
      j["command"] = Cmd(s.command.command);
      j["filename"] = s.command.filename;
      j["timeout_seconds"] = Seconds(s.command.timeout);
      break;
    case SourceKind::kPostgres:
      j["postgres"] = J{{"dsn", s.postgres.dsn.empty() ? J(nullptr) : J(s.postgres.dsn)},
                        {"host", s.postgres.host.empty() ? J(nullptr) : J(s.postgres.host)},
                        {"port", s.postgres.port},
                        {"database", s.postgres.database.empty() ? J(nullptr) : J(s.postgres.database)},
                        {"user", s.postgres.user.empty() ? J(nullptr) : J(s.postgres.user)},
                        {"password", OptSecret(s.postgres.password)},
                        {"timeout_seconds", Seconds(s.postgres.timeout)}};
      break;
    case SourceKind::kSqlite:
      j["sqlite"] = J{{"path", s.sqlite.path}};
      break;
  }
  j["position"] = Where(s.position);
  return j;
}

J RecoverJson(const RecoverStep& r) {
  J j = J::object();
  if (r.kind == RecoverStep::Kind::kPostgresRestore) {
    j["postgres_restore"] = J{{"source", r.postgres_source.empty() ? J(nullptr) : J(r.postgres_source)}};
  } else {
    j["command"] = Cmd(r.command);
    j["background"] = r.background;
    J ports = J::object();
    for (const auto& [name, port] : r.ports) ports[name] = port;
    j["ports"] = ports;
  }
  j["timeout_seconds"] = Seconds(r.timeout);
  return j;
}

J VerifyJson(const VerifyCheck& c) {
  J body = J::object();
  auto port = [&] { return c.port.name.empty() ? J(c.port.number) : J(c.port.name); };
  switch (c.kind) {
    case VerifyCheck::Kind::kTcp: body = J{{"port", port()}, {"host", c.host}}; break;
    case VerifyCheck::Kind::kHttp:
      body = J{{"port", port()}, {"host", c.host}, {"path", c.path},
               {"expect_status", c.expect_status}, {"expect_body", Opt(c.expect_body)}};
      break;
    case VerifyCheck::Kind::kCommand:
      body = J{{"run", Cmd(c.run)}, {"expect_output", Opt(c.expect_output)}};
      break;
    case VerifyCheck::Kind::kSql:
      body = J{{"query", c.query}, {"expect", Opt(c.expect)},
               {"source", c.postgres_source.empty() ? J(nullptr) : J(c.postgres_source)}};
      break;
    case VerifyCheck::Kind::kFiles: break;
  }
  return J{{std::string(VerifyKindName(c.kind)), body}, {"timeout_seconds", Seconds(c.timeout)}};
}

J SwitchJson(const std::vector<SwitchStep>& steps) {
  J out = J::array();
  for (const SwitchStep& st : steps) {
    out.push_back(J{{"command", Cmd(st.command)}, {"timeout_seconds", Seconds(st.timeout)}});
  }
  return out;
}

J FailoverJson(const std::optional<FailoverPolicy>& f) {
  if (!f) return J(nullptr);
  return J{{"to", f->to},
           {"automatic", f->automatic},
           {"interval_seconds", Seconds(f->interval)},
           {"timeout_seconds", Seconds(f->timeout)},
           {"failures_before_failover", f->failures_before_failover}};
}

J ServiceJson(const Service& s) {
  J sources = J::array(), recover = J::array(), verify = J::array();
  for (const Source& src : s.sources) sources.push_back(SourceJson(src));
  for (const RecoverStep& r : s.recover) recover.push_back(RecoverJson(r));
  for (const VerifyCheck& c : s.verify) verify.push_back(VerifyJson(c));
  auto cost = [](const std::optional<double>& d) { return d ? J(*d) : J(nullptr); };
  return J{
      {"owner", s.owner},
      {"tier", s.tier},
      {"rpo_seconds", Seconds(s.rpo)},
      {"rto_seconds", OptSeconds(s.rto)},
      {"mtd_seconds", OptSeconds(s.mtd)},
      {"depends_on", Refs(s.depends_on)},
      {"impact", J{{"downtime_cost_per_hour", cost(s.impact.downtime_cost_per_hour)},
                   {"data_loss_cost_per_hour", cost(s.impact.data_loss_cost_per_hour)},
                   {"currency", s.impact.currency},
                   {"notes", s.impact.notes}}},
      {"sources", sources},
      {"schedule", J{{"cron", s.schedule.cron}, {"timezone", s.schedule.timezone},
                     {"derived", s.schedule.derived}}},
      {"retention", s.retention ? J(retention::PolicyToJson(*s.retention)) : J(nullptr)},
      {"sites", Refs(s.sites)},
      {"replication", ReplicationName(s.replication)},
      {"hooks", J{{"before", Cmds(s.hooks.before)}, {"after", Cmds(s.hooks.after)},
                  {"on_error", Cmds(s.hooks.on_error)}, {"timeout_seconds", Seconds(s.hooks.timeout)}}},
      {"recover", recover},
      {"verify", verify},
      {"drill_every_seconds", OptSeconds(s.drill_every)},
      {"drill_schedule", s.drill_schedule ? J{{"cron", s.drill_schedule->cron},
                                              {"timezone", s.drill_schedule->timezone}}
                                          : J(nullptr)},
      {"switch", SwitchJson(s.switch_steps)},
      {"failover", FailoverJson(s.failover)},
      {"position", Where(s.position)},
  };
}

J ChannelJson(const Channel& c) {
  J j{{"type", ChannelTypeName(c.type)}, {"timeout_seconds", Seconds(c.timeout)}};
  switch (c.type) {
    case ChannelType::kWebhook: j["url"] = c.url; j["headers"] = Env(c.headers); break;
    case ChannelType::kSlack: j["webhook_url"] = OptSecret(c.webhook_url); break;
    case ChannelType::kNtfy: j["url"] = c.url; j["token"] = OptSecret(c.token); break;
    case ChannelType::kPagerDuty:
      j["routing_key"] = OptSecret(c.routing_key);
      j["url"] = c.url;
      break;
    case ChannelType::kHealthchecks: j["ping_url"] = OptSecret(c.ping_url); break;
    case ChannelType::kEmail:
      j["smtp_url"] = c.smtp_url;
      j["username"] = c.username.empty() ? J(nullptr) : J(c.username);
      j["password"] = OptSecret(c.password);
      j["from"] = c.from;
      j["to"] = c.to;
      j["starttls"] = c.starttls;
      break;
    case ChannelType::kCommand: j["command"] = Cmd(c.command); break;
  }
  return j;
}

J DaemonJson(const DaemonSettings& d) {
  auto opt = [](const std::string& s) { return s.empty() ? J(nullptr) : J(s); };
  J etcd = nullptr;
  if (d.etcd) {
    etcd = J{{"endpoints", d.etcd->endpoints},
             {"prefix", d.etcd->prefix},
             {"ttl_seconds", Seconds(d.etcd->ttl)},
             {"retry_timeout_seconds", Seconds(d.etcd->retry_timeout)},
             {"ca_file", opt(d.etcd->ca_file)}};
  }
  return J{{"listen", d.listen},
           {"tls_cert_file", opt(d.tls_cert_file)},
           {"tls_key_file", opt(d.tls_key_file)},
           {"token", OptSecret(d.token)},
           {"operate_token", OptSecret(d.operate_token)},
           {"loop_wait_seconds", Seconds(d.loop_wait)},
           {"fencing", J{{"kind", d.etcd ? "etcd" : "lock-file"}, {"etcd", etcd}}}};
}

}  // namespace

nlohmann::ordered_json PlanToJson(const Plan& plan) {
  J sites = J::object(), services = J::object(), contacts = J::object(), channels = J::object();
  for (const Site& s : plan.sites) sites[s.name] = SiteJson(s);
  for (const Service& s : plan.services) services[s.name] = ServiceJson(s);
  for (const Contact& c : plan.contacts)
    contacts[c.name] = J{{"role", c.role}, {"email", c.email}, {"phone", c.phone},
                         {"channels", Refs(c.channels)}};
  for (const Channel& c : plan.channels) channels[c.name] = ChannelJson(c);
  J routes = J::array();
  for (const Route& r : plan.routes) {
    J events = J::array();
    for (Event e : r.events) events.push_back(EventName(e));
    routes.push_back(J{{"events", events}, {"tiers", r.tiers}, {"channels", Refs(r.channels)},
                       {"escalate_after_seconds", OptSeconds(r.escalate_after)},
                       {"escalate_to", Refs(r.escalate_to)}});
  }
  return J{{"file", plan.file},        {"version", plan.version},
           {"currency", plan.currency},
           {"sites", sites},           {"services", services},
           {"contacts", contacts},     {"notifications", J{{"channels", channels}, {"routes", routes}}},
           {"failover", J{{"commit_after_seconds", OptSeconds(plan.failover.commit_after)}}},
           {"daemon", DaemonJson(plan.daemon)}};
}

// ---------------------------------------------------------------------------------------------
// The schema

namespace {

constexpr const char* kDurationPattern = "^\\s*([0-9]+[smhdw])+\\s*$";
constexpr const char* kCalendarPattern = "^\\s*([0-9]+[ymdh])+\\s*$";
constexpr const char* kNamePattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$";

J StringArray() { return J{{"type", "array"}, {"items", J{{"type", "string"}}}}; }
J CommandSchema() {
  return J{{"oneOf", J::array({J{{"type", "string"}, {"minLength", 1}},
                               J{{"type", "array"}, {"items", J{{"type", "string"}}}, {"minItems", 1}}})}};
}

void AddObject(const ObjectSpec& spec, J* defs);

J ValueSchema(const KeySpec& k, J* defs) {
  J j;
  switch (k.type) {
    case ValueType::kString: j = J{{"type", "string"}}; break;
    case ValueType::kName: j = J{{"type", "string"}, {"pattern", kNamePattern}}; break;
    case ValueType::kInteger:
      j = J{{"type", "integer"}};
      if (k.min == k.max) {
        j["const"] = k.min;
      } else {
        if (k.min != std::numeric_limits<int64_t>::min()) j["minimum"] = k.min;
        if (k.max != std::numeric_limits<int64_t>::max()) j["maximum"] = k.max;
      }
      break;
    case ValueType::kNumber: j = J{{"type", "number"}, {"minimum", k.min}}; break;
    case ValueType::kBoolean: j = J{{"type", "boolean"}}; break;
    case ValueType::kDuration: j = J{{"type", "string"}, {"pattern", kDurationPattern}}; break;
    case ValueType::kCalendarDuration: j = J{{"type", "string"}, {"pattern", kCalendarPattern}}; break;
    case ValueType::kEnum: j = J{{"enum", J(std::vector<std::string>(k.choices.begin(), k.choices.end()))}}; break;
    case ValueType::kStringList: j = StringArray(); break;
    case ValueType::kNameList:
      j = J{{"type", "array"}, {"items", J{{"type", "string"}, {"pattern", kNamePattern}}}, {"uniqueItems", true}};
      break;
    case ValueType::kEnumList:
      j = J{{"type", "array"},
            {"items", J{{"enum", J(std::vector<std::string>(k.choices.begin(), k.choices.end()))}}},
            {"uniqueItems", true}};
      break;
    case ValueType::kIntegerList:
      j = J{{"type", "array"}, {"items", J{{"type", "integer"}, {"minimum", k.min}, {"maximum", k.max}}}};
      break;
    case ValueType::kStringListList:
      j = J{{"type", "array"}, {"items", J{{"type", "array"}, {"items", J{{"type", "string"}, {"minLength", 1}}}, {"minItems", 1}}}};
      break;
    case ValueType::kCommand: j = CommandSchema(); break;
    case ValueType::kCommandList: j = J{{"type", "array"}, {"items", CommandSchema()}}; break;
    case ValueType::kSecret: j = J{{"type", "string"}, {"minLength", 1}}; break;
    case ValueType::kSecretMap:
      j = J{{"type", "object"},
            {"propertyNames", J{{"pattern", "^[A-Za-z_][A-Za-z0-9_]*_(file|command|env)$"}}},
            {"additionalProperties", J{{"type", "string"}, {"minLength", 1}}}};
      break;
    case ValueType::kStringMap:
      j = J{{"type", "object"}, {"additionalProperties", J{{"type", J::array({"string", "number", "boolean"})}}}};
      break;
    case ValueType::kPortMap:
      j = J{{"type", "object"},
            {"propertyNames", J{{"pattern", "^[a-z0-9_]+$"}}},
            {"additionalProperties", J{{"type", "integer"}, {"minimum", 1}, {"maximum", 65535}}}};
      break;
    case ValueType::kPort:
      j = J{{"oneOf", J::array({J{{"type", "integer"}, {"minimum", 1}, {"maximum", 65535}},
                                J{{"type", "string"}, {"pattern", "^[a-z_][a-z0-9_]*$"}}})}};
      break;
    case ValueType::kObject:
      AddObject(*k.object, defs);
      j = J{{"$ref", "#/$defs/" + std::string(k.object->id)}};
      break;
    case ValueType::kMapOfObjects:
      AddObject(*k.object, defs);
      j = J{{"type", "object"},
            {"propertyNames", J{{"pattern", kNamePattern}}},
            {"additionalProperties", J{{"$ref", "#/$defs/" + std::string(k.object->id)}}}};
      if (k.non_empty) j["minProperties"] = 1;
      break;
    case ValueType::kListOfObjects:
      AddObject(*k.object, defs);
      j = J{{"type", "array"}, {"items", J{{"$ref", "#/$defs/" + std::string(k.object->id)}}}};
      break;
  }
  if (k.non_empty && (k.type == ValueType::kStringList || k.type == ValueType::kNameList ||
                      k.type == ValueType::kEnumList || k.type == ValueType::kIntegerList ||
                      k.type == ValueType::kListOfObjects))
    j["minItems"] = 1;
  if (!k.description.empty()) j["description"] = std::string(k.description);
  if (!k.default_json.empty()) j["default"] = J::parse(k.default_json);
  return j;
}

J ObjectSchema(const ObjectSpec& spec, J* defs) {
  J props = J::object();
  J required = J::array();
  J all_of = J::array();
  for (const KeySpec& k : spec.keys) {
    if (k.type == ValueType::kSecret) {
      J forms = J::array();
      for (const std::string& name : AcceptedKeyNames(k)) {
        J one = ValueSchema(k, defs);
        one["description"] = std::string(k.description) + " (" + name.substr(k.name.size() + 1) +
                             ": " + (name.ends_with("_file") ? "the first line of this file"
                                     : name.ends_with("_command") ? "the first line this command prints"
                                                                  : "the value of this environment variable") + ")";
        props[name] = one;
        forms.push_back(J{{"required", J::array({name})}});
      }
      // At most one form; exactly one when required.
      if (k.required) all_of.push_back(J{{"oneOf", forms}});
      else all_of.push_back(J{{"not", J{{"anyOf", J::array({
               J{{"required", J::array({std::string(k.name) + "_file", std::string(k.name) + "_command"})}},
               J{{"required", J::array({std::string(k.name) + "_file", std::string(k.name) + "_env"})}},
               J{{"required", J::array({std::string(k.name) + "_command", std::string(k.name) + "_env"})}}})}}}});
      continue;
    }
    props[std::string(k.name)] = ValueSchema(k, defs);
    if (k.required) required.push_back(std::string(k.name));
  }
  J j{{"type", "object"}, {"properties", props}, {"additionalProperties", false}};
  if (!required.empty()) j["required"] = required;
  if (!all_of.empty()) j["allOf"] = all_of;
  return j;
}

void AddObject(const ObjectSpec& spec, J* defs) {
  const std::string id(spec.id);
  if (defs->contains(id)) return;
  (*defs)[id] = J::object();  // reserve: recursion stops here
  J j;
  if (spec.variant_by == ObjectSpec::VariantBy::kNone) {
    j = ObjectSchema(spec, defs);
  } else {
    J one_of = J::array();
    for (const VariantSpec& v : spec.variants) {
      J variant = ObjectSchema(*v.spec, defs);
      if (spec.variant_by == ObjectSpec::VariantBy::kTypeField)
        variant["properties"]["type"] = J{{"const", std::string(v.tag)}};
      one_of.push_back(variant);
    }
    j = J{{"oneOf", one_of}};
  }
  if (!spec.shorthand_key.empty()) {
    J shorthand = ObjectSchema(spec, defs);
    j = J{{"oneOf", J::array({J{{"type", "string"}, {"description", "the " + std::string(spec.shorthand_key) + " alone"}}, shorthand})}};
  }
  j["description"] = "a " + std::string(spec.what) + " (doc/plan.md, \"" + std::string(spec.doc_section) + "\")";
  (*defs)[id] = j;
}

}  // namespace

nlohmann::ordered_json PlanSchema() {
  J defs = J::object();
  J top = ObjectSchema(TopLevelSpec(), &defs);
  J schema{{"$schema", "https://json-schema.org/draft/2020-12/schema"},
           {"$id", "https://lifeboat.invalid/plan.schema.json"},
           {"title", "Lifeboat DR plan (version 1)"},
           {"description", "The plan file of Lifeboat: sites, services, contacts and notifications (doc/plan.md)."}};
  for (auto& [key, value] : top.items()) schema[key] = value;
  schema["$defs"] = defs;
  return schema;
}

}  // namespace lifeboat::plan
