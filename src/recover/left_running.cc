#include "recover/left_running.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "recover/scratch_postgres.h"
#include "util/subprocess.h"

namespace lifeboat::recover {

namespace {

// The fields of /proc/PID/stat after the command's closing parenthesis: [0] is field 3 (state).
Result<std::vector<std::string>> StatFields(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return Status::NotFound("no process " + std::to_string(pid));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return Status::NotFound("no process " + std::to_string(pid));
  std::vector<std::string> fields;
  std::istringstream rest(text.substr(close + 1));
  for (std::string f; rest >> f;) fields.push_back(f);
  if (fields.size() < 20) return Status::NotFound("no process " + std::to_string(pid));
  return fields;
}

// A child of ours that exited is reaped, so that it does not linger as a zombie.
void ReapIfOurs(pid_t pid) {
  int ws;
  while (::waitpid(pid, &ws, WNOHANG) < 0 && errno == EINTR) {
  }
}

bool Alive(pid_t pid, uint64_t start_time) {
  ReapIfOurs(pid);
  Result<std::vector<std::string>> f = StatFields(pid);
  if (!f.ok() || (*f)[0] == "Z") return false;
  return std::strtoull((*f)[19].c_str(), nullptr, 10) == start_time;
}

bool GroupGone(pid_t pgid) { return ProcessGroupMembers(pgid).empty(); }

// SIGTERM to the group, up to `grace` for it to go, SIGKILL to what is left.
Status StopGroup(pid_t pgid, std::chrono::milliseconds grace) {
  if (pgid <= 1 || GroupGone(pgid)) return Status::Ok();
  ::kill(-pgid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    ReapIfOurs(pgid);
    if (GroupGone(pgid)) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(-pgid, SIGKILL);
  for (int i = 0; i < 100; ++i) {
    ReapIfOurs(pgid);
    if (GroupGone(pgid)) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Unavailable("process group " + std::to_string(pgid) +
                             " still has processes after SIGKILL");
}

}  // namespace

nlohmann::ordered_json LeftRunningToJson(const LeftRunning& lr) {
  nlohmann::ordered_json j = {
      {"service", lr.service},       {"what", lr.what}, {"pid", lr.pid}, {"pgid", lr.pgid},
      {"start_time", lr.start_time}, {"log", lr.log}};
  if (!lr.cluster_dir.empty()) {
    j["cluster_dir"] = lr.cluster_dir;
    j["bin_dir"] = lr.bin_dir;
    j["run_as"] = lr.run_as;
  }
  return j;
}

Result<LeftRunning> LeftRunningFromJson(const nlohmann::json& j) {
  try {
    LeftRunning lr;
    lr.service = j.at("service").get<std::string>();
    lr.what = j.at("what").get<std::string>();
    lr.pid = j.at("pid").get<pid_t>();
    lr.pgid = j.at("pgid").get<pid_t>();
    lr.start_time = j.at("start_time").get<uint64_t>();
    lr.log = j.value("log", "");
    lr.cluster_dir = j.value("cluster_dir", "");
    lr.bin_dir = j.value("bin_dir", "");
    lr.run_as = j.value("run_as", "");
    if (lr.pid <= 1 || lr.pgid <= 1) {
      return Status::InvalidArgument("a process left running has pid " + std::to_string(lr.pid) +
                                     " and process group " + std::to_string(lr.pgid));
    }
    return lr;
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("a process left running: ") + e.what());
  }
}

Result<uint64_t> ProcessStartTime(pid_t pid) {
  LB_ASSIGN_OR_RETURN(std::vector<std::string> f, StatFields(pid));
  return std::strtoull(f[19].c_str(), nullptr, 10);
}

bool StillRunning(const LeftRunning& lr) { return Alive(lr.pid, lr.start_time); }

std::vector<pid_t> ProcessGroupMembers(pid_t pgid) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (struct dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    Result<std::vector<std::string>> f = StatFields(static_cast<pid_t>(pid));
    if (!f.ok() || (*f)[0] == "Z") continue;
    if (std::atol((*f)[2].c_str()) == pgid) out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(d);
  return out;
}

std::vector<StopNote> StopLeftRunning(const std::vector<LeftRunning>& entries,
                                      std::chrono::milliseconds grace) {
  std::vector<StopNote> notes;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    const LeftRunning& lr = *it;
    StopNote n;
    n.service = lr.service;
    n.what = lr.what;
    const bool alive = StillRunning(lr);
    // The pid is another process's now: its old group is gone (a group id is not handed out
    // while the group has members), so there is nothing of ours to stop.
    const bool reused = !alive && ProcessStartTime(lr.pid).ok();
    n.was_running = alive;
    if (reused) {
      notes.push_back(n);
      continue;
    }
    if (alive && !lr.cluster_dir.empty()) {
      SubprocessOptions o;
      std::vector<std::string> argv = {
          lr.bin_dir + "/pg_ctl", "stop", "-D", lr.cluster_dir, "-m", "fast", "-w", "-t", "60"};
      Result<std::vector<std::string>> as = RunAsUser(lr.run_as, argv);
      o.argv = as.ok() ? *as : argv;
      o.description = "pg_ctl stop -m fast of " + lr.cluster_dir;
      o.stderr_to_stdout = true;
      o.working_directory = "/";  // the cluster's user may not enter the caller's directory
      o.timeout = std::chrono::seconds(90);
      // Whatever pg_ctl says, the group is stopped below if anything of it is left.
      RunAndCapture(o).status().IgnoreError();
    }
    n.status = StopGroup(lr.pgid, grace);
    notes.push_back(n);
  }
  return notes;
}

}  // namespace lifeboat::recover
