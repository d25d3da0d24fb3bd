// The etcd fence's lifecycle: Join (lease, member keys), the keep-alive thread, Acting, Leave.
// The actions (reads, compare-and-swap of active sites, members) are in etcd_fence_action.cc.
#include "fence/etcd_fence.h"

#include <algorithm>
#include <utility>

#include "fence/etcd_txn.h"
#include "fence/internal.h"

namespace lifeboat::fence {

using json = nlohmann::json;
using internal::Seconds;

namespace {

std::string JoinNames(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

EtcdFence::EtcdFence(plan::EtcdFencing settings, std::string actor,
                     std::unique_ptr<EtcdClient> client, FenceOptions options)
    : settings_(std::move(settings)),
      actor_(std::move(actor)),
      host_(internal::HostName()),
      client_(std::move(client)),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : SystemClock()),
      acting_window_ns_(std::chrono::nanoseconds(settings_.ttl - settings_.retry_timeout).count()) {
}

EtcdFence::~EtcdFence() { Leave(Context()).IgnoreError(); }

std::string EtcdFence::MemberKey(const std::string& site) const {
  return settings_.prefix + "/members/" + site;
}

std::string EtcdFence::ActiveKey(const std::string& service) const {
  return settings_.prefix + "/active/" + service;
}

void EtcdFence::Log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

Result<int64_t> EtcdFence::GrantLease(const Context& ctx) {
  LB_ASSIGN_OR_RETURN(
      json r,
      client_->Call("lease/grant", json{{"TTL", std::to_string(settings_.ttl.count())}}, ctx));
  const int64_t id = EtcdInt(r, "ID");
  if (id == 0)
    return Status::IOError("etcd at " + client_->endpoint() + " granted no lease: " + r.dump());
  return id;
}

Status EtcdFence::Revoke(int64_t lease, const Context& ctx) {
  return client_->Call("lease/revoke", json{{"ID", std::to_string(lease)}}, ctx).status();
}

Status EtcdFence::CreateMember(const std::string& site, int64_t lease, int64_t since_ns,
                               const json& health, const Context& ctx) {
  const std::string key = MemberKey(site);
  const Member me{site, actor_, host_, since_ns, health};
  const json txn{
      {"compare", json::array({internal::CompareEqual("CREATE", key, "create_revision", "0")})},
      {"success", json::array({internal::PutOp(key, internal::MemberToJson(me).dump(), lease)})},
      {"failure", json::array({internal::RangeOp(key)})}};
  LB_ASSIGN_OR_RETURN(json r, client_->Call("kv/txn", txn, ctx));
  if (r.value("succeeded", false)) return Status::Ok();
  LB_ASSIGN_OR_RETURN(std::vector<internal::KeyValue> kvs,
                      internal::ParseKvs(internal::TxnRange(r, 0)));
  if (kvs.empty()) {
    return Status::Unavailable("the member key " + key +
                               " changed while it was created: try again");
  }
  if (kvs[0].lease == lease) return Status::Ok();  // ours already
  json value = json::parse(kvs[0].value, nullptr, /*allow_exceptions=*/false);
  Result<Member> holder = internal::MemberFromJson(value, site, "the member key " + key);
  return Status::AlreadyExists(
      "site " + site + " already has a daemon: " +
      (holder.ok() ? internal::DescribeMember(*holder) : "an unknown actor") + " holds " + key +
      " in etcd: one daemon per site; stop that one first (if it is dead, the key vanishes "
      "within daemon.fencing.etcd.ttl (" +
      std::to_string(settings_.ttl.count()) + " s) of its last lease renewal)");
}

Status EtcdFence::Join(const std::vector<std::string>& sites, const Context& ctx) {
  MutexLock join(&join_mu_);
  {
    MutexLock lock(&mu_);
    if (joined_) return Status::FailedPrecondition("the fence was joined already (Join is once)");
  }
  if (sites.empty()) return Status::InvalidArgument("Join needs at least one site");
  const int64_t sent = clock_.MonotonicNs();
  const int64_t since = clock_.WallNs();
  LB_ASSIGN_OR_RETURN(int64_t lease, GrantLease(ctx));
  for (const std::string& site : sites) {
    Status st = CreateMember(site, lease, since, nullptr, ctx);
    if (!st.ok()) {
      // Frees the sites claimed so far at once.
      Revoke(lease, Context()).IgnoreError();
      return st;
    }
  }
  {
    MutexLock lock(&mu_);
    joined_ = true;
    left_ = false;
    stop_ = false;
    sites_ = sites;
    missing_.clear();
    missing_note_.clear();
    lease_ = lease;
    lease_expired_ = false;
    since_ns_ = since;
    last_renewal_ns_ = sent;
    last_attempt_ns_ = sent;
    last_attempt_failed_ = false;
    failure_.clear();
    health_ = nullptr;
  }
  cancel_ = false;
  keepalive_ = std::thread([this] { KeepAliveLoop(); });
  return Status::Ok();
}

void EtcdFence::KeepAliveLoop() {
  MutexLock lock(&mu_);
  while (!stop_) {
    const int64_t period = std::chrono::nanoseconds(settings_.ttl).count() / 3;
    const int64_t next = last_attempt_ns_ +
                         (last_attempt_failed_ ? std::min<int64_t>(period, 1'000'000'000) : period);
    if (!clock_.WaitUntil(&mu_, &wake_cv_, next, &stop_)) break;
    lock.Unlock();
    KeepAliveOnce();
    lock.Lock();
  }
}

void EtcdFence::KeepAliveOnce() {
  int64_t lease, since;
  bool expired;
  std::vector<std::string> missing;
  json health;
  {
    MutexLock lock(&mu_);
    lease = lease_;
    expired = lease_expired_;
    missing = missing_;
    since = since_ns_;
    health = health_;
  }
  const Context ctx = Context().WithCancel(&cancel_);
  const int64_t sent = clock_.MonotonicNs();
  auto failed = [&](const Status& st, const std::string& doing) {
    if (cancel_) return;  // leaving
    MutexLock lock(&mu_);
    last_attempt_ns_ = sent;
    const bool first = !last_attempt_failed_;
    last_attempt_failed_ = true;
    failure_ = st.message();
    if (first) Log(doing + " failed (retrying every second): " + st.message());
  };
  if (!expired) {
    Result<json> r = client_->Call("lease/keepalive", json{{"ID", std::to_string(lease)}}, ctx);
    if (!r.ok() && !r.status().IsNotFound()) return failed(r.status(), "renewing the lease");
    if (r.ok() && EtcdInt(*r, "TTL") > 0) {
      MutexLock lock(&mu_);
      if (last_attempt_failed_) Log("the lease " + std::to_string(lease) + " is renewed again");
      last_renewal_ns_ = sent;
      last_attempt_ns_ = sent;
      last_attempt_failed_ = false;
      failure_.clear();
    } else {
      MutexLock lock(&mu_);
      lease_expired_ = true;
      missing_ = sites_;
      missing = sites_;
      expired = true;
      Log("the lease " + std::to_string(lease) +
          " expired (etcd had not heard from this daemon "
          "for " +
          std::to_string(settings_.ttl.count()) +
          " s; its member keys are gone): "
          "stopped acting; granting a new lease");
    }
  }
  if (expired) {
    Result<int64_t> granted = GrantLease(ctx);
    if (!granted.ok()) return failed(granted.status(), "granting a new lease");
    MutexLock lock(&mu_);
    lease = lease_ = *granted;
    lease_expired_ = false;
    last_renewal_ns_ = sent;
    last_attempt_ns_ = sent;
    last_attempt_failed_ = false;
    failure_.clear();
  }
  if (missing.empty()) return;
  std::vector<std::string> still;
  std::string note;
  for (const std::string& site : missing) {
    Status st = CreateMember(site, lease, since, health, ctx);
    if (!st.ok()) {
      still.push_back(site);
      note = st.message();
    }
  }
  MutexLock lock(&mu_);
  if (lease != lease_) return;  // left or granted again meanwhile
  const bool changed = still != missing_ || note != missing_note_;
  missing_ = still;
  missing_note_ = note;
  if (still.empty()) {
    Log("lease " + std::to_string(lease) + ": the member keys of " + JoinNames(missing) +
        " are created again: acting again");
  } else if (changed) {
    Log("cannot create the member keys of " + JoinNames(still) + " again (not acting): " + note);
  }
}

bool EtcdFence::ActingLocked() const {
  if (!joined_) return !left_;
  if (lease_expired_ || !missing_.empty()) return false;
  return clock_.MonotonicNs() - last_renewal_ns_ < acting_window_ns_;
}

bool EtcdFence::Acting() const {
  MutexLock lock(&mu_);
  return ActingLocked();
}

std::string EtcdFence::NoteLocked() const {
  if (!joined_) return left_ ? "this daemon left the fence (it is stopping)" : "";
  const std::string failure = failure_.empty() ? "" : ": " + failure_;
  if (lease_expired_) {
    return "the lease of this daemon expired (etcd had not heard from it for " +
           std::to_string(settings_.ttl.count()) + " s); getting a new one" + failure;
  }
  if (!missing_.empty()) {
    return missing_note_.empty()
               ? "the member keys of " + JoinNames(missing_) + " are not held (being created)"
               : missing_note_;
  }
  const int64_t age = clock_.MonotonicNs() - last_renewal_ns_;
  if (age < acting_window_ns_) return "";
  return "lease not renewed for " + Seconds(age) +
         " (stops acting after ttl - retry_timeout = " + Seconds(acting_window_ns_) + ")" + failure;
}

std::string EtcdFence::ActingNote() const {
  MutexLock lock(&mu_);
  return NoteLocked();
}

int64_t EtcdFence::lease_id() const {
  MutexLock lock(&mu_);
  return lease_;
}

int64_t EtcdFence::last_renewal_ns() const {
  MutexLock lock(&mu_);
  return last_renewal_ns_;
}

Status EtcdFence::Leave(const Context& ctx) {
  MutexLock join(&join_mu_);
  {
    MutexLock lock(&mu_);
    if (!joined_) return Status::Ok();
    stop_ = true;
  }
  cancel_ = true;
  wake_cv_.NotifyAll();
  if (keepalive_.joinable()) keepalive_.join();
  int64_t lease;
  {
    MutexLock lock(&mu_);
    lease = lease_;  // the thread may have granted a new one
    joined_ = false;
    left_ = true;
    lease_ = 0;
    sites_.clear();
    missing_.clear();
  }
  Status st = Revoke(lease, ctx);
  if (st.ok() || st.IsNotFound()) return Status::Ok();  // NotFound: it had expired already
  return st.WithContext("leaving the fence: revoking lease " + std::to_string(lease) +
                        " (its member keys vanish within ttl anyway)");
}

}  // namespace lifeboat::fence
