// The etcd fence against a real etcd 3.4 (tests/servers/etcd.sh) and the fault proxy in front of
// it (tests/servers/proxy.sh): run by `run_with.sh etcd proxy`.
#include "fence/etcd_fence.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "fence/etcd_txn.h"
#include "util/json_bytes.h"

namespace lifeboat::fence {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string EtcdUrl() { return Env("LIFEBOAT_TEST_ETCD_URL"); }
std::string ProxyUrl() { return "http://127.0.0.1:" + Env("LIFEBOAT_TEST_PROXY_PORT"); }

// Sends one command to the fault proxy's control port (HTTP form).
void Proxy(const std::string& command) {
  std::unique_ptr<HttpClient> http = std::move(HttpClient::Create({})).value();
  HttpRequest r;
  r.url = "http://127.0.0.1:" + Env("LIFEBOAT_TEST_PROXY_CONTROL_PORT") + "/" + command;
  Result<HttpResponse> resp = http->Do(r);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  ASSERT_EQ(resp->status, 200) << std::string(resp->body.begin(), resp->body.end());
}

class EtcdFenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(EtcdUrl().empty()) << "run through tests/servers/run_with.sh etcd proxy";
    // A prefix per test: the tests share one etcd.
    prefix_ = "/lifeboat-test/" +
              std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
    Proxy("pass");
    Proxy("up");
  }

  plan::EtcdFencing Settings(std::vector<std::string> endpoints, std::chrono::seconds ttl = 30s,
                             std::chrono::seconds retry = 10s) {
    plan::EtcdFencing s;
    s.endpoints = std::move(endpoints);
    s.prefix = prefix_;
    s.ttl = ttl;
    s.retry_timeout = retry;
    return s;
  }

  std::unique_ptr<EtcdFence> Make(const std::string& actor, const plan::EtcdFencing& s,
                                  FenceOptions options = {}) {
    EtcdClientOptions o;
    o.endpoints = s.endpoints;
    o.request_timeout = s.retry_timeout;
    Result<std::unique_ptr<EtcdClient>> client = EtcdClient::Create(o);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return std::make_unique<EtcdFence>(s, actor, std::move(client).value(), std::move(options));
  }

  // Reads the service, then moves it: what one actor does in one round.
  static Result<uint64_t> ReadAndMove(Fence& f, const std::string& service, const std::string& to) {
    LB_ASSIGN_OR_RETURN(std::unique_ptr<FenceAction> act, f.BeginAction(Context()));
    LB_ASSIGN_OR_RETURN(ActiveSite now, act->Active(service));
    return act->MoveActive(service, now, to, "inc");
  }

  static bool HasMember(Fence& f, const std::string& site) {
    Result<std::vector<Member>> m = f.Members(Context());
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    if (!m.ok()) return false;
    return std::any_of(m->begin(), m->end(), [&](const Member& x) { return x.site == site; });
  }

  std::string prefix_;
};

TEST_F(EtcdFenceTest, JoinReportHealthLeave) {
  std::unique_ptr<EtcdFence> a = Make("actor-a", Settings({EtcdUrl()}));
  EXPECT_EQ(a->Kind(), "etcd");
  EXPECT_TRUE(a->Acting());  // not joined: the CLI
  ASSERT_TRUE(a->Join({"prod", "edge"}, Context()).ok());
  EXPECT_TRUE(a->Acting());
  EXPECT_EQ(a->ActingNote(), "");
  EXPECT_NE(a->lease_id(), 0);
  ASSERT_TRUE(a->ReportHealth(json{{"shop", "up"}}, Context()).ok());
  Result<std::vector<Member>> members = a->Members(Context());
  ASSERT_TRUE(members.ok()) << members.status().ToString();
  ASSERT_EQ(members->size(), 2u);
  EXPECT_EQ((*members)[0].site, "edge");  // by key
  EXPECT_EQ((*members)[1].site, "prod");
  EXPECT_EQ((*members)[1].actor, "actor-a");
  EXPECT_EQ((*members)[1].health, (json{{"shop", "up"}}));
  EXPECT_GT((*members)[1].since_ns, 0);
  ASSERT_TRUE(a->Leave(Context()).ok());
  EXPECT_TRUE(a->Leave(Context()).ok());  // idempotent
  EXPECT_FALSE(a->Acting());
  EXPECT_NE(a->ActingNote().find("left"), std::string::npos);
  // Revoked: the member keys are gone at once.
  std::unique_ptr<EtcdFence> cli = Make("cli", Settings({EtcdUrl()}));
  EXPECT_TRUE(cli->Members(Context())->empty());
}

