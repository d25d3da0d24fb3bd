// AWS Signature Version 4 (SigV4): the Authorization header of an S3 request, computed by hand
// over OpenSSL's SHA-256 and HMAC (no AWS SDK). Pure functions: no I/O, no clock, no state.
//
//   SigV4Request r{.method = "GET", .path = "/bucket/key", .query = {},
//                  .headers = {{"host", "127.0.0.1:8000"}, {"x-amz-date", date},
//                              {"x-amz-content-sha256", kSigV4EmptyPayloadHash}},
//                  .payload_hash = kSigV4EmptyPayloadHash};
//   std::string authorization = SignV4(r, credentials, {"us-east-1", "s3"}, date).authorization;
//
// Every header given is signed, so send exactly those headers with exactly those values (extra
// unsigned headers such as Content-Length are fine). The path and the query are given decoded;
// UriEncodePath and CanonicalQueryString produce both the signed form and the form to put in the
// URL, so the two cannot differ. Paths are not normalised (S3 keys may hold "//" or "/./").
//
// Thread safety: every function may be called from any thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backend/backend.h"  // ByteParts
#include "util/bytes.h"

namespace lifeboat {

// Hex SHA-256 of no bytes: the payload hash of a request without a body.
inline constexpr std::string_view kSigV4EmptyPayloadHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
// The payload hash that tells S3 the body is not covered by the signature.
inline constexpr std::string_view kSigV4UnsignedPayload = "UNSIGNED-PAYLOAD";

struct SigV4Credentials {
  std::string access_key_id;
  std::string secret_access_key;  // never logged or put in a message
  std::string session_token;      // temporary credentials; "" for none
};

struct SigV4Scope {
  std::string region;   // "us-east-1"
  std::string service;  // "s3"
};

struct SigV4Request {
  std::string method;  // "GET", "PUT", ...
  // The decoded path, starting with '/': "/bucket/data/01/01ab...".
  std::string path;
  // Decoded query parameters in any order; a parameter without a value ("?uploads") has "".
  std::vector<std::pair<std::string, std::string>> query;
  // The headers to sign, in any order and case; repeated names are joined with ','.
  std::vector<std::pair<std::string, std::string>> headers;
  // Hex SHA-256 of the body, or kSigV4UnsignedPayload.
  std::string payload_hash;
};

struct SigV4Signature {
  std::string canonical_request;  // for tests and debugging a SignatureDoesNotMatch
  std::string string_to_sign;
  std::string authorization;  // the Authorization header's value
};

// Signs `request` at `amz_date` ("20150830T123600Z", the request's x-amz-date header).
SigV4Signature SignV4(const SigV4Request& request, const SigV4Credentials& credentials,
                      const SigV4Scope& scope, std::string_view amz_date);

// RFC 3986 percent-encoding as SigV4 wants it: everything but A-Z a-z 0-9 - . _ ~ becomes %XX
// (uppercase hex); '/' too unless keep_slash.
std::string SigV4UriEncode(std::string_view s, bool keep_slash);
inline std::string UriEncodePath(std::string_view path) { return SigV4UriEncode(path, true); }

// "a=1&b=2": each name and value encoded, sorted by name then value. Also valid as a URL query.
std::string CanonicalQueryString(const std::vector<std::pair<std::string, std::string>>& query);

// "20150830T123600Z" for `t` (UTC).
std::string AmzDate(std::chrono::system_clock::time_point t);

// Lowercase hex SHA-256 of the concatenation of `parts`.
std::string Sha256Hex(ByteParts parts);
inline std::string Sha256Hex(std::string_view s) {
  ByteView v = AsBytes(s);
  return Sha256Hex(ByteParts(&v, 1));
}
// Base64 of the MD5 of the concatenation of `parts` (a Content-MD5 header).
std::string ContentMd5(ByteParts parts);

}  // namespace lifeboat
