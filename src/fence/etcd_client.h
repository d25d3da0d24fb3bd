// EtcdClient: calls of etcd 3.4's JSON gateway (POST /v3/<method> with a JSON body; keys and
// values base64, 64-bit numbers as strings) over the shared libcurl client
// (backend/http/http_client.h), against a list of endpoints: when one does not answer (refused,
// reset, timed out, 503, "no leader"), the next is tried, round after round, until one answers
// or `request_timeout` (the plan's retry_timeout) has passed.
//
//   LB_ASSIGN_OR_RETURN(auto etcd, EtcdClient::Create({{"http://127.0.0.1:2379"}, 10s, ""}));
//   LB_ASSIGN_OR_RETURN(nlohmann::json r, etcd->Call("kv/range", {{"key", Base64Encode(k)}}, ctx));
//
// Thread safety: Call may be used from any number of threads at once. Every Call blocks at most
// request_timeout (less when its context ends sooner).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/http/http_client.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat::fence {

struct EtcdClientOptions {
  std::vector<std::string> endpoints;  // http(s)://HOST:PORT, no trailing '/'
  std::chrono::milliseconds request_timeout{10'000};
  std::string ca_file;  // empty: the system's CAs
};

class EtcdClient {
 public:
  // InvalidArgument when there is no endpoint or the ca_file cannot be read.
  static Result<std::unique_ptr<EtcdClient>> Create(EtcdClientOptions options);

  // POSTs `body` to ENDPOINT/v3/`method` ("kv/txn", "lease/grant") and returns the parsed
  // answer (for lease/keepalive, the stream's first message's "result"). Errors:
  //  - Unavailable: no endpoint answered within request_timeout ("etcd at URL did not answer
  //    within 10 s: is it running? (daemon.fencing.etcd.endpoints)");
  //  - NotFound: etcd said "not found" (a lease that expired, for lease/revoke);
  //  - PermissionDenied: a TLS certificate failed verification (names daemon.fencing.etcd.ca_file);
  //  - IOError: any other refusal, quoting etcd's message;
  //  - Cancelled / DeadlineExceeded: `ctx` ended first.
  Result<nlohmann::json> Call(std::string_view method, const nlohmann::json& body,
                              const Context& ctx);

  // The endpoint that answered last (the first one before any call): named in messages.
  std::string endpoint() const;
  const EtcdClientOptions& options() const { return options_; }

 private:
  EtcdClient(EtcdClientOptions options, std::unique_ptr<HttpClient> http);

  const EtcdClientOptions options_;
  std::unique_ptr<HttpClient> http_;
  std::atomic<size_t> preferred_{0};
};

// Helpers for the gateway's JSON.
// An int64 field, sent as a string by the gateway ("revision": "12"); 0 when absent (the
// gateway leaves out zero values), or when it does not parse.
int64_t EtcdInt(const nlohmann::json& object, std::string_view field);
// The range_end that selects every key starting with `prefix` (its last byte + 1).
std::string EtcdPrefixEnd(std::string_view prefix);

}  // namespace lifeboat::fence
