// The daemon's run journal (doc/daemon.md, "Kill -9"): a small file in the state directory that
// says "a RunPlan started at T for these services" while one runs. `lifeboat run` writes its run
// records only when it ends, so a daemon killed with SIGKILL after a snapshot was stored but
// before the records were written would, started again, find the service still due and back it
// up a second time for the same due time. With the journal it does not: at start, a journal left
// behind names the interrupted run, and each of its services that already has a snapshot at its
// first site from that run is held back until its schedule's next firing after T.
//
//   LB_RETURN_IF_ERROR(WriteRunJournal(path, {true, start_ns, services, holds}));  // before
//   ... RunPlan ...
//   LB_RETURN_IF_ERROR(WriteRunJournal(path, {false, 0, {}, holds}));  // after (or Remove)
//   // at start:
//   LB_ASSIGN_OR_RETURN(std::optional<RunJournal> left, ReadRunJournal(path));
//   if (left) held = FindInterruptedBackups(plan, *left, ctx);
//
// Files are written durably (temp file, fsync, rename). Blocking I/O; any thread, one writer.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat::daemon {

struct RunJournal {
  bool running = false;               // a RunPlan was running when this was written
  int64_t start_ns = 0;               // running: wall time it started (the daemon's clock)
  std::vector<std::string> services;  // running: the services it was given
  // Services held back after an earlier interrupted run: name -> wall ns until which the daemon
  // does not give them to RunPlan (kept here so that a second kill does not forget them).
  std::map<std::string, int64_t> holds;
};

// STATE_DIR/daemon-run-<16 hex of SHA-256(absolute plan path)>.json: one per plan.
std::string RunJournalPath(const std::string& state_dir, const std::string& plan_path);

Status WriteRunJournal(const std::string& path, const RunJournal& journal);
// nullopt when there is none; Corruption when it cannot be parsed (the caller logs and removes it).
Result<std::optional<RunJournal>> ReadRunJournal(const std::string& path);
// OK when it is gone (also when there was none).
Status RemoveRunJournal(const std::string& path);

// A service of an interrupted run that stored a snapshot before the daemon died.
struct InterruptedBackup {
  std::string service;
  std::string snapshot;  // the newest such snapshot's short id
  // The schedule's first firing after the run's start (INT64_MAX: it does not fire again).
  int64_t hold_until_ns = 0;
};

// For each service of a running `journal` still in the plan: lists the snapshots at its first site
// and returns those with one of the service whose time is at or after the journal's start. A site
// that cannot be read is skipped with a note in *notes (its service is not held: running it
// again is better than missing a backup). Blocks (opens sites).
std::vector<InterruptedBackup> FindInterruptedBackups(const plan::Plan& plan,
                                                      const RunJournal& journal, const Context& ctx,
                                                      std::vector<std::string>* notes);

}  // namespace lifeboat::daemon
