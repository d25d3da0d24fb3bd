// The open incident's local state (doc/failover.md, "Incident records"): STATE_DIR/incident.json,
// what only this machine knows about a failover: its services and their results, the fencing
// tokens, the timeline, the processes and clusters left running (so that rollback stops exactly
// them) and the paths the failover wrote below the recovery root (so that rollback moves them
// aside). Written durably (temporary file, fsync, rename, fsync of the directory) at every step.
// At most one incident is open per state directory: a failover to the open failover's site joins
// it (its services appended), any other new failover is refused while one is open.
//
//   LB_ASSIGN_OR_RETURN(std::optional<IncidentState> open, LoadIncidentState(state_dir));
//   state.timeline.push_back({now, "service recovered", "shop", "dr"});
//   LB_RETURN_IF_ERROR(SaveIncidentState(state_dir, state));
//
// Plain values; Load/Save block on the file system. One writer at a time (the fence's action).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "recover/left_running.h"
#include "util/status.h"

namespace lifeboat::dr {

// "open", "committed", "rolled_back", "failed", "closed" (doc/failover.md, "Incident records"):
// closed is a failover that a failback ended.
inline constexpr std::string_view kIncidentOpen = "open";
inline constexpr std::string_view kIncidentCommitted = "committed";
inline constexpr std::string_view kIncidentRolledBack = "rolled_back";
inline constexpr std::string_view kIncidentFailed = "failed";
inline constexpr std::string_view kIncidentClosed = "closed";

// A step of a service's recovery (restore, recover, verify, switch) as the incident's records
// carry it (recover::StepRecord, kept so that every later record still holds them).
struct IncidentStep {
  std::string name;   // the step's stable label (StepRecord::label, else its name)
  std::string phase;  // "restore", "recover", "verify", "switch"
  std::string state;  // "ok", "failed", "not_run"
  int64_t start_ns = 0, end_ns = 0;
  std::string output;  // trimmed; redacted only when a record is written
};

struct IncidentService {
  std::string service;
  int tier = 3, wave = 1;
  std::string result;     // "recovered", "failed", "skipped", "cancelled", "pending"
  std::string error;      // failed/skipped/cancelled: why
  std::string from_site;  // where it was active before the failover
  uint64_t token = 0;     // the fencing token of its move to the recovery site
  bool switched = false;  // its switch steps ran towards the recovery site
  std::vector<std::pair<std::string, std::string>> snapshots;  // source -> snapshot id
  int64_t snapshot_time_ns = 0;  // the oldest restored snapshot's time
  std::optional<double> rto_seconds, rto_target_seconds, data_loss_seconds;
  double rpo_target_seconds = 0;
  std::vector<std::pair<std::string, int>> ports;  // its production ports
  std::vector<std::string> notes;                  // fallback reads, processes that exited
  std::vector<IncidentStep> steps;                 // its recovery's steps, in order
  // A failback: its copy at the recovery site (from_site) was stopped after its final backup
  // landed; the rollback of the failback restarts it there. False: the failback never stopped it
  // (its final backup failed, or the failback stopped before it), so it still runs there.
  bool stopped = false;
  // The rollback of a failback: "restarted" (it runs at from_site again), "failed" (it runs
  // nowhere: restart_error says why), "left_running" (never stopped: untouched); "" otherwise.
  std::string restart, restart_error;
  // A service whose failover joined the open incident later (doc/failover.md, "Joining an open
  // incident"): when it joined (its RTO runs from there) and when its failure happened (its
  // data-loss window ends there). 0: the incident's start_ns / failure_ns.
  int64_t joined_ns = 0, failure_ns = 0;
};

struct IncidentEvent {
  int64_t time_ns = 0;
  std::string what, service, site;
};

struct IncidentState {
  std::string id;  // 32 hex
  std::string kind = "failover";  // "failover" or "failback"
  std::string ends_incident;      // a failback: the failover it ends
  std::string state = std::string(kIncidentOpen);
  std::string plan_file;
  std::string declared_by, reason;
  std::string to_site;  // the recovery site
  std::string recovery_root;
  uint64_t token = 0;  // the highest fencing token of the incident's moves
  int64_t start_ns = 0, end_ns = 0, failure_ns = 0;
  std::string host, version;
  std::vector<IncidentService> services;
  std::vector<recover::LeftRunning> left_running;
  // Every path the failover writes below the recovery root (restored sources, clusters): what
  // rollback moves aside.
  std::vector<std::string> written_paths;
  std::string moved_aside_to;  // after a rollback: RECOVERY_ROOT/.lifeboat-rolled-back/ID
  std::vector<IncidentEvent> timeline;
  // The sequence of the last incident record written to the repositories (0: none yet); each
  // state change writes the next (dr/failover_record.cc).
  uint64_t record_sequence = 0;

  bool open() const { return state == kIncidentOpen; }
  IncidentService* Find(const std::string& service);
  const IncidentService* Find(const std::string& service) const;
};

nlohmann::ordered_json IncidentStateToJson(const IncidentState& s);
Result<IncidentState> IncidentStateFromJson(const nlohmann::json& j);

// STATE_DIR/incident.json.
std::string IncidentStatePath(const std::string& state_dir);
// The state in STATE_DIR/incident.json; nullopt when there is none. Corruption naming the file
// when it does not parse.
Result<std::optional<IncidentState>> LoadIncidentState(const std::string& state_dir);
// Writes it durably (the directory is created when missing).
Status SaveIncidentState(const std::string& state_dir, const IncidentState& state);
// A closed incident's file moves to STATE_DIR/incidents/ID.json, making room for a new one.
Status ArchiveIncidentState(const std::string& state_dir, const IncidentState& state);
// An archived incident: STATE_DIR/incidents/ID.json read (NotFound when it is not there,
// Corruption naming the file when it does not parse) or rewritten durably (the rollback of a
// failback records there what it restarted for the failover the failback ended).
Result<IncidentState> LoadArchivedIncidentState(const std::string& state_dir,
                                                const std::string& id);
Status SaveArchivedIncidentState(const std::string& state_dir, const IncidentState& state);

// A new incident id: 32 hex digits from the CSPRNG.
Result<std::string> NewIncidentId();

}  // namespace lifeboat::dr
