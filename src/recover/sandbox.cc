#include "recover/sandbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "notify/event.h"
#include "util/file_io.h"

namespace lifeboat::recover {

namespace {

namespace fs = std::filesystem;

constexpr char kMarker[] = ".lifeboat-sandbox";
constexpr const char* kPrefixes[] = {"drill-", "failover-"};
constexpr int64_t kMarkerlessGraceSeconds = 600;

std::string CompactUtc(int64_t wall_ns) {
  time_t secs = static_cast<time_t>(wall_ns / 1'000'000'000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Status WriteMarker(int fd, const std::string& text, const std::string& path) {
  if (::ftruncate(fd, 0) != 0) return PosixError("truncating " + path);
  return PWriteAll(fd, ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()), 0,
                   path);
}

std::string MarkerJson(const std::string& mode, int64_t started_ns, bool kept) {
  nlohmann::ordered_json j = {{"version", 1},
                              {"pid", static_cast<int64_t>(::getpid())},
                              {"host", notify::HostName()},
                              {"mode", mode},
                              {"started", notify::FormatRfc3339Utc(started_ns)},
                              {"kept", kept}};
  return j.dump() + "\n";
}

// Makes every directory under (and including) `dir` writable and searchable by its owner, so
// that its entries can be removed. Best effort: what cannot be changed is left for the removal to
// report.
void MakeDirectoriesWritable(const std::string& dir) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;
  if ((st.st_mode & S_IRWXU) != S_IRWXU) ::chmod(dir.c_str(), (st.st_mode & 07777) | S_IRWXU);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> subdirs;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string child = dir + "/" + name;
    struct stat cs;
    if (::lstat(child.c_str(), &cs) == 0 && S_ISDIR(cs.st_mode)) subdirs.push_back(child);
  }
  ::closedir(d);
  for (const std::string& s : subdirs) MakeDirectoriesWritable(s);
}

bool ProcessExists(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

std::string DefaultSandboxBase() {
  const char* tmp = ::getenv("TMPDIR");
  if (tmp != nullptr && *tmp != '\0') return std::string(tmp) + "/lifeboat-drills";
  return "/var/tmp/lifeboat-drills";
}

Status RemoveTree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (!ec) return Status::Ok();
  MakeDirectoriesWritable(path);
  ec.clear();
  fs::remove_all(path, ec);
  if (!ec) return Status::Ok();
  return Status::IOError("cannot remove " + path + ": " + ec.message());
}

size_t StopProcessesIn(const std::string& dir, std::chrono::milliseconds grace) {
  char real[PATH_MAX];
  const std::string root = ::realpath(dir.c_str(), real) != nullptr ? real : dir;
  const pid_t self = ::getpid();
  const pid_t own_group = ::getpgrp();
  std::vector<pid_t> found;
  std::set<pid_t> groups, singles;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return 0;
  while (struct dirent* e = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || pid <= 1 || pid == self) continue;
    char cwd[PATH_MAX];
    std::string link = "/proc/" + std::string(e->d_name) + "/cwd";
    ssize_t n = ::readlink(link.c_str(), cwd, sizeof cwd - 1);
    if (n <= 0) continue;
    std::string where(cwd, static_cast<size_t>(n));
    constexpr std::string_view kDeleted = " (deleted)";
    if (where.ends_with(kDeleted)) where.resize(where.size() - kDeleted.size());
    if (where != root && !where.starts_with(root + "/")) continue;
    found.push_back(static_cast<pid_t>(pid));
    pid_t pgid = ::getpgid(static_cast<pid_t>(pid));
    if (pgid > 1 && pgid != own_group) {
      groups.insert(pgid);
    } else {
      singles.insert(static_cast<pid_t>(pid));
    }
  }
  ::closedir(proc);
  if (found.empty()) return 0;
  for (pid_t g : groups) {
    ::kill(-g, SIGTERM);
    ::kill(-g, SIGCONT);
  }
  for (pid_t p : singles) ::kill(p, SIGTERM);
  const auto until = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < until) {
    bool any = false;
    for (pid_t p : found) any = any || ProcessExists(p);
    if (!any) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (pid_t g : groups) ::kill(-g, SIGKILL);
  for (pid_t p : singles) ::kill(p, SIGKILL);
  return found.size();
}

