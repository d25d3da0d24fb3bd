// The top-level `daemon` mapping (doc/plan.md, "Daemon"; doc/daemon.md): the dashboard's
// address and credentials, the loop's period and the fencing (lock file or etcd), with the
// checks that only need this mapping (listen address, TLS off loopback, etcd URLs, Patroni's
// timing rule).
#include <yaml-cpp/yaml.h>

#include "plan/duration.h"
#include "plan/listen_address.h"
#include "plan/parse_internal.h"

namespace lifeboat::plan::internal {

namespace {

// http(s)://HOST[:PORT][/]: what the gateway client can talk to.
bool IsEtcdUrl(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("http://"))
    rest = url.substr(7);
  else if (url.starts_with("https://"))
    rest = url.substr(8);
  else
    return false;
  if (rest.ends_with("/")) rest.remove_suffix(1);
  return !rest.empty() && rest.find('/') == std::string_view::npos &&
         rest.find('@') == std::string_view::npos && rest.front() != ':';
}

std::optional<EtcdFencing> ParseEtcd(Reader& r, ObjectView& fencing, const DaemonSettings& d) {
  YAML::Node node = fencing.Node("etcd");
  if (!node.IsDefined()) return std::nullopt;
  EtcdFencing e;
  e.position = fencing.KeyAt("etcd");
  ObjectView v(r, node, SpecOf(fencing.spec(), "etcd"), "daemon.fencing.etcd", e.position);
  if (!v.valid()) return std::nullopt;
  if (auto endpoints = v.List("endpoints")) {
    for (const NameRef& url : *endpoints) {
      if (!IsEtcdUrl(url.name)) {
        r.diagnostics().Error(
            url.position,
            "daemon.fencing.etcd.endpoints: \"" + url.name + "\" is not an etcd client URL",
            "write http://HOST:PORT or https://HOST:PORT (etcd's "
            "--advertise-client-urls), e.g. https://etcd1.example.com:2379");
        continue;
      }
      std::string u = url.name;
      if (u.ends_with("/")) u.pop_back();
      e.endpoints.push_back(std::move(u));
    }
  }
  if (auto prefix = v.String("prefix")) {
    std::string p = *prefix;
    while (p.size() > 1 && p.ends_with("/")) p.pop_back();
    if (!p.starts_with("/") || p == "/") {
      r.diagnostics().Error(v.ValueAt("prefix"),
                            "daemon.fencing.etcd.prefix \"" + *prefix + "\" is not a key prefix",
                            "write a path below which Lifeboat's keys live, e.g. /lifeboat or "
                            "/lifeboat/acme (one per plan that shares the etcd cluster)");
    }
    e.prefix = p;
  }
  if (auto ttl = v.Duration("ttl")) e.ttl = *ttl;
  if (auto retry = v.Duration("retry_timeout")) e.retry_timeout = *retry;
  if (auto ca = v.String("ca_file")) e.ca_file = *ca;
  const Position ttl_at = v.Has("ttl") ? v.ValueAt("ttl") : e.position;
  v.Finish();
  if (e.ttl < std::chrono::seconds(3)) {
    r.diagnostics().Error(
        ttl_at, "daemon.fencing.etcd.ttl of " + FormatPlanDuration(e.ttl) + " is shorter than 3s",
        "etcd does not keep leases shorter than a few seconds reliably: "
        "use 3s or more (the default is 30s)");
  } else if (d.loop_wait + 2 * e.retry_timeout > e.ttl) {
    r.diagnostics().Error(
        ttl_at,
        "daemon.loop_wait (" + FormatPlanDuration(d.loop_wait) +
            ") + 2 x daemon.fencing.etcd.retry_timeout (" + FormatPlanDuration(e.retry_timeout) +
            ") is longer than daemon.fencing.etcd.ttl (" + FormatPlanDuration(e.ttl) + ")",
        "Patroni's rule loop_wait + 2 x retry_timeout <= ttl lets a daemon that cannot renew its "
        "lease stop acting before the lease expires: raise ttl to at least " +
            FormatPlanDuration(d.loop_wait + 2 * e.retry_timeout) +
            ", or lower loop_wait or retry_timeout");
  }
  return e;
}

}  // namespace

void ParseDaemon(Reader& r, ObjectView& top, Plan* plan) {
  YAML::Node node = top.Node("daemon");
  if (!node.IsDefined()) return;
  DaemonSettings& d = plan->daemon;
  d.position = top.KeyAt("daemon");
  ObjectView v(r, node, SpecOf(TopLevelSpec(), "daemon"), "daemon", d.position);
  if (!v.valid()) return;
  if (auto listen = v.String("listen")) d.listen = *listen;
  if (auto cert = v.String("tls_cert_file")) d.tls_cert_file = *cert;
  if (auto key = v.String("tls_key_file")) d.tls_key_file = *key;
  d.token = v.Secret("token");
  d.operate_token = v.Secret("operate_token");
  if (auto wait = v.Duration("loop_wait")) d.loop_wait = *wait;
  if (YAML::Node fencing = v.Node("fencing"); fencing.IsDefined()) {
    ObjectView f(r, fencing, SpecOf(v.spec(), "fencing"), "daemon.fencing", v.KeyAt("fencing"));
    d.etcd = ParseEtcd(r, f, d);
    f.Finish();
  }
  const Position listen_at = v.ValueAt("listen");
  v.Finish();
  Result<ListenAddress> at = ParseListenAddress(d.listen);
  if (!at.ok()) {
    r.diagnostics().Error(listen_at, "daemon.listen " + at.status().message(),
                          "write HOST:PORT, e.g. 127.0.0.1:8470, [::1]:8470, or 0.0.0.0:8470 "
                          "for every address (which needs TLS and a token)");
    return;
  }
  if (Status st = CheckListenSecurity(d, *at); !st.ok()) {
    r.diagnostics().Error(listen_at, st.message(),
                          "see doc/daemon.md, \"Dashboard and API\"; secrets are given by "
                          "reference: token_file, token_command or token_env");
  }
}

}  // namespace lifeboat::plan::internal
