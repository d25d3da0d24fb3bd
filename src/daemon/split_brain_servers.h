// Test support for split_brain_test.cc: one etcd 3.4 member that the test itself kills and
// starts again on the same data directory and ports, and the fault proxy
// (tests/servers/fault_proxy.py) in front of it, one per daemon, that the test cuts ("down":
// new connections refused, open ones reset) and heals ("up"). Everything listens on 127.0.0.1.
//
//   EtcdProcess etcd(work_dir);  ASSERT_TRUE(etcd.Start().ok());   // waits until it answers
//   FaultProxy proxy;  ASSERT_TRUE(proxy.Start(etcd.client_port()).ok());
//   proxy.Command("down");  ...  proxy.Command("up");
//   etcd.Kill();  ASSERT_TRUE(etcd.Start().ok());                  // same data, same ports
//
// Both run as child processes (util/subprocess.h: own process group, stopped by the destructor)
// under `setpriv --pdeathsig KILL`, so that they die with the test even when it is killed: call
// Start from a thread that lives as long as the test (the main thread). Not thread-safe: one
// thread drives each object.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "backend/http/http_client.h"
#include "fence/etcd_client.h"
#include "util/free_port_for_test.h"
#include "util/subprocess.h"

namespace lifeboat::daemon::testing {

using ::lifeboat::testing::FreeLoopbackPort;

// One GET; OK when it answered 200 within `timeout`.
inline Status HttpGet(const std::string& url, std::chrono::milliseconds timeout,
                      std::string* body = nullptr) {
  LB_ASSIGN_OR_RETURN(std::unique_ptr<HttpClient> http, HttpClient::Create({}));
  const Context ctx = Context().WithTimeout(timeout);
  HttpRequest r;
  r.url = url;
  r.context = &ctx;
  LB_ASSIGN_OR_RETURN(HttpResponse resp, http->Do(r));
  if (body != nullptr) *body = std::string(resp.body.begin(), resp.body.end());
  if (resp.status != 200) {
    return Status::Unavailable(url + " answered " + std::to_string(resp.status));
  }
  return Status::Ok();
}

// OK when etcd at `url` answers a read within `timeout`.
inline Status EtcdAnswers(const std::string& url, std::chrono::milliseconds timeout) {
  fence::EtcdClientOptions o;
  o.endpoints = {url};
  o.request_timeout = timeout;
  LB_ASSIGN_OR_RETURN(std::unique_ptr<fence::EtcdClient> client, fence::EtcdClient::Create(o));
  return client->Call("kv/range", nlohmann::json{{"key", "AA=="}}, Context()).status();
}

class EtcdProcess {
 public:
  // Data under DIR/data, log appended to DIR/etcd.log; the ports are chosen now and kept.
  explicit EtcdProcess(std::filesystem::path dir)
      : dir_(std::move(dir)), client_port_(FreeLoopbackPort()), peer_port_(FreeLoopbackPort()) {
    while (peer_port_ == client_port_) peer_port_ = FreeLoopbackPort();
  }

  // Starts etcd (again) and waits until its gateway answers (at most 30 s). A short heartbeat and
  // election timeout: a restarted single member leads again within a fraction of a second, and
  // leases of a few seconds are allowed.
  Status Start() {
    std::filesystem::create_directories(dir_ / "data");
    const std::string url = "http://127.0.0.1:" + std::to_string(client_port_);
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    std::string cmd = "exec setpriv --pdeathsig KILL /usr/bin/etcd --name split-brain-test";
    cmd += " --data-dir " + ShellQuote((dir_ / "data").string());
    cmd += " --listen-client-urls " + url + " --advertise-client-urls " + url;
    cmd += " --listen-peer-urls " + peer + " --initial-advertise-peer-urls " + peer;
    cmd += " --initial-cluster split-brain-test=" + peer + " --initial-cluster-state new";
    cmd += " --heartbeat-interval 25 --election-timeout 250";
    cmd += " --logger zap --log-outputs stderr >>" + ShellQuote((dir_ / "etcd.log").string()) +
           " 2>&1";
    SubprocessOptions o;
    o.argv = ShellCommand(cmd);
    o.description = "etcd";
    o.kill_grace = std::chrono::milliseconds(2000);
    if (::getenv("ETCD_UNSUPPORTED_ARCH") == nullptr) {
#if defined(__aarch64__)
      o.environment.emplace_back("ETCD_UNSUPPORTED_ARCH", "arm64");
#endif
    }
    LB_ASSIGN_OR_RETURN(process_, Subprocess::Start(o));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    Status last;
    while (std::chrono::steady_clock::now() < deadline) {
      last = EtcdAnswers(url, std::chrono::milliseconds(500));
      if (last.ok()) return Status::Ok();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return Status::Unavailable("etcd did not answer within 30 s (log: " +
                               (dir_ / "etcd.log").string() + "): " + last.message());
  }

  // SIGKILL (a crash: nothing flushed, no goodbye), then reaped.
  void Kill() {
    if (process_ == nullptr) return;
    ::kill(process_->pid(), SIGKILL);
    process_->Wait().IgnoreError();
    process_.reset();
  }

  bool running() const { return process_ != nullptr; }
  int client_port() const { return client_port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(client_port_); }

 private:
  const std::filesystem::path dir_;
  const int client_port_;
  int peer_port_;
  std::unique_ptr<Subprocess> process_;
};

class FaultProxy {
 public:
  // Starts tests/servers/fault_proxy.py towards 127.0.0.1:target_port, in pass-through mode.
  Status Start(const std::string& script, int target_port, const std::filesystem::path& dir) {
    const std::string ports_file = (dir / "proxy.ports").string();
    std::filesystem::create_directories(dir);
    std::filesystem::remove(ports_file);
    SubprocessOptions o;
    o.argv = ShellCommand("exec setpriv --pdeathsig KILL /usr/bin/python3 " + ShellQuote(script) +
                          " --target-port " + std::to_string(target_port) + " --ports-file " +
                          ShellQuote(ports_file) + " >" + ShellQuote((dir / "proxy.log").string()) +
                          " 2>&1");
    o.description = "fault proxy";
    LB_ASSIGN_OR_RETURN(process_, Subprocess::Start(o));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(ports_file);
      if (in >> port_ >> control_port_) return Command("pass");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return Status::Unavailable(
        "the fault proxy did not start within 10 s (log: " + (dir / "proxy.log").string() + ")");
  }

  // One control command ("down", "up", "pass"); OK when the proxy answered "ok".
  Status Command(const std::string& command) {
    std::string body;
    Status st = HttpGet("http://127.0.0.1:" + std::to_string(control_port_) + "/" + command,
                        std::chrono::milliseconds(5000), &body);
    return st.WithContext("fault proxy command " + command + " (" + body + ")");
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::unique_ptr<Subprocess> process_;
  int port_ = 0, control_port_ = 0;
};

}  // namespace lifeboat::daemon::testing
