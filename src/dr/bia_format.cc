// The business impact analysis as Markdown and JSON (doc/bia.md, "Output"). Pure.
#include <cmath>
#include <cstdio>

#include "dr/bia.h"
#include "dr/bia_internal.h"
#include "dr/drill_history_internal.h"
#include "plan/duration.h"
#include "util/units.h"

namespace lifeboat::dr {
namespace {

using internal::Dur;
using internal::List;
using internal::Money;
using internal::SizeText;
using J = nlohmann::ordered_json;
using internal::AchievedAgainstTarget;
using internal::DrillTimeUtc;

// A table cell: one line, `|` escaped, and `<` as an entity so that no renderer takes a plan
// string for HTML.
std::string Cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20) out += ' ';
    else if (c == '|') out += "\\|";
    else if (c == '<') out += "&lt;";
    else out += c;
  }
  return out;
}

std::string Row(const std::vector<std::string>& cells) {
  std::string out = "|";
  for (const std::string& c : cells) out += " " + Cell(c) + " |";
  return out + "\n";
}

std::string Header(const std::vector<std::string>& cells) {
  std::string out = Row(cells) + "|";
  for (size_t i = 0; i < cells.size(); ++i) out += "---|";
  return out + "\n";
}

std::string DrillText(const std::optional<BiaDrill>& d) {
  if (!d) return "never";
  return DrillTimeUtc(d->start_ns).substr(0, 10) + " from " + d->site + ": " + d->result;
}

J OptSeconds(const std::optional<int64_t>& ns) {
  return ns ? J(*ns / 1'000'000'000) : J(nullptr);
}
template <typename T>
J Opt(const std::optional<T>& v) {
  return v ? J(*v) : J(nullptr);
}
// Money rounded to cents in JSON (what people see; no binary fractions like 0.30000000000000004).
J OptMoney(const std::optional<double>& v) {
  return v ? J(std::round(*v * 100) / 100) : J(nullptr);
}

J DrillJson(const std::optional<BiaDrill>& d) {
  if (!d) return nullptr;
  return J{{"site", d->site},
           {"start_ns", d->start_ns},
           {"result", d->result},
           {"achieved_rto_seconds", OptSeconds(d->achieved_rto_ns)},
           {"rto_target_seconds", OptSeconds(d->rto_target_ns)},
           {"achieved_rpo_seconds", OptSeconds(d->achieved_rpo_ns)},
           {"rpo_target_seconds", OptSeconds(d->rpo_target_ns)}};
}

}  // namespace

std::string FormatMoney(double amount, const std::string& currency) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", std::abs(amount));
  std::string digits = buf;
  const size_t dot = digits.find('.');
  std::string whole = digits.substr(0, dot), grouped;
  for (size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) grouped += ',';
    grouped += whole[i];
  }
  std::string out = (amount < 0 && std::round(amount * 100) != 0 ? "-" : "") + grouped +
                    digits.substr(dot);
  return currency.empty() ? out : out + " " + currency;
}

