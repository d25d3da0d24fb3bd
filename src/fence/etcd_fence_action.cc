// The etcd fence's actions: reading active sites, moving one by compare-and-swap, members and
// their health. The lifecycle (lease, keep-alive) is in etcd_fence.cc.
#include <algorithm>
#include <utility>

#include "fence/etcd_fence.h"
#include "fence/etcd_txn.h"
#include "fence/internal.h"

namespace lifeboat::fence {

using json = nlohmann::json;

class EtcdFenceAction : public FenceAction {
 public:
  explicit EtcdFenceAction(EtcdFence* fence) : fence_(fence) {}

  Result<ActiveSite> Active(const std::string& service) override {
    LB_RETURN_IF_ERROR(CheckActing("reading where service " + service + " is active"));
    LB_ASSIGN_OR_RETURN(std::vector<ActiveSite> found,
                        fence_->ReadActive(fence_->ActiveKey(service), /*prefix=*/false));
    if (found.empty()) return ActiveSite{service, "", "", 0, 0, false};
    return found.front();
  }

  Result<std::vector<ActiveSite>> AllActive() override {
    LB_RETURN_IF_ERROR(CheckActing("reading the active sites"));
    return fence_->ReadActive(fence_->settings_.prefix + "/active/", /*prefix=*/true);
  }

  Result<uint64_t> MoveActive(const std::string& service, const ActiveSite& expected,
                              const std::string& to_site, const std::string& incident) override {
    return fence_->Move(service, expected, to_site, incident, nullptr);
  }

  Result<uint64_t> MoveActiveGuarded(const std::string& service, const ActiveSite& expected,
                                     const std::string& to_site, const std::string& incident,
                                     const MemberGuard& guard) override {
    return fence_->Move(service, expected, to_site, incident, &guard);
  }

 private:
  Status CheckActing(const std::string& what) const {
    if (fence_->Acting()) return Status::Ok();
    return Status::FailedPrecondition("not acting (" + fence_->ActingNote() + "): not " + what);
  }

