// The S3 backend against a real Ceph RADOS Gateway on 127.0.0.1, started by
// tests/servers/run_with.sh rgw (ctest does that): the conformance suite, listings of more than
// one page, multipart uploads, unfinished uploads, TLS with a private CA, refused credentials, a
// missing bucket and Object Lock. Run by hand:
//   bash tests/servers/run_with.sh rgw -- build/release/src/backend/s3/s3_backend_test
#include "backend/s3/s3_backend.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "backend/conformance/backend_conformance.h"
#include "backend/http/http_client.h"
#include "backend/s3/s3_client.h"
#include "backend/s3/s3_location.h"
#include "backend/s3/s3_xml.h"
#include "util/parallel_for.h"

namespace lifeboat {
namespace {

// The value of a variable run_with.sh exports; fails the test (never skips) when it is missing.
std::string ServerVariable(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    ADD_FAILURE() << name << " is not set: run this test through tests/servers/run_with.sh rgw "
                  << "(ctest does), which starts a Ceph RADOS Gateway on 127.0.0.1";
    return "";
  }
  return v;
}

// A name no other test or run uses.
std::string Unique(std::string_view what) {
  static std::atomic<int> counter{0};
  return std::string(what) + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

std::string Id(int i) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%064x", i);
  return buf;
}

BackendOpenArgs Args(const std::string& bucket_and_prefix, std::vector<std::string> options = {},
                     bool create = true, const std::string& endpoint_var = "LIFEBOAT_TEST_S3_ENDPOINT") {
  BackendOpenArgs a;
  a.address = ServerVariable(endpoint_var.c_str()) + "/" + bucket_and_prefix;
  a.location = "s3:" + a.address;
  a.options = *BackendOptions::Parse(options);
  a.create = create;
  return a;
}

std::unique_ptr<Backend> OpenOrDie(const BackendOpenArgs& a) {
  Result<std::unique_ptr<Backend>> be = OpenS3Backend(a);
  EXPECT_TRUE(be.ok()) << be.status().ToString();
  return be.ok() ? std::move(*be) : nullptr;
}

// A raw client on the test server, to leave behind what an interrupted Save would.
std::unique_ptr<S3Client> RawClient(const std::string& bucket) {
  S3ClientConfig c;
  S3Location loc = *ParseS3Address(ServerVariable("LIFEBOAT_TEST_S3_ENDPOINT") + "/" + bucket);
  c.endpoint = MakeS3Endpoint(loc, BucketLookup::kPath, "us-east-1");
  c.bucket = bucket;
  c.keys = {ServerVariable("AWS_ACCESS_KEY_ID"), ServerVariable("AWS_SECRET_ACCESS_KEY"), ""};
  c.credentials_source = "test";
  c.scope = {"us-east-1", "s3"};
  return std::make_unique<S3Client>(*HttpClient::Create({}), std::move(c));
}

// Starts a multipart upload of `key` and sends one part, then stops: an interrupted Save.
Status LeaveUnfinishedUpload(const std::string& bucket, const std::string& key) {
  std::unique_ptr<S3Client> raw = RawClient(bucket);
  LB_ASSIGN_OR_RETURN(HttpResponse r, raw->Send({.method = "POST", .key = key, .query = {{"uploads", ""}}}));
  if (r.status != 200) return raw->Error(r, "initiate");
  LB_ASSIGN_OR_RETURN(std::string id, ParseInitiateMultipartUpload(AsString(r.body), "initiate"));
  Bytes part(1000, 7);
  ByteView v(part);
  LB_ASSIGN_OR_RETURN(HttpResponse p, raw->Send({.method = "PUT", .key = key,
                                                  .query = {{"partNumber", "1"}, {"uploadId", id}},
                                                  .body = ByteParts(&v, 1)}));
  if (p.status != 200) return raw->Error(p, "part");
  return Status::Ok();
}

constexpr char kConformanceBucket[] = "lifeboat-conformance";

ConformanceBackend S3OnRgw() {
  return {"S3OnRgw", [] {
            const std::string prefix = Unique("repo");
            ConformanceInstance instance;
            instance.backend = OpenOrDie(Args(std::string(kConformanceBucket) + "/" + prefix));
            instance.leave_interrupted_save = [prefix](const ObjectHandle& h) {
              return LeaveUnfinishedUpload(kConformanceBucket, ObjectKey(prefix, h));
            };
            return instance;
          }};
}

INSTANTIATE_TEST_SUITE_P(S3, BackendConformanceTest, ::testing::Values(S3OnRgw()),
                         ConformanceTestName);

TEST(S3BackendTest, ListingContinuesPastOneThousandObjects) {
  std::unique_ptr<Backend> be = OpenOrDie(Args("lifeboat-many/" + Unique("repo")));
  ASSERT_NE(be, nullptr);
  constexpr int kObjects = 1100;
  ASSERT_TRUE(ParallelForUntilError(kObjects, 16, [&](size_t i) {
                return be->Save({ObjectType::kIndex, Id(static_cast<int>(i))}, AsBytes("x"));
              }).ok());
  int seen = 0;
  ASSERT_TRUE(be->List(ObjectType::kIndex, "", [&](const ObjectInfo& info) {
                  EXPECT_EQ(info.size, 1u);
                  ++seen;
                  return Status::Ok();
                }).ok());
  EXPECT_EQ(seen, kObjects);
}

Bytes Pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  return b;
}

