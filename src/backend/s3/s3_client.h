// S3Client: one signed S3 request at a time, over the shared HttpClient, and what an S3 error
// answer means. The S3 backend's only way to the server.
//
//   S3Client::Call c{.method = "HEAD", .key = "repo/config"};
//   LB_ASSIGN_OR_RETURN(HttpResponse r, client.Send(c));
//   if (r.status >= 300) return client.Error(r, "stat config");
//
// Thread safety: Send and Error may be called from any thread at once (the HttpClient limits
// the requests on the wire). Send blocks on the network.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backend/http/http_client.h"
#include "backend/s3/s3_location.h"
#include "backend/s3/sigv4.h"

namespace lifeboat {

struct S3ClientConfig {
  S3Endpoint endpoint;
  std::string bucket;  // for messages
  SigV4Credentials keys;
  std::string credentials_source;  // "the environment (AWS_ACCESS_KEY_ID)", for messages
  SigV4Scope scope;                // {region, "s3"}
  // Sign the body's SHA-256 (plain http) rather than UNSIGNED-PAYLOAD (https).
  bool sign_payload = true;
};

class S3Client {
 public:
  S3Client(std::unique_ptr<HttpClient> http, S3ClientConfig config)
      : http_(std::move(http)), config_(std::move(config)) {}

  struct Call {
    std::string method = "GET";
    std::string key = {};  // "" for the bucket itself
    std::vector<std::pair<std::string, std::string>> query = {};
    std::vector<std::pair<std::string, std::string>> headers = {};  // signed and sent
    ByteParts body = {};
  };

  // Signs and sends `call` (Host, x-amz-date, x-amz-content-sha256 and the session token are
  // added). Returns the response whatever its status; fails only as HttpClient::Do does.
  Result<HttpResponse> Send(const Call& call, Bytes* body_out = nullptr);

  // The Status of a non-2xx response to the call `what` ("load pack 01ab..."):
  //  - InvalidAccessKeyId, SignatureDoesNotMatch -> PermissionDenied naming the variables to
  //    check; RequestTimeTooSkewed -> PermissionDenied about the clock; AccessDenied ->
  //    PermissionDenied;
  //  - NoSuchBucket -> NotFound naming the bucket;
  //  - SlowDown, InternalError, RequestTimeout, a body damaged in transit (BadDigest,
  //    XAmzContentSHA256Mismatch), 5xx -> Unavailable;
  //  - otherwise HttpStatusError's mapping.
  Status Error(const HttpResponse& response, std::string_view what) const;

  const S3ClientConfig& config() const { return config_; }

 private:
  const std::unique_ptr<HttpClient> http_;
  const S3ClientConfig config_;
};

}  // namespace lifeboat