  EtcdFence* const fence_;
};

Result<std::unique_ptr<FenceAction>> EtcdFence::BeginAction(const Context& ctx) {
  LB_RETURN_IF_ERROR(ctx.Check("beginning a fenced action"));
  if (!Acting()) return Status::FailedPrecondition("not acting: " + ActingNote());
  return std::unique_ptr<FenceAction>(std::make_unique<EtcdFenceAction>(this));
}

Result<std::vector<ActiveSite>> EtcdFence::ReadActive(const std::string& key, bool prefix) {
  json body = internal::RangeOp(key, prefix)["request_range"];
  LB_ASSIGN_OR_RETURN(json r, client_->Call("kv/range", body, Context()));
  LB_ASSIGN_OR_RETURN(std::vector<internal::KeyValue> kvs, internal::ParseKvs(r));
  const std::string below = settings_.prefix + "/active/";
  std::vector<ActiveSite> out;
  for (const internal::KeyValue& kv : kvs) {
    json v = json::parse(kv.value, nullptr, /*allow_exceptions=*/false);
    if (v.is_discarded() || !v.is_object() || !v.contains("site") || !v["site"].is_string()) {
      return Status::Corruption("the active site " + kv.key +
                                " in etcd is not a Lifeboat "
                                "record ({site, incident, ...}): remove it with etcdctl, or "
                                "choose another daemon.fencing.etcd.prefix");
    }
    ActiveSite a;
    a.service = kv.key.substr(std::min(kv.key.size(), below.size()));
    a.site = v["site"].get<std::string>();
    a.incident = v.value("incident", "");
    a.token = static_cast<uint64_t>(kv.mod_revision);
    a.revision = static_cast<uint64_t>(kv.mod_revision);
    a.stored = true;
    out.push_back(std::move(a));
  }
  return out;
}

Result<json> EtcdFence::LeaseCompares() const {
  MutexLock lock(&mu_);
  if (!ActingLocked()) return Status::FailedPrecondition("not acting: " + NoteLocked());
  json compares = json::array();
  if (!joined_) return compares;  // the CLI: a person's failover needs no lease
  for (const std::string& site : sites_) {
    compares.push_back(
        internal::CompareEqual("LEASE", MemberKey(site), "lease", std::to_string(lease_)));
  }
  return compares;
}

Result<uint64_t> EtcdFence::Move(const std::string& service, const ActiveSite& expected,
                                 const std::string& to_site, const std::string& incident,
                                 const MemberGuard* guard) {
  Result<json> lease_compares = LeaseCompares();
  if (!lease_compares.ok()) {
    return lease_compares.status().WithContext("service " + service + " was not moved");
  }
  const std::string key = ActiveKey(service);
  json compares = json::array();
  compares.push_back(
      expected.stored
          ? internal::CompareEqual("MOD", key, "mod_revision", std::to_string(expected.revision))
          : internal::CompareEqual("CREATE", key, "create_revision", "0"));
  json failure = json::array({internal::RangeOp(key)});
  for (const json& c : *lease_compares) {
    compares.push_back(c);
    failure.push_back(json{{"request_range", json{{"key", c["key"]}}}});
  }
  const std::string guard_key = guard != nullptr ? MemberKey(guard->site) : "";
  if (guard != nullptr) {
    compares.push_back(guard->revision == 0
                           ? internal::CompareEqual("CREATE", guard_key, "create_revision", "0")
                           : internal::CompareEqual("MOD", guard_key, "mod_revision",
                                                    std::to_string(guard->revision)));
    failure.push_back(internal::RangeOp(guard_key));
  }
  const json value{
      {"site", to_site}, {"incident", incident}, {"actor", actor_}, {"moved_ns", clock_.WallNs()}};
  const json txn{{"compare", compares},
                 {"success", json::array({internal::PutOp(key, value.dump(), 0)})},
                 {"failure", failure}};
  LB_ASSIGN_OR_RETURN(json r, client_->Call("kv/txn", txn, Context()));
  if (r.value("succeeded", false)) {
    const int64_t token = EtcdInt(r.value("header", json::object()), "revision");
    if (token <= 0)
      return Status::IOError("etcd answered a transaction without a revision: " + r.dump());
    return static_cast<uint64_t>(token);
  }
  // Which comparison failed: the active site, or our hold on the member keys.
  LB_ASSIGN_OR_RETURN(std::vector<internal::KeyValue> now,
                      internal::ParseKvs(internal::TxnRange(r, 0)));
  const bool stored = !now.empty();
  const uint64_t revision = stored ? static_cast<uint64_t>(now[0].mod_revision) : 0;
  if (stored != expected.stored || revision != expected.revision) {
    std::string where = "it is no longer stored";
    if (stored) {
      json v = json::parse(now[0].value, nullptr, /*allow_exceptions=*/false);
      const bool ok = v.is_object();
      where = "it is active at site " + (ok ? v.value("site", "?") : "?") + " (incident " +
              (ok ? v.value("incident", "?") : "?") + ", token " + std::to_string(revision) +
              ", moved by actor " + (ok ? v.value("actor", "?") : "?") + ")";
    }
    return Status::Aborted("service " + service + " was moved meanwhile: " + where +
                           ", not as read: read its active site again");
  }
  if (guard != nullptr) {
    LB_ASSIGN_OR_RETURN(std::vector<internal::KeyValue> member,
                        internal::ParseKvs(internal::TxnRange(r, 1 + lease_compares->size())));
    const uint64_t now_revision =
        member.empty() ? 0 : static_cast<uint64_t>(member[0].mod_revision);
    if (now_revision != guard->revision) {
      return Status::Aborted("service " + service + " was not moved: the member key of site " +
                             guard->site + " changed meanwhile (" +
                             (guard->revision == 0
                                  ? std::string("it was absent; a daemon holds it now")
                              : member.empty() ? std::string("its daemon left or expired")
                                               : std::string("its daemon reported again")) +
                             "): read its members again");
    }
  }
  std::string lost;
  {
    MutexLock lock(&mu_);
    for (size_t i = 0; i < sites_.size(); ++i) {
      Result<std::vector<internal::KeyValue>> kv = internal::ParseKvs(internal::TxnRange(r, i + 1));
      if (kv.ok() && (kv->empty() || (*kv)[0].lease != lease_)) {
        if (std::find(missing_.begin(), missing_.end(), sites_[i]) == missing_.end())
          missing_.push_back(sites_[i]);
        lost += (lost.empty() ? "" : ", ") + MemberKey(sites_[i]);
      }
    }
    if (!lost.empty()) {
      missing_note_ = "the member key " + lost +
                      " no longer carries this daemon's lease (it "
                      "expired, or another daemon holds it)";
    }
  }
  return Status::FailedPrecondition("not acting: " +
                                    (lost.empty()
                                         ? std::string("this daemon's member keys changed")
                                         : lost + " no longer carries this daemon's lease") +
                                    ": service " + service + " was not moved");
}

Result<std::vector<Member>> EtcdFence::Members(const Context& ctx) {
  json body = internal::RangeOp(settings_.prefix + "/members/", true)["request_range"];
  LB_ASSIGN_OR_RETURN(json r, client_->Call("kv/range", body, ctx));
  LB_ASSIGN_OR_RETURN(std::vector<internal::KeyValue> kvs, internal::ParseKvs(r));
  const std::string below = settings_.prefix + "/members/";
  std::vector<Member> out;
  for (const internal::KeyValue& kv : kvs) {
    json v = json::parse(kv.value, nullptr, /*allow_exceptions=*/false);
    LB_ASSIGN_OR_RETURN(Member m, internal::MemberFromJson(v, kv.key.substr(below.size()),
                                                           "the member key " + kv.key));
    m.revision = static_cast<uint64_t>(kv.mod_revision);
    out.push_back(std::move(m));
  }
  return out;
}

Status EtcdFence::ReportHealth(const json& health, const Context& ctx) {
  std::vector<std::string> sites;
  int64_t lease, since;
  {
    MutexLock lock(&mu_);
    if (!joined_) return Status::FailedPrecondition("ReportHealth needs Join first");
    health_ = health;
    sites = sites_;
    lease = lease_;
    since = since_ns_;
  }
  for (const std::string& site : sites) {
    const std::string key = MemberKey(site);
    const Member me{site, actor_, host_, since, health};
    const json txn{
        {"compare",
         json::array({internal::CompareEqual("LEASE", key, "lease", std::to_string(lease))})},
        {"success", json::array({internal::PutOp(key, internal::MemberToJson(me).dump(), lease)})},
        {"failure", json::array()}};
    LB_ASSIGN_OR_RETURN(json r, client_->Call("kv/txn", txn, ctx));
    if (!r.value("succeeded", false)) {
      return Status::FailedPrecondition("the member key " + key +
                                        " no longer carries this "
                                        "daemon's lease: its health was not published");
    }
  }
  return Status::Ok();
}

}  // namespace lifeboat::fence
