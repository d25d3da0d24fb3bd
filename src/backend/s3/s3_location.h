// Where an S3 repository lives: the address after "s3:", and the URL, Host header and object key
// of each request.
//
//   s3:http://127.0.0.1:7480/bucket/some/prefix   path style (a port or an IP)
//   s3:https://minio.example.com/bucket           path style
//   s3:s3.amazonaws.com/bucket/prefix             https, virtual-host style (bucket.s3...)
//
// Object keys under PREFIX ("" = the bucket's root): PREFIX/config, PREFIX/keys/ID,
// PREFIX/data/XX/ID (packs fanned out by their first two characters, as local repositories are),
// PREFIX/index/ID, PREFIX/snapshots/ID, PREFIX/locks/ID.
//
//   LB_ASSIGN_OR_RETURN(S3Location loc, ParseS3Address("http://127.0.0.1:7480/b/p"));
//   S3Endpoint e = MakeS3Endpoint(loc, BucketLookup::kPath, "us-east-1");
//   std::string url = e.Url(ObjectKey(loc.prefix, {ObjectType::kIndex, id}), {});
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backend/backend.h"
#include "util/status.h"

namespace lifeboat {

struct S3Location {
  std::string scheme;  // "http" or "https"
  std::string host;    // "127.0.0.1", "s3.amazonaws.com"; an IPv6 address keeps its brackets
  int port = 0;        // 0: the scheme's default
  std::string bucket;
  std::string prefix;  // without leading or trailing '/'; "" for the bucket's root
  bool aws = false;    // Amazon's own endpoint (s3.amazonaws.com, s3.REGION.amazonaws.com)
};

// Parses "http(s)://HOST[:PORT]/BUCKET[/PREFIX]" or "HOST/BUCKET[/PREFIX]" (https).
// InvalidArgument saying the expected form when there is no bucket, the scheme is another, the
// port is not a number, or the URL holds user:password@, a query or a fragment.
Result<S3Location> ParseS3Address(std::string_view address);

enum class BucketLookup {
  kPath,  // http://host/bucket/key
  kDns,   // http://bucket.host/key
};

// "path" or "dns"; InvalidArgument otherwise.
Result<BucketLookup> ParseBucketLookup(std::string_view value);
// dns for Amazon's endpoint, path for everything else (a host with a port, an IP, a
// self-hosted server whose DNS has no wildcard for buckets).
BucketLookup DefaultBucketLookup(const S3Location& location);

// How to reach the bucket: requests go to base_url + path, with a Host header.
struct S3Endpoint {
  std::string base_url;     // "http://127.0.0.1:7480", "https://b.s3.amazonaws.com"
  std::string host_header;  // "127.0.0.1:7480", "b.s3.amazonaws.com" (no default port)
  std::string bucket_path;  // "/bucket" (path style) or "" (dns style)

  // The decoded path of `key` ("/bucket/p/config"); the bucket itself when key is "".
  std::string Path(std::string_view key) const;
  // The full URL: base_url, the encoded path, and the query (encoded, sorted) when not empty.
  std::string Url(std::string_view key,
                  const std::vector<std::pair<std::string, std::string>>& query) const;
};

// For Amazon, a region other than us-east-1 selects s3.REGION.amazonaws.com.
S3Endpoint MakeS3Endpoint(const S3Location& location, BucketLookup lookup,
                          std::string_view region);

// The key of `h` under `prefix` (see the layout above). REQUIRES: ValidateObjectHandle(h).ok().
std::string ObjectKey(std::string_view prefix, const ObjectHandle& h);
// The key prefix that lists objects of `type` whose names start with `name_prefix`: packs of a
// prefix of 2+ characters list one data/XX/ directory.
std::string ListKeyPrefix(std::string_view prefix, ObjectType type, std::string_view name_prefix);
// The object name of `key` found under a listing of `type`, or "" when the key is not one of
// ours (another directory, a name with '.', a pack in the wrong data/XX/ directory).
std::string NameFromKey(std::string_view prefix, ObjectType type, std::string_view key);

}  // namespace lifeboat
