// The business impact analysis as one self-contained HTML page (doc/bia.md, "Output"): the
// sections of the Markdown form as tables, and two charts drawn by src/report (cost of protection
// against the loss it protects against, critical-path RTO against MTD). Every string from the
// plan and the sites goes through report::Table, HtmlPage or the charts, which escape it. Pure.
#include <cstdio>

#include "dr/bia.h"
#include "dr/bia_internal.h"
#include "dr/drill_history_internal.h"
#include "plan/duration.h"
#include "report/html.h"
#include "report/svg_chart.h"
#include "util/units.h"

namespace lifeboat::dr {
namespace {

using internal::Dur;
using internal::List;
using internal::Money;
using internal::SizeText;
using report::Cell;
using report::Table;

std::string VerdictClass(const std::string& verdict) {
  if (verdict == "under_protected") return "bad";
  if (verdict == "over_protected") return "warn";
  if (verdict == "balanced") return "good";
  return "muted";
}
std::string Figure(const std::string& svg, const std::string& caption) {
  return "<figure>\n" + svg + "<figcaption>" + report::HtmlEscape(caption) +
         "</figcaption>\n</figure>\n";
}
std::optional<double> Hours(const std::optional<int64_t>& ns) {
  if (!ns) return std::nullopt;
  return static_cast<double>(*ns) / 3600e9;
}

}  // namespace

std::string BiaHtml(const Bia& bia) {
  report::HtmlPage page("Business impact analysis");
  page.Paragraph("Plan " + bia.plan_file + ", as of " + internal::DrillTimeUtc(bia.now_ns) +
                     " UTC, " +
                     (bia.offline ? "from the plan alone (--offline: no site was read)."
                                  : "from the plan and its sites.") +
                     " Structure of NIST SP 800-34 Rev. 1's business impact analysis: recovery "
                     "criticality, resource requirements, recovery priorities; then exposure and "
                     "cost efficiency.",
                 "muted");
  if (!bia.warnings.empty()) {
    page.Heading(3, "Warnings");
    page.List(bia.warnings, "findings");
  }

  page.Heading(2, "Summary");
  {
    std::vector<std::vector<Cell>> rows;
    for (const BiaService& s : bia.services) {
      const bool exceeded = s.meets_mtd && !*s.meets_mtd;
      rows.push_back({Cell(s.name), Cell(std::to_string(s.tier), "num"),
                      Cell(std::to_string(s.wave), "num"),
                      Cell(Dur(s.critical_path_rto_ns) + " / " + Dur(s.mtd_ns),
                           exceeded ? "bad" : "num"),
                      Cell(Money(s.loss_per_incident, s.currency), "num"),
                      Cell(Money(s.monthly_protection_cost, s.currency) +
                               (s.monthly_protection_cost && !s.protection_cost_complete
                                    ? " (partial)"
                                    : ""),
                           "num"),
                      Cell(s.verdict, VerdictClass(s.verdict))});
    }
    page.Add(Table({"service", "tier", "wave", "critical-path RTO / MTD", "loss per incident",
                    "protection / month", "verdict"},
                   rows));
  }
  // Chart: protection per year against one incident's loss, per service (one currency each).
  {
    report::BarChartSpec c;
    c.title = "Cost of protection per year against the loss of one incident at target";
    c.series = {"protection / year", "loss per incident"};
    c.log_scale = true;
    std::string currency;
    bool mixed = false;
    for (const BiaService& s : bia.services) {
      c.categories.push_back(s.name);
      c.values.push_back({s.annual_protection_cost, s.loss_per_incident});
      if (!currency.empty() && s.currency != currency) mixed = true;
      if (currency.empty()) currency = s.currency;
    }
    c.unit = mixed ? "" : currency;
    page.Add(Figure(report::BarChart(c),
                    "Log scale. A service whose protection bar is longer than its loss bar is "
                    "over-protected; n/a: the plan gives no price or no impact cost."));
  }

  page.Heading(2, "1. Mission/business processes and recovery criticality");
  page.Heading(3, "1.1 Services, criticality and recovery objectives");
  {
    std::vector<std::vector<Cell>> rows;
    for (const BiaService& s : bia.services)
      rows.push_back({Cell(s.name), Cell(std::to_string(s.tier), "num"),
                      Cell(s.owner.empty() ? "-" : s.owner),
                      Cell(Money(s.downtime_cost_per_hour, s.currency), "num"),
                      Cell(Money(s.data_loss_cost_per_hour, s.currency), "num"),
                      Cell(Dur(s.mtd_ns), "num"), Cell(Dur(s.rto_ns), "num"),
                      Cell(Dur(s.rpo_ns), "num")});
    page.Add(Table({"service", "tier", "owner", "downtime cost / h", "data loss cost / h", "MTD",
                    "RTO", "RPO"},
                   rows));
  }
  page.Heading(3, "1.2 Outage impacts");
  page.Paragraph("Downtime for one RTO, for the critical-path RTO and for the MTD; data loss for "
                 "one RPO; one incident at target = critical-path downtime + one RPO of data.");
  {
    std::vector<std::vector<Cell>> rows;
    for (const BiaService& s : bia.services)
      rows.push_back({Cell(s.name), Cell(Money(s.downtime_cost_at_rto, s.currency), "num"),
                      Cell(Money(s.downtime_cost_at_critical_path, s.currency), "num"),
                      Cell(Money(s.downtime_cost_at_mtd, s.currency), "num"),
                      Cell(Money(s.data_loss_cost_at_rpo, s.currency), "num"),
                      Cell(Money(s.loss_per_incident, s.currency), "num"),
                      Cell(s.notes.empty() ? "-" : s.notes)});
    page.Add(Table({"service", "downtime at RTO", "downtime at critical path", "downtime at MTD",
                    "data loss at RPO", "loss per incident", "notes"},
                   rows));
  }
  page.Heading(3, "1.3 Critical-path RTO against MTD");
  page.Paragraph("A service is back at the earliest when everything it depends on is: "
                 "critical-path RTO = its RTO + the largest critical-path RTO of its direct "
                 "dependencies.");
  {
    std::vector<std::vector<Cell>> rows;
    for (const BiaService& s : bia.services) {
      std::string path = List(s.critical_path, " -> ");
      if (!s.without_rto.empty()) path += " (no rto: " + List(s.without_rto) + ", counted as 0)";
      rows.push_back({Cell(s.name), Cell(path), Cell(Dur(s.critical_path_rto_ns), "num"),
                      Cell(Dur(s.mtd_ns), "num"),
                      !s.meets_mtd ? Cell("no MTD", "muted")
                      : *s.meets_mtd ? Cell("yes", "good")
                                     : Cell("no", "bad")});
    }
    page.Add(Table({"service", "critical path", "critical-path RTO", "MTD", "meets MTD"}, rows));
    report::BarChartSpec c;
    c.title = "Critical-path RTO, RTO and MTD per service (hours)";
    c.series = {"critical-path RTO", "RTO", "MTD"};
    c.unit = "h";
    c.log_scale = true;  // minutes beside a week's MTD
    for (const BiaService& s : bia.services) {
      c.categories.push_back(s.name);
      c.values.push_back({Hours(s.critical_path_rto_ns), Hours(s.rto_ns), Hours(s.mtd_ns)});
    }
    page.Add(Figure(report::BarChart(c),
                    "Log scale. A critical-path bar longer than the MTD bar: the service cannot "
                    "be back within its maximum tolerable downtime."));
  }
  page.Heading(3, "Dependency chains");
  {
    std::vector<std::vector<Cell>> rows;
    for (const BiaChain& ch : bia.chains) {
      std::vector<std::string> names, members;
      for (const BiaChainMember& m : ch.members) {
        names.push_back(m.service);
        members.push_back(m.service + " " + Dur(m.finish_ns) + " / " + Dur(m.mtd_ns) +
                          (m.exceeds_mtd ? " EXCEEDED" : ""));
      }
      rows.push_back({Cell(List(names, " -> ")), Cell(Dur(ch.critical_path_rto_ns), "num"),
                      ch.meets_mtd ? Cell("yes", "good") : Cell("no", "bad"),
                      Cell(List(members, "; "))});
    }
    page.Add(Table({"chain", "critical-path RTO", "meets every MTD",
                    "members (sum of RTOs up to it / MTD)"},
                   rows));
  }

  page.Heading(2, "2. Resource requirements");
  page.Heading(3, "2.1 Dependencies, data and sites");
  {
    std::vector<std::vector<Cell>> rows;
    for (const BiaService& s : bia.services) {
      std::vector<std::string> sites;
      for (const BiaSiteExposure& e : s.sites) sites.push_back(e.site + " (" + e.role + ")");
      rows.push_back({Cell(s.name), Cell(List(s.depends_on)), Cell(List(s.all_dependencies)),
                      Cell(List(s.needed_by)), Cell(List(s.sources)), Cell(List(sites))});
    }
    page.Add(Table({"service", "depends on", "all dependencies", "needed by", "data sources",
                    "sites"},
                   rows));
  }
  page.Heading(3, "2.2 Stored bytes and cost of protection");
  page.Paragraph("Stored bytes after deduplication: the service's attributed share (blobs shared "
                 "with other services split evenly), with everything it references and what only "
                 "it references.");
  {
    std::vector<std::vector<Cell>> rows;
    for (const BiaService& s : bia.services) {
      for (const BiaSiteExposure& e : s.sites) {
        std::string price = "-";
        if (e.price_per_gib_month) {
          char buf[64];
          std::snprintf(buf, sizeof buf, "%g", *e.price_per_gib_month);
          price = std::string(buf) + (e.currency.empty() ? "" : " " + e.currency);
        }
        rows.push_back({Cell(s.name), Cell(e.site), Cell(SizeText(e.stored_bytes), "num"),
                        Cell(SizeText(e.referenced_bytes), "num"),
                        Cell(SizeText(e.exclusive_bytes), "num"), Cell(price, "num"),
                        Cell(Money(e.monthly_cost, e.currency) +
                                 (e.monthly_cost && !e.cost_comparable ? " (other currency)" : ""),
                             "num")});
      }
    }
    page.Add(Table({"service", "site", "stored (attributed)", "referenced", "exclusive",
                    "price / GiB / month", "cost / month"},
                   rows));
  }
  page.Heading(3, "2.3 Sites");
  {
    std::vector<std::vector<Cell>> rows;
    for (const BiaSiteSummary& x : bia.sites)
      rows.push_back(
          {Cell(x.site), Cell(x.role), Cell(x.media), Cell(x.location.empty() ? "-" : x.location),
           x.read ? Cell("yes", "good") : Cell("no: " + x.error, "bad"),
           Cell(SizeText(x.services_bytes), "num"), Cell(SizeText(x.other_bytes), "num"),
           Cell(SizeText(x.shared_bytes), "num"), Cell(Money(x.monthly_cost, x.currency), "num")});
    page.Add(Table({"site", "role", "media", "location", "read", "services' bytes", "other bytes",
                    "shared bytes", "cost / month"},
                   rows));
  }

  page.Heading(2, "3. Recovery priorities");
  page.Paragraph("Services in waves: each after everything it depends on, the most critical "
                 "first within a wave (lifeboat plan order).");
  {
    std::vector<std::vector<Cell>> rows;
    int rank = 0;
    for (const recover::Wave& w : bia.waves)
      for (const recover::WaveService& s : w.services)
        rows.push_back({Cell(std::to_string(++rank), "num"), Cell(std::to_string(w.number), "num"),
                        Cell(s.name), Cell(std::to_string(s.tier), "num"),
                        Cell(std::to_string(s.priority_tier), "num"), Cell(List(s.depends_on))});
    page.Add(Table({"order", "wave", "service", "tier", "recovered as tier", "after"}, rows));
  }

  page.Heading(2, "4. Exposure");
  {
    std::vector<std::vector<Cell>> rows;
    for (const BiaService& s : bia.services) {
      std::vector<std::string> sites, immutable;
      for (const BiaSiteExposure& e : s.sites) {
        sites.push_back(e.site + " (" + e.state + ")");
        if (e.immutability != "none") immutable.push_back(e.site + ": " + e.immutability);
      }
      const std::optional<BiaDrill>& d = s.last_drill;
      std::string drill = !s.drills_read ? "not read"
                          : !d          ? "never"
                                        : internal::DrillTimeUtc(d->start_ns).substr(0, 10) +
                                     " from " + d->site + ": " + d->result;
      rows.push_back(
          {Cell(s.name), Cell(std::to_string(s.copies), s.copies < 3 ? "warn" : "num"),
           s.offsite ? Cell("yes", "good") : Cell("no", "warn"),
           Cell((s.immutable_copy ? "yes" : "no") +
                    (immutable.empty() ? std::string() : " (" + List(immutable) + ")"),
                s.immutable_copy ? "good" : "warn"),
           Cell(List(sites)), Cell(drill, d && d->result != "passed" ? "bad" : ""),
           Cell(d ? internal::AchievedAgainstTarget(d->achieved_rto_ns, d->rto_target_ns) : "-"),
           Cell(d ? internal::AchievedAgainstTarget(d->achieved_rpo_ns, d->rpo_target_ns) : "-")});
    }
    page.Add(Table({"service", "copies", "offsite", "immutable copy", "sites (state)",
                    "last drill", "achieved RTO / target", "achieved RPO / target"},
                   rows));
  }

  page.Heading(2, "5. Cost efficiency");
  page.Paragraph("What protecting each service costs beside what it protects against. "
                 "Over-protected: a year of protection costs more than one incident at target. "
                 "Under-protected: an exposure gap (below). Balanced: neither, with an impact "
                 "cost.");
  {
    std::vector<std::vector<Cell>> rows;
    for (const BiaService& s : bia.services)
      rows.push_back({Cell(s.name),
                      Cell(Money(s.monthly_protection_cost, s.currency) +
                               (s.monthly_protection_cost && !s.protection_cost_complete
                                    ? " (partial)"
                                    : ""),
                           "num"),
                      Cell(Money(s.annual_protection_cost, s.currency), "num"),
                      Cell(Money(s.loss_per_incident, s.currency), "num"),
                      Cell(s.verdict, VerdictClass(s.verdict)), Cell(s.verdict_reason)});
    page.Add(Table({"service", "protection / month", "protection / year", "loss per incident",
                    "verdict", "why"},
                   rows));
  }
  page.Heading(3, "Exposure gaps");
  std::vector<std::string> gaps;
  for (const BiaService& s : bia.services)
    for (const BiaGap& g : s.gaps) gaps.push_back(s.name + ": " + g.kind + ": " + g.message);
  if (gaps.empty()) {
    page.List({"none"}, "ok");
  } else {
    page.List(gaps, "findings");
  }
  return page.Render();
}

}  // namespace lifeboat::dr
