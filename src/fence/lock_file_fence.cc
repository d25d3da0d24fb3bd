#include "fence/lock_file_fence.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <utility>

#include "fence/internal.h"
#include "util/file_io.h"

namespace lifeboat::fence {

namespace {

using json = nlohmann::json;

bool IsCount(const json& j, const char* key) {
  return j.contains(key) && j[key].is_number_unsigned();
}

// fence.json: {"version": 1, "token": N, "active": {SERVICE: {site, incident, token, revision,
// actor, moved_ns}}}. Absent: nothing moved yet.
Result<json> ReadState(const std::string& path) {
  Result<Bytes> data = ReadWholeFile(path);
  if (!data.ok()) {
    if (data.status().IsNotFound()) {
      return json{{"version", 1}, {"token", 0}, {"active", json::object()}};
    }
    return data.status().WithContext("reading the fence state " + path);
  }
  json j = json::parse(data->begin(), data->end(), nullptr, /*allow_exceptions=*/false);
  std::string problem;
  if (j.is_discarded()) {
    problem = "not valid JSON";
  } else if (!j.is_object() || j.value("version", 0) != 1 || !IsCount(j, "token") ||
             !j.contains("active") || !j["active"].is_object()) {
    problem = "not a version-1 fence state (version, token, active)";
  } else {
    for (const auto& [service, a] : j["active"].items()) {
      if (!a.is_object() || !a.contains("site") || !a["site"].is_string() || !IsCount(a, "token") ||
          !IsCount(a, "revision") || !a.contains("incident") || !a["incident"].is_string()) {
        problem =
            "the entry of service \"" + service + "\" lacks site, incident, token or revision";
        break;
      }
    }
  }
  if (!problem.empty()) {
    return Status::Corruption(
        "the fence state " + path + " is damaged (" + problem +
        "): restore it from a backup of the state directory, or write it again by hand (it lists "
        "where each service is active and the last fencing token, doc/daemon.md, \"Fencing\")");
  }
  return j;
}

ActiveSite ToActive(const std::string& service, const json& a) {
  ActiveSite s;
  s.service = service;
  s.site = a["site"].get<std::string>();
  s.incident = a["incident"].get<std::string>();
  s.token = a["token"].get<uint64_t>();
  s.revision = a["revision"].get<uint64_t>();
  s.stored = true;
  return s;
}

std::string ReadHolder(int fd) {
  char buf[512];
  const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return "";
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s;
}

class LockFileAction : public FenceAction {
 public:
  LockFileAction(const LockFileFence* fence, FileDescriptor fd, std::string actor, json state)
      : fence_(fence), fd_(std::move(fd)), actor_(std::move(actor)), state_(std::move(state)) {}

  ~LockFileAction() override {
    // Clears the holder's line; closing the descriptor releases the lock.
    if (::ftruncate(fd_.get(), 0) != 0) {
      // Only a message for waiters: a stale line is harmless once the lock is free.
    }
  }

  Result<ActiveSite> Active(const std::string& service) override {
    const json& active = state_["active"];
    if (!active.contains(service)) return ActiveSite{service, "", "", 0, 0, false};
    return ToActive(service, active[service]);
  }

  Result<std::vector<ActiveSite>> AllActive() override {
    std::vector<ActiveSite> out;
    for (const auto& [service, a] : state_["active"].items()) out.push_back(ToActive(service, a));
    return out;
  }

  Result<uint64_t> MoveActive(const std::string& service, const ActiveSite& expected,
                              const std::string& to_site, const std::string& incident) override {
    if (!fence_->Acting()) {
      return Status::FailedPrecondition("not acting (" + fence_->ActingNote() + "): service " +
                                        service + " was not moved");
    }
    LB_ASSIGN_OR_RETURN(ActiveSite now, Active(service));
    if (now.stored != expected.stored || now.revision != expected.revision) {
      return Status::Aborted("service " + service + " was moved meanwhile: it is active at site " +
                             now.site + " (incident " + now.incident + ", token " +
                             std::to_string(now.token) +
                             "), not as read: read its active site again");
    }
    json next = state_;
    const uint64_t token = state_["token"].get<uint64_t>() + 1;
    next["token"] = token;
    next["active"][service] = json{{"site", to_site}, {"incident", incident},
                                   {"token", token},  {"revision", now.revision + 1},
                                   {"actor", actor_}, {"moved_ns", SystemClock().WallNs()}};
    const std::string text = next.dump(2) + "\n";
    LB_RETURN_IF_ERROR(WriteFileDurably(fence_->state_path(), AsBytes(text), /*overwrite=*/true)
                           .WithContext("moving service " + service + " to site " + to_site));
    state_ = std::move(next);
    return token;
  }