TEST(S3BackendTest, MultipartUploadOfFortyMiB) {
  const std::string prefix = Unique("repo");
  std::unique_ptr<Backend> be = OpenOrDie(Args(
      "lifeboat-multipart/" + prefix, {"s3.multipart-threshold=8M", "s3.part-size=5M", "s3.connections=4"}));
  ASSERT_NE(be, nullptr);
  const Bytes data = Pattern(40u << 20);
  // Given as three pieces whose borders are not the parts' borders.
  ByteView all(data);
  std::vector<ByteView> pieces = {all.subspan(0, 3u << 20), all.subspan(3u << 20, 11u << 20),
                                  all.subspan(14u << 20)};
  const ObjectHandle h{ObjectType::kPack, Id(40)};
  ASSERT_TRUE(be->SaveParts(h, pieces).ok());
  EXPECT_EQ(be->Stat(h)->size, data.size());
  Result<Bytes> whole = be->Load(h, 0, 0);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_TRUE(*whole == data);
  Result<Bytes> across = be->Load(h, (5u << 20) - 10, 20);  // across parts 1 and 2
  ASSERT_TRUE(across.ok());
  EXPECT_TRUE(std::equal(across->begin(), across->end(), data.begin() + (5u << 20) - 10));
  EXPECT_EQ(be->Save(h, data).code(), StatusCode::kAlreadyExists);
  // Nothing of it stays behind as an unfinished upload.
  Result<int> aborted = AbortIncompleteS3Uploads(Args("lifeboat-multipart/" + prefix, {}, false));
  ASSERT_TRUE(aborted.ok()) << aborted.status().ToString();
  EXPECT_EQ(*aborted, 0);
}

TEST(S3BackendTest, FailedMultipartUploadIsAborted) {
  const std::string prefix = Unique("repo");
  std::atomic<bool> cancel{false};
  BackendOpenArgs args = Args("lifeboat-multipart/" + prefix,
                              {"s3.multipart-threshold=5M", "s3.part-size=5M", "s3.connections=1"});
  args.context = Context().WithCancel(&cancel);
  std::unique_ptr<Backend> be = OpenOrDie(args);
  ASSERT_NE(be, nullptr);
  const Bytes data = Pattern(200u << 20);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  Status st = be->Save({ObjectType::kPack, Id(1)}, data);
  stopper.join();
  EXPECT_FALSE(st.ok());
  cancel = false;
  // The upload was aborted on the way out: nothing is left to abort.
  Result<int> aborted = AbortIncompleteS3Uploads(Args("lifeboat-multipart/" + prefix, {}, false));
  ASSERT_TRUE(aborted.ok()) << aborted.status().ToString();
  EXPECT_EQ(*aborted, 0);
}

