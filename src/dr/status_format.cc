// What a PlanStatus says, in the forms doc/status.md describes: notify observations, the
// Prometheus text format, the --json document and the table for people.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "dr/status.h"
#include "notify/event.h"
#include "plan/duration.h"

namespace lifeboat::dr {

namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

// Unix seconds from ns: whole when whole, else with the nanoseconds (no exponent).
std::string Seconds(int64_t ns) {
  char buf[48];
  const bool negative = ns < 0;
  const uint64_t abs = negative ? -static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  const uint64_t whole = abs / kNsPerSecond, frac = abs % kNsPerSecond;
  if (frac == 0) {
    snprintf(buf, sizeof buf, "%s%" PRIu64, negative ? "-" : "", whole);
  } else {
    snprintf(buf, sizeof buf, "%s%" PRIu64 ".%09" PRIu64, negative ? "-" : "", whole, frac);
    std::string s = buf;
    while (s.back() == '0') s.pop_back();
    return s;
  }
  return buf;
}

// "4m", "21h", "3d", "1h30m": the age rounded down to its two largest units.
std::string ShortAge(int64_t ns) {
  int64_t s = std::max<int64_t>(ns, 0) / kNsPerSecond;
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 86400) {
    const int64_t m = s / 60 % 60;
    return std::to_string(s / 3600) + "h" + (m != 0 ? std::to_string(m) + "m" : "");
  }
  const int64_t h = s / 3600 % 24;
  return std::to_string(s / 86400) + "d" + (h != 0 ? std::to_string(h) + "h" : "");
}