std::string BiaMarkdown(const Bia& bia) {
  std::string out = "# Business impact analysis\n\n";
  out += "Plan `" + Cell(bia.plan_file) + "`, as of " + DrillTimeUtc(bia.now_ns) + " UTC, " +
         (bia.offline ? "from the plan alone (`--offline`: no site was read)"
                      : "from the plan and its sites") +
         ". Structure of NIST SP 800-34 Rev. 1's business impact analysis: recovery criticality, "
         "resource requirements, recovery priorities; then exposure and cost efficiency "
         "(doc/bia.md).\n";
  if (!bia.warnings.empty()) {
    out += "\n**Warnings**\n\n";
    for (const std::string& w : bia.warnings) out += "- " + Cell(w) + "\n";
  }

  out += "\n## Summary\n\n" +
         Header({"service", "tier", "wave", "critical-path RTO / MTD", "loss per incident",
                 "protection / month", "verdict"});
  for (const BiaService& s : bia.services) {
    out += Row({s.name, std::to_string(s.tier), std::to_string(s.wave),
                Dur(s.critical_path_rto_ns) + " / " + Dur(s.mtd_ns) +
                    (s.meets_mtd && !*s.meets_mtd ? " EXCEEDED" : ""),
                Money(s.loss_per_incident, s.currency),
                Money(s.monthly_protection_cost, s.currency) +
                    (s.monthly_protection_cost && !s.protection_cost_complete ? " (partial)" : ""),
                s.verdict});
  }

  out += "\n## 1. Mission/business processes and recovery criticality\n";
  out += "\n### 1.1 Services, criticality and recovery objectives\n\n" +
         Header({"service", "tier", "owner", "downtime cost / h", "data loss cost / h", "MTD",
                 "RTO", "RPO"});
  for (const BiaService& s : bia.services) {
    out += Row({s.name, std::to_string(s.tier), s.owner.empty() ? "-" : s.owner,
                Money(s.downtime_cost_per_hour, s.currency),
                Money(s.data_loss_cost_per_hour, s.currency), Dur(s.mtd_ns), Dur(s.rto_ns),
                Dur(s.rpo_ns)});
  }
  out += "\n### 1.2 Outage impacts\n\nDowntime for one RTO, for the critical-path RTO and for "
         "the MTD; data loss for one RPO; one incident at target = critical-path downtime + one "
         "RPO of data.\n\n" +
         Header({"service", "downtime at RTO", "downtime at critical path", "downtime at MTD",
                 "data loss at RPO", "loss per incident", "notes"});
  for (const BiaService& s : bia.services) {
    out += Row({s.name, Money(s.downtime_cost_at_rto, s.currency),
                Money(s.downtime_cost_at_critical_path, s.currency),
                Money(s.downtime_cost_at_mtd, s.currency),
                Money(s.data_loss_cost_at_rpo, s.currency),
                Money(s.loss_per_incident, s.currency), s.notes.empty() ? "-" : s.notes});
  }
  out += "\n### 1.3 Critical-path RTO against MTD\n\nA service is back at the earliest when "
         "everything it depends on is: critical-path RTO = its RTO + the largest critical-path "
         "RTO of its direct dependencies.\n\n" +
         Header({"service", "critical path", "critical-path RTO", "MTD", "meets MTD"});
  for (const BiaService& s : bia.services) {
    std::string path = List(s.critical_path, " -> ");
    if (!s.without_rto.empty()) path += " (no rto: " + List(s.without_rto) + ", counted as 0)";
    out += Row({s.name, path, Dur(s.critical_path_rto_ns), Dur(s.mtd_ns),
                !s.meets_mtd ? "no MTD" : *s.meets_mtd ? "yes" : "**NO**"});
  }
  out += "\nDependency chains, the longest first (each member: the sum of RTOs up to it / its "
         "MTD):\n\n" +
         Header({"chain", "critical-path RTO", "meets every MTD", "members"});
  for (const BiaChain& c : bia.chains) {
    std::vector<std::string> names, members;
    for (const BiaChainMember& m : c.members) {
      names.push_back(m.service);
      members.push_back(m.service + " " + Dur(m.finish_ns) + " / " + Dur(m.mtd_ns) +
                        (m.exceeds_mtd ? " EXCEEDED" : ""));
    }
    out += Row({List(names, " -> "), Dur(c.critical_path_rto_ns), c.meets_mtd ? "yes" : "**NO**",
                List(members, "; ")});
  }

  out += "\n## 2. Resource requirements\n\n### 2.1 Dependencies, data and sites\n\n" +
         Header({"service", "depends on", "all dependencies", "needed by", "data sources",
                 "sites"});
  for (const BiaService& s : bia.services) {
    std::vector<std::string> sites;
    for (const BiaSiteExposure& e : s.sites) sites.push_back(e.site + " (" + e.role + ")");
    out += Row({s.name, List(s.depends_on), List(s.all_dependencies), List(s.needed_by),
                List(s.sources), List(sites)});
  }
  out += "\n### 2.2 Stored bytes and cost of protection\n\nStored bytes after deduplication: "
         "the service's attributed share (blobs shared with other services split evenly), with "
         "everything it references and what only it references.\n\n" +
         Header({"service", "site", "stored (attributed)", "referenced", "exclusive",
                 "price / GiB / month", "cost / month"});
  for (const BiaService& s : bia.services) {
    for (const BiaSiteExposure& e : s.sites) {
      std::string price = e.price_per_gib_month
                              ? FormatMoney(*e.price_per_gib_month, e.currency)
                              : std::string("-");
      if (e.price_per_gib_month) {
        // Prices are often fractions of a cent: show them as written.
        char buf[64];
        std::snprintf(buf, sizeof buf, "%g", *e.price_per_gib_month);
        price = std::string(buf) + (e.currency.empty() ? "" : " " + e.currency);
      }
      out += Row({s.name, e.site, SizeText(e.stored_bytes), SizeText(e.referenced_bytes),
                  SizeText(e.exclusive_bytes), price,
                  Money(e.monthly_cost, e.currency) +
                      (e.monthly_cost && !e.cost_comparable ? " (other currency)" : "")});
    }
  }
  out += "\n### 2.3 Sites\n\n" + Header({"site", "role", "media", "location", "read",
                                           "services' bytes", "other bytes", "shared bytes",
                                           "cost / month"});
  for (const BiaSiteSummary& x : bia.sites) {
    out +=
        Row({x.site, x.role, x.media, x.location.empty() ? "-" : x.location,
             x.read ? "yes" : "no: " + x.error, SizeText(x.services_bytes), SizeText(x.other_bytes),
             SizeText(x.shared_bytes), Money(x.monthly_cost, x.currency)});
  }

  out += "\n## 3. Recovery priorities\n\nServices in waves: each after everything it depends "
         "on, the most critical first within a wave (`lifeboat plan order`).\n\n";
  int rank = 0;
  for (const recover::Wave& w : bia.waves) {
    out += "- wave " + std::to_string(w.number) + ":";
    for (const recover::WaveService& s : w.services) {
      out += (&s == &w.services.front() ? " " : ", ") + std::to_string(++rank) + ". " +
             Cell(s.name) + " (tier " + std::to_string(s.tier);
      if (s.priority_tier != s.tier) out += ", recovered as tier " + std::to_string(s.priority_tier);
      out += ")";
    }
    out += "\n";
  }

  out += "\n## 4. Exposure\n\n" +
         Header({"service", "copies", "offsite", "immutable copy", "sites (state)", "last drill",
                 "achieved RTO / target", "achieved RPO / target"});
  for (const BiaService& s : bia.services) {
    std::vector<std::string> sites, immutable;
    for (const BiaSiteExposure& e : s.sites) {
      sites.push_back(e.site + " (" + e.state + ")");
      if (e.immutability != "none") immutable.push_back(e.site + ": " + e.immutability);
    }
    const std::optional<BiaDrill>& d = s.last_drill;
    out += Row({s.name, std::to_string(s.copies), s.offsite ? "yes" : "no",
                (s.immutable_copy ? "yes" : "no") +
                    (immutable.empty() ? std::string() : " (" + List(immutable) + ")"),
                List(sites), s.drills_read ? DrillText(d) : "not read",
                d ? AchievedAgainstTarget(d->achieved_rto_ns, d->rto_target_ns) : "-",
                d ? AchievedAgainstTarget(d->achieved_rpo_ns, d->rpo_target_ns) : "-"});
  }

  out += "\n## 5. Cost efficiency\n\nWhat protecting each service costs beside what it protects "
         "against. Over-protected: a year of protection costs more than one incident at target. "
         "Under-protected: an exposure gap (below). Balanced: neither, with an impact cost.\n\n" +
         Header({"service", "protection / month", "protection / year", "loss per incident",
                 "verdict", "why"});
  for (const BiaService& s : bia.services) {
    out += Row({s.name,
                Money(s.monthly_protection_cost, s.currency) +
                    (s.monthly_protection_cost && !s.protection_cost_complete ? " (partial)" : ""),
                Money(s.annual_protection_cost, s.currency),
                Money(s.loss_per_incident, s.currency), s.verdict, s.verdict_reason});
  }
  out += "\n### Exposure gaps\n\n";
  bool any = false;
  for (const BiaService& s : bia.services) {
    for (const BiaGap& g : s.gaps) {
      out += "- " + Cell(s.name) + ": `" + g.kind + "` " + Cell(g.message) + "\n";
      any = true;
    }
  }
  if (!any) out += "- none\n";
  return out;
}

