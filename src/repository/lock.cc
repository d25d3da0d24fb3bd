#include "repository/lock.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "repository/json_fields.h"
#include "util/json_bytes.h"
#include "util/status_detail.h"

namespace lifeboat {

namespace {
Mutex lock_override_mu;
std::optional<LockOptions> lock_override GUARDED_BY(lock_override_mu);
}  // namespace

LockOptions DefaultLockOptions() {
  MutexLock lock(&lock_override_mu);
  return lock_override.value_or(LockOptions{});
}

void SetLockOptionsOverrideForTesting(std::optional<LockOptions> options) {
  MutexLock lock(&lock_override_mu);
  lock_override = std::move(options);
}

using nlohmann::json;

static Bytes EncodeLock(LockKind kind, int64_t time_ns) {
  json j = {{"version", 1},
            {"time", FormatTime(time_ns)},
            {"exclusive", kind == LockKind::kExclusive},
            {"hostname", Hostname()},
            {"username", Username()},
            {"pid", static_cast<int64_t>(getpid())}};
  std::string s = DumpJson(j);  // a host or user name that is not UTF-8 becomes U+FFFD
  return Bytes(s.begin(), s.end());
}

static Result<LockInfo> DecodeLock(ByteView data) {
  json j = json::parse(data.begin(), data.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("lock is not JSON");
  LockInfo info;
  try {
    LB_ASSIGN_OR_RETURN(info.time_ns, ParseTime(j.at("time").get<std::string>()));
    info.exclusive = j.at("exclusive").get<bool>();
    info.hostname = j.value("hostname", "");
    info.username = j.value("username", "");
    info.pid = json_fields::IntegerOr<int64_t>(j, "pid", 0);
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("lock: ") + e.what());
  }
  return info;
}

static void MarkStale(LockInfo* info, const LockOptions& options) {
  // The time comes from another process or a damaged object and may be anywhere in the int64
  // range: saturate instead of overflowing.
  int64_t now = options.clock->WallNs();
  int64_t age;
  if (__builtin_sub_overflow(now, info->time_ns, &age))
    age = info->time_ns < now ? INT64_MAX : INT64_MIN;
  if (age > options.stale_after_ns) {
    info->stale = true;
    info->stale_reason = "not refreshed for " + std::to_string(age / 60000000000LL) + " minutes";
  } else if (info->hostname == ToValidUtf8(Hostname()) && info->pid > 0 &&
             ::kill(static_cast<pid_t>(info->pid), 0) != 0 && errno == ESRCH) {
    info->stale = true;
    info->stale_reason = "process " + std::to_string(info->pid) + " no longer runs on this host";
  }
}

Result<std::vector<LockInfo>> ListLocks(Repository& repo, const LockOptions& options) {
  std::vector<std::string> names;
  LB_RETURN_IF_ERROR(repo.backend().List(ObjectType::kLock, "", [&](const ObjectInfo& info) {
    names.push_back(info.name);
    return Status::Ok();
  }));
  std::vector<LockInfo> out;
  for (const auto& name : names) {
    auto plain = repo.LoadUnpacked(ObjectType::kLock, name);
    if (!plain.ok()) {
      if (plain.status().IsNotFound()) continue;  // removed meanwhile (refresh or release)
      // An unreadable lock blocks nobody forever: report it as stale so unlock can remove it.
      LockInfo info;
      info.name = name;
      info.stale = true;
      info.stale_reason = "unreadable: " + plain.status().message();
      out.push_back(info);
      continue;
    }
    auto info = DecodeLock(*plain);
    if (!info.ok()) {
      LockInfo bad;
      bad.name = name;
      bad.stale = true;
      bad.stale_reason = "unreadable: " + info.status().message();
      out.push_back(bad);
      continue;
    }
    info->name = name;
    MarkStale(&*info, options);
    out.push_back(std::move(*info));
  }
  return out;
}

Result<int> RemoveLocks(Repository& repo, bool all, const LockOptions& options,
                        UnlockReport* report) {
  LB_ASSIGN_OR_RETURN(auto locks, ListLocks(repo, options));
  int removed = 0;
  for (const auto& l : locks) {
    if (!all && !l.stale) {
      if (report) ++report->kept;
      continue;
    }
    Status st = repo.backend().Remove({ObjectType::kLock, l.name});
    if (st.IsNotFound()) continue;  // its owner released it meanwhile
    if (!st.ok()) return st.WithContext("removing lock " + l.name);
    ++removed;
    if (report) report->removed.emplace_back(l, l.stale ? l.stale_reason : "--remove-all");
  }
  return removed;
}

RepositoryLock::RepositoryLock(Repository& repo, LockKind kind, LockOptions options,
                               std::string name, int64_t time_ns)
    : repo_(repo), kind_(kind), options_(std::move(options)), name_(std::move(name)),
      last_ok_ns_(time_ns) {
  refresher_ = std::thread([this] { RefreshLoop(); });
}

Result<std::unique_ptr<RepositoryLock>> RepositoryLock::Acquire(Repository& repo, LockKind kind,
                                                                LockOptions options) {
  int64_t now = options.clock->WallNs();
  LB_ASSIGN_OR_RETURN(Id id, repo.SaveUnpacked(ObjectType::kLock, EncodeLock(kind, now)));
  auto locks = ListLocks(repo, options);
  if (!locks.ok()) {
    repo.backend().Remove({ObjectType::kLock, id.Hex()}).IgnoreError();
    return locks.status();
  }
  for (const auto& l : *locks) {
    if (l.name == id.Hex() || l.stale) continue;
    if (kind == LockKind::kExclusive || l.exclusive) {
      repo.backend().Remove({ObjectType::kLock, id.Hex()}).IgnoreError();
      LockConflict held;
      held.lock_id = l.name;
      held.hostname = l.hostname;
      held.username = l.username;
      held.pid = l.pid;
      held.exclusive = l.exclusive;
      held.time_ns = l.time_ns;
      const int64_t found_ns = options.clock->WallNs();
      if (__builtin_sub_overflow(found_ns, l.time_ns, &held.age_ns))  // the time may be anything
        held.age_ns = l.time_ns < found_ns ? INT64_MAX : INT64_MIN;
      return Status::Locked(
                 "repository is already locked " + std::string(l.exclusive ? "exclusively " : "") +
                 "by " + l.username + "@" + l.hostname + " (pid " + std::to_string(l.pid) +
                 ") since " + FormatTime(l.time_ns) +
                 "; wait for that command to finish, or if it is gone, run `lifeboat unlock`")
          .WithDetail(std::move(held));
    }
  }
  try {
    return std::unique_ptr<RepositoryLock>(
        new RepositoryLock(repo, kind, std::move(options), id.Hex(), now));
  } catch (const std::exception& e) {
    // No thread for the refresher (a process or memory limit) or no memory: leave no lock
    // behind that would block others until it goes stale.
    repo.backend().Remove({ObjectType::kLock, id.Hex()}).IgnoreError();
    return Status::Unavailable(std::string("cannot start the lock's refresh thread: ") +
                               e.what() + " (a process or memory limit is too low; raise it)");
  }
}

void RepositoryLock::RefreshLoop() {
  MutexLock lock(&mu_);
  Clock& clock = *options_.clock;
  int64_t wait_ns = options_.refresh_interval_ns;
  while (!stop_) {
    if (!clock.WaitUntil(&mu_, &cv_, clock.MonotonicNs() + wait_ns, &stop_)) return;
    std::string old = name_;
    int64_t now = clock.WallNs();
    // A lock that went too long without a refresh (the process was suspended, the clock jumped,
    // the backend was unreachable) may already look stale to others, and a prune may have
    // removed data this process still relies on. Lost is final: never revive it.
    if (now - last_ok_ns_ > options_.lost_after_ns) {
      lost_ = "the repository lock was not refreshed for " +
              std::to_string((now - last_ok_ns_) / 1000000000) + " s";
      return;
    }
    lock.Unlock();
    // If our lock object is gone, someone removed it (`unlock --remove-all`, or they judged it
    // stale): another command may already hold an exclusive lock.
    auto exists = repo_.backend().Stat({ObjectType::kLock, old});
    if (!exists.ok() && exists.status().IsNotFound()) {
      lock.Lock();
      lost_ = "the repository lock " + old + " was removed by another process";
      return;
    }
    auto id = repo_.SaveUnpacked(ObjectType::kLock, EncodeLock(kind_, now));
    lock.Lock();
    if (id.ok()) {
      name_ = id->Hex();
      last_ok_ns_ = now;
      wait_ns = options_.refresh_interval_ns;
      lock.Unlock();
      repo_.backend().Remove({ObjectType::kLock, old}).IgnoreError();
      lock.Lock();
    } else {
      wait_ns = options_.retry_interval_ns;
    }
  }
}

Status RepositoryLock::Check() const {
  MutexLock lock(&mu_);
  if (released_) return Status::Locked("lock was released");
  if (!lost_.empty()) return Status::Locked(lost_ + "; stopping before committing anything");
  int64_t age = options_.clock->WallNs() - last_ok_ns_;
  if (age > options_.lost_after_ns)
    return Status::Locked("the repository lock could not be refreshed for " +
                             std::to_string(age / 1000000000) +
                             " s; stopping before committing anything");
  return Status::Ok();
}

Status RepositoryLock::Release() {
  {
    MutexLock lock(&mu_);
    if (released_) return Status::Ok();
    stop_ = true;
    released_ = true;
  }
  cv_.NotifyAll();
  if (refresher_.joinable()) refresher_.join();
  // Read the name only now: a refresh that was in flight may have replaced the lock object.
  std::string name;
  {
    MutexLock lock(&mu_);
    name = name_;
  }
  Status st = repo_.backend().Remove({ObjectType::kLock, name});
  return st.IsNotFound() ? Status::Ok() : st;
}

RepositoryLock::~RepositoryLock() { Release().IgnoreError(); }

}  // namespace lifeboat