TEST_F(EtcdFenceTest, ASecondDaemonForASiteIsRefusedNamingTheFirst) {
  std::unique_ptr<EtcdFence> a = Make("actor-a", Settings({EtcdUrl()}));
  ASSERT_TRUE(a->Join({"prod"}, Context()).ok());
  std::unique_ptr<EtcdFence> b = Make("actor-b", Settings({EtcdUrl()}));
  Status refused = b->Join({"dr", "prod"}, Context());
  EXPECT_EQ(refused.code(), StatusCode::kAlreadyExists) << refused.ToString();
  EXPECT_NE(refused.message().find("site prod already has a daemon: actor actor-a on host"),
            std::string::npos)
      << refused.message();
  EXPECT_NE(refused.message().find(prefix_ + "/members/prod"), std::string::npos);
  // What b had claimed before the refusal is free again: its lease was revoked.
  EXPECT_FALSE(HasMember(*a, "dr"));
  EXPECT_FALSE(b->Acting() && b->lease_id() != 0);
  // Once a leaves, b may join.
  ASSERT_TRUE(a->Leave(Context()).ok());
  EXPECT_TRUE(b->Join({"dr", "prod"}, Context()).ok());
}

TEST_F(EtcdFenceTest, EndpointsAreTriedInTurnAndAllDownSaysWhatToDo) {
  // Nothing listens on the proxy while it is down: the first endpoint refuses.
  Proxy("down");
  std::unique_ptr<EtcdFence> a = Make("actor-a", Settings({ProxyUrl(), EtcdUrl()}));
  ASSERT_TRUE(a->Join({"prod"}, Context()).ok());
  ASSERT_TRUE(a->Leave(Context()).ok());
  std::unique_ptr<EtcdFence> down = Make("actor-d", Settings({ProxyUrl()}, 30s, 2s));
  Status st = down->Join({"prod"}, Context());
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_NE(st.message().find("etcd at " + ProxyUrl() +
                              " did not answer within 2.0 s: is it "
                              "running? (daemon.fencing.etcd.endpoints)"),
            std::string::npos)
      << st.message();
  Proxy("up");
}