 private:
  const LockFileFence* const fence_;
  FileDescriptor fd_;
  const std::string actor_;
  json state_;
};

}  // namespace

LockFileFence::LockFileFence(std::string state_dir, std::string actor, FenceOptions options)
    : state_dir_(std::move(state_dir)),
      lock_path_(state_dir_ + "/fence.lock"),
      state_path_(state_dir_ + "/fence.json"),
      actor_(std::move(actor)),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : SystemClock()) {}

Status LockFileFence::Join(const std::vector<std::string>& sites, const Context&) {
  MutexLock lock(&mu_);
  if (joined_) return Status::FailedPrecondition("the fence was joined already (Join is once)");
  joined_ = true;
  left_ = false;
  sites_ = sites;
  since_ns_ = clock_.WallNs();
  return Status::Ok();
}

bool LockFileFence::Acting() const {
  MutexLock lock(&mu_);
  return !left_;
}

std::string LockFileFence::ActingNote() const {
  MutexLock lock(&mu_);
  return left_ ? "this daemon left the fence (it is stopping)" : "";
}

Result<std::unique_ptr<FenceAction>> LockFileFence::BeginAction(const Context& ctx) {
  if (!Acting()) return Status::FailedPrecondition("not acting: " + ActingNote());
  LB_RETURN_IF_ERROR(CreateDirectories(state_dir_));
  FileDescriptor fd(::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return PosixError("opening the fence " + lock_path_);
  const Context bounded = ctx.WithTimeout(options_.lock_wait);
  for (;;) {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) break;
    if (errno != EWOULDBLOCK && errno != EINTR)
      return PosixError("locking the fence " + lock_path_);
    if (ctx.done()) return ctx.Check("waiting for the fence " + lock_path_);
    if (bounded.done()) {
      const std::string holder = ReadHolder(fd.get());
      return Status::Locked("the fence " + lock_path_ + " is held by " +
                            (holder.empty() ? "another actor (it did not say which)" : holder) +
                            ": another failover, failback, commit or rollback is under way on "
                            "this machine; wait for it to end and try again");
    }
    // SleepFor fails only when the caller's context is done: checked above on the next turn.
    bounded.SleepFor(std::chrono::milliseconds(50), "waiting for the fence").IgnoreError();
  }
  const std::string line = "actor " + actor_ + " (pid " + std::to_string(::getpid()) + ") since " +
                           internal::UtcTime(SystemClock().WallNs()) + "\n";
  // The holder's line is for messages only: failing to write it does not matter.
  if (::ftruncate(fd.get(), 0) == 0) {
    [[maybe_unused]] ssize_t n = ::pwrite(fd.get(), line.data(), line.size(), 0);
  }
  LB_ASSIGN_OR_RETURN(json state, ReadState(state_path_));
  return std::unique_ptr<FenceAction>(
      std::make_unique<LockFileAction>(this, std::move(fd), actor_, std::move(state)));
}

Result<std::vector<ActiveSite>> LockFileFence::ReadActiveSites(const Context& ctx) {
  LB_RETURN_IF_ERROR(ctx.Check("reading the active sites"));
  LB_ASSIGN_OR_RETURN(json state, ReadState(state_path_));
  std::vector<ActiveSite> out;
  for (const auto& [service, a] : state["active"].items()) out.push_back(ToActive(service, a));
  return out;
}

Result<std::vector<Member>> LockFileFence::Members(const Context&) {
  MutexLock lock(&mu_);
  std::vector<Member> out;
  if (!joined_) return out;
  for (const std::string& site : sites_) {
    out.push_back(Member{site, actor_, internal::HostName(), since_ns_, health_});
  }
  return out;
}

Status LockFileFence::ReportHealth(const nlohmann::json& health, const Context&) {
  MutexLock lock(&mu_);
  if (!joined_) return Status::FailedPrecondition("ReportHealth needs Join first");
  health_ = health;
  return Status::Ok();
}

Status LockFileFence::Leave(const Context&) {
  MutexLock lock(&mu_);
  if (joined_) left_ = true;
  joined_ = false;
  return Status::Ok();
}

}  // namespace lifeboat::fence
