#include "recover/process_guard.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace lifeboat::recover {

namespace {

// One message: 'W' (watch) or 'F' (forget) and a process group id. Eight bytes, written in one
// send: never split on a stream socket of this size.
struct Message {
  char op;
  char pad[3];
  int32_t pgid;
};
static_assert(sizeof(Message) == 8);

void SleepMs(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

bool GroupAlive(pid_t pgid) { return ::kill(-pgid, 0) == 0 || errno == EPERM; }

// The watcher, after fork: async-signal-safe calls only (the parent may have had other threads
// holding locks that this copy of memory will never see released).
[[noreturn]] void Watcher(int fd) {
  ::setpgid(0, 0);
  struct sigaction ignore;
  std::memset(&ignore, 0, sizeof ignore);
  ignore.sa_handler = SIG_IGN;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU}) {
    ::sigaction(sig, &ignore, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // Hold nothing of the parent's but the socket: no pipe of a child (its reader would wait for
  // us), no lock file, no terminal.
  int keep = ::fcntl(fd, F_DUPFD, 3);
  if (keep < 0) ::_exit(1);
  int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
  }
  if (keep > 3) ::close_range(3, static_cast<unsigned>(keep) - 1, 0);
  ::close_range(static_cast<unsigned>(keep) + 1, ~0U, 0);

  pid_t groups[ProcessGuard::kMaxGroups];
  int count = 0;
  char buffer[sizeof(Message) * 64];
  size_t have = 0;
  for (;;) {
    ssize_t n = ::recv(keep, buffer + have, sizeof buffer - have, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the session's end is closed: it ended or died
    have += static_cast<size_t>(n);
    size_t used = 0;
    for (; have - used >= sizeof(Message); used += sizeof(Message)) {
      Message m;
      std::memcpy(&m, buffer + used, sizeof m);
      if (m.pgid <= 1) continue;
      if (m.op == 'W' && count < ProcessGuard::kMaxGroups) {
        groups[count++] = m.pgid;
      } else if (m.op == 'F') {
        for (int i = 0; i < count; ++i) {
          if (groups[i] == m.pgid) {
            groups[i] = groups[--count];
            break;
          }
        }
      }
    }
    std::memmove(buffer, buffer + used, have - used);
    have -= used;
  }
  if (count > 0) {
    for (int i = 0; i < count; ++i) {
      ::kill(-groups[i], SIGTERM);
      ::kill(-groups[i], SIGCONT);
    }
    const long step_ms = 50;
    for (long waited = 0; waited < ProcessGuard::kGrace.count(); waited += step_ms) {
      bool any = false;
      for (int i = 0; i < count && !any; ++i) any = GroupAlive(groups[i]);
      if (!any) break;
      SleepMs(step_ms);
    }
    for (int i = 0; i < count; ++i) ::kill(-groups[i], SIGKILL);
  }
  ::_exit(0);
}

}  // namespace

Result<std::unique_ptr<ProcessGuard>> ProcessGuard::Start() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return PosixError("process guard: socketpair");
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    Status st = PosixError("process guard: fork");
    ::close(fds[0]);
    ::close(fds[1]);
    return Status::Unavailable(st.message());
  }
  if (pid == 0) {
    ::close(fds[0]);
    Watcher(fds[1]);
  }
  ::close(fds[1]);
  return std::unique_ptr<ProcessGuard>(new ProcessGuard(fds[0], pid));
}

ProcessGuard::~ProcessGuard() {
  {
    MutexLock lock(&mu_);
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int status = 0;
  while (::waitpid(watcher_, &status, 0) < 0 && errno == EINTR) {
  }
}

Status ProcessGuard::Send(char op, pid_t pgid) {
  Message m;
  std::memset(&m, 0, sizeof m);
  m.op = op;
  m.pgid = static_cast<int32_t>(pgid);
  MutexLock lock(&mu_);
  if (fd_ < 0) return Status::FailedPrecondition("process guard closed");
  if (op == 'W' && watched_ >= kMaxGroups) {
    return Status::Unavailable("process guard: " + std::to_string(kMaxGroups) +
                               " process groups are watched already");
  }
  for (;;) {
    ssize_t n = ::send(fd_, &m, sizeof m, MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(sizeof m)) {
      watched_ += op == 'W' ? 1 : (watched_ > 0 ? -1 : 0);
      return Status::Ok();
    }
    if (n < 0 && errno == EINTR) continue;
    return PosixError("process guard: the watcher is gone");
  }
}

Status ProcessGuard::Watch(pid_t pgid) { return Send('W', pgid); }

void ProcessGuard::Forget(pid_t pgid) { Send('F', pgid).IgnoreError(); }

}  // namespace lifeboat::recover
