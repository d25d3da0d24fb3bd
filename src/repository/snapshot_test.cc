// The snapshot file's encoding of names that are bytes (format §9, doc/json.md).
#include "repository/snapshot.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "util/json_bytes.h"

namespace lifeboat {
namespace {

Snapshot WithPaths(std::vector<std::string> paths, std::vector<std::string> excludes) {
  Snapshot s;
  s.time_ns = 1767225600123456789;
  s.hostname = "db1";
  s.paths = std::move(paths);
  s.excludes = std::move(excludes);
  s.tags = {"nightly"};
  return s;
}

nlohmann::json Json(const Bytes& enc) { return nlohmann::json::parse(enc.begin(), enc.end()); }

TEST(SnapshotEncodingTest, RawPathsAndExcludesRoundTrip) {
  std::string every_byte;
  for (int b = 1; b < 256; ++b)
    if (b != '/') every_byte += static_cast<char>(b);
  const std::string bad_dir = std::string("/tmp/x/bad\xff") + "dir";
  Snapshot s = WithPaths({bad_dir, "/ok", "/" + every_byte}, {"x\xff", "*.tmp"});
  Bytes enc;
  ASSERT_NO_THROW(enc = EncodeSnapshot(s));
  nlohmann::json j = Json(enc);  // the file is valid JSON (valid UTF-8)
  ASSERT_TRUE(j.contains("paths_raw"));
  ASSERT_TRUE(j.contains("excludes_raw"));
  EXPECT_EQ(j["paths_raw"].size(), 3u);
  EXPECT_EQ(j["paths"][0], std::string("/tmp/x/bad\xEF\xBF\xBD") + "dir");  // U+FFFD
  EXPECT_EQ(j["paths_raw"][0], "L3RtcC94L2JhZP9kaXI=");
  EXPECT_EQ(j["paths"][1], "/ok");
  EXPECT_EQ(j["paths_raw"][1], "L29r");
  auto back = DecodeSnapshot(enc);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->paths, s.paths);
  EXPECT_EQ(back->excludes, s.excludes);
  EXPECT_EQ(back->tags, s.tags);
}

TEST(SnapshotEncodingTest, ValidNamesHaveNoRawArrays) {
  Snapshot s = WithPaths({"/srv", "/caf\xC3\xA9"}, {});
  nlohmann::json j = Json(EncodeSnapshot(s));
  EXPECT_FALSE(j.contains("paths_raw"));
  EXPECT_FALSE(j.contains("excludes_raw"));
  auto back = DecodeSnapshot(EncodeSnapshot(s));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->paths, s.paths);
}

TEST(SnapshotEncodingTest, BadRawArraysAreCorruption) {
  Snapshot s = WithPaths({"/a\xff", "/b"}, {"x\xfe"});
  nlohmann::json good = Json(EncodeSnapshot(s));
  auto decode = [](const nlohmann::json& j) {
    std::string text = j.dump();
    return DecodeSnapshot(Bytes(text.begin(), text.end()));
  };
  nlohmann::json shorter = good;
  shorter["paths_raw"].erase(1);
  nlohmann::json not_base64 = good;
  not_base64["excludes_raw"][0] = "eP4";
  nlohmann::json orphan = good;
  orphan.erase("excludes");
  nlohmann::json no_paths = good;
  no_paths.erase("paths");
  for (const auto& j : {shorter, not_base64, orphan, no_paths})
    EXPECT_EQ(decode(j).status().code(), StatusCode::kCorruption) << j.dump();
}

TEST(SnapshotEncodingTest, InvalidLabelsNeverThrowAndAreRefusedUpFront) {
  Snapshot s = WithPaths({"/a"}, {});
  s.hostname = "h\xff";
  s.username = "u\xfe";
  s.tags = {"t\xfe"};
  Bytes enc;
  ASSERT_NO_THROW(enc = EncodeSnapshot(s));
  EXPECT_TRUE(DecodeSnapshot(enc).ok());

  Status tag = CheckSnapshotLabels({"ok", "t\xfe"}, "");
  EXPECT_EQ(tag.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(tag.message().find("t\\xfe"), std::string::npos) << tag.message();
  EXPECT_EQ(CheckSnapshotLabels({}, "h\xff").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckSnapshotLabels({"caf\xC3\xA9"}, "db1").ok());
}

}  // namespace
}  // namespace lifeboat
