#include "runlog/timer_units.h"

#include <string_view>

#include "util/subprocess.h"

namespace lifeboat {
namespace {

Status CheckPath(std::string_view what, const std::string& path) {
  if (path.empty() || path[0] != '/')
    return Status::InvalidArgument(std::string(what) + " must be an absolute path, not \"" + path +
                                   "\"");
  for (unsigned char c : path)
    if (c < 0x20 || c == 0x7f)
      return Status::InvalidArgument(std::string(what) +
                                     " holds a control character (newline, tab, ...): " +
                                     "rename the file or give another path");
  return Status::Ok();
}

Status CheckName(std::string_view what, const std::string& name, bool allow_empty) {
  if (name.empty()) {
    if (allow_empty) return Status::Ok();
    return Status::InvalidArgument(std::string(what) + " is empty");
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == ':' || c == '\\';
    if (!ok)
      return Status::InvalidArgument(std::string(what) + " \"" + name +
                                     "\" may hold only letters, digits and - _ . : \\");
  }
  return Status::Ok();
}

Status CheckOptions(const TimerUnitOptions& o) {
  LB_RETURN_IF_ERROR(CheckPath("the lifeboat binary", o.lifeboat_binary));
  LB_RETURN_IF_ERROR(CheckPath("the plan file", o.plan_path));
  LB_RETURN_IF_ERROR(CheckName("the unit name", o.unit_name, false));
  LB_RETURN_IF_ERROR(CheckName("the user", o.user, true));
  if (o.timeout_stop_seconds <= 0)
    return Status::InvalidArgument("timeout_stop_seconds must be positive");
  return Status::Ok();
}

}  // namespace

std::string SystemdQuote(const std::string& arg) {
  std::string out = "\"";
  for (char c : arg) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '%') out.push_back('%');  // specifiers: %% is a literal %
    if (c == '$') out.push_back('$');  // variable expansion: $$ is a literal $
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

Result<SystemdUnits> MakeSystemdUnits(const TimerUnitOptions& o) {
  LB_RETURN_IF_ERROR(CheckOptions(o));
  SystemdUnits u;
  u.service_name = o.unit_name + ".service";
  u.timer_name = o.unit_name + ".timer";
  // The description is free text, but % and \ would be specifiers / escapes: keep it plain.
  std::string plan_text;
  for (char c : o.plan_path) plan_text += (c == '%' ? std::string("%%") : std::string(1, c));

  std::string s;
  s += "# Written by `lifeboat plan install-timer`. Holds no secret: the plan names its secrets\n";
  s += "# by reference. `lifeboat run` decides what is due; this unit only calls it.\n";
  s += "[Unit]\n";
  s += "Description=Lifeboat: run the DR plan " + plan_text + "\n";
  s += "Wants=network-online.target\n";
  s += "After=network-online.target\n";
  s += "\n[Service]\n";
  s += "Type=oneshot\n";
  s += "ExecStart=" + SystemdQuote(o.lifeboat_binary) + " run --plan " +
       SystemdQuote(o.plan_path) + "\n";
  if (o.system && !o.user.empty()) s += "User=" + o.user + "\n";
  if (o.system) {
    // /var/lib/lifeboat (run locks, notification state) and /var/cache/lifeboat (status cache),
    // created by systemd for the service's user.
    s += "StateDirectory=lifeboat\n";
    s += "CacheDirectory=lifeboat\n";
    s += "Environment=XDG_STATE_HOME=/var/lib XDG_CACHE_HOME=/var/cache\n";
  }
  // Backups give way to the machine's real work.
  s += "Nice=10\n";
  s += "IOSchedulingClass=best-effort\n";
  s += "IOSchedulingPriority=7\n";
  s += "CPUSchedulingPolicy=batch\n";
  // A run may take hours (a first backup): no start timeout. On stop, SIGTERM to lifeboat first
  // (it cancels, writes its run records, releases its locks), the rest of the group after
  // TimeoutStopSec.
  s += "TimeoutStartSec=infinity\n";
  s += "KillMode=mixed\n";
  s += "TimeoutStopSec=" + std::to_string(o.timeout_stop_seconds) + "s\n";
  // Hardening that cannot get in a backup's way (it must read what it backs up and may start
  // dump commands and hooks): no privilege gain through setuid programs, private new files.
  s += "NoNewPrivileges=yes\n";
  s += "UMask=0077\n";
  u.service_text = std::move(s);

  std::string t;
  t += "# Written by `lifeboat plan install-timer`.\n";
  t += "[Unit]\n";
  t += "Description=Lifeboat: run the DR plan every minute\n";
  t += "\n[Timer]\n";
  t += "OnCalendar=minutely\n";
  // A minute missed while the machine was off or asleep is made up at once.
  t += "Persistent=true\n";
  t += "AccuracySec=1s\n";
  t += "Unit=" + u.service_name + "\n";
  t += "\n[Install]\n";
  t += "WantedBy=timers.target\n";
  u.timer_text = std::move(t);
  return u;
}

Result<DaemonUnit> MakeDaemonUnit(const TimerUnitOptions& o) {
  LB_RETURN_IF_ERROR(CheckOptions(o));
  DaemonUnit u;
  u.service_name = o.unit_name + ".service";
  std::string plan_text;
  for (char c : o.plan_path) plan_text += (c == '%' ? std::string("%%") : std::string(1, c));
  std::string s;
  s += "# Written by `lifeboat plan install-timer --daemon`. Holds no secret: the plan names its\n";
  s += "# secrets by reference. `lifeboat daemon` performs the schedules and the health checks.\n";
  s += "[Unit]\n";
  s += "Description=Lifeboat daemon for the DR plan " + plan_text + "\n";
  s += "Wants=network-online.target\n";
  s += "After=network-online.target\n";
  s += "\n[Service]\n";
  s += "Type=simple\n";
  s += "ExecStart=" + SystemdQuote(o.lifeboat_binary) + " daemon --plan " +
       SystemdQuote(o.plan_path) + "\n";
  // SIGHUP: the daemon reloads the plan (an invalid one is logged and the old one kept).
  s += "ExecReload=/bin/kill -HUP $MAINPID\n";
  if (o.system && !o.user.empty()) s += "User=" + o.user + "\n";
  if (o.system) {
    s += "StateDirectory=lifeboat\n";
    s += "CacheDirectory=lifeboat\n";
    s += "Environment=XDG_STATE_HOME=/var/lib XDG_CACHE_HOME=/var/cache\n";
  }
  s += "Restart=on-failure\n";
  s += "RestartSec=10s\n";
  // SIGTERM to the daemon first: it starts no new job, cancels the running one (which writes its
  // run records and releases its locks) and leaves the fence; the rest of the group after
  // TimeoutStopSec.
  s += "KillSignal=SIGTERM\n";
  s += "KillMode=mixed\n";
  s += "TimeoutStopSec=" + std::to_string(o.timeout_stop_seconds) + "s\n";
  s += "Nice=10\n";
  s += "IOSchedulingClass=best-effort\n";
  s += "IOSchedulingPriority=7\n";
  s += "NoNewPrivileges=yes\n";
  s += "UMask=0077\n";
  s += "\n[Install]\n";
  s += std::string("WantedBy=") + (o.system ? "multi-user.target" : "default.target") + "\n";
  u.service_text = std::move(s);
  return u;
}

Result<std::string> MakeCrontabLine(const TimerUnitOptions& o) {
  LB_RETURN_IF_ERROR(CheckOptions(o));
  std::string cmd = ShellQuote(o.lifeboat_binary) + " run --plan " + ShellQuote(o.plan_path);
  // cron turns an unescaped % into a newline (the rest becomes stdin).
  std::string escaped;
  for (char c : cmd) {
    if (c == '%') escaped.push_back('\\');
    escaped.push_back(c);
  }
  std::string line = "* * * * * ";
  if (!o.user.empty()) line += o.user + " ";
  return line + escaped + "\n";
}

}  // namespace lifeboat
