// The etcd fence (doc/daemon.md, "Fencing"): daemons of several machines agree through etcd 3.4
// (its JSON gateway, EtcdClient) on where each service is active.
//
//   LB_ASSIGN_OR_RETURN(auto etcd, EtcdClient::Create({endpoints, retry_timeout, ca_file}));
//   EtcdFence fence(*plan.daemon.etcd, ActorIdentity(), std::move(etcd), {});
//   LB_RETURN_IF_ERROR(fence.Join({"dr-site"}, ctx));  // lease + PREFIX/members/dr-site
//
// Keys (PREFIX = daemon.fencing.etcd.prefix):
// - PREFIX/members/SITE: {"actor", "host", "since_ns", "health"}, attached to the daemon's lease
//   (TTL = ttl), created by a transaction comparing its create_revision with 0: one daemon per
//   site; the key vanishes when the lease is revoked (Leave) or expires.
// - PREFIX/active/SERVICE: {"site", "incident", "actor", "moved_ns"}, no lease. Changed only by
//   a transaction comparing its mod_revision with the one read (create_revision with 0 when it
//   was never stored) and, for a daemon, that each of its member keys is still attached to its
//   lease (compare LEASE), and, for MoveActiveGuarded, that the other site's member key is as
//   read (compare CREATE with 0 when it was absent, MOD with its mod_revision). The fencing token
//   is the transaction's revision, which is the key's mod_revision: ActiveSite::token ==
//   ActiveSite::revision, and tokens grow across all services and actors.
//
// Lease: granted by Join, renewed every ttl/3 by a keep-alive thread (a failed renewal is
// retried after a second). Acting() holds while the last successful renewal was *sent* less than
// ttl - retry_timeout ago: etcd counts the lease from when it received the renewal, so a daemon
// stops acting at least retry_timeout before its lease can expire. When a renewal finds the lease
// gone (TTL 0), the thread grants a new one and creates the member keys again where they are
// still free (ActingNote and the log say so); a site taken meanwhile by another daemon keeps
// this one from acting until that daemon's key is gone.
//
// Thread safety: as Fence (fence.h); a FenceAction must not outlive its fence.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fence/etcd_client.h"
#include "fence/fence.h"
#include "util/mutex.h"

namespace lifeboat::fence {

class EtcdFence : public Fence {
 public:
  EtcdFence(plan::EtcdFencing settings, std::string actor, std::unique_ptr<EtcdClient> client,
            FenceOptions options);
  // Leaves (ignoring errors): the lease is revoked, the thread stopped.
  ~EtcdFence() override;

  std::string_view Kind() const override { return "etcd"; }
  Status Join(const std::vector<std::string>& sites, const Context& ctx) override;
  bool Acting() const override;
  std::string ActingNote() const override;
  Result<std::unique_ptr<FenceAction>> BeginAction(const Context& ctx) override;
  Result<std::vector<Member>> Members(const Context& ctx) override;
  Status ReportHealth(const nlohmann::json& health, const Context& ctx) override;
  Status Leave(const Context& ctx) override;

  // For tests and the dashboard: the lease (0 when not joined) and the monotonic time (of the
  // fence's clock) the last successful renewal was sent.
  int64_t lease_id() const;
  int64_t last_renewal_ns() const;

 private:
  friend class EtcdFenceAction;

  std::string MemberKey(const std::string& site) const;
  std::string ActiveKey(const std::string& service) const;
  Result<int64_t> GrantLease(const Context& ctx);
  // Creates PREFIX/members/SITE attached to `lease` if it does not exist; AlreadyExists naming
  // its holder otherwise.
  Status CreateMember(const std::string& site, int64_t lease, int64_t since_ns,
                      const nlohmann::json& health, const Context& ctx);
  Status Revoke(int64_t lease, const Context& ctx);
  // Sent by MoveActive: the comparisons that this actor still holds its member keys (none when
  // not joined, the CLI). Fails when not acting.
  Result<nlohmann::json> LeaseCompares() const;
  // `guard`: also compares that site's member key (MoveActiveGuarded); null: MoveActive.
  Result<uint64_t> Move(const std::string& service, const ActiveSite& expected,
                        const std::string& to_site, const std::string& incident,
                        const MemberGuard* guard);
  Result<std::vector<ActiveSite>> ReadActive(const std::string& key, bool prefix);

  void KeepAliveLoop();
  // One turn of the thread: renews the lease, or grants a new one and re-creates the member keys
  // when it expired; creates the keys still missing. Without mu_.
  void KeepAliveOnce();
  void Log(const std::string& line) const;
  bool ActingLocked() const REQUIRES(mu_);
  std::string NoteLocked() const REQUIRES(mu_);

  const plan::EtcdFencing settings_;
  const std::string actor_;
  const std::string host_;
  std::unique_ptr<EtcdClient> client_;
  const FenceOptions options_;
  Clock& clock_;
  const int64_t acting_window_ns_;  // ttl - retry_timeout

  mutable Mutex mu_;
  CondVar wake_cv_;
  bool joined_ GUARDED_BY(mu_) = false;
  bool left_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  std::vector<std::string> sites_ GUARDED_BY(mu_);
  std::vector<std::string> missing_ GUARDED_BY(mu_);  // sites whose member key we do not hold
  std::string missing_note_ GUARDED_BY(mu_);          // who holds them
  int64_t lease_ GUARDED_BY(mu_) = 0;
  bool lease_expired_ GUARDED_BY(mu_) = false;  // a renewal found it gone: not granted again yet
  int64_t since_ns_ GUARDED_BY(mu_) = 0;
  int64_t last_renewal_ns_ GUARDED_BY(mu_) = 0;  // monotonic, when the renewal was sent
  int64_t last_attempt_ns_ GUARDED_BY(mu_) = 0;  // monotonic
  bool last_attempt_failed_ GUARDED_BY(mu_) = false;
  std::string failure_ GUARDED_BY(mu_);  // the last renewal's error
  nlohmann::json health_ GUARDED_BY(mu_);
  std::atomic<bool> cancel_{false};  // stops the keep-alive thread's request in flight
  std::thread keepalive_;            // touched only by Join and Leave (under join_mu_)
  Mutex join_mu_;                    // serialises Join and Leave
};

}  // namespace lifeboat::fence