// Two daemons read the same state, then both move it: exactly one wins each of 100 rounds, and
// the tokens (etcd revisions) grow strictly, across actors.
TEST_F(EtcdFenceTest, RacingDaemonsExactlyOneWinsPerRound) {
  std::unique_ptr<EtcdFence> fences[2] = {Make("actor-a", Settings({EtcdUrl()})),
                                          Make("actor-b", Settings({EtcdUrl()}))};
  ASSERT_TRUE(fences[0]->Join({"prod"}, Context()).ok());
  ASSERT_TRUE(fences[1]->Join({"dr"}, Context()).ok());
  constexpr int kRounds = 100;
  std::barrier sync(2);
  std::atomic<int> wins[kRounds] = {};
  std::atomic<uint64_t> round_token[kRounds] = {};
  std::atomic<int> errors{0};
  std::string first_error;
  auto actor = [&](int me) {
    for (int round = 0; round < kRounds; ++round) {
      ActiveSite read;
      Result<std::unique_ptr<FenceAction>> act = fences[me]->BeginAction(Context());
      Result<ActiveSite> a = act.ok() ? (*act)->Active("shop") : Result<ActiveSite>(act.status());
      if (a.ok())
        read = *a;
      else
        ++errors;
      sync.arrive_and_wait();
      if (act.ok()) {
        Result<uint64_t> t = (*act)->MoveActive("shop", read, me == 0 ? "prod" : "dr",
                                                "round-" + std::to_string(round));
        if (t.ok()) {
          ++wins[round];
          round_token[round] = *t;
        } else if (t.status().code() != StatusCode::kAborted) {
          ++errors;
        }
      }
      sync.arrive_and_wait();
    }
  };
  std::thread t0(actor, 0), t1(actor, 1);
  t0.join();
  t1.join();
  EXPECT_EQ(errors.load(), 0);
  for (int round = 0; round < kRounds; ++round) {
    EXPECT_EQ(wins[round].load(), 1) << "round " << round;
    if (round > 0) {
      EXPECT_LT(round_token[round - 1].load(), round_token[round].load()) << round;
    }
  }
  // The token is the stored state's revision.
  std::unique_ptr<FenceAction> act = std::move(fences[0]->BeginAction(Context())).value();
  Result<ActiveSite> shop = act->Active("shop");
  ASSERT_TRUE(shop.ok());
  EXPECT_EQ(shop->token, round_token[kRounds - 1].load());
  EXPECT_EQ(shop->revision, shop->token);
  EXPECT_EQ(shop->incident, "round-99");
  Result<std::vector<ActiveSite>> all = act->AllActive();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].service, "shop");
  // A person's failover (the CLI, not joined) needs no lease, and is fenced the same way.
  std::unique_ptr<EtcdFence> cli = Make("cli", Settings({EtcdUrl()}));
  Result<uint64_t> by_hand = ReadAndMove(*cli, "shop", "prod");
  ASSERT_TRUE(by_hand.ok()) << by_hand.status().ToString();
  EXPECT_GT(*by_hand, shop->token);
  EXPECT_EQ(act->MoveActive("shop", *shop, "dr", "stale").status().code(), StatusCode::kAborted);
}

// The rule's move (doc/daemon.md, "Fencing"): b moves the service away from prod only while
// prod's member key is as b read it. Found by src/daemon/split_brain_test.cc: checked apart from
// the move, prod's daemon could join again (or report healthy again) in between and act on a
// view read just before the move landed.
TEST_F(EtcdFenceTest, AGuardedMoveNeedsTheOtherSitesMemberKeyAsRead) {
  std::unique_ptr<EtcdFence> a = Make("actor-a", Settings({EtcdUrl()}));
  std::unique_ptr<EtcdFence> b = Make("actor-b", Settings({EtcdUrl()}));
  ASSERT_TRUE(a->Join({"prod"}, Context()).ok());
  ASSERT_TRUE(b->Join({"dr"}, Context()).ok());
  auto prod_revision = [&]() -> uint64_t {
    Result<std::vector<Member>> m = b->Members(Context());
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    for (const Member& x : m.ok() ? *m : std::vector<Member>{}) {
      if (x.site == "prod") return x.revision;
    }
    return 0;
  };
  auto guarded_move = [&](uint64_t revision) -> Result<uint64_t> {
    LB_ASSIGN_OR_RETURN(std::unique_ptr<FenceAction> act, b->BeginAction(Context()));
    LB_ASSIGN_OR_RETURN(ActiveSite now, act->Active("shop"));
    return act->MoveActiveGuarded("shop", now, now.site == "dr" ? "prod" : "dr", "inc",
                                  MemberGuard{"prod", revision});
  };
  // a reports again between b's read and b's move: refused.
  const uint64_t read = prod_revision();
  ASSERT_NE(read, 0u);
  ASSERT_TRUE(a->ReportHealth(json{{"shop", "failed"}}, Context()).ok());
  Result<uint64_t> refused = guarded_move(read);
  EXPECT_EQ(refused.status().code(), StatusCode::kAborted) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("member key of site prod changed meanwhile"),
            std::string::npos)
      << refused.status().message();
  // Read again: moved.
  Result<uint64_t> moved = guarded_move(prod_revision());
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  // prod's key gone (a left), then a joins again before b's move: refused.
  ASSERT_TRUE(a->Leave(Context()).ok());
  EXPECT_EQ(prod_revision(), 0u);
  std::unique_ptr<EtcdFence> a2 = Make("actor-a2", Settings({EtcdUrl()}));
  ASSERT_TRUE(a2->Join({"prod"}, Context()).ok());
  refused = guarded_move(0);
  EXPECT_EQ(refused.status().code(), StatusCode::kAborted) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("it was absent; a daemon holds it now"),
            std::string::npos)
      << refused.status().message();
  // Still gone when b moves: moved.
  ASSERT_TRUE(a2->Leave(Context()).ok());
  Result<uint64_t> again = guarded_move(0);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_GT(*again, *moved);
}

