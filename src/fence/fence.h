// Fencing (doc/daemon.md, "Fencing"): how the actors of one plan (daemons, one per site, and a
// person's `lifeboat failover`) agree on where each service is active, so that only one site
// ever takes a service over, and on the fencing token every action carries. Two
// implementations: a lock file (one machine; the default) and etcd 3.4 (a lease per daemon,
// compare-and-swap of each service's active site).
//
//   LB_ASSIGN_OR_RETURN(std::unique_ptr<Fence> fence, OpenFence(plan.daemon, state_dir, id));
//   LB_RETURN_IF_ERROR(fence->Join({"dr-site"}, ctx));          // a daemon; the CLI skips it
//   LB_ASSIGN_OR_RETURN(std::unique_ptr<FenceAction> act, fence->BeginAction(ctx));
//   LB_ASSIGN_OR_RETURN(ActiveSite now, act->Active("shop"));
//   LB_ASSIGN_OR_RETURN(uint64_t token, act->MoveActive("shop", now, "dr-site", incident));
//   ... recover, switch with `token` ...
//
// Rules every implementation keeps:
// - MoveActive succeeds only when the service's active site is still the one read (`expected`,
//   by its revision): two actors that read the same state cannot both move it.
// - Tokens grow: every successful MoveActive returns a token greater than every token returned
//   before for this plan (by any actor).
// - An actor that is not Acting() changes nothing (MoveActive fails with FailedPrecondition).
//   A daemon whose lease could not be renewed stops acting before the lease can expire.
//
// Thread safety: a Fence may be used from any thread; a FenceAction by one thread at a time.
// Every method that talks to etcd or takes a file lock blocks, bounded by the context.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plan/plan.h"
#include "util/clock.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat::fence {

// Where a service is active. A service never moved has no stored entry: `stored` is false and
// `site` is empty (the caller takes the service's first site).
struct ActiveSite {
  std::string service;
  std::string site;
  std::string incident;  // the incident that moved it there ("" when never moved)
  uint64_t token = 0;    // the fencing token of that move (0 when never moved)
  uint64_t revision = 0;  // the state's version as read (compare-and-swap); 0: never stored
  bool stored = false;
};

// A daemon that has joined (etcd: its member key exists, so its lease is alive).
struct Member {
  std::string site;
  std::string actor;  // the daemon's identity (host:pid:random)
  std::string host;
  int64_t since_ns = 0;        // wall time it joined
  nlohmann::json health;       // what it last reported (ReportHealth); null when nothing yet
  // The version of its member key as read (etcd: the key's mod_revision, which changes with
  // every health report and every new holder); 0 where the fence keeps none (the lock file).
  uint64_t revision = 0;
};

// What a daemon's failover away from site X rests on (doc/daemon.md, "Fencing": only when X's
// member key is gone, or X's daemon reports the service failed): X's member key as the daemon
// read it, compared again in the same transaction as the move. Checked apart from the move, the
// rule has a gap: X's daemon may join again, or report the service healthy again, between the
// check and the move, and then act on its (fresh) view while the move lands.
struct MemberGuard {
  std::string site;       // X
  uint64_t revision = 0;  // Member::revision as read; 0: X had no member key
};

// One action under the fence (a failover, a rollback, a commit, a failback). Lock file: holds
// the exclusive file lock until destroyed; etcd: checks Acting() at each call, and each call is
// one request bounded by retry_timeout. Must not outlive its Fence.
class FenceAction {
 public:
  virtual ~FenceAction() = default;
  // The service's active site now.
  virtual Result<ActiveSite> Active(const std::string& service) = 0;
  // Every stored active site (services never moved are absent).
  virtual Result<std::vector<ActiveSite>> AllActive() = 0;
  // Moves the service to `to_site` if its state is still `expected` (by revision); returns the
  // new fencing token. Aborted ("moved meanwhile: it is active at ...") when it changed;
  // FailedPrecondition when the actor is not acting (etcd: also when etcd finds that the
  // daemon's lease no longer holds its member keys, whatever Acting() said).
  virtual Result<uint64_t> MoveActive(const std::string& service, const ActiveSite& expected,
                                      const std::string& to_site, const std::string& incident) = 0;
  // MoveActive, and only if `guard.site`'s member key is still as read: absent when
  // guard.revision is 0, else unchanged (same mod_revision: the same daemon, the same health
  // report). Aborted ("the member key of site X changed meanwhile ...") when it changed. Fences
  // without other daemons' member keys (lock file, memory) ignore the guard.
  virtual Result<uint64_t> MoveActiveGuarded(const std::string& service, const ActiveSite& expected,
                                             const std::string& to_site,
                                             const std::string& incident,
                                             const MemberGuard& guard) {
    (void)guard;
    return MoveActive(service, expected, to_site, incident);
  }
};

