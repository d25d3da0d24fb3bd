// The world of split_brain_test.cc: see split_brain_world.h.
#include "daemon/split_brain_world.h"

#include <algorithm>
#include <cstdio>
#include <memory>

namespace lifeboat::daemon::split_brain {

void SplitBrainWorld::SetUp() {
  RecoverFixture::SetUp();
  WriteFile(dir_ / "data" / "shop" / "index.html", "hello from the shop\n");
  WriteFile(dir_ / "data" / "shop" / "deep" / "order.txt", "order 1\n");
  production_ = std::make_unique<TestListener>();
  production_port_ = production_->port();
  standby_port_ = testing::FreeLoopbackPort();
  plan_ = Load("version: 1\nsites:\n" + Site("a") + Site("b") +
               "    recovery_root: " + (dir_ / "root-b").string() +
               "\nservices:\n  shop:\n    tier: 2\n    rpo: 1h\n"
               "    schedule: '0 0 1 1 *'\n    sources:\n      - paths: [" +
               (dir_ / "data" / "shop").string() +
               "]\n    sites: [a, b]\n    recover:\n"
               "      - command: 'exec /usr/bin/python3 -m http.server --bind 127.0.0.1 "
               "$LIFEBOAT_PORT_HTTP --directory $LIFEBOAT_RESTORE_DIR'\n"
               "        background: true\n        timeout: 30s\n        ports: {http: " +
               std::to_string(standby_port_) +
               "}\n    verify:\n      - tcp: {port: http}\n      - files: {}\n");
  plan::FailoverPolicy policy;  // as the plan's `failover` key says
  policy.to = "b";
  policy.automatic = true;
  policy.interval = 1s;
  policy.timeout = 1s;
  policy.failures_before_failover = 1;
  plan_.services[0].failover = policy;
  plan_.daemon.loop_wait = kLoopWait;
  Backup(plan_);
  if (HasFatalFailure()) return;

  etcd_ = std::make_unique<EtcdProcess>(dir_ / "etcd");
  ASSERT_TRUE(etcd_->Start().ok());
  const std::string script = std::string(LIFEBOAT_SOURCE_DIR) + "/tests/servers/fault_proxy.py";
  for (int i = 0; i < 2; ++i) {
    slots_[i].site = i == 0 ? "a" : "b";
    slots_[i].state_dir = dir_ / ("state-" + slots_[i].site);
    Status st =
        slots_[i].proxy.Start(script, etcd_->client_port(), dir_ / ("proxy-" + slots_[i].site));
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  operator_ = MakeFence(etcd_->url(), "operator");
}

void SplitBrainWorld::TearDown() {
  stop_monitor_ = true;
  if (monitor_.joinable()) monitor_.join();
  for (Slot& s : slots_) Kill(s, /*cut_first=*/false);
  for (Slot& s : slots_) {
    if (s.thread.joinable()) s.thread.join();
  }
  if (operator_ != nullptr) OperatorRollback();  // stops the recovered service left running
  // Whatever happened (etcd down, a failed rollback): nothing the failovers started outlives us.
  Result<std::optional<dr::IncidentState>> open =
      dr::LoadIncidentState(slots_[1].state_dir.string());
  if (open.ok() && open->has_value()) {
    recover::StopLeftRunning((*open)->left_running, std::chrono::milliseconds(2000));
  }
  operator_.reset();
  etcd_.reset();  // stops etcd; the proxies stop with the slots
  RecoverFixture::TearDown();
}

std::unique_ptr<fence::EtcdFence> SplitBrainWorld::MakeFence(const std::string& url,
                                                             const std::string& actor) {
  plan::EtcdFencing s;
  s.endpoints = {url};
  s.prefix = kPrefix;
  s.ttl = kTtl;
  s.retry_timeout = kRetry;
  fence::EtcdClientOptions o;
  o.endpoints = s.endpoints;
  o.request_timeout = s.retry_timeout;
  std::unique_ptr<fence::EtcdClient> client = fence::EtcdClient::Create(o).value();
  return std::make_unique<fence::EtcdFence>(s, actor, std::move(client), fence::FenceOptions{});
}

void SplitBrainWorld::RunSlot(Slot* slot) {
  while (!slot->quit) {
    std::unique_ptr<fence::EtcdFence> etcd_fence =
        MakeFence(slot->proxy.url(), "daemon-" + slot->site);
    auto fence = std::make_unique<ObservedFence>(etcd_fence.get());
    DaemonOptions o;
    o.plan_path = (dir_ / "lifeboat.yaml").string();
    o.sites = {slot->site};
    o.state_dir = slot->state_dir.string();
    o.fence = fence.get();
    o.host = "splitbrain-" + slot->site;
    o.on_line = [this, site = slot->site](const std::string& line) {
      Trail("daemon " + site + ": " + line);
    };
    o.load_plan = [this](const std::string&) -> Result<plan::LoadedPlan> {
      plan::LoadedPlan p;
      p.plan = plan_;
      return p;
    };
    o.probe = [this, site = slot->site](const plan::Plan& plan, const plan::Service& svc,
                                        const plan::VerifyCheck& check, const Context& ctx) {
      return Probe(site, plan, svc, check, ctx);
    };
    ObservedFence* f = fence.get();
    o.failover = [this, f](const FailoverRequest& r, const Context& ctx) {
      return Failover(f, r, ctx);
    };
    Result<std::unique_ptr<Daemon>> d = Daemon::Create(std::move(o));
    if (!d.ok()) {
      Fail("daemon " + slot->site + " cannot be created: " + d.status().ToString());
      return;
    }
    if (!(*d)->Start().ok()) {  // its old member key lives on until its lease expires
      d->reset();
      MutexLock l(&mu_);
      ++slot->join_refusals;
      l.Unlock();
      std::this_thread::sleep_for(200ms);
      continue;
    }
    {
      MutexLock l(&mu_);
      slot->daemon = d->get();
      slot->fence = f;
      ++slot->incarnation;
      if (slot->quit) (*d)->Stop();
    }
    (*d)->Run().IgnoreError();  // started already: returns after Stop()
    {
      MutexLock l(&mu_);
      slot->daemon = nullptr;
      slot->fence = nullptr;
    }
    return;  // destroys the daemon, then its fences (left already, or cut off)
  }
}

Status SplitBrainWorld::Probe(const std::string& site, const plan::Plan& plan,
                              const plan::Service& svc, const plan::VerifyCheck& check,
                              const Context& ctx) {
  if (site == "b" && partitioned_) {
    return Status::Unavailable("tcp 127.0.0.1: site a unreachable from b (partition)");
  }
  plan::VerifyCheck c = check;
  c.port = plan::PortRef{production_port_.load(), ""};
  return ProbeProductionCheck(plan, svc, c, ctx);
}

void SplitBrainWorld::Kill(Slot& s, bool cut_first) {
  Trail("kill daemon " + s.site);
  if (cut_first) s.proxy.Command("down").IgnoreError();
  s.quit = true;
  MutexLock l(&mu_);
  if (s.daemon != nullptr) s.daemon->Stop();
}

void SplitBrainWorld::Restart(Slot& s) {
  if (s.thread.joinable()) s.thread.join();
  SetCut(s, s.cut);  // back to what the test's link state says
  s.quit = false;
  Trail("restart daemon " + s.site);
  Count(&Figures::restarts);
  s.thread = std::thread([this, p = &s] { RunSlot(p); });
}

bool SplitBrainWorld::Alive(Slot& s) {
  MutexLock l(&mu_);
  return s.thread.joinable() && !s.quit;
}

void SplitBrainWorld::SetCut(Slot& s, bool cut) {
  if (s.cut != cut) Trail((cut ? "cut " : "heal ") + s.site + " from etcd");
  if (!cut) {
    MutexLock l(&mu_);
    s.cut = false;
    UpdateDisconnectedLocked(s);
  }
  Status st = s.proxy.Command(cut ? "down" : "up");
  EXPECT_TRUE(st.ok()) << st.ToString();
  if (cut) {
    MutexLock l(&mu_);
    s.cut = true;
    UpdateDisconnectedLocked(s);
  }
}

void SplitBrainWorld::UpdateDisconnectedLocked(Slot& s) {
  const bool disconnected = s.cut || !etcd_up_;
  if (disconnected && s.disconnected_since == 0) {
    s.disconnected_since = NowNs();
    s.stop_measured = false;
  } else if (!disconnected) {
    s.disconnected_since = 0;
  }
}

void SplitBrainWorld::SetPartition(bool partitioned) {
  if (partitioned_ != partitioned) Trail(partitioned ? "partition a | b" : "partition healed");
  partitioned_ = partitioned;
}

void SplitBrainWorld::SetEtcdUp(bool up) {
  Trail(up ? "etcd up again" : "etcd killed");
  MutexLock l(&mu_);
  etcd_up_ = up;
  for (Slot& s : slots_) UpdateDisconnectedLocked(s);
}

void SplitBrainWorld::SetProduction(bool up) {
  if (up != (production_ != nullptr)) Trail(up ? "production up" : "production down");
  if (up && production_ == nullptr) {
    production_ = std::make_unique<TestListener>();
    production_port_ = production_->port();
  } else if (!up && production_ != nullptr) {
    production_->Close();
    production_.reset();
  }
}

std::optional<fence::MemberGuard> SplitBrainWorld::RuleAllows() {
  Result<std::vector<fence::Member>> members = operator_->Members(Context());
  if (!members.ok()) return std::nullopt;
  for (const fence::Member& m : *members) {
    if (m.site != "a") continue;
    if (!m.health.is_object() || !m.health.contains("services")) return std::nullopt;
    for (const auto& s : m.health["services"]) {
      if (s.value("service", "") == kService && s.value("state", "") == "failed") {
        return fence::MemberGuard{"a", m.revision};
      }
    }
    return std::nullopt;
  }
  return fence::MemberGuard{"a", 0};
}

Status SplitBrainWorld::Failover(ObservedFence* fence, const FailoverRequest& req,
                                 const Context& ctx) {
  {
    MutexLock l(&mu_);
    ++figures_.declared;
  }
  std::optional<fence::MemberGuard> guard = req.guard;  // the daemon's rule, as it read a's key
  if (gate_ && !guard && !(guard = RuleAllows())) {
    {
      MutexLock l(&mu_);
      ++figures_.gate_waits;
    }
    const int64_t until = NowNs() + 4 * kTtlNs;
    while (!ctx.cancelled() && NowNs() < until && !(guard = RuleAllows())) {
      std::this_thread::sleep_for(50ms);
    }
    if (!guard) {
      MutexLock l(&mu_);
      ++figures_.gate_refused;
      return Status::FailedPrecondition("site a still holds the service (the rule)");
    }
  }
  fence->SetGuard(guard_moves_ ? guard : std::nullopt);
  Trail("callback: PerformFailover");
  MutexLock incident(&incident_mu_);
  dr::FailoverOptions o;
  o.recover.site = "b";
  o.recover.services = {kService};
  o.recover.context = ctx;
  o.recover.sandbox_base = (dir_ / "sandbox").string();
  o.fence = fence;
  o.state_dir = slots_[1].state_dir.string();
  o.confirm = [](const recover::PreconditionReport&) { return true; };
  o.declared_by = "daemon b";
  o.reason = req.reason;
  o.failure_ns = req.failure_ns;
  o.host = "splitbrain-b";
  Result<dr::FailoverOutcome> out = dr::PerformFailover(plan_, o);
  fence->SetGuard(std::nullopt);
  if (!out.ok()) {  // could not start (etcd unreachable): nothing acknowledged; (iii) checks
    MutexLock l(&mu_);
    ++figures_.errors;
    return out.status();
  }
  CheckFailoverDone(*out);
  return out->result == dr::FailoverOutcome::Result::kDone ? Status::Ok()
                                                           : Status::Aborted(out->refusal);
}

void SplitBrainWorld::CheckFailoverDone(const dr::FailoverOutcome& out) {
  MutexLock l(&mu_);
  using R = dr::FailoverOutcome::Result;
  if (out.result == R::kRefused) {
    ++figures_.refused;
    if (refusals_.size() < 5) refusals_.push_back(out.refusal);
  }
  const dr::IncidentService* s =
      out.incident.services.empty() ? nullptr : &out.incident.services.front();
  if (s == nullptr || s->token == 0) {  // not acknowledged
    if (out.result == R::kFencedOut) ++figures_.fenced_out;
    return;
  }
  ++figures_.acknowledged;
  Result<std::optional<dr::IncidentState>> disk =
      dr::LoadIncidentState(slots_[1].state_dir.string());
  std::string wrong;
  if (!disk.ok() || !disk->has_value()) {
    wrong = "no incident.json at b";
  } else if ((*disk)->services.empty() || (*disk)->services[0].token != s->token) {
    wrong = "b's incident.json does not name token " + std::to_string(s->token);
  } else if ((*disk)->services[0].result == "recovered") {
    const fs::path restored = dir_ / "root-b" / fs::path(dir_ / "data" / "shop").relative_path();
    if (ReadFile(restored / "index.html") != "hello from the shop\n" ||
        ReadFile(restored / "deep" / "order.txt") != "order 1\n") {
      wrong = "recorded recovered but the files are not restored below " + restored.string();
    } else {
      ++figures_.recovered;
    }
  } else if ((*disk)->services[0].result == "failed" ||
             (*disk)->services[0].result == "cancelled") {
    ++figures_.interrupted;
  } else {
    wrong = "recorded as " + (*disk)->services[0].result;
  }
  if (!wrong.empty()) {
    ViolationLocked("(iv) failover acknowledged (token " + std::to_string(s->token) +
                    ") but not done: " + wrong);
  }
}

void SplitBrainWorld::OperatorRollback() {
  MutexLock incident(&incident_mu_);
  Result<std::optional<dr::IncidentState>> open =
      dr::LoadIncidentState(slots_[1].state_dir.string());
  if (open.ok() && open->has_value() && (*open)->open()) {
    Trail("operator: rollback");
    dr::IncidentActionOptions o;
    o.fence = operator_.get();
    o.state_dir = slots_[1].state_dir.string();
    o.stop_grace = 2s;
    Result<dr::IncidentActionOutcome> r = dr::RollbackFailover(plan_, o);
    MutexLock l(&mu_);
    operator_moved_ns_ = NowNs();
    if (r.ok() && r->ExitCode() == 0) ++figures_.rollbacks;
    return;
  }
  Result<fence::ActiveSite> now = ReadActive();
  if (!now.ok() || !now->stored || now->site != "b") return;
  Result<std::unique_ptr<fence::FenceAction>> act = operator_->BeginAction(Context());
  const bool moved = act.ok() && (*act)->MoveActive(kService, *now, "a", "by-hand").ok();
  MutexLock l(&mu_);
  operator_moved_ns_ = NowNs();
  if (moved) ++figures_.moved_back;
}

Result<fence::ActiveSite> SplitBrainWorld::ReadActive() {
  LB_ASSIGN_OR_RETURN(std::unique_ptr<fence::FenceAction> act, operator_->BeginAction(Context()));
  return act->Active(kService);
}

void SplitBrainWorld::Monitor() {
  int64_t last = NowNs();
  while (!stop_monitor_) {
    Sample();
    const int64_t now = NowNs();
    {
      MutexLock l(&mu_);
      figures_.max_sample_gap_ns = std::max(figures_.max_sample_gap_ns, now - last);
    }
    last = now;
    std::this_thread::sleep_for(20ms);
  }
}

void SplitBrainWorld::Sample() {
  MutexLock l(&mu_);
  const int64_t now = NowNs();
  bool acts[2] = {false, false};
  std::string state[2];
  for (int i = 0; i < 2; ++i) {
    Slot& s = slots_[i];
    if (s.daemon == nullptr || s.fence == nullptr) {
      state[i] = "not running";
      continue;
    }
    const DaemonSnapshot snap = s.daemon->Snapshot();
    const bool acting = !snap.stopping && s.fence->Acting();
    std::string view;
    for (const ScheduleView& v : snap.schedules) {
      if (v.service == kService) view = v.active_site;
    }
    bool failed = false;
    for (const ServiceHealth& h : snap.health) {
      if (h.service == kService) failed = h.state == HealthState::kFailed;
    }
    // A view read before the operator's last move is stale by the operator's decision (the
    // daemon reads again within loop_wait): counted, not a split brain between the daemons.
    const bool superseded = s.fence->last_read_ns() < operator_moved_ns_;
    acts[i] = acting && view == s.site && !failed && !superseded;
    if (acting && view == s.site && !failed && superseded) ++figures_.samples_superseded;
    state[i] = std::string(acting ? "acting" : "not acting") + ", view " + view +
               (failed ? ", declared failed" : "") + (superseded ? ", superseded" : "") +
               (acts[i] ? " => ACTS" : "");
    if (acting) ++(i == 0 ? figures_.samples_acting_a : figures_.samples_acting_b);
    // (ii): cut off from etcd, it stops acting within ttl of the cut.
    if (s.disconnected_since != 0) {
      const int64_t since = now - s.disconnected_since;
      if (acting && since > kTtlNs) {
        ViolationLocked("(ii) daemon " + s.site + " still acting " + std::to_string(since / 1e9) +
                        " s after it was cut off from etcd (ttl " + std::to_string(kTtl.count()) +
                        " s)");
      } else if (!acting && !s.stop_measured) {
        s.stop_measured = true;
        ++figures_.cuts_measured;
        figures_.max_stop_ns = std::max(figures_.max_stop_ns, since);
      }
    }
  }
  ++figures_.samples;
  if (acts[0] && acts[1]) {
    ViolationLocked("(i) both daemons act: a: " + state[0] + "; b: " + state[1]);
  }
}

void SplitBrainWorld::ViolationLocked(const std::string& what) {
  std::string entry = "round " + std::to_string(figures_.rounds) + " at " +
                      std::to_string((NowNs() - start_ns_) / 1e9) + " s: " + what;
  if (violation_count_ == 0) {  // the first one with what led to it
    entry += "\nwhat happened before (test events and both daemons' logs):";
    for (const std::string& t : trail_) entry += "\n  " + t;
  }
  if (violations_.size() < 20) violations_.push_back(entry);
  ++violation_count_;
}

void SplitBrainWorld::Trail(const std::string& line) {
  MutexLock l(&mu_);
  TrailLocked(line);
}

void SplitBrainWorld::TrailLocked(const std::string& line) {
  char t[32];
  std::snprintf(t, sizeof t, "%8.3f ", (NowNs() - start_ns_) / 1e9);
  trail_.push_back(t + line);
  if (trail_.size() > 60) trail_.pop_front();
}

int SplitBrainWorld::figures_rounds() {
  MutexLock l(&mu_);
  return figures_.rounds;
}

void SplitBrainWorld::Count(int Figures::*field) {
  MutexLock l(&mu_);
  ++(figures_.*field);
}

void SplitBrainWorld::Fail(const std::string& what) {
  MutexLock l(&mu_);
  ViolationLocked(what);
}

}  // namespace lifeboat::daemon::split_brain