// A daemon cut off from etcd stops acting before its lease can expire; the other daemon sees
// its member key vanish only after that, and can take the service over; the stale daemon's moves
// fail; when etcd answers again it gets a new lease and its member key back.
TEST_F(EtcdFenceTest, ACutOffDaemonStopsActingBeforeItsLeaseExpires) {
  std::mutex log_mu;
  std::vector<std::string> log;
  FenceOptions options;
  options.log = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(log_mu);
    log.push_back(line);
  };
  const auto ttl = 4s;
  std::unique_ptr<EtcdFence> a = Make("actor-a", Settings({ProxyUrl()}, ttl, 1s), options);
  std::unique_ptr<EtcdFence> b = Make("actor-b", Settings({EtcdUrl()}, ttl, 1s));
  ASSERT_TRUE(a->Join({"prod"}, Context()).ok());
  ASSERT_TRUE(b->Join({"dr"}, Context()).ok());
  ASSERT_TRUE(ReadAndMove(*a, "shop", "prod").ok());
  // a reads the state it would move, then is cut off.
  std::unique_ptr<FenceAction> a_act = std::move(a->BeginAction(Context())).value();
  const ActiveSite a_read = std::move(a_act->Active("shop")).value();
  Proxy("down");
  Clock& clock = SystemClock();
  int64_t stopped_acting = 0, last_renewal = 0, member_gone = 0;
  const int64_t give_up = clock.MonotonicNs() + 60'000'000'000;
  while (clock.MonotonicNs() < give_up && (stopped_acting == 0 || member_gone == 0)) {
    if (stopped_acting == 0 && !a->Acting()) {
      stopped_acting = clock.MonotonicNs();
      last_renewal = a->last_renewal_ns();
      // b must not see a's member key gone while a still acted.
      EXPECT_TRUE(HasMember(*b, "prod"));
    }
    if (member_gone == 0 && !HasMember(*b, "prod")) {
      member_gone = clock.MonotonicNs();
      // No member key of prod while a still acts: that would be two actors.
      EXPECT_FALSE(a->Acting()) << "a acted after its member key vanished";
    }
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_NE(stopped_acting, 0) << "a never stopped acting";
  ASSERT_NE(member_gone, 0) << "a's member key never vanished";
  // a stopped acting before its lease could have expired (etcd counts the TTL from when it
  // received the last renewal, which a sent at last_renewal).
  EXPECT_LT(stopped_acting, last_renewal + std::chrono::nanoseconds(ttl).count());
  EXPECT_LT(stopped_acting, member_gone);
  EXPECT_NE(a->ActingNote().find("lease not renewed for"), std::string::npos) << a->ActingNote();
  // b takes the service over; a's stale move fails, however it read the state.
  Result<uint64_t> taken = ReadAndMove(*b, "shop", "dr");
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  Result<uint64_t> stale = a_act->MoveActive("shop", a_read, "prod", "stale");
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition) << stale.status().ToString();
  EXPECT_EQ(a->BeginAction(Context()).status().code(), StatusCode::kFailedPrecondition);
  // etcd answers again: a finds its lease expired, gets a new one and its member key back.
  Proxy("up");
  const int64_t wait_until = clock.MonotonicNs() + 60'000'000'000;
  while (clock.MonotonicNs() < wait_until && !a->Acting()) std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(a->Acting()) << a->ActingNote();
  EXPECT_TRUE(HasMember(*b, "prod"));
  {
    std::lock_guard<std::mutex> lock(log_mu);
    std::string all;
    for (const std::string& l : log) all += l + "\n";
    EXPECT_NE(all.find("expired"), std::string::npos) << all;
    EXPECT_NE(all.find("created again: acting again"), std::string::npos) << all;
  }
  // Acting again, a still cannot move what b moved since a read it.
  EXPECT_EQ(a_act->MoveActive("shop", a_read, "prod", "stale").status().code(),
            StatusCode::kAborted);
}