class Fence {
 public:
  virtual ~Fence() = default;

  // "lock-file" or "etcd".
  virtual std::string_view Kind() const = 0;
  // A daemon joins for its sites: etcd grants its lease, starts the keep-alive thread (every
  // ttl/3) and creates a member key per site (AlreadyExists naming the other actor when a site
  // has one already; the sites claimed so far are released). Lock file: nothing to hold (the
  // state directory's daemon lock is the daemon's own). Once (FailedPrecondition when joined;
  // again after Leave); the CLI does not join.
  virtual Status Join(const std::vector<std::string>& sites, const Context& ctx) = 0;
  // True while this actor may act: not joined (the CLI), or joined and the lease renewed less
  // than ttl - retry_timeout ago (etcd: and every member key held). False after Leave. Cheap;
  // no I/O.
  virtual bool Acting() const = 0;
  // Why not acting ("lease not renewed for 21 s: etcd at http://127.0.0.1:2379: ..."), "" when
  // acting.
  virtual std::string ActingNote() const = 0;
  // Begins an action: lock file: waits (bounded by ctx) for the exclusive lock; etcd: checks
  // Acting(). FailedPrecondition when not acting.
  virtual Result<std::unique_ptr<FenceAction>> BeginAction(const Context& ctx) = 0;
  // Every stored active site, read only: no action begun, no lock left held, nothing written
  // (`lifeboat run` follows a failover with it: doc/run.md, "After a failover"). Lock file:
  // STATE_DIR/fence.json as last replaced, without waiting for the lock (the file is replaced by
  // rename, so a read never sees half a state). By default BeginAction + AllActive (etcd: one
  // range request, bounded by retry_timeout; the CLI is acting, so it only reads).
  virtual Result<std::vector<ActiveSite>> ReadActiveSites(const Context& ctx) {
    LB_ASSIGN_OR_RETURN(std::unique_ptr<FenceAction> action, BeginAction(ctx));
    return action->AllActive();
  }
  // The joined daemons (lock file: this one when joined) with the health they report.
  virtual Result<std::vector<Member>> Members(const Context& ctx) = 0;
  // Publishes this daemon's health view (shown by Members); needs Join.
  virtual Status ReportHealth(const nlohmann::json& health, const Context& ctx) = 0;
  // Leaves: stops the keep-alive thread (promptly: a renewal in flight is cancelled) and revokes
  // the lease (members disappear at once). Idempotent; nothing when never joined; the
  // destructor leaves too (ignoring errors).
  virtual Status Leave(const Context& ctx) = 0;
};

// What OpenFence takes beyond the plan; the defaults suit the daemon and the CLI.
struct FenceOptions {
  // The clock of the keep-alive thread's waits and of Acting()'s age of the last renewal (tests:
  // a ManualClock). Null: SystemClock(). Requests to etcd are bounded by their context's clock.
  Clock* clock = nullptr;
  // Told what the keep-alive thread sees (renewals failing, the lease expired and granted again,
  // a site's member key taken by another daemon), one line each, from that thread. May be empty.
  std::function<void(const std::string& line)> log;
  // Lock file: the longest BeginAction waits for another actor's action (also bounded by its
  // context); Locked naming the holder after that.
  std::chrono::milliseconds lock_wait{30'000};
};

// The plan's fence: etcd when daemon.etcd is set, else the lock file STATE_DIR/fence.lock
// (STATE_DIR is created when missing). `actor`: this actor's identity (ActorIdentity()). Etcd:
// nothing is sent until Join or BeginAction; InvalidArgument when daemon.etcd->ca_file cannot
// be read.
Result<std::unique_ptr<Fence>> OpenFence(const plan::DaemonSettings& daemon,
                                         const std::string& state_dir, const std::string& actor,
                                         const Context& ctx);
Result<std::unique_ptr<Fence>> OpenFence(const plan::DaemonSettings& daemon,
                                         const std::string& state_dir, const std::string& actor,
                                         const Context& ctx, const FenceOptions& options);

// "HOST:PID:8 hex" for this process.
std::string ActorIdentity();

}  // namespace lifeboat::fence
