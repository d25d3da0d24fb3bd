#include "recover/child_process.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "util/thread_start.h"

namespace lifeboat::recover {

bool ChildRunning(pid_t pid) {
  siginfo_t info = {};
  int rc = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
  if (rc < 0) return errno != ECHILD;  // ECHILD: already reaped
  return info.si_pid != pid;
}

Result<std::unique_ptr<ChildProcess>> ChildProcess::Start(const SubprocessOptions& options,
                                                          ProcessGuard* guard) {
  LB_ASSIGN_OR_RETURN(std::unique_ptr<Subprocess> child, Subprocess::Start(options));
  bool watched = guard != nullptr && guard->Watch(child->pid()).ok();
  std::unique_ptr<ChildProcess> p(new ChildProcess(std::move(child), guard, watched));
  try {
    p->reader_ = std::thread([raw = p.get()] { raw->Drain(); });
  } catch (...) {
    Status st = StatusFromCurrentException("starting the output reader");
    p->Stop(st).IgnoreError();
    return st;
  }
  return p;
}

ChildProcess::ChildProcess(std::unique_ptr<Subprocess> child, ProcessGuard* guard, bool watched)
    : child_(std::move(child)), guard_(guard), watched_(watched) {}

ChildProcess::~ChildProcess() {
  Stop(Status::Cancelled("stopped: its owner went away")).IgnoreError();
}

bool ChildProcess::running() const { return !finished_ && ChildRunning(child_->pid()); }

std::string ChildProcess::output() const {
  MutexLock lock(&mu_);
  return output_.Text();
}

void ChildProcess::Drain() {
  using Clock = std::chrono::steady_clock;
  const int fd = child_->stdout_fd();
  char buf[8192];
  std::optional<Clock::time_point> leader_gone;
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    int ready = ::poll(&p, 1, 50);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) {
      // Everything of the group is gone once the leader is (the watchdog kills the rest); a
      // process that left the group may still hold the pipe: stop reading a second later.
      if (!leader_gone && !ChildRunning(child_->pid())) leader_gone = Clock::now();
      if (leader_gone && Clock::now() - *leader_gone > std::chrono::seconds(1)) break;
      continue;
    }
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    MutexLock lock(&mu_);
    output_.Append(std::string_view(buf, static_cast<size_t>(n)));
  }
}

Status ChildProcess::Finish() {
  if (reader_.joinable()) reader_.join();
  end_ = child_->Wait();
  if (watched_) guard_->Forget(child_->pid());
  finished_ = true;
  return end_;
}

Status ChildProcess::Wait() {
  if (finished_) return end_;
  return Finish();
}

Status ChildProcess::Stop(Status why) {
  if (finished_) return end_;
  child_->Stop(std::move(why));
  return Finish();
}

ForegroundResult RunForeground(const SubprocessOptions& options, ProcessGuard* guard) {
  ForegroundResult r;
  Result<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(options, guard);
  if (!child.ok()) {
    r.status = child.status();
    return r;
  }
  r.status = (*child)->Wait();
  r.output = (*child)->output();
  return r;
}

}  // namespace lifeboat::recover
