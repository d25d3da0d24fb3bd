// The incident history of a plan (doc/failover.md, "Incident records"): the incident records of
// every reachable site of the plan, merged by incident (the record of the highest sequence per
// id counts, whichever site it came from; runlog/incident_records.h), as text or JSON. What
// `lifeboat failover history`, the dashboard and the runbook's appendix show.
//
//   LB_ASSIGN_OR_RETURN(IncidentHistory h, ReadIncidentHistory(plan, {.context = ctx}));
//   std::cout << IncidentHistoryText(h);
//
// ReadIncidentHistory blocks on the sites (opened one after the other with OpenRecordSite, no
// lock: records are immutable objects); everything else is pure. Any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "runlog/incident_records.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat::dr {

struct IncidentHistoryOptions {
  Context context = {};                 // stops the reads; its clock gives "now"
  std::vector<std::string> sites = {};  // empty: every site of the plan
};

// One incident as it counts, and the sites that hold (some record of) it.
struct IncidentEntry {
  IncidentRecord record;           // the record of the highest sequence (IncidentSupersedes)
  std::vector<std::string> sites;  // in plan order
};

struct IncidentHistory {
  int64_t now_ns = 0;
  std::vector<std::string> sites_read;  // sites whose records were read, in plan order
  // For people: a site that could not be opened or read (its records are missing here), an
  // object that could not be read (damaged, or written by a newer Lifeboat).
  std::vector<std::string> warnings;
  std::vector<IncidentEntry> incidents;  // newest first: start_ns descending, then id
  // Records that did not count among those the sites' listings returned (each site's newest
  // per id): an earlier state one site still holds, a rival of the same sequence.
  uint64_t superseded = 0;
};

// InvalidArgument naming the plan's sites when options.sites names one it does not have.
Status CheckIncidentHistorySelection(const plan::Plan& plan, const IncidentHistoryOptions& options);

// Reads the incident records of the selected sites (dr/sites.h OpenRecordSite, without a lock
// or index) and merges them. A site that cannot be opened or read is a warning, not an error
// (its records are usually at the other sites too); the error of CheckIncidentHistorySelection,
// or the context's when it is done, is returned. Secrets resolved to open the sites never
// appear in a warning.
Result<IncidentHistory> ReadIncidentHistory(const plan::Plan& plan,
                                            const IncidentHistoryOptions& options);

// The site each record was read from, for BuildIncidentHistory.
struct SiteIncidentRecords {
  std::string site;
  std::vector<IncidentRecord> records;  // any order, several per id, duplicates allowed
};

// The history of `sites`' records at `now_ns`: pure, for ReadIncidentHistory and tests.
IncidentHistory BuildIncidentHistory(const std::vector<SiteIncidentRecords>& sites, int64_t now_ns);

// For one service of an incident, "achieved / target": "4m05s / 1h" (RTO), "7m30s / 15m"
// (data-loss window against the RPO); "-" for a missing side.
std::string IncidentRtoText(const IncidentService& s);
std::string IncidentDataLossText(const IncidentService& s);

// Text: per incident, newest first, a head line (start UTC, kind, state, from -> to, who
// declared it, id, sequence, token), its reason and end, then a line per service (tier, wave,
// result, RTO / target, data loss / RPO, error); then the warnings.
std::string IncidentHistoryText(const IncidentHistory& history);
// JSON: {"now", "sites_read", "warnings", "superseded", "incidents": [{"record": the record's
// §12.2 JSON object, "sites": [...]}]}, incidents newest first.
nlohmann::ordered_json IncidentHistoryJson(const IncidentHistory& history);

}  // namespace lifeboat::dr
