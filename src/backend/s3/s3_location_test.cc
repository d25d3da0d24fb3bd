#include "backend/s3/s3_location.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

const std::string kId(64, 'a');

TEST(S3LocationTest, ParsesHttpWithPortBucketAndPrefix) {
  Result<S3Location> l = ParseS3Address("http://127.0.0.1:7480/bucket/some/prefix/");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->scheme, "http");
  EXPECT_EQ(l->host, "127.0.0.1");
  EXPECT_EQ(l->port, 7480);
  EXPECT_EQ(l->bucket, "bucket");
  EXPECT_EQ(l->prefix, "some/prefix");
  EXPECT_FALSE(l->aws);
  EXPECT_EQ(DefaultBucketLookup(*l), BucketLookup::kPath);
}

TEST(S3LocationTest, BareHostIsHttpsAndAmazonIsVirtualHosted) {
  Result<S3Location> l = ParseS3Address("s3.amazonaws.com/my-bucket");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->scheme, "https");
  EXPECT_EQ(l->port, 0);
  EXPECT_EQ(l->prefix, "");
  EXPECT_TRUE(l->aws);
  EXPECT_EQ(DefaultBucketLookup(*l), BucketLookup::kDns);

  S3Endpoint e = MakeS3Endpoint(*l, BucketLookup::kDns, "us-east-1");
  EXPECT_EQ(e.host_header, "my-bucket.s3.amazonaws.com");
  EXPECT_EQ(e.Url("config", {}), "https://my-bucket.s3.amazonaws.com/config");
  EXPECT_EQ(e.Path(""), "/");

  e = MakeS3Endpoint(*l, BucketLookup::kDns, "eu-west-1");
  EXPECT_EQ(e.host_header, "my-bucket.s3.eu-west-1.amazonaws.com");
  e = MakeS3Endpoint(*l, BucketLookup::kPath, "eu-west-1");
  EXPECT_EQ(e.Url("p/config", {{"list-type", "2"}}),
            "https://s3.eu-west-1.amazonaws.com/my-bucket/p/config?list-type=2");
}

TEST(S3LocationTest, SelfHostedNameWithoutPortIsPathStyle) {
  Result<S3Location> l = ParseS3Address("https://minio.example.com/b");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(DefaultBucketLookup(*l), BucketLookup::kPath);
}

TEST(S3LocationTest, HostHeaderOmitsOnlyTheDefaultPort) {
  S3Endpoint e = MakeS3Endpoint(*ParseS3Address("http://h:80/b"), BucketLookup::kPath, "");
  EXPECT_EQ(e.host_header, "h");
  e = MakeS3Endpoint(*ParseS3Address("https://h:9000/b"), BucketLookup::kDns, "");
  EXPECT_EQ(e.host_header, "b.h:9000");
  EXPECT_EQ(e.base_url, "https://b.h:9000");
  e = MakeS3Endpoint(*ParseS3Address("http://127.0.0.1:7480/b"), BucketLookup::kPath, "");
  EXPECT_EQ(e.Path(""), "/b");
  EXPECT_EQ(e.Url("", {{"prefix", "p/data/"}, {"list-type", "2"}}),
            "http://127.0.0.1:7480/b?list-type=2&prefix=p%2Fdata%2F");
}

TEST(S3LocationTest, RejectsWhatCannotBeALocation) {
  for (const char* bad : {"http://127.0.0.1:7480", "http://127.0.0.1:7480/", "ftp://h/b",
                          "http://h:port/b", "http://h:0/b", "http:///b", "http://h/b?x=1",
                          "http://user:secret@h/b"}) {
    Result<S3Location> l = ParseS3Address(bad);
    EXPECT_EQ(l.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(l.status().message().find("secret"), std::string::npos) << bad;
  }
  EXPECT_EQ(ParseBucketLookup("virtual").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParseBucketLookup("dns"), BucketLookup::kDns);
}

TEST(S3LocationTest, KeysFollowTheLocalLayout) {
  EXPECT_EQ(ObjectKey("p", {ObjectType::kConfig, "ignored"}), "p/config");
  EXPECT_EQ(ObjectKey("", {ObjectType::kConfig, ""}), "config");
  EXPECT_EQ(ObjectKey("p/q", {ObjectType::kPack, kId}), "p/q/data/aa/" + kId);
  EXPECT_EQ(ObjectKey("p", {ObjectType::kKey, kId}), "p/keys/" + kId);
  EXPECT_EQ(ObjectKey("p", {ObjectType::kIndex, kId}), "p/index/" + kId);
  EXPECT_EQ(ObjectKey("p", {ObjectType::kSnapshot, kId}), "p/snapshots/" + kId);
  EXPECT_EQ(ObjectKey("p", {ObjectType::kLock, kId}), "p/locks/" + kId);
}

TEST(S3LocationTest, ListPrefixesAndNames) {
  EXPECT_EQ(ListKeyPrefix("p", ObjectType::kPack, ""), "p/data/");
  EXPECT_EQ(ListKeyPrefix("p", ObjectType::kPack, "a"), "p/data/a");
  EXPECT_EQ(ListKeyPrefix("p", ObjectType::kPack, "abc"), "p/data/ab/abc");
  EXPECT_EQ(ListKeyPrefix("", ObjectType::kIndex, "ab"), "index/ab");

  EXPECT_EQ(NameFromKey("p", ObjectType::kPack, "p/data/aa/" + kId), kId);
  EXPECT_EQ(NameFromKey("p", ObjectType::kPack, "p/data/ab/" + kId), "");  // wrong directory
  EXPECT_EQ(NameFromKey("p", ObjectType::kPack, "p/data/" + kId), "");
  EXPECT_EQ(NameFromKey("p", ObjectType::kIndex, "p/index/" + kId), kId);
  EXPECT_EQ(NameFromKey("p", ObjectType::kIndex, "p/index/x.tmp"), "");
  EXPECT_EQ(NameFromKey("p", ObjectType::kIndex, "p/index/sub/x"), "");
  EXPECT_EQ(NameFromKey("p", ObjectType::kIndex, "p/keys/" + kId), "");
  EXPECT_EQ(NameFromKey("", ObjectType::kLock, "locks/" + kId), kId);
}

}  // namespace
}  // namespace lifeboat
