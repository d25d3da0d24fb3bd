#include "runlog/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <utility>

#include "crypto/hash.h"
#include "repository/keys.h"
#include "util/bytes.h"

namespace lifeboat {
namespace {

// mkdir -p with mode 0700 for what it creates.
Status MakeDirectories(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("empty state directory");
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    const std::string part = path.substr(0, pos);
    if (part.empty()) continue;
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST)
      return PosixError("creating the state directory " + part);
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return PosixError("stat " + path);
  if (!S_ISDIR(st.st_mode)) return Status::IOError(path + " is not a directory");
  return Status::Ok();
}

std::string ReadHolder(int fd) {
  char buf[512];
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "";
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s;
}

}  // namespace

Result<std::string> DefaultRunStateDirectory() {
  if (::geteuid() == 0) return std::string("/var/lib/lifeboat");
  const char* xdg = std::getenv("XDG_STATE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/lifeboat";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/') return std::string(home) + "/.local/state/lifeboat";
  return Status::InvalidArgument(
      "cannot tell where to keep Lifeboat's state: set HOME or XDG_STATE_HOME to an absolute "
      "path");
}

Result<RunLock> RunLock::TryAcquire(const std::string& state_dir, std::string_view plan_path,
                                    std::string_view service) {
  if (service.empty()) return Status::InvalidArgument("run lock: the service name is empty");
  const std::string dir = state_dir + "/run-locks";
  LB_RETURN_IF_ERROR(MakeDirectories(dir));
  std::string key(plan_path);
  key.push_back('\0');
  key.append(service);
  const std::string path =
      dir + "/" + HexEncode(crypto::Sha256(ByteView(reinterpret_cast<const uint8_t*>(key.data()),
                                                    key.size()))) +
      ".lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return PosixError("opening the run lock " + path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder = err == EWOULDBLOCK ? ReadHolder(fd) : "";
    ::close(fd);
    if (err != EWOULDBLOCK) return PosixError("locking " + path, err);
    return Status::Locked("service " + std::string(service) +
                          " is being run by another `lifeboat run`" +
                          (holder.empty() ? std::string() : " (" + holder + ")") +
                          "; skipped it (lock file " + path + ")");
  }
  const std::string line = "pid " + std::to_string(::getpid()) + " since " + FormatTime(NowNs()) +
                           " service " + std::string(service) + " plan " + std::string(plan_path) +
                           "\n";
  // The holder's line is for messages only: failing to write it does not matter.
  if (::ftruncate(fd, 0) == 0) {
    ssize_t ignored = ::pwrite(fd, line.data(), line.size(), 0);
    (void)ignored;
  }
  return RunLock(fd, path);
}

RunLock::RunLock(RunLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

RunLock& RunLock::operator=(RunLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace lifeboat
