// What a failover leaves running after `lifeboat failover` returns (doc/failover.md, "Failover",
// step 7): the background recover steps and the PostgreSQL clusters of the recovered services,
// each with what a later process (`failover rollback`, another day, another lifeboat) needs to
// stop exactly it and never another process that reused its id: the pid, the process group and
// the process's start time as /proc/PID/stat gives it (field 22, clock ticks since boot).
//
//   LB_ASSIGN_OR_RETURN(LeftRunning lr, StartDetached(options, service, what, log_path));
//   ... StillRunning(lr) ...
//   std::vector<StopNote> notes = StopLeftRunning(report.left_running, std::chrono::seconds(10));
//
// Plain values, JSON in the incident's local state (dr/incident_state.h). StillRunning reads
// /proc; StopLeftRunning blocks up to the grace period per entry (and pg_ctl's own wait). Any
// thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "util/status.h"

namespace lifeboat::recover {

struct LeftRunning {
  std::string service;
  // For people: "command 'python3 serve.py' (background)", "PostgreSQL cluster of source db".
  std::string what;
  pid_t pid = 0;
  pid_t pgid = 0;           // its own process group (and session): pgid == pid
  uint64_t start_time = 0;  // /proc/PID/stat field 22 when it was started
  std::string cluster_dir;  // a cluster: its data directory (pg_ctl -D); "" for a process
  std::string bin_dir;      // a cluster: where pg_ctl is
  std::string run_as;       // a cluster: the user it runs as ("": the caller's)
  std::string log;          // where its standard output and error go
};

nlohmann::ordered_json LeftRunningToJson(const LeftRunning& lr);
// InvalidArgument naming the field that is missing or wrong.
Result<LeftRunning> LeftRunningFromJson(const nlohmann::json& j);

// Field 22 of /proc/PID/stat (the start time in clock ticks since boot). NotFound when there is
// no such process.
Result<uint64_t> ProcessStartTime(pid_t pid);

// True when `lr`'s process still runs: a process with its pid exists, started at its start
// time, and is not a zombie. A child of this process that exited is reaped here.
bool StillRunning(const LeftRunning& lr);

// The live (non-zombie) processes of process group `pgid`, from /proc.
std::vector<pid_t> ProcessGroupMembers(pid_t pgid);

struct StopNote {
  std::string service, what;
  bool was_running = false;  // false: it had exited (or its pid belongs to another process now)
  Status status;             // Ok: stopped (or nothing to stop); else why it may still run
};

// Stops each entry, the last first: a cluster with `pg_ctl stop -m fast` (as its user), then,
// for anything of its group still there, as a process; a process by its group: SIGTERM, `grace`,
// SIGKILL. A pid that now belongs to another process (another start time) is never signalled;
// members of the recorded group are, when its leader is gone (the kernel keeps a group's id from
// being reused while the group has members).
std::vector<StopNote> StopLeftRunning(const std::vector<LeftRunning>& entries,
                                      std::chrono::milliseconds grace);

}  // namespace lifeboat::recover