nlohmann::ordered_json BiaJson(const Bia& bia) {
  J services = J::array();
  for (const BiaService& s : bia.services) {
    J sites = J::array();
    for (const BiaSiteExposure& e : s.sites) {
      sites.push_back(J{{"site", e.site},
                        {"role", e.role},
                        {"media", e.media},
                        {"immutable_in_plan", e.immutable_in_plan},
                        {"immutability", e.immutability},
                        {"state", e.state},
                        {"newest_snapshot_ns", Opt(e.newest_snapshot_ns)},
                        {"error", e.error},
                        {"stored_bytes", Opt(e.stored_bytes)},
                        {"referenced_bytes", Opt(e.referenced_bytes)},
                        {"exclusive_bytes", Opt(e.exclusive_bytes)},
                        {"price_per_gib_month", Opt(e.price_per_gib_month)},
                        {"currency", e.currency},
                        {"monthly_cost", OptMoney(e.monthly_cost)},
                        {"cost_comparable", e.cost_comparable}});
    }
    J gaps = J::array();
    for (const BiaGap& g : s.gaps) gaps.push_back(J{{"kind", g.kind}, {"message", g.message}});
    services.push_back(J{
        {"service", s.name},
        {"tier", s.tier},
        {"owner", s.owner},
        {"wave", s.wave},
        {"priority_tier", s.priority_tier},
        {"recovery_rank", s.recovery_rank},
        {"rpo_seconds", s.rpo_ns / 1'000'000'000},
        {"rto_seconds", OptSeconds(s.rto_ns)},
        {"mtd_seconds", OptSeconds(s.mtd_ns)},
        {"impact",
         J{{"downtime_cost_per_hour", Opt(s.downtime_cost_per_hour)},
           {"data_loss_cost_per_hour", Opt(s.data_loss_cost_per_hour)},
           {"currency", s.currency},
           {"notes", s.notes}}},
        {"outage_impacts",
         J{{"downtime_cost_at_rto", OptMoney(s.downtime_cost_at_rto)},
           {"downtime_cost_at_critical_path", OptMoney(s.downtime_cost_at_critical_path)},
           {"downtime_cost_at_mtd", OptMoney(s.downtime_cost_at_mtd)},
           {"data_loss_cost_at_rpo", OptMoney(s.data_loss_cost_at_rpo)},
           {"loss_per_incident", OptMoney(s.loss_per_incident)}}},
        {"critical_path",
         J{{"rto_seconds", s.critical_path_rto_ns / 1'000'000'000},
           {"services", s.critical_path},
           {"without_rto", s.without_rto},
           {"meets_mtd", Opt(s.meets_mtd)}}},
        {"resources",
         J{{"depends_on", s.depends_on},
           {"all_dependencies", s.all_dependencies},
           {"needed_by", s.needed_by},
           {"sources", s.sources}}},
        {"exposure",
         J{{"copies", s.copies},
           {"offsite", s.offsite},
           {"immutable_copy", s.immutable_copy},
           {"drills_read", s.drills_read},
           {"drills", s.drills},
           {"last_drill", DrillJson(s.last_drill)},
           {"last_passed_drill", DrillJson(s.last_passed_drill)},
           {"sites", sites}}},
        {"protection",
         J{{"monthly_cost", OptMoney(s.monthly_protection_cost)},
           {"annual_cost", OptMoney(s.annual_protection_cost)},
           {"complete", s.protection_cost_complete}}},
        {"gaps", gaps},
        {"verdict", s.verdict},
        {"verdict_reason", s.verdict_reason}});
  }
  J waves = J::array();
  for (const recover::Wave& w : bia.waves) {
    J list = J::array();
    for (const recover::WaveService& s : w.services)
      list.push_back(J{{"service", s.name}, {"tier", s.tier}, {"priority_tier", s.priority_tier}});
    waves.push_back(J{{"wave", w.number}, {"services", list}});
  }
  J chains = J::array();
  for (const BiaChain& c : bia.chains) {
    J members = J::array();
    for (const BiaChainMember& m : c.members)
      members.push_back(J{{"service", m.service},
                          {"rto_seconds", OptSeconds(m.rto_ns)},
                          {"finish_seconds", m.finish_ns / 1'000'000'000},
                          {"mtd_seconds", OptSeconds(m.mtd_ns)},
                          {"exceeds_mtd", m.exceeds_mtd}});
    chains.push_back(J{{"critical_path_rto_seconds", c.critical_path_rto_ns / 1'000'000'000},
                       {"meets_mtd", c.meets_mtd},
                       {"without_rto", c.without_rto},
                       {"members", members}});
  }
  J sites = J::array();
  for (const BiaSiteSummary& x : bia.sites) {
    sites.push_back(J{{"site", x.site},
                      {"role", x.role},
                      {"media", x.media},
                      {"location", x.location},
                      {"read", x.read},
                      {"error", x.error},
                      {"price_per_gib_month", Opt(x.price_per_gib_month)},
                      {"currency", x.currency},
                      {"services_bytes", Opt(x.services_bytes)},
                      {"other_bytes", Opt(x.other_bytes)},
                      {"shared_bytes", Opt(x.shared_bytes)},
                      {"monthly_cost", OptMoney(x.monthly_cost)}});
  }
  return J{{"message_type", "plan_bia"},
           {"version", 1},
           {"plan", bia.plan_file},
           {"now_ns", bia.now_ns},
           {"offline", bia.offline},
           {"warnings", bia.warnings},
           {"services", services},
           {"waves", waves},
           {"chains", chains},
           {"sites", sites}};
}

}  // namespace lifeboat::dr