TEST(S3BackendTest, AbortIncompleteUploadsFindsWhatAnInterruptedSaveLeft) {
  const std::string prefix = Unique("repo");
  std::unique_ptr<Backend> be = OpenOrDie(Args("lifeboat-uploads/" + prefix));
  ASSERT_NE(be, nullptr);
  const ObjectHandle h{ObjectType::kPack, Id(7)};
  ASSERT_TRUE(LeaveUnfinishedUpload("lifeboat-uploads", ObjectKey(prefix, h)).ok());
  // Not an object: not listed, not found.
  int listed = 0;
  ASSERT_TRUE(be->List(ObjectType::kPack, "", [&](const ObjectInfo&) {
                  ++listed;
                  return Status::Ok();
                }).ok());
  EXPECT_EQ(listed, 0);
  EXPECT_TRUE(be->Stat(h).status().IsNotFound());
  // Another repository's upload in the same bucket is not ours to abort.
  ASSERT_TRUE(LeaveUnfinishedUpload("lifeboat-uploads", Unique("other") + "/data/aa/x").ok());

  Result<int> aborted = AbortIncompleteS3Uploads(Args("lifeboat-uploads/" + prefix, {}, false));
  ASSERT_TRUE(aborted.ok()) << aborted.status().ToString();
  EXPECT_EQ(*aborted, 1);
  aborted = AbortIncompleteS3Uploads(Args("lifeboat-uploads/" + prefix, {}, false));
  ASSERT_TRUE(aborted.ok());
  EXPECT_EQ(*aborted, 0);
}

TEST(S3BackendTest, TlsWithThePrivateCa) {
  const std::string where = "lifeboat-tls/" + Unique("repo");
  BackendOpenArgs args = Args(where, {"s3.ca-file=" + ServerVariable("LIFEBOAT_TEST_S3_CA_FILE")},
                              true, "LIFEBOAT_TEST_S3_TLS_ENDPOINT");
  std::unique_ptr<Backend> be = OpenOrDie(args);
  ASSERT_NE(be, nullptr);
  ASSERT_TRUE(be->Save({ObjectType::kConfig, ""}, AsBytes("over tls")).ok());
  EXPECT_EQ(AsString(*be->Load({ObjectType::kConfig, ""}, 0, 0)), "over tls");

  // Without the CA the certificate is not trusted, and the error says what to set.
  Result<std::unique_ptr<Backend>> untrusted =
      OpenS3Backend(Args(where, {}, false, "LIFEBOAT_TEST_S3_TLS_ENDPOINT"));
  ASSERT_EQ(untrusted.status().code(), StatusCode::kPermissionDenied)
      << untrusted.status().ToString();
  EXPECT_NE(untrusted.status().message().find("s3.ca-file"), std::string::npos)
      << untrusted.status().message();
}

