// The lock-file fence (doc/daemon.md, "Fencing"): the actors of one machine (one daemon and the
// CLI sharing a state directory) take every action under an exclusive flock(2) of
// STATE_DIR/fence.lock, and keep the active sites and the fencing token counter in
// STATE_DIR/fence.json, replaced durably (temp file, fsync, rename) under that lock.
//
//   LockFileFence fence("/var/lib/lifeboat", ActorIdentity(), {});
//   LB_ASSIGN_OR_RETURN(std::unique_ptr<FenceAction> act, fence.BeginAction(ctx));  // locks
//   LB_ASSIGN_OR_RETURN(ActiveSite now, act->Active("shop"));
//   LB_ASSIGN_OR_RETURN(uint64_t token, act->MoveActive("shop", now, "dr", "inc-1"));
//
// Why two files: a file replaced by rename cannot carry the lock (a waiter would lock the old
// inode), and a state rewritten in place could be torn by a power cut. fence.lock holds, while
// locked, a line naming its holder (for the error of a waiter); it is never removed.
// The kernel drops the flock when the holder's descriptor closes, also when it is killed, so a
// crashed actor never blocks the next one (no staleness rule). flock belongs to the open file:
// two LockFileFence objects in one process exclude each other like two processes do.
//
// Tokens: fence.json's "token" is the last token handed out; each MoveActive stores and returns
// token + 1. A service's revision counts its moves (1 after the first).
//
// Thread safety: as Fence (fence.h); BeginAction blocks up to FenceOptions::lock_wait.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fence/fence.h"
#include "util/mutex.h"

namespace lifeboat::fence {

class LockFileFence : public Fence {
 public:
  LockFileFence(std::string state_dir, std::string actor, FenceOptions options);

  std::string_view Kind() const override { return "lock-file"; }
  // Records the sites (for Members); acting from then on. FailedPrecondition when joined.
  Status Join(const std::vector<std::string>& sites, const Context& ctx) override;
  // False only after Leave.
  bool Acting() const override;
  std::string ActingNote() const override;
  // Takes the lock (waits up to lock_wait and the context's deadline: Locked naming the holder,
  // or the context's Cancelled / DeadlineExceeded) and reads fence.json (Corruption when it is
  // damaged: the error says what to do).
  Result<std::unique_ptr<FenceAction>> BeginAction(const Context& ctx) override;
  // fence.json as last replaced (no lock taken); Corruption when it is damaged.
  Result<std::vector<ActiveSite>> ReadActiveSites(const Context& ctx) override;
  Result<std::vector<Member>> Members(const Context& ctx) override;
  Status ReportHealth(const nlohmann::json& health, const Context& ctx) override;
  Status Leave(const Context& ctx) override;

  const std::string& lock_path() const { return lock_path_; }
  const std::string& state_path() const { return state_path_; }

 private:
  const std::string state_dir_, lock_path_, state_path_, actor_;
  const FenceOptions options_;
  Clock& clock_;
  mutable Mutex mu_;
  bool joined_ GUARDED_BY(mu_) = false;
  bool left_ GUARDED_BY(mu_) = false;
  std::vector<std::string> sites_ GUARDED_BY(mu_);
  int64_t since_ns_ GUARDED_BY(mu_) = 0;
  nlohmann::json health_ GUARDED_BY(mu_);
};

}  // namespace lifeboat::fence