std::string LocalTime(int64_t ns) {
  time_t secs = static_cast<time_t>(ns / kNsPerSecond);
  struct tm tm;
  localtime_r(&secs, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string Rfc3339(int64_t ns) { return notify::FormatRfc3339Utc(ns); }

std::string RpoMessage(const ServiceStatus& s, const ServiceSiteStatus& ss) {
  const std::string rpo = plan::FormatPlanDuration(s.rpo);
  if (!ss.newest) {
    std::string missing;
    for (const SourceStatus& so : ss.sources)
      if (!so.newest) missing += (missing.empty() ? "" : ", ") + so.name;
    return "no complete snapshot of " + s.name + " at " + ss.site + " (source " + missing +
           "); RPO " + rpo;
  }
  return "newest snapshot of " + s.name + " at " + ss.site + " is " + ShortAge(ss.newest->age_ns) +
         " old; RPO " + rpo;
}

}  // namespace

std::string EscapePrometheusLabel(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::vector<notify::Observation> ObservationsFromStatus(const PlanStatus& status) {
  std::vector<notify::Observation> out;
  for (const SiteStatus& site : status.sites) {
    notify::Observation o;
    o.condition = notify::Condition::kSite;
    o.tier = site.most_critical_tier;
    o.site = site.name;
    o.state = site.reachable ? notify::Observed::kOk : notify::Observed::kFailed;
    if (!site.reachable) {
      o.message = "site " + site.name + " cannot be reached: " + site.error;
      o.details["error"] = site.error;
    } else {
      o.message = "site " + site.name + " answers again";
    }
    out.push_back(std::move(o));
  }
  for (const ServiceStatus& s : status.services) {
    for (const ServiceSiteStatus& ss : s.sites) {
      if (ss.state == RpoState::kUnreachable) continue;  // unknown, not restored
      notify::Observation o;
      o.condition = notify::Condition::kRpo;
      o.service = s.name;
      o.tier = s.tier;
      o.site = ss.site;
      o.state = ss.state == RpoState::kOk       ? notify::Observed::kOk
                : ss.state == RpoState::kAtRisk ? notify::Observed::kAtRisk
                                                : notify::Observed::kFailed;
      o.message = RpoMessage(s, ss);
      o.details["rpo_seconds"] = s.rpo.count();
      if (ss.newest) {
        o.details["age_seconds"] = ss.newest->age_ns / kNsPerSecond;
        o.details["newest_snapshot"] = ss.newest->id;
        o.details["newest_snapshot_time"] = Rfc3339(ss.newest->time_ns);
      }
      out.push_back(std::move(o));
    }
  }
  return out;
}

std::string PrometheusText(const PlanStatus& st) {
  std::ostringstream out;
  auto header = [&](const char* name, const char* help) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n";
  };
  auto labels = [](std::initializer_list<std::pair<const char*, std::string>> l) {
    std::string s = "{";
    bool first = true;
    for (const auto& [k, v] : l) {
      s += (first ? "" : ",") + std::string(k) + "=\"" + EscapePrometheusLabel(v) + "\"";
      first = false;
    }
    return s + "}";
  };
  auto svc_site = [&](const ServiceStatus& s, const ServiceSiteStatus& ss) {
    return labels({{"service", s.name}, {"site", ss.site}, {"tier", std::to_string(s.tier)}});
  };
  auto svc = [&](const ServiceStatus& s) {
    return labels({{"service", s.name}, {"tier", std::to_string(s.tier)}});
  };
  // One metric over every service x site, `value` returning nullopt to leave a sample out.
  auto per_site = [&](const char* name, const char* help, auto value) {
    header(name, help);
    for (const ServiceStatus& s : st.services)
      for (const ServiceSiteStatus& ss : s.sites)
        if (std::optional<std::string> v = value(s, ss)) out << name << svc_site(s, ss) << " " << *v << "\n";
  };
  per_site("lifeboat_rpo_seconds", "The service's recovery point objective.",
           [](const ServiceStatus& s, const ServiceSiteStatus&) -> std::optional<std::string> {
             return std::to_string(s.rpo.count());
           });
  per_site("lifeboat_rpo_holds", "1 when the RPO holds at the site (state ok or at_risk), else 0.",
           [](const ServiceStatus&, const ServiceSiteStatus& ss) -> std::optional<std::string> {
             return RpoHolds(ss.state) ? "1" : "0";
           });
  header("lifeboat_rpo_state",
         "1 for the service's current RPO state at the site (ok, at_risk, violated, missing, "
         "unreachable), 0 for the others.");
  for (const ServiceStatus& s : st.services) {
    for (const ServiceSiteStatus& ss : s.sites) {
      for (RpoState state : {RpoState::kOk, RpoState::kAtRisk, RpoState::kViolated,
                             RpoState::kMissing, RpoState::kUnreachable}) {
        out << "lifeboat_rpo_state"
            << labels({{"service", s.name},
                       {"site", ss.site},
                       {"tier", std::to_string(s.tier)},
                       {"state", std::string(RpoStateName(state))}})
            << " " << (ss.state == state ? 1 : 0) << "\n";
      }
    }
  }
  per_site("lifeboat_last_snapshot_timestamp_seconds",
           "Time of the service's newest complete snapshot at the site (the oldest of its "
           "sources' newest).",
           [](const ServiceStatus&, const ServiceSiteStatus& ss) -> std::optional<std::string> {
             if (!ss.newest) return std::nullopt;
             return Seconds(ss.newest->time_ns);
           });
  per_site("lifeboat_snapshot_age_seconds",
           "Age of the service's newest complete snapshot at the site.",
           [](const ServiceStatus&, const ServiceSiteStatus& ss) -> std::optional<std::string> {
             if (!ss.newest) return std::nullopt;
             return Seconds(ss.newest->age_ns);
           });
  header("lifeboat_source_last_snapshot_timestamp_seconds",
         "Time of the source's newest complete snapshot at the site.");
  for (const ServiceStatus& s : st.services) {
    for (const ServiceSiteStatus& ss : s.sites) {
      for (const SourceStatus& so : ss.sources) {
        if (!so.newest) continue;
        out << "lifeboat_source_last_snapshot_timestamp_seconds"
            << labels({{"service", s.name},
                       {"site", ss.site},
                       {"tier", std::to_string(s.tier)},
                       {"source", so.name}})
            << " " << Seconds(so.newest->time_ns) << "\n";
      }
    }
  }
  per_site("lifeboat_last_run_timestamp_seconds", "Start of the service's last run at the site.",
           [](const ServiceStatus&, const ServiceSiteStatus& ss) -> std::optional<std::string> {
             if (!ss.last_run) return std::nullopt;
             return Seconds(ss.last_run->start_ns);
           });
  per_site("lifeboat_last_run_success", "1 when the service's last run at the site succeeded.",
           [](const ServiceStatus&, const ServiceSiteStatus& ss) -> std::optional<std::string> {
             if (!ss.last_run) return std::nullopt;
             return ss.last_run->result == RunResult::kOk ? "1" : "0";
           });
  per_site("lifeboat_backup_duration_seconds",
           "Duration of the service's last run at the site (end - start).",
           [](const ServiceStatus&, const ServiceSiteStatus& ss) -> std::optional<std::string> {
             if (!ss.last_run) return std::nullopt;
             return Seconds(std::max<int64_t>(0, ss.last_run->end_ns - ss.last_run->start_ns));
           });
  header("lifeboat_next_run_timestamp_seconds", "When the service's next run is due.");
  for (const ServiceStatus& s : st.services)
    if (s.next_run_ns) out << "lifeboat_next_run_timestamp_seconds" << svc(s) << " " << Seconds(*s.next_run_ns) << "\n";
  header("lifeboat_copies",
         "Copies of the service with a fresh snapshot, the live data included (3-2-1 rule).");
  for (const ServiceStatus& s : st.services) out << "lifeboat_copies" << svc(s) << " " << s.copies.copies << "\n";
  header("lifeboat_copies_media_kinds",
         "Distinct media kinds of the sites holding a fresh snapshot of the service.");
  for (const ServiceStatus& s : st.services)
    out << "lifeboat_copies_media_kinds" << svc(s) << " " << s.copies.media.size() << "\n";
  header("lifeboat_copies_offsite", "1 when an offsite site holds a fresh snapshot of the service.");
  for (const ServiceStatus& s : st.services)
    out << "lifeboat_copies_offsite" << svc(s) << " " << (s.copies.offsite ? 1 : 0) << "\n";
  header("lifeboat_site_up", "1 when the site was opened and listed.");
  for (const SiteStatus& site : st.sites)
    out << "lifeboat_site_up" << labels({{"site", site.name}}) << " " << (site.reachable ? 1 : 0) << "\n";
  header("lifeboat_site_snapshots", "Snapshot objects listed at the site.");
  for (const SiteStatus& site : st.sites)
    if (site.reachable) out << "lifeboat_site_snapshots" << labels({{"site", site.name}}) << " " << site.snapshots << "\n";
  header("lifeboat_site_check_duration_seconds", "How long opening and listing the site took.");
  for (const SiteStatus& site : st.sites)
    out << "lifeboat_site_check_duration_seconds" << labels({{"site", site.name}}) << " "
        << Seconds(site.duration_ns) << "\n";
  header("lifeboat_status_timestamp_seconds", "When this status was taken.");
  out << "lifeboat_status_timestamp_seconds " << Seconds(st.now_ns) << "\n";
  header("lifeboat_status_rpo_holds", "1 when every RPO holds at every site (status exits 0).");
  out << "lifeboat_status_rpo_holds " << (st.holds ? 1 : 0) << "\n";
  return out.str();
}

nlohmann::ordered_json StatusJson(const PlanStatus& st, const std::string& plan_file) {
  using json = nlohmann::ordered_json;
  auto snapshot = [](const std::optional<SnapshotRef>& r) -> json {
    if (!r) return nullptr;
    return json{{"id", r->id}, {"time", Rfc3339(r->time_ns)}, {"age_seconds", r->age_ns / kNsPerSecond}};
  };
  auto last_run = [](const std::optional<LastRun>& r) -> json {
    if (!r) return nullptr;
    return json{{"run_id", r->run_id},
                {"start", Rfc3339(r->start_ns)},
                {"end", Rfc3339(r->end_ns)},
                {"duration_seconds", static_cast<double>(std::max<int64_t>(0, r->end_ns - r->start_ns)) / 1e9},
                {"result", std::string(RunResultName(r->result))},
                {"error", r->error},
                {"records", r->records}};
  };
  json sites = json::array();
  for (const SiteStatus& s : st.sites) {
    sites.push_back({{"site", s.name},
                     {"role", s.role},
                     {"media", s.media},
                     {"reachable", s.reachable},
                     {"error", s.reachable ? json(nullptr) : json(s.error)},
                     {"snapshots", s.snapshots},
                     {"run_records", s.run_records},
                     {"duration_seconds", static_cast<double>(s.duration_ns) / 1e9},
                     {"warnings", s.warnings}});
  }
  json services = json::array();
  for (const ServiceStatus& s : st.services) {
    json per_site = json::array();
    for (const ServiceSiteStatus& ss : s.sites) {
      json sources = json::array();
      for (const SourceStatus& so : ss.sources) {
        sources.push_back({{"source", so.name},
                           {"kind", so.kind},
                           {"state", std::string(RpoStateName(so.state))},
                           {"newest_snapshot", snapshot(so.newest)}});
      }
      per_site.push_back({{"site", ss.site},
                          {"state", std::string(RpoStateName(ss.state))},
                          {"holds", RpoHolds(ss.state)},
                          {"newest_snapshot", snapshot(ss.newest)},
                          {"sources", sources},
                          {"last_run", last_run(ss.last_run)},
                          {"error", ss.state == RpoState::kUnreachable ? json(ss.error) : json(nullptr)}});
    }
    services.push_back({{"service", s.name},
                        {"tier", s.tier},
                        {"rpo_seconds", s.rpo.count()},
                        {"holds", s.holds},
                        {"sites", per_site},
                        {"last_run", last_run(s.last_run)},
                        {"next_run", s.next_run_ns ? json(Rfc3339(*s.next_run_ns)) : json(nullptr)},
                        {"due", s.due},
                        {"copies",
                         {{"copies", s.copies.copies},
                          {"media", s.copies.media},
                          {"offsite", s.copies.offsite},
                          {"warnings", s.copies.warnings}}}});
  }
  return json{{"message_type", "status"},
              {"version", 1},
              {"plan", plan_file},
              {"time", Rfc3339(st.now_ns)},
              {"holds", st.holds},
              {"duration_seconds", static_cast<double>(st.duration_ns) / 1e9},
              {"sites", sites},
              {"services", services},
              {"warnings", st.warnings}};
}

std::string HumanStatus(const PlanStatus& st, bool problems_only) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"SERVICE", "TIER", "SITE", "STATE", "AGE", "RPO", "NEWEST SNAPSHOT", "LAST RUN",
                  "NEXT RUN"});
  std::vector<std::string> notes;
  std::vector<std::string> not_holding;
  size_t pairs = 0;
  for (const ServiceStatus& s : st.services) {
    std::string next = "-";
    if (s.next_run_ns) next = (s.due ? "due " : "") + LocalTime(*s.next_run_ns);
    for (const ServiceSiteStatus& ss : s.sites) {
      ++pairs;
      if (!RpoHolds(ss.state)) {
        not_holding.push_back(s.name + " at " + ss.site + ": " + std::string(RpoStateName(ss.state)));
      }
      if (ss.last_run && !ss.last_run->error.empty()) {
        notes.push_back(s.name + " at " + ss.site + ": last run " +
                        std::string(RunResultName(ss.last_run->result)) + ": " + ss.last_run->error);
      }
      if (ss.state == RpoState::kMissing) {
        std::string missing;
        for (const SourceStatus& so : ss.sources)
          if (!so.newest) missing += (missing.empty() ? "" : ", ") + so.name;
        notes.push_back(s.name + " at " + ss.site + ": no complete snapshot of source " + missing);
      }
      if (problems_only && RpoHolds(ss.state)) continue;
      std::string run = "-";
      if (ss.last_run) {
        run = LocalTime(ss.last_run->start_ns) + " " + std::string(RunResultName(ss.last_run->result)) +
              " (" + ShortAge(ss.last_run->end_ns - ss.last_run->start_ns) + ")";
      }
      rows.push_back({s.name, std::to_string(s.tier), ss.site, std::string(RpoStateName(ss.state)),
                      ss.newest ? ShortAge(ss.newest->age_ns) : "-", plan::FormatPlanDuration(s.rpo),
                      ss.newest ? LocalTime(ss.newest->time_ns) : "-", run, next});
    }
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  std::string out;
  if (rows.size() > 1) {
    for (const auto& r : rows) {
      std::string line;
      for (size_t i = 0; i < r.size(); ++i) {
        const bool right = i == 1 || i == 4 || i == 5;  // numbers
        const std::string pad(width[i] - r[i].size(), ' ');
        line += right ? pad + r[i] : r[i] + (i + 1 < r.size() ? pad : "");
        if (i + 1 < r.size()) line += "  ";
      }
      out += line + "\n";
    }
  }
  for (const SiteStatus& site : st.sites)
    if (!site.reachable) out += "site " + site.name + ": unreachable: " + site.error + "\n";
  for (const std::string& n : notes) out += n + "\n";
  for (const std::string& w : st.warnings) out += "warning: " + w + "\n";
  out += std::to_string(st.services.size()) + " service" + (st.services.size() == 1 ? "" : "s") +
         ", " + std::to_string(pairs) + " service-site" + (pairs == 1 ? "" : "s") + ": ";
  if (not_holding.empty()) {
    out += "every RPO holds\n";
  } else {
    out += std::to_string(not_holding.size()) + " not holding its RPO (";
    for (size_t i = 0; i < not_holding.size(); ++i) out += (i ? "; " : "") + not_holding[i];
    out += ")\n";
  }
  return out;
}

}  // namespace lifeboat::dr
