// The `daemon` mapping: parsing, defaults, and its checks (listen address, TLS off loopback,
// etcd URLs, ttl, Patroni's rule).
#include <gtest/gtest.h>

#include "plan/listen_address.h"
#include "plan/plan_json.h"
#include "plan/plan_test_util.h"

namespace lifeboat::plan {
namespace {

using namespace testing;  // NOLINT

const char kBase[] = R"(version: 1
sites:
  a:
    repository: /srv/a
    password_file: /etc/lifeboat/a.pass
services:
  db:
    tier: 3
    rpo: 1h
    sources:
      - paths: [/srv/db]
    sites: [a]
)";

LoadedPlan Load(const std::string& daemon) {
  return CheckPlanText(std::string(kBase) + daemon, "p.yaml", FixedNow());
}

TEST(PlanDaemonTest, AbsentMeansEveryDefault) {
  LoadedPlan p = Load("");
  ASSERT_EQ(p.errors, 0u) << All(p);
  EXPECT_EQ(p.plan.daemon.position.line, 0);
  EXPECT_EQ(p.plan.daemon.listen, "127.0.0.1:8470");
  EXPECT_EQ(p.plan.daemon.loop_wait, std::chrono::seconds(10));
  EXPECT_FALSE(p.plan.daemon.etcd);
  EXPECT_FALSE(p.plan.daemon.token);
  EXPECT_EQ(PlanToJson(p.plan)["daemon"]["fencing"]["kind"], "lock-file");
}

TEST(PlanDaemonTest, EveryKey) {
  LoadedPlan p = Load(R"(daemon:
  listen: "[::]:9000"
  tls_cert_file: /etc/lb/c.pem
  tls_key_file: /etc/lb/k.pem
  token_env: LB_TOKEN
  operate_token_file: /etc/lb/operate
  loop_wait: 5s
  fencing:
    etcd:
      endpoints: [http://127.0.0.1:2379/, https://etcd2:2379]
      prefix: /lb/acme/
      ttl: 20s
      retry_timeout: 5s
      ca_file: /etc/lb/ca.pem
)");
  ASSERT_EQ(p.errors, 0u) << All(p);
  const DaemonSettings& d = p.plan.daemon;
  EXPECT_EQ(d.position.line, 13);
  EXPECT_EQ(d.listen, "[::]:9000");
  EXPECT_EQ(d.tls_cert_file, "/etc/lb/c.pem");
  ASSERT_TRUE(d.token);
  EXPECT_EQ(d.token->kind, SecretRef::Kind::kEnv);
  EXPECT_EQ(d.token->value, "LB_TOKEN");
  ASSERT_TRUE(d.operate_token);
  EXPECT_EQ(d.operate_token->value, "/etc/lb/operate");
  EXPECT_EQ(d.loop_wait, std::chrono::seconds(5));
  ASSERT_TRUE(d.etcd);
  EXPECT_EQ(d.etcd->endpoints,
            (std::vector<std::string>{"http://127.0.0.1:2379", "https://etcd2:2379"}));
  EXPECT_EQ(d.etcd->prefix, "/lb/acme");
  EXPECT_EQ(d.etcd->ttl, std::chrono::seconds(20));
  EXPECT_EQ(d.etcd->retry_timeout, std::chrono::seconds(5));
  EXPECT_EQ(d.etcd->ca_file, "/etc/lb/ca.pem");
  const nlohmann::ordered_json j = PlanToJson(p.plan)["daemon"];
  EXPECT_EQ(j["token"], (nlohmann::ordered_json{{"env", "LB_TOKEN"}}));
  EXPECT_EQ(j["fencing"]["kind"], "etcd");
  EXPECT_EQ(j["fencing"]["etcd"]["ttl_seconds"], 20);
  EXPECT_EQ(j["loop_wait_seconds"], 5);
}

TEST(PlanDaemonTest, EtcdDefaults) {
  LoadedPlan p = Load("daemon:\n  fencing:\n    etcd:\n      endpoints: [http://10.0.0.1:2379]\n");
  ASSERT_EQ(p.errors, 0u) << All(p);
  EXPECT_EQ(p.plan.daemon.etcd->prefix, "/lifeboat");
  EXPECT_EQ(p.plan.daemon.etcd->ttl, std::chrono::seconds(30));
  EXPECT_EQ(p.plan.daemon.etcd->retry_timeout, std::chrono::seconds(10));
  EXPECT_EQ(p.plan.daemon.etcd->ca_file, "");
}

TEST(PlanDaemonTest, OffLoopbackNeedsTlsAndToken) {
  EXPECT_EQ(Errors(Load("daemon:\n  listen: 0.0.0.0:8470\n")),
            "p.yaml:14:11: error: the daemon would listen on 0.0.0.0:8470, which is not a "
            "loopback address: set daemon.tls_cert_file, "
            "daemon.tls_key_file and daemon.token_file (or token_command, token_env), or listen "
            "on 127.0.0.1 (other machines could read the plan's state and the operate API)\n"
            "  hint: see doc/daemon.md, \"Dashboard and API\"; secrets are given by reference: "
            "token_file, token_command or token_env\n");
  EXPECT_NE(Errors(Load("daemon:\n  listen: dr.example.com:443\n  tls_cert_file: /c\n  "
                        "tls_key_file: /k\n"))
                .find("p.yaml:14:11: error: the daemon would listen on dr.example.com:443, which "
                      "is not a loopback address: set daemon.token_file (or token_command, "
                      "token_env), or listen"),
            std::string::npos);
  EXPECT_EQ(Errors(Load("daemon:\n  listen: 0.0.0.0:8470\n  tls_cert_file: /c\n  tls_key_file: "
                        "/k\n  token_file: /t\n")),
            "");
  // Loopback in every spelling needs nothing.
  for (const char* l : {"127.0.0.1:1", "127.1.2.3:8470", "\"[::1]:8470\"", "localhost:65535"})
    EXPECT_EQ(Errors(Load(std::string("daemon:\n  listen: ") + l + "\n")), "") << l;
  EXPECT_EQ(Errors(Load("daemon:\n  tls_cert_file: /c\n")),
            "p.yaml:13:1: error: daemon.tls_cert_file is set without daemon.tls_key_file: give "
            "both (the certificate and its private key), or neither\n  hint: see doc/daemon.md, "
            "\"Dashboard and API\"; secrets are given by reference: token_file, token_command or "
            "token_env\n");
}

TEST(PlanDaemonTest, BadListen) {
  EXPECT_EQ(Errors(Load("daemon:\n  listen: 127.0.0.1\n")),
            "p.yaml:14:11: error: daemon.listen \"127.0.0.1\" has no port\n  hint: write "
            "HOST:PORT, e.g. 127.0.0.1:8470, [::1]:8470, or 0.0.0.0:8470 for every address "
            "(which needs TLS and a token)\n");
  EXPECT_NE(
      Errors(Load("daemon:\n  listen: 127.0.0.1:0\n")).find("port 0 is out of range 1..65535"),
      std::string::npos);
  EXPECT_NE(Errors(Load("daemon:\n  listen: \"::1:80\"\n")).find("in brackets"), std::string::npos);
  EXPECT_NE(Errors(Load("daemon:\n  listen: bad_host:80\n"))
                .find("neither an IP address nor a host name"),
            std::string::npos);
  EXPECT_NE(Errors(Load("daemon:\n  lisen: 127.0.0.1:80\n")).find("did you mean \"listen\""),
            std::string::npos);
  EXPECT_NE(Errors(Load("daemon:\n  token: abc\n")).find("inline secret"), std::string::npos)
      << Errors(Load("daemon:\n  token: abc\n"));
}

TEST(PlanDaemonTest, EtcdChecks) {
  EXPECT_EQ(Errors(Load("daemon:\n  fencing:\n    etcd:\n      endpoints: [127.0.0.1:2379]\n")),
            "p.yaml:16:19: error: daemon.fencing.etcd.endpoints: \"127.0.0.1:2379\" is not an "
            "etcd client URL\n  hint: write http://HOST:PORT or https://HOST:PORT (etcd's "
            "--advertise-client-urls), e.g. https://etcd1.example.com:2379\n");
  EXPECT_NE(Errors(Load("daemon:\n  fencing:\n    etcd: {prefix: /x}\n")).find("endpoints"),
            std::string::npos);
  EXPECT_NE(Errors(Load("daemon:\n  fencing:\n    etcd:\n      endpoints: [http://e:1]\n      "
                        "prefix: lifeboat\n"))
                .find("is not a key prefix"),
            std::string::npos);
  EXPECT_EQ(Errors(Load("daemon:\n  fencing:\n    etcd:\n      endpoints: [http://e:1]\n      "
                        "ttl: 2s\n      retry_timeout: 1s\n")),
            "p.yaml:17:12: error: daemon.fencing.etcd.ttl of 2s is shorter than 3s\n  hint: etcd "
            "does not keep leases shorter than a few seconds reliably: use 3s or more (the "
            "default is 30s)\n");
  // Patroni: loop_wait + 2 * retry_timeout <= ttl.
  EXPECT_EQ(Errors(Load("daemon:\n  loop_wait: 10s\n  fencing:\n    etcd:\n      endpoints: "
                        "[http://e:1]\n      ttl: 29s\n")),
            "p.yaml:18:12: error: daemon.loop_wait (10s) + 2 x daemon.fencing.etcd.retry_timeout "
            "(10s) is longer than daemon.fencing.etcd.ttl (29s)\n  hint: Patroni's rule "
            "loop_wait + 2 x retry_timeout <= ttl lets a daemon that cannot renew its lease stop "
            "acting before the lease expires: raise ttl to at least 30s, or lower loop_wait or "
            "retry_timeout\n");
  EXPECT_EQ(Errors(Load("daemon:\n  loop_wait: 2s\n  fencing:\n    etcd:\n      endpoints: "
                        "[http://e:1]\n      ttl: 6s\n      retry_timeout: 2s\n")),
            "");
}

TEST(ListenAddressTest, Forms) {
  Result<ListenAddress> a = ParseListenAddress("[::1]:8470");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 8470);
  EXPECT_TRUE(a->loopback);
  a = ParseListenAddress("[::]:80");
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->loopback);
  a = ParseListenAddress("10.1.2.3:65535");
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->loopback);
  EXPECT_EQ(a->port, 65535);
  for (const char* bad : {"", ":80", "host:", "host:65536", "host:-1", "host:8x", "[::1]", "[::1",
                          "[zz]:80", "-host:80", "a..b:80"})
    EXPECT_FALSE(ParseListenAddress(bad).ok()) << bad;
}

}  // namespace
}  // namespace lifeboat::plan
