#include "backend/s3/s3_xml.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

TEST(S3XmlTest, ListObjectsV2Page) {
  Result<S3ListPage> page = ParseListObjectsV2(
      R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>
<Prefix>p/index/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>
<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
<Contents><Key>p/index/aa</Key><LastModified>2026-12-04T18:55:28.000Z</LastModified>
<ETag>"x"</ETag><Size>17</Size><StorageClass>STANDARD</StorageClass></Contents>
<Contents><Key>p/index/bb&amp;c</Key><Size>18446744073709551615</Size></Contents>
</ListBucketResult>)",
      "listing");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "p/index/aa");
  EXPECT_EQ(page->objects[0].size, 17u);
  EXPECT_EQ(page->objects[1].key, "p/index/bb&c");
  EXPECT_EQ(page->objects[1].size, 18446744073709551615u);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_continuation_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST(S3XmlTest, LastEmptyPage) {
  Result<S3ListPage> page = ParseListObjectsV2(
      "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>", "listing");
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->objects.empty());
  EXPECT_FALSE(page->truncated);
}

TEST(S3XmlTest, BadListingsAreIOErrors) {
  EXPECT_EQ(ParseListObjectsV2("<html>proxy error</html>", "listing").status().code(),
            StatusCode::kIOError);
  EXPECT_EQ(ParseListObjectsV2("<ListBucketResult><Contents>", "listing").status().code(),
            StatusCode::kIOError);
  EXPECT_EQ(ParseListObjectsV2("<ListBucketResult><Contents><Key>k</Key><Size>x</Size>"
                               "</Contents></ListBucketResult>",
                               "listing")
                .status()
                .code(),
            StatusCode::kIOError);
  EXPECT_EQ(ParseListObjectsV2("<ListBucketResult><IsTruncated>true</IsTruncated>"
                               "</ListBucketResult>",
                               "listing")
                .status()
                .code(),
            StatusCode::kIOError);
}

TEST(S3XmlTest, ErrorDocument) {
  S3ErrorDocument e = ParseS3Error(
      R"(<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><Message></Message><BucketName>nob</BucketName><RequestId>tx1</RequestId></Error>)");
  EXPECT_EQ(e.code, "NoSuchBucket");
  EXPECT_EQ(e.message, "");
  EXPECT_EQ(ParseS3Error("").code, "");
  EXPECT_EQ(ParseS3Error("not xml").code, "");
  EXPECT_EQ(ParseS3Error("<ListBucketResult/>").code, "");
}

TEST(S3XmlTest, MultipartDocuments) {
  Result<std::string> id = ParseInitiateMultipartUpload(
      "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>2~abc</UploadId>"
      "</InitiateMultipartUploadResult>",
      "upload");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "2~abc");
  EXPECT_FALSE(ParseInitiateMultipartUpload("<InitiateMultipartUploadResult/>", "u").ok());

  Result<S3UploadsPage> uploads = ParseListMultipartUploads(
      "<ListMultipartUploadsResult><IsTruncated>true</IsTruncated><NextKeyMarker>p/k2"
      "</NextKeyMarker><NextUploadIdMarker>u2</NextUploadIdMarker><Upload><Key>p/k1</Key>"
      "<UploadId>u1</UploadId></Upload><Upload><Key>p/k2</Key><UploadId>u2</UploadId></Upload>"
      "</ListMultipartUploadsResult>",
      "uploads");
  ASSERT_TRUE(uploads.ok());
  ASSERT_EQ(uploads->uploads.size(), 2u);
  EXPECT_EQ(uploads->uploads[1].key, "p/k2");
  EXPECT_EQ(uploads->uploads[1].upload_id, "u2");
  EXPECT_TRUE(uploads->truncated);
  EXPECT_EQ(uploads->next_key_marker, "p/k2");

  EXPECT_EQ(CompleteMultipartUploadXml({"\"e1\"", "\"e2\""}),
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Part><PartNumber>1</PartNumber><ETag>\"e1\"</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>\"e2\"</ETag></Part>"
            "</CompleteMultipartUpload>");
}

}  // namespace
}  // namespace lifeboat
