// `lifeboat drill history` as library calls (doc/drill-history.md): the drill records of the
// plan's services read from the plan's sites, merged by identity (a record copied to several
// sites counts once), judged by drill_findings.h, and written as a table per service, Markdown,
// JSON, or a self-contained HTML page with charts (src/report).
//
//   LB_ASSIGN_OR_RETURN(DrillHistory h, ReadDrillHistory(plan, {.context = ctx}));
//   std::cout << DrillHistoryText(h);
//
// ReadDrillHistory blocks on the sites (read one after the other, without a lock: records are
// immutable objects); everything else is pure. Any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dr/drill_findings.h"
#include "plan/plan.h"
#include "runlog/drill_records.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat::dr {

struct DrillHistoryOptions {
  Context context = {};                   // stops the reads; its clock gives "now"
  std::vector<std::string> services = {};  // empty: every service of the plan
  std::vector<std::string> sites = {};     // empty: every site that holds a selected service
};

// One service's drills, oldest first, each with what AssessDrill found about it.
struct ServiceDrills {
  std::string service;
  int tier = 3;
  std::string owner;
  std::optional<int64_t> rto_ns, rpo_ns, drill_every_ns;  // the plan's, now
  std::vector<DrillRecord> drills;
  std::vector<std::vector<DrillFinding>> findings;  // per drill, same index
  ServiceAssessment assessment;                      // the service now
};

struct DrillHistory {
  int64_t now_ns = 0;
  std::vector<std::string> sites_read;  // sites whose records were read
  // For people: a site that could not be read (its records are missing here), an object that
  // could not be read, records of services the plan no longer has.
  std::vector<std::string> warnings;
  std::vector<ServiceDrills> services;  // in plan order
  uint64_t duplicates = 0;              // records read more than once (several sites) and kept once
};

// Which services and sites `options` selects: InvalidArgument naming the plan's services or
// sites when one is unknown.
Status CheckDrillHistorySelection(const plan::Plan& plan, const DrillHistoryOptions& options);

// Reads the drill records of the selected services from the selected sites (each opened as
// dr/sites.h does, without a lock or index) and builds the history. A site that cannot be opened
// or read is a warning, not an error (its records may be at the other sites, copied); the error
// of CheckDrillHistorySelection, or the context's when it is done, is returned.
Result<DrillHistory> ReadDrillHistory(const plan::Plan& plan, const DrillHistoryOptions& options);

// The history of `records` (any order, duplicates by id allowed) for the selected services at
// `now_ns`: pure, for ReadDrillHistory and tests.
DrillHistory BuildDrillHistory(const plan::Plan& plan, const DrillHistoryOptions& options,
                               const std::vector<DrillRecord>& records, int64_t now_ns);

// The formats (doc/drill-history.md, "Output"). Text: a table per service (date, site, result,
// achieved RTO / target, achieved RPO / target, slowest step, flags) and its findings.
std::string DrillHistoryText(const DrillHistory& history);
std::string DrillHistoryMarkdown(const DrillHistory& history);
nlohmann::ordered_json DrillHistoryJson(const DrillHistory& history);
// One HTML file, no script, nothing fetched: per service its findings, the achieved RTO and RPO
// per drill against the target lines, the table; then the newest drill's recovery timeline as a
// Gantt chart of waves and steps. Every plan and record string is escaped.
std::string DrillHistoryHtml(const DrillHistory& history);

}  // namespace lifeboat::dr
