// PROVISIONAL (branch h16-failover only; dropped at merge for the real lb_fence): a minimal
// lock-file fence (fence.h) so that `lifeboat failover` runs: STATE_DIR/fence.lock held with an
// exclusive flock for each action, STATE_DIR/fence.json holding the active sites and the token
// counter (written durably). No etcd; OpenFence fails when daemon.etcd is set.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <thread>

#include "crypto/random.h"
#include "fence/fence.h"
#include "util/bytes.h"
#include "util/file_io.h"

namespace lifeboat::fence {

namespace {

struct State {
  uint64_t token = 0, revision = 0;
  std::map<std::string, ActiveSite> active;
};

Result<State> Load(const std::string& path) {
  State s;
  Result<Bytes> data = ReadWholeFile(path);
  if (!data.ok()) {
    if (data.status().code() == StatusCode::kNotFound) return s;
    return data.status();
  }
  nlohmann::json j = nlohmann::json::parse(data->begin(), data->end(), nullptr, false);
  if (j.is_discarded()) return Status::Corruption(path + " is not JSON");
  s.token = j.value("token", uint64_t{0});
  s.revision = j.value("revision", uint64_t{0});
  const nlohmann::json active = j.contains("active") ? j["active"] : nlohmann::json::object();
  for (const auto& [name, a] : active.items()) {
    ActiveSite x;
    x.service = name;
    x.site = a.value("site", "");
    x.incident = a.value("incident", "");
    x.token = a.value("token", uint64_t{0});
    x.revision = a.value("revision", uint64_t{0});
    x.stored = true;
    s.active[name] = x;
  }
  return s;
}

Status Save(const std::string& path, const State& s) {
  nlohmann::json active = nlohmann::json::object();
  for (const auto& [name, a] : s.active) {
    active[name] = {{"site", a.site}, {"incident", a.incident}, {"token", a.token},
                    {"revision", a.revision}};
  }
  const std::string text =
      nlohmann::json{{"token", s.token}, {"revision", s.revision}, {"active", active}}.dump(2);
  return WriteFileDurably(path, ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
                          true);
}

class LockFileAction : public FenceAction {
 public:
  LockFileAction(int fd, std::string state) : fd_(fd), state_(std::move(state)) {}
  ~LockFileAction() override { ::close(fd_); }
  Result<ActiveSite> Active(const std::string& service) override {
    LB_ASSIGN_OR_RETURN(State s, Load(state_));
    auto it = s.active.find(service);
    if (it != s.active.end()) return it->second;
    ActiveSite a;
    a.service = service;
    return a;
  }
  Result<std::vector<ActiveSite>> AllActive() override {
    LB_ASSIGN_OR_RETURN(State s, Load(state_));
    std::vector<ActiveSite> out;
    for (const auto& [name, a] : s.active) out.push_back(a);
    return out;
  }
  Result<uint64_t> MoveActive(const std::string& service, const ActiveSite& expected,
                              const std::string& to_site, const std::string& incident) override {
    LB_ASSIGN_OR_RETURN(State s, Load(state_));
    ActiveSite& a = s.active[service];
    if (a.revision != expected.revision) {
      return Status::FailedPrecondition("service " + service + " was moved meanwhile by incident " +
                                        a.incident);
    }
    a.service = service;
    a.site = to_site;
    a.incident = incident;
    a.token = ++s.token;
    a.revision = ++s.revision;
    a.stored = true;
    LB_RETURN_IF_ERROR(Save(state_, s));
    return a.token;
  }

 private:
  int fd_;
  std::string state_;
};

class LockFileFence : public Fence {
 public:
  explicit LockFileFence(std::string dir) : dir_(std::move(dir)) {}
  std::string_view Kind() const override { return "lock-file"; }
  Status Join(const std::vector<std::string>&, const Context&) override { return Status::Ok(); }
  bool Acting() const override { return true; }
  std::string ActingNote() const override { return ""; }
  Result<std::unique_ptr<FenceAction>> BeginAction(const Context& ctx) override {
    LB_RETURN_IF_ERROR(CreateDirectories(dir_));
    const std::string path = dir_ + "/fence.lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return PosixError("opening " + path);
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      Status st = ctx.SleepFor(std::chrono::milliseconds(100), "waiting for the fence " + path);
      if (!st.ok()) {
        ::close(fd);
        return st;
      }
    }
    return std::unique_ptr<FenceAction>(new LockFileAction(fd, dir_ + "/fence.json"));
  }
  Result<std::vector<Member>> Members(const Context&) override { return std::vector<Member>(); }
  Status ReportHealth(const nlohmann::json&, const Context&) override { return Status::Ok(); }
  Status Leave(const Context&) override { return Status::Ok(); }

 private:
  std::string dir_;
};

}  // namespace

Result<std::unique_ptr<Fence>> OpenFence(const plan::DaemonSettings& daemon,
                                         const std::string& state_dir, const std::string& actor,
                                         const Context& ctx) {
  (void)actor;
  (void)ctx;
  if (daemon.etcd) {
    return Status::FailedPrecondition("etcd fencing is not built on this branch (provisional)");
  }
  return std::unique_ptr<Fence>(new LockFileFence(state_dir));
}

std::string ActorIdentity() {
  uint8_t b[4];
  crypto::RandomBytes(b).IgnoreError();
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(::getpid()) + ":" + HexEncode(ByteView(b, 4));
}

}  // namespace lifeboat::fence