Result<std::unique_ptr<Sandbox>> Sandbox::Create(const std::string& base, const std::string& prefix,
                                                 Clock& clock) {
  const bool root = ::geteuid() == 0;
  struct stat st;
  if (::stat(base.c_str(), &st) != 0) {
    LB_RETURN_IF_ERROR(CreateDirectories(base));
    ::chmod(base.c_str(), 0711);
  } else if (!S_ISDIR(st.st_mode)) {
    return Status::FailedPrecondition(base + " is not a directory: cannot make a sandbox in it");
  }
  const int64_t now = clock.WallNs();
  std::string pattern = base + "/" + prefix + "-" + CompactUtc(now) + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return PosixError("cannot make a sandbox directory in " + base);
  }
  const std::string path = pattern;
  if (root) ::chmod(path.c_str(), 0711);
  const std::string temp = path + "/" + kMarker + ".new";
  const std::string final_path = path + "/" + kMarker;
  int fd = ::open(temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  Status st_marker;
  if (fd < 0) {
    st_marker = PosixError("creating " + temp);
  } else if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    st_marker = PosixError("locking " + temp);
  } else {
    const std::string text = MarkerJson(prefix, now, false);
    st_marker = WriteMarker(fd, text, temp);
    if (st_marker.ok() && ::rename(temp.c_str(), final_path.c_str()) != 0) {
      st_marker = PosixError("renaming " + temp);
    }
    if (st_marker.ok()) return std::unique_ptr<Sandbox>(new Sandbox(path, fd, text));
  }
  if (fd >= 0) ::close(fd);
  RemoveTree(path).IgnoreError();
  return st_marker;
}

Sandbox::~Sandbox() {
  if (!kept_) Remove().IgnoreError();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Status Sandbox::Keep() {
  if (kept_) return Status::Ok();
  nlohmann::json j = nlohmann::json::parse(marker_, nullptr, false);
  if (j.is_object()) j["kept"] = true;
  marker_ = j.dump() + "\n";
  LB_RETURN_IF_ERROR(WriteMarker(lock_fd_, marker_, path_ + "/" + kMarker));
  kept_ = true;
  return Status::Ok();
}

Status Sandbox::Remove() {
  if (removed_) return Status::Ok();
  LB_RETURN_IF_ERROR(RemoveTree(path_));
  removed_ = true;
  return Status::Ok();
}

std::vector<StaleSandbox> CleanStaleSandboxes(const std::string& base) {
  std::vector<StaleSandbox> out;
  DIR* d = ::opendir(base.c_str());
  if (d == nullptr) return out;
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    for (const char* p : kPrefixes) {
      if (name.starts_with(p)) names.push_back(name);
    }
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string dir = base + "/" + name;
    struct stat st;
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    const std::string marker = dir + "/" + kMarker;
    int fd = ::open(marker.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    StaleSandbox s;
    s.path = dir;
    if (fd < 0) {
      if (errno != ENOENT) continue;
      if (static_cast<int64_t>(::time(nullptr)) - st.st_mtime < kMarkerlessGraceSeconds) continue;
    } else {
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {  // in use (or cannot tell): leave it
        ::close(fd);
        continue;
      }
      Result<Bytes> text = ReadWholeFile(marker);
      if (text.ok()) {
        nlohmann::json j =
            nlohmann::json::parse(std::string(text->begin(), text->end()), nullptr, false);
        if (j.is_object()) {
          if (j.value("kept", false)) {
            ::close(fd);
            continue;
          }
          s.owner_pid = j.value("pid", int64_t{0});
          s.owner_started = j.value("started", std::string());
        }
      }
    }
    s.processes_stopped = StopProcessesIn(dir, std::chrono::seconds(3));
    s.removed = RemoveTree(dir);
    if (fd >= 0) ::close(fd);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace lifeboat::recover
