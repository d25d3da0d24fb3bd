// The text `lifeboat plan install-timer` writes: a systemd service + timer pair that calls
// `lifeboat run` every minute, or one crontab line doing the same. Pure functions: nothing is
// written or run here.
//
//   TimerUnitOptions o{.lifeboat_binary = "/usr/bin/lifeboat", .plan_path = "/etc/lifeboat/x.yaml"};
//   LB_ASSIGN_OR_RETURN(SystemdUnits u, MakeSystemdUnits(o));   // u.service_text, u.timer_text
//   LB_ASSIGN_OR_RETURN(std::string line, MakeCrontabLine(o));
//
// `run` decides itself what is due (each service's schedule), so the timer only has to call it
// often: every minute. No secret ever appears in a unit or line: the plan names its secrets by
// reference (files, commands, variables), and only the two paths below are written.
#pragma once

#include <string>

#include "util/status.h"

namespace lifeboat {

struct TimerUnitOptions {
  // Absolute paths, without control characters (checked).
  std::string lifeboat_binary;
  std::string plan_path;
  // The units' base name: <unit_name>.service and <unit_name>.timer. Letters, digits, ":-_.\".
  std::string unit_name = "lifeboat-run";
  // A system unit (installed under /etc/systemd/system, runs as root unless `user` is set; sets
  // StateDirectory/CacheDirectory) or a user unit (systemctl --user; the user's XDG directories).
  bool system = true;
  // System units: User= to run as (empty: root). Cron: the user field of an /etc/cron.d line
  // (empty: a line for a user's own crontab, which has no user field).
  std::string user;
  // How long systemd waits after SIGTERM before killing the run: the run stops its backups at
  // the next check, writes its run records and releases its locks in this time.
  int timeout_stop_seconds = 120;
};

struct SystemdUnits {
  std::string service_name;  // "lifeboat-run.service"
  std::string service_text;
  std::string timer_name;  // "lifeboat-run.timer"
  std::string timer_text;
};

// The service (Type=oneshot, `lifeboat run --plan PLAN`, low CPU and I/O priority, no new
// privileges, TimeoutStopSec, KillMode=mixed) and its timer (OnCalendar=minutely,
// Persistent=true, AccuracySec=1s). InvalidArgument naming the field when a path is not absolute
// or holds a control character, or a name is not allowed.
Result<SystemdUnits> MakeSystemdUnits(const TimerUnitOptions& options);

// "* * * * * [USER ]'BINARY' run --plan 'PLAN'\n": the paths shell-quoted, '%' escaped as cron
// requires. Same errors as MakeSystemdUnits.
Result<std::string> MakeCrontabLine(const TimerUnitOptions& options);

// The service `lifeboat plan install-timer --daemon` writes instead of the timer pair
// (doc/daemon.md): `lifeboat daemon --plan PLAN` as a long-running Type=simple service,
// ExecReload sending SIGHUP (the daemon reloads its plan), stopped with SIGTERM (it cancels its
// running job and leaves the fence) within TimeoutStopSec, restarted on failure. Uses the options'
// paths, system/user and timeout_stop_seconds; the unit is named "<unit_name>.service" with
// unit_name "lifeboat-daemon" by default (the caller sets it). Holds no secret, like the timer.
// Same errors as MakeSystemdUnits.
struct DaemonUnit {
  std::string service_name;  // "lifeboat-daemon.service"
  std::string service_text;
};
Result<DaemonUnit> MakeDaemonUnit(const TimerUnitOptions& options);

// Quotes one argument for a systemd Exec line ("..." with \" \\ escapes, % as %%, $ as $$).
std::string SystemdQuote(const std::string& arg);

}  // namespace lifeboat
