// The world of split_brain_test.cc (its header says what is tested, and defines "acts",
// "acknowledged" and "done"): etcd and its two fault proxies, the plan and its backup, the two
// daemons each on its own thread (RunSlot), the links the rounds cut and heal, daemon b's
// failover callback (the rule's stand-in "gate", then dr::PerformFailover), the operator's
// rollback and the monitor thread that samples the invariants. Test-only.
//
//   class SplitBrainTest : public SplitBrainWorld { ... rounds ... };
//   for (Slot& s : slots_) Restart(s);  monitor_ = std::thread([this] { Monitor(); });
//   SetCut(slots_[0], true);  SetProduction(false);  Kill(slots_[1], true);  ...
//
// Threads: the test's main thread drives the rounds (links, kills, restarts, etcd; it must also
// be the thread that started etcd and the proxies: see split_brain_servers.h); each slot's
// thread runs its daemon; daemon b's worker runs Failover; the monitor thread runs Sample. mu_
// guards the figures, the trail and each slot's published daemon and link state; incident_mu_
// serialises failovers, rollbacks and round-end checks (taken before mu_, never after).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <deque>
#include <optional>

#include "daemon/daemon.h"
#include "daemon/split_brain_servers.h"
#include "daemon/test_listener.h"
#include "dr/failover.h"
#include "fence/etcd_fence.h"
#include "recover/recover_test_util.h"

namespace lifeboat::daemon::split_brain {

using namespace std::chrono_literals;
using recover::testing::ReadFile;
using recover::testing::WriteFile;
using testing::EtcdProcess;
using testing::FaultProxy;
namespace fs = std::filesystem;

constexpr std::chrono::seconds kTtl{3}, kRetry{1}, kLoopWait{1};
constexpr int64_t kTtlNs = 3'000'000'000;
constexpr char kService[] = "shop";
constexpr char kPrefix[] = "/split-brain";

inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v ? v : fallback;
}

// The daemon's fence as the test sees it: forwards everything to the EtcdFence and notes when
// the daemon's last successful read of the active sites (AllActive, what its view comes from)
// started.
class ObservedFence : public fence::Fence {
 public:
  explicit ObservedFence(fence::Fence* inner) : inner_(inner) {}
  std::string_view Kind() const override { return inner_->Kind(); }
  Status Join(const std::vector<std::string>& sites, const Context& ctx) override {
    return inner_->Join(sites, ctx);
  }
  bool Acting() const override { return inner_->Acting(); }
  std::string ActingNote() const override { return inner_->ActingNote(); }
  Result<std::unique_ptr<fence::FenceAction>> BeginAction(const Context& ctx) override {
    LB_ASSIGN_OR_RETURN(std::unique_ptr<fence::FenceAction> inner, inner_->BeginAction(ctx));
    return std::unique_ptr<fence::FenceAction>(new Action(std::move(inner), this));
  }
  Result<std::vector<fence::Member>> Members(const Context& ctx) override {
    return inner_->Members(ctx);
  }
  Status ReportHealth(const nlohmann::json& health, const Context& ctx) override {
    return inner_->ReportHealth(health, ctx);
  }
  Status Leave(const Context& ctx) override { return inner_->Leave(ctx); }

  // Monotonic ns (NowNs) at which the last successful AllActive started; 0: none yet.
  int64_t last_read_ns() const { return last_read_ns_; }
  // From now on MoveActive is MoveActiveGuarded with `guard` (the gate's reading of a's member
  // key: what the daemon's rule is to pass down to the failover); nullopt: plain again.
  void SetGuard(std::optional<fence::MemberGuard> guard) {
    MutexLock l(&mu_);
    guard_ = std::move(guard);
  }

 private:
  class Action : public fence::FenceAction {
   public:
    Action(std::unique_ptr<fence::FenceAction> inner, ObservedFence* f)
        : inner_(std::move(inner)), f_(f) {}
    Result<fence::ActiveSite> Active(const std::string& service) override {
      return inner_->Active(service);
    }
    Result<std::vector<fence::ActiveSite>> AllActive() override {
      const int64_t start = NowNs();
      Result<std::vector<fence::ActiveSite>> r = inner_->AllActive();
      if (r.ok()) f_->last_read_ns_ = start;
      return r;
    }
    Result<uint64_t> MoveActive(const std::string& service, const fence::ActiveSite& expected,
                                const std::string& to_site, const std::string& incident) override {
      std::optional<fence::MemberGuard> guard;
      {
        MutexLock l(&f_->mu_);
        guard = f_->guard_;
      }
      if (!guard) return inner_->MoveActive(service, expected, to_site, incident);
      return inner_->MoveActiveGuarded(service, expected, to_site, incident, *guard);
    }

   private:
    std::unique_ptr<fence::FenceAction> inner_;
    ObservedFence* f_;
  };

  fence::Fence* const inner_;
  std::atomic<int64_t> last_read_ns_{0};
  Mutex mu_;
  std::optional<fence::MemberGuard> guard_ GUARDED_BY(mu_);
};