// The server side of the fence: a daemon whose lease is gone in etcd (here revoked behind its
// back) cannot move a service even while it still believes it acts.
TEST_F(EtcdFenceTest, AMoveChecksTheLeaseInEtcdItself) {
  std::unique_ptr<EtcdFence> a = Make("actor-a", Settings({EtcdUrl()}));
  ASSERT_TRUE(a->Join({"prod"}, Context()).ok());
  std::unique_ptr<FenceAction> act = std::move(a->BeginAction(Context())).value();
  const ActiveSite read = std::move(act->Active("shop")).value();
  EtcdClientOptions o;
  o.endpoints = {EtcdUrl()};
  std::unique_ptr<EtcdClient> etcd = std::move(EtcdClient::Create(o)).value();
  ASSERT_TRUE(
      etcd->Call("lease/revoke", json{{"ID", std::to_string(a->lease_id())}}, Context()).ok());
  ASSERT_TRUE(a->Acting());  // it has not noticed yet
  Result<uint64_t> moved = act->MoveActive("shop", read, "prod", "inc");
  EXPECT_EQ(moved.status().code(), StatusCode::kFailedPrecondition) << moved.status().ToString();
  EXPECT_NE(moved.status().message().find(prefix_ + "/members/prod no longer carries this "
                                                    "daemon's lease"),
            std::string::npos)
      << moved.status().message();
  EXPECT_FALSE(a->Acting());
}

// etcd hangs (SIGSTOP): requests time out after retry_timeout, the daemon stops acting; resumed,
// it acts again.
TEST_F(EtcdFenceTest, AHungEtcdStopsTheDaemonActingUntilItAnswers) {
  std::ifstream pidfile(Env("LIFEBOAT_TEST_ETCD_PIDFILE"));
  pid_t pid = 0;
  ASSERT_TRUE(pidfile >> pid);
  std::unique_ptr<EtcdFence> a = Make("actor-a", Settings({EtcdUrl()}, 4s, 1s));
  ASSERT_TRUE(a->Join({"prod"}, Context()).ok());
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  Clock& clock = SystemClock();
  const int64_t give_up = clock.MonotonicNs() + 30'000'000'000;
  while (clock.MonotonicNs() < give_up && a->Acting()) std::this_thread::sleep_for(10ms);
  const bool stopped = !a->Acting();
  const std::string note = a->ActingNote();
  ASSERT_EQ(::kill(pid, SIGCONT), 0);
  ASSERT_TRUE(stopped);
  EXPECT_NE(note.find("did not answer within 1.0 s"), std::string::npos) << note;
  const int64_t wait_until = clock.MonotonicNs() + 60'000'000'000;
  while (clock.MonotonicNs() < wait_until && !a->Acting()) std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(a->Acting()) << a->ActingNote();
  EXPECT_TRUE(a->Leave(Context()).ok());
}

}  // namespace
}  // namespace lifeboat::fence
