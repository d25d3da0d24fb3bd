// The business impact analysis (doc/bia.md): `lifeboat plan bia`, in the structure of NIST SP
// 800-34 Rev. 1's BIA: (1) mission/business processes and recovery criticality: each service's
// tier, owner, cost per hour of downtime and of data loss, its outage impacts, MTD, RTO and RPO,
// and for every dependency chain the critical-path RTO against each member's MTD; (2) resource
// requirements: what each service depends on, its data sources and sites, what it stores there
// after deduplication and what that costs per month; (3) recovery priorities: the recovery waves
// (recover/waves.h). Then the exposure of each service (copies, immutable copies, the last drill
// against target) and the verdict: over-protected, under-protected, balanced or not judged.
//
//   BiaOptions o;  o.context = ctx;
//   LB_ASSIGN_OR_RETURN(Bia bia, ComputeBia(loaded.plan, o));
//   std::cout << BiaMarkdown(bia);
//
// ReadBiaInputs opens each of the plan's sites once, one after the other, without a lock (status,
// drill records and the stored-bytes measurement all read that one opening), and never fails for a
// site: a site that cannot be read is named in the BIA. BuildBia and the formats are pure. Any
// thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dr/status.h"
#include "inspect/group_sizes.h"
#include "plan/plan.h"
#include "recover/waves.h"
#include "runlog/drill_records.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat::dr {

inline constexpr double kBytesPerGiB = 1024.0 * 1024.0 * 1024.0;
// More dependency chains than this are not listed one by one (the per-service critical paths
// still cover every chain): a warning says how many were left out.
inline constexpr size_t kMaxBiaChains = 500;

struct BiaOptions {
  Context context = {};  // stops the reads; its clock gives "now"
  // From the plan alone: no site is opened; exposure comes from the plan, and stored bytes,
  // monthly costs and drills are unknown.
  bool offline = false;
  // Tests: decorates each site's backend (as StatusOptions::decorate_backend).
  std::function<std::unique_ptr<Backend>(const std::string& site, std::unique_ptr<Backend>)>
      decorate_backend = nullptr;
};

// What one site gave: read or not, whether it is really immutable, what each service stores.
struct BiaSiteReading {
  std::string site;
  bool read = false;
  std::string error;            // not read: why (no secret: engine errors hold none)
  bool append_only = false;     // the repository refuses deletions (doc/append-only.md)
  bool object_lock = false;     // the backend keeps objects locked (S3 Object Lock)
  std::optional<std::string> storage_error;  // read, but the stored bytes could not be measured
  std::vector<GroupSize> services;  // stored bytes per service (GroupSize::name) of the plan
  // Stored bytes of snapshots of no plan service (made by `backup`, or of a service no longer
  // in the plan), attributed as one more group.
  uint64_t other_bytes = 0;
  uint64_t referenced_bytes = 0;  // every group together (the union)
  uint64_t shared_bytes = 0;      // blobs used by two groups or more
};

struct BiaInputs {
  bool offline = true;
  std::optional<PlanStatus> status;   // unset offline
  std::vector<DrillRecord> drills;    // from every site read, duplicates by id allowed
  std::vector<BiaSiteReading> sites;  // the sites the services use, in plan order
  std::vector<std::string> warnings;
};

// One service on one dependency chain.
struct BiaChainMember {
  std::string service;
  std::optional<int64_t> rto_ns;   // unset: the service has no rto (counts as 0)
  int64_t finish_ns = 0;           // the sum of the RTOs from the chain's start to here
  std::optional<int64_t> mtd_ns;
  bool exceeds_mtd = false;        // finish_ns > mtd_ns
};

// A dependency path from a service that depends on nothing to one that nothing depends on.
struct BiaChain {
  std::vector<BiaChainMember> members;  // the first is recovered first
  int64_t critical_path_rto_ns = 0;     // the sum of all members' RTOs
  bool meets_mtd = true;                // no member exceeds its MTD
  std::vector<std::string> without_rto;  // members without an rto (counted as 0)
};

// Why a service's protection falls short (doc/bia.md, "Exposure gaps").
struct BiaGap {
  std::string kind;     // "mtd_exceeded", "no_offsite", "never_drilled", ...
  std::string message;  // one line for people
};

struct BiaSiteExposure {
  std::string site;
  std::string role, media;
  bool immutable_in_plan = false;
  // "append-only", "object lock", "not verified" (the plan says immutable, the repository does
  // not enforce it), "none", "unknown" (the site could not be read) or, offline, "planned".
  std::string immutability;
  // The RPO state of the service's newest snapshot there (status.h), "not read" offline.
  std::string state;
  std::optional<int64_t> newest_snapshot_ns;
  std::string error;  // the site could not be read, or its storage not measured
  std::optional<uint64_t> stored_bytes;      // attributed (GroupSize::attributed)
  std::optional<uint64_t> referenced_bytes;  // counted fully
  std::optional<uint64_t> exclusive_bytes;
  std::optional<double> price_per_gib_month;
  std::string currency;
  std::optional<double> monthly_cost;  // stored GiB x price, when both are known
  bool cost_comparable = true;         // the site's currency is the service's impact currency
};

