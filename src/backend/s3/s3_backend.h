// S3Backend: a repository in an S3 bucket (Amazon S3, Ceph RADOS Gateway, MinIO, ...), under an
// optional key prefix, over the shared HttpClient, with requests signed by our SigV4 signer.
//
//   BackendOpenArgs args;
//   args.location = "s3:http://127.0.0.1:7480/bucket/repo";
//   args.address = "http://127.0.0.1:7480/bucket/repo";
//   LB_ASSIGN_OR_RETURN(std::unique_ptr<Backend> be, OpenS3Backend(args));
//
// Layout and URL forms: s3_location.h. Credentials: credentials.h (environment, then profiles).
//
// How the Backend contract is met on an object store:
//  - Save never replaces: a PUT carries `If-None-Match: *`, which S3 (since 2024) and RGW answer
//    with 412 when the key exists (-> AlreadyExists). A multipart upload (above
//    s3.multipart-threshold) first HEADs the key, uploads its parts (in parallel, up to
//    `connections`), and completes with `If-None-Match: *` too; any failure aborts the upload.
//    An object appears whole when its PUT or its CompleteMultipartUpload succeeds, never in part.
//  - Payload: over http the body's SHA-256 is signed (x-amz-content-sha256), so the server
//    refuses a body damaged in transit; over https it is UNSIGNED-PAYLOAD (TLS protects it, and
//    a pack is not read twice).
//  - Load is a ranged GET; a short body or a 416 is Corruption naming the object.
//  - Remove HEADs first (S3 answers DELETE of a missing key with 204), so a missing object is
//    NotFound. With Object Lock the DELETE names the object's version, so the lock refuses it
//    (PermissionDenied, saying until when) instead of hiding the object behind a delete marker.
//  - Object Lock (s3.object-lock-days): every object but the lock files is written with a
//    retention of that many days; Hints().object_lock says so and Stat reports each object's
//    retain-until date (ObjectInfo::retain_until_ns), so prune and forget plan around locked
//    objects (backend/object_lock.h). Lock files are not locked: they must go when a command ends.
//  - List is ListObjectsV2 with continuation tokens; an interrupted multipart upload is never
//    listed (it is not an object until completed).
// Errors: transient (5xx, SlowDown, a body damaged in transit, connection failures) ->
// Unavailable, for RetryBackend; refused credentials -> PermissionDenied naming the variables;
// a missing bucket -> NotFound (NoRepository on open); secrets never appear in messages.
//
// Thread safety: every method may be called from any thread at once; at most `connections`
// requests are on the wire. Blocking: every method blocks on the network.
#pragma once

#include <memory>
#include <span>

#include "backend/backend.h"
#include "backend/backend_options.h"

namespace lifeboat {

// The options this backend understands (for CheckKnown, --help and doc/remote-sites.md).
std::span<const BackendOptionSpec> S3OptionSpecs();

// Opens (args.create: prepares) the repository at args.address. Validates args.options with
// args.options.CheckKnown("s3", S3OptionSpecs()) first.
//  - open: NoRepository when the bucket does not exist or holds no config under the prefix;
//  - create: creates the bucket when it is missing (with Object Lock enabled when
//    s3.object-lock-days is set); AlreadyExists when a config exists under the prefix.
Result<std::unique_ptr<Backend>> OpenS3Backend(const BackendOpenArgs& args);

// Aborts every unfinished multipart upload under the repository's prefix (uploads that an
// interrupted Save left behind: they cost storage but are never listed). Returns how many were
// aborted. For `lifeboat repair uploads`. Do not run it while a backup writes to the repository:
// its uploads in flight would be aborted too (their Save then fails and is retried).
Result<int> AbortIncompleteS3Uploads(const BackendOpenArgs& args);

}  // namespace lifeboat