// One daemon's place in the world: its site, state directory and proxy, and the daemon running
// there now (none while killed or joining).
struct Slot {
  std::string site;
  fs::path state_dir;
  FaultProxy proxy;
  std::thread thread;             // runs the daemon (RunSlot); joined by Restart and TearDown
  std::atomic<bool> quit{false};  // the thread's daemon is being killed: do not start another
  // Published by the thread while the daemon runs; read by the monitor. Under World::mu_.
  Daemon* daemon = nullptr;
  ObservedFence* fence = nullptr;
  bool cut = false;                // the test cut its link to etcd
  int64_t disconnected_since = 0;  // monotonic ns since it cannot reach etcd (0: it can)
  bool stop_measured = false;      // the time to stop acting after that was recorded
  uint64_t incarnation = 0, join_refusals = 0;
};

struct Figures {
  int rounds = 0;
  uint64_t samples = 0, samples_acting_a = 0, samples_acting_b = 0, cuts_measured = 0,
           samples_superseded = 0;
  int64_t max_stop_ns = 0, max_sample_gap_ns = 0;
  int declared = 0, gate_waits = 0, gate_refused = 0, acknowledged = 0, recovered = 0,
      interrupted = 0, fenced_out = 0, refused = 0, errors = 0, rollbacks = 0, moved_back = 0;
  int etcd_restarts = 0, kills = 0, restarts = 0, cuts = 0, partitions = 0, outages = 0;
};
class SplitBrainWorld : public recover::testing::RecoverFixture {
 protected:
  void SetUp() override;

  void TearDown() override;

  std::unique_ptr<fence::EtcdFence> MakeFence(const std::string& url, const std::string& actor);

  // --- the daemons --------------------------------------------------------------------------

  // The thread of a slot: creates its fence and daemon, retries Start (Join) until the old
  // member key is gone, publishes them and runs the daemon until it is killed.
  void RunSlot(Slot* slot);

  // The health probe of production at a, as seen from `site`: b sees it fail while the sites are
  // partitioned; the listener's port is the test's (production and b's standby share 127.0.0.1).
  Status Probe(const std::string& site, const plan::Plan& plan, const plan::Service& svc,
               const plan::VerifyCheck& check, const Context& ctx);

  // Kills the slot's daemon: its proxy goes down first (so that nothing it does on the way out,
  // like revoking its lease, reaches etcd), then it stops; its thread ends by itself.
  void Kill(Slot& s, bool cut_first);

  // Starts a new daemon in the slot once the old thread has ended (its lease left to expire).
  void Restart(Slot& s);

  bool Alive(Slot& s);

  // --- links ---------------------------------------------------------------------------------

  // A cut counts from when the proxy is down; a heal from just before it is up (so that (ii)
  // never looks at a daemon that may be renewing again).
  void SetCut(Slot& s, bool cut);

  void UpdateDisconnectedLocked(Slot& s) REQUIRES(mu_);

  void SetPartition(bool partitioned);

  void SetEtcdUp(bool up);

  void SetProduction(bool up);

  // --- failover (daemon b's callback) --------------------------------------------------------

  // The rule the daemon is to apply itself (see the header comment): a's member key is gone,
  // or a reports the service failed. Reads etcd directly. The guard the move then needs: a's
  // member key as read (revision 0: absent); nullopt: not allowed now.
  std::optional<fence::MemberGuard> RuleAllows();

  Status Failover(ObservedFence* fence, const FailoverRequest& req, const Context& ctx);

  // Invariant (iv), right after the failover returned (rollback cannot have moved its files).
  void CheckFailoverDone(const dr::FailoverOutcome& out) REQUIRES(incident_mu_);

  // An operator's rollback of b's open incident; with none but the service active at b (a
  // failover fenced out after its move), the active key moved back under the fence.
  void OperatorRollback();

  Result<fence::ActiveSite> ReadActive();

  // --- the monitor ---------------------------------------------------------------------------

  void Monitor();

  void Sample();

  void ViolationLocked(const std::string& what) REQUIRES(mu_);

  // One line of the trail (the last 60 events and daemon log lines), printed with the first
  // violation.
  void Trail(const std::string& line);
  void TrailLocked(const std::string& line) REQUIRES(mu_);

  int figures_rounds();

  void Count(int Figures::*field);

  void Fail(const std::string& what);

  std::unique_ptr<TestListener> production_;
  std::atomic<int> production_port_{0};
  int standby_port_ = 0;  // where b's recovered service listens (python3's http.server)
  std::atomic<bool> partitioned_{false};
  plan::Plan plan_;
  std::unique_ptr<EtcdProcess> etcd_;
  std::unique_ptr<fence::EtcdFence> operator_;  // a person's CLI: not joined, straight to etcd
  bool gate_ = true;
  bool guard_moves_ = true;  // the gate's reading is compared again by the move

  Mutex incident_mu_;  // one failover, rollback or round-end check at a time
  Mutex mu_;
  Slot slots_[2];  // their daemon, fence, cut, disconnected_since, ... under mu_
  bool etcd_up_ GUARDED_BY(mu_) = true;
  int64_t operator_moved_ns_ GUARDED_BY(mu_) = 0;  // when the operator's last move returned
  Figures figures_ GUARDED_BY(mu_);
  std::vector<std::string> violations_ GUARDED_BY(mu_);
  uint64_t violation_count_ GUARDED_BY(mu_) = 0;
  std::vector<std::string> refusals_ GUARDED_BY(mu_);  // the first few, printed
  std::deque<std::string> trail_ GUARDED_BY(mu_);
  const int64_t start_ns_ = NowNs();
  std::atomic<bool> stop_monitor_{false};
  std::thread monitor_;
};

}  // namespace lifeboat::daemon::split_brain