// A drill as the BIA shows it.
struct BiaDrill {
  std::string site;
  int64_t start_ns = 0;
  std::string result;  // "passed", "failed", "skipped"
  std::optional<int64_t> achieved_rto_ns, achieved_rpo_ns;
  std::optional<int64_t> rto_target_ns, rpo_target_ns;
};

struct BiaService {
  std::string name;
  int tier = 3;
  std::string owner;
  int wave = 1;           // the recovery wave (1-based)
  int priority_tier = 3;  // RecoveryWaves' priority tier
  int recovery_rank = 1;  // 1-based position in the recovery order (waves, then priority)
  int64_t rpo_ns = 0;
  std::optional<int64_t> rto_ns, mtd_ns;
  std::optional<double> downtime_cost_per_hour, data_loss_cost_per_hour;
  std::string currency;
  std::string notes;
  // Outage impacts (doc/bia.md, "Costs"): downtime for one RTO, the critical path and the MTD;
  // data loss for one RPO; their sum over the critical path and one RPO: one incident's loss.
  std::optional<double> downtime_cost_at_rto, downtime_cost_at_critical_path,
      downtime_cost_at_mtd, data_loss_cost_at_rpo, loss_per_incident;
  // Resources.
  std::vector<std::string> depends_on;        // direct, plan order
  std::vector<std::string> all_dependencies;  // direct and indirect, in recovery order
  std::vector<std::string> needed_by;         // direct dependents, plan order
  std::vector<std::string> sources;           // "name (kind)"
  // Critical path: CP = rto + max over direct dependencies of their CP (doc/bia.md).
  int64_t critical_path_rto_ns = 0;
  std::vector<std::string> critical_path;    // the chain that gives it, first recovered first
  std::vector<std::string> without_rto;      // services on it without an rto (counted as 0)
  std::optional<bool> meets_mtd;             // unset without an mtd
  // Exposure.
  std::vector<BiaSiteExposure> sites;  // the service's sites, in its order
  int copies = 1;                      // the live data + sites holding a copy (doc/bia.md)
  bool offsite = false;
  bool immutable_copy = false;         // a site whose immutability holds (or, offline, is planned)
  bool drills_read = false;            // false offline
  size_t drills = 0;
  std::optional<BiaDrill> last_drill, last_passed_drill;
  // Cost of protection, per month, in `currency`, over the sites whose cost is known and
  // comparable; complete when every site's is.
  std::optional<double> monthly_protection_cost;
  bool protection_cost_complete = false;
  std::optional<double> annual_protection_cost;
  std::vector<BiaGap> gaps;
  // "over_protected", "under_protected", "balanced", "not_judged" (doc/bia.md, "Verdict").
  std::string verdict;
  std::string verdict_reason;
};

struct BiaSiteSummary {
  std::string site;
  std::string role, media, location;
  bool read = false;
  std::string error;
  std::optional<double> price_per_gib_month;
  std::string currency;
  std::optional<uint64_t> services_bytes;  // attributed to the plan's services together
  std::optional<uint64_t> other_bytes;     // of snapshots of no plan service
  std::optional<uint64_t> shared_bytes;
  std::optional<double> monthly_cost;      // (services + other) GiB x price
};

struct Bia {
  std::string plan_file;
  int64_t now_ns = 0;
  bool offline = true;
  std::vector<BiaService> services;  // in plan order
  std::vector<recover::Wave> waves;
  std::vector<BiaChain> chains;      // every chain (up to kMaxBiaChains), the longest first
  std::vector<BiaSiteSummary> sites;  // the sites the services use, in plan order
  std::vector<std::string> warnings;
};

// Opens every site the plan's services use (dr/sites.h, no lock, index loaded) and reads status,
// drill records and stored bytes per service. Offline: nothing is opened. Errors: only the
// context's (Cancelled, DeadlineExceeded); every site's problem is in its reading.
Result<BiaInputs> ReadBiaInputs(const plan::Plan& plan, const BiaOptions& options);

// The analysis of `plan` with what was read (pure). Errors: RecoveryWaves' (a dependency cycle
// in an unvalidated plan).
Result<Bia> BuildBia(const plan::Plan& plan, const BiaInputs& inputs, int64_t now_ns);

// ReadBiaInputs then BuildBia at the context clock's wall time.
Result<Bia> ComputeBia(const plan::Plan& plan, const BiaOptions& options);

// The formats (doc/bia.md, "Output"). Markdown; JSON (stable keys, doc/bia.md "JSON"); one
// self-contained HTML page (no script, nothing fetched, every plan string escaped) with charts.
std::string BiaMarkdown(const Bia& bia);
nlohmann::ordered_json BiaJson(const Bia& bia);
std::string BiaHtml(const Bia& bia);

// Money with two decimals and thousands separators: "12,000.00 EUR" ("EUR" omitted when empty).
std::string FormatMoney(double amount, const std::string& currency);

}  // namespace lifeboat::dr