TEST(S3BackendTest, RefusedCredentialsFailAtOnceWithoutTheSecret) {
  BackendOpenArgs args = Args("lifeboat-creds/" + Unique("repo"));
  args.env["AWS_ACCESS_KEY_ID"] = ServerVariable("AWS_ACCESS_KEY_ID");
  args.env["AWS_SECRET_ACCESS_KEY"] = "not-the-right-secret";
  Result<std::unique_ptr<Backend>> be = OpenS3Backend(args);
  ASSERT_EQ(be.status().code(), StatusCode::kPermissionDenied) << be.status().ToString();
  EXPECT_NE(be.status().message().find("SignatureDoesNotMatch"), std::string::npos);
  EXPECT_NE(be.status().message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
  EXPECT_EQ(be.status().message().find("not-the-right-secret"), std::string::npos);

  args.env["AWS_ACCESS_KEY_ID"] = "NOSUCHKEYID";
  be = OpenS3Backend(args);
  ASSERT_EQ(be.status().code(), StatusCode::kPermissionDenied) << be.status().ToString();
  EXPECT_NE(be.status().message().find("InvalidAccessKeyId"), std::string::npos);
}

TEST(S3BackendTest, MissingBucketOrConfigIsNoRepository) {
  const std::string bucket = Unique("lifeboat-missing");
  Result<std::unique_ptr<Backend>> be = OpenS3Backend(Args(bucket + "/repo", {}, false));
  ASSERT_EQ(be.status().code(), StatusCode::kNoRepository) << be.status().ToString();
  EXPECT_NE(be.status().message().find("bucket " + bucket + " does not exist"), std::string::npos)
      << be.status().message();

  ASSERT_NE(OpenOrDie(Args(bucket + "/repo")), nullptr);  // creates the bucket
  be = OpenS3Backend(Args(bucket + "/repo", {}, false));
  ASSERT_EQ(be.status().code(), StatusCode::kNoRepository) << be.status().ToString();
  EXPECT_NE(be.status().message().find("no config"), std::string::npos);
}

TEST(S3BackendTest, CreateRefusesAnExistingRepository) {
  const std::string where = "lifeboat-create/" + Unique("repo");
  std::unique_ptr<Backend> be = OpenOrDie(Args(where));
  ASSERT_NE(be, nullptr);
  ASSERT_TRUE(be->Save({ObjectType::kConfig, ""}, AsBytes("config")).ok());
  EXPECT_EQ(OpenS3Backend(Args(where)).status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(OpenOrDie(Args(where, {}, false)), nullptr);
}

TEST(S3BackendTest, ObjectLockRefusesRemove) {
  const std::string bucket = Unique("lifeboat-locked");
  std::unique_ptr<Backend> be = OpenOrDie(Args(bucket + "/repo", {"s3.object-lock-days=1"}));
  ASSERT_NE(be, nullptr);
  const ObjectHandle h{ObjectType::kSnapshot, Id(3)};
  ASSERT_TRUE(be->Save(h, AsBytes("keep me")).ok());
  Status removed = be->Remove(h);
  ASSERT_EQ(removed.code(), StatusCode::kPermissionDenied) << removed.ToString();
  EXPECT_NE(removed.message().find("locked"), std::string::npos) << removed.message();
  EXPECT_NE(removed.message().find("until"), std::string::npos) << removed.message();
  EXPECT_EQ(AsString(*be->Load(h, 0, 0)), "keep me");
}

// Not a check: prints the throughput of one 64 MiB object with 1 and 16 connections (parts of
// 16M, so 16 connections send four parts at once), for the defaults' record.
TEST(S3BackendTest, ThroughputOfSixtyFourMiB) {
  const Bytes data = Pattern(64u << 20);
  for (int connections : {1, 16}) {
    std::unique_ptr<Backend> be = OpenOrDie(Args(
        "lifeboat-speed/" + Unique("repo"),
        {"s3.connections=" + std::to_string(connections), "s3.multipart-threshold=16M"}));
    ASSERT_NE(be, nullptr);
    const ObjectHandle h{ObjectType::kPack, Id(64)};
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(be->Save(h, data).ok());
    auto t1 = std::chrono::steady_clock::now();
    // Reading: 16 ranged GETs of 4 MiB, as many at once as there are connections.
    std::vector<Bytes> pieces(16);
    ASSERT_TRUE(ParallelForUntilError(16, connections, [&](size_t i) {
                  return be->LoadInto(h, i * (4u << 20), 4u << 20, &pieces[i]);
                }).ok());
    auto t2 = std::chrono::steady_clock::now();
    auto mibs = [](auto d) { return 64.0 / std::chrono::duration<double>(d).count(); };
    std::printf("64 MiB with %2d connections: PUT %.0f MiB/s, GET %.0f MiB/s\n", connections,
                mibs(t1 - t0), mibs(t2 - t1));
  }
}

}  // namespace
}  // namespace lifeboat
