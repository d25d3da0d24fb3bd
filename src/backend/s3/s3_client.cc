#include "backend/s3/s3_client.h"

#include "backend/s3/s3_xml.h"

namespace lifeboat {

Result<HttpResponse> S3Client::Send(const Call& call, Bytes* body_out) {
  const std::string date = AmzDate(std::chrono::system_clock::now());
  SigV4Request r;
  r.method = call.method;
  r.path = config_.endpoint.Path(call.key);
  r.query = call.query;
  if (call.body.empty()) {
    r.payload_hash = std::string(kSigV4EmptyPayloadHash);
  } else if (config_.sign_payload) {
    r.payload_hash = Sha256Hex(call.body);
  } else {
    r.payload_hash = std::string(kSigV4UnsignedPayload);
  }
  r.headers = call.headers;
  r.headers.emplace_back("Host", config_.endpoint.host_header);
  r.headers.emplace_back("x-amz-date", date);
  r.headers.emplace_back("x-amz-content-sha256", r.payload_hash);
  if (!config_.keys.session_token.empty()) {
    r.headers.emplace_back("x-amz-security-token", config_.keys.session_token);
  }
  SigV4Signature sig = SignV4(r, config_.keys, config_.scope, date);

  HttpRequest request;
  request.method = call.method;
  request.url = config_.endpoint.Url(call.key, call.query);
  request.headers = std::move(r.headers);
  request.headers.emplace_back("Authorization", std::move(sig.authorization));
  request.body = call.body;
  return http_->Do(request, body_out);
}

Status S3Client::Error(const HttpResponse& response, std::string_view what_view) const {
  const std::string what(what_view);
  const S3ErrorDocument doc = ParseS3Error(AsString(response.body));
  const std::string& code = doc.code;
  const std::string check = "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (used: " +
                            config_.credentials_source + ")";
  if (code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch") {
    return Status::PermissionDenied(what + ": the S3 credentials were refused (" + code + "); " +
                                    check);
  }
  if (code == "RequestTimeTooSkewed") {
    return Status::PermissionDenied(
        what + ": the server refused the request time (RequestTimeTooSkewed): this machine's "
               "clock is more than 15 minutes off; set it right (NTP)");
  }
  if (code == "AccessDenied") {
    return Status::PermissionDenied(what + ": access denied (AccessDenied" +
                                    (doc.message.empty() ? "" : ": " + doc.message) +
                                    "); the key " + config_.keys.access_key_id +
                                    " may lack permission on bucket " + config_.bucket);
  }
  if (code == "NoSuchBucket") {
    return Status::NotFound(what + ": bucket " + config_.bucket + " does not exist");
  }
  if (code == "SlowDown" || code == "InternalError" || code == "RequestTimeout" ||
      code == "ServiceUnavailable" || code == "BadDigest" || code == "XAmzContentSHA256Mismatch") {
    return Status::Unavailable(what + ": the server answered " + std::to_string(response.status) +
                               " " + code + " (transient)");
  }
  if (response.status == 403 && code.empty()) {
    // A HEAD answer has no body to say why.
    return Status::PermissionDenied(what + ": 403 Forbidden: the credentials were refused or "
                                           "lack permission; " + check);
  }
  return HttpStatusError(response, what);
}

}  // namespace lifeboat
