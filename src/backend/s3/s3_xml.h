// The XML documents of the S3 API that the backend reads (pugixml): ListObjectsV2 pages,
// ListMultipartUploads pages, InitiateMultipartUpload results and error documents.
// Pure functions; thread-safe. A document that does not parse or is not the one expected (a
// proxy's HTML page) is IOError naming `what`: the server's answer is wrong, not our data.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace lifeboat {

struct S3ListedObject {
  std::string key;
  uint64_t size = 0;
};

struct S3ListPage {
  std::vector<S3ListedObject> objects;
  bool truncated = false;
  std::string next_continuation_token;  // set when truncated
};
Result<S3ListPage> ParseListObjectsV2(std::string_view xml, std::string_view what);

struct S3Upload {
  std::string key;
  std::string upload_id;
};
struct S3UploadsPage {
  std::vector<S3Upload> uploads;
  bool truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};
Result<S3UploadsPage> ParseListMultipartUploads(std::string_view xml, std::string_view what);

// The UploadId of an InitiateMultipartUploadResult.
Result<std::string> ParseInitiateMultipartUpload(std::string_view xml, std::string_view what);

// <Error><Code>..</Code><Message>..</Message></Error>; empty strings when `xml` is not one (a
// HEAD response has no body).
struct S3ErrorDocument {
  std::string code;
  std::string message;
};
S3ErrorDocument ParseS3Error(std::string_view xml);

// The CompleteMultipartUpload request body for parts 1..etags.size().
std::string CompleteMultipartUploadXml(const std::vector<std::string>& etags);

}  // namespace lifeboat
